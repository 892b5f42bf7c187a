"""Ingest: VCF/BCF files and sample sheets into the catalogue's tables."""
