"""Data release: GA4GH htsget tickets and blocks, and Crypt4GH-encrypted downloads for entitled researchers."""
