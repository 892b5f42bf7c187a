"""Catalogue tables and their Create/Update/Public families: organisations, DACs, roles, datasets, files, samples."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from enum import StrEnum
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, EmailStr, field_validator
from sqlalchemy import JSON, BigInteger, Column, DateTime, Index, String, UniqueConstraint
from sqlmodel import Field, SQLModel

__all__ = [
    "Assembly", "Dac", "Gene", "DacCreate", "DacPublic", "Dataset", "DatasetCondition", "DatasetCreate",
    "DatasetFile", "DatasetFilePublic", "DatasetPublic", "DatasetStatus", "DatasetUpdate", "DatasetsPublic",
    "IdCounter", "LOCUS_INCLUDE", "Organisation", "OrganisationCreate", "OrganisationPublic", "Role", "RoleGrant",
    "PRIVACY_P", "BeaconGranularity", "ReferenceAllele", "ReferenceSpan", "RemoteDac", "RemoteDacPublic",
    "RemoteDacSet", "RoleGrantCreate", "RoleGrantPublic", "Sample", "SampleExclusion", "SampleOptOut", "SamplePublic",
    "SecurityLevel", "UtcDatetime", "Variant", "VariantAnnotation", "WithdrawnAllele", "as_utc", "utcnow",
]


def utcnow() -> datetime:
    return datetime.now(UTC)


def as_utc(value: datetime) -> datetime:
    """A stored timestamp with its zone: SQLite hands them back without one, and they are stored in UTC."""
    return value if value.tzinfo else value.replace(tzinfo=UTC)


# A timestamp as the API and the pages show it: always with its UTC offset (values without a zone are UTC,
# as every stored one is). The type of every timestamp of a *Public or response model.
UtcDatetime = Annotated[datetime, AfterValidator(as_utc)]


def _ts() -> Any:
    return Field(default_factory=utcnow, sa_column=Column(DateTime(timezone=True), nullable=False))


class Assembly(StrEnum):
    GRCh37 = "GRCh37"
    GRCh38 = "GRCh38"


class SecurityLevel(StrEnum):
    PUBLIC = "PUBLIC"
    REGISTERED = "REGISTERED"
    CONTROLLED = "CONTROLLED"


class DatasetStatus(StrEnum):
    draft = "draft"
    published = "published"
    retired = "retired"


class Role(StrEnum):
    admin = "admin"
    steward = "steward"
    dac_member = "dac-member"


class IdCounter(SQLModel, table=True):
    """The last number handed out per accession prefix (GGD, GGO, ...)."""

    __tablename__ = "catalogue_id_counter"
    prefix: str = Field(primary_key=True, max_length=8)
    value: int = 0


# --- organisations -----------------------------------------------------------------------------------

class OrganisationCreate(SQLModel):
    name: str = Field(min_length=1, max_length=200)
    contact_email: EmailStr | None = None


class Organisation(SQLModel, table=True):
    __tablename__ = "catalogue_organisation"
    id: str = Field(primary_key=True, max_length=16)
    name: str = Field(max_length=200, unique=True)
    contact_email: str | None = Field(default=None, max_length=320)
    created_at: datetime = _ts()


class OrganisationPublic(SQLModel):
    id: str
    name: str
    contact_email: str | None
    created_at: UtcDatetime


# --- data access committees --------------------------------------------------------------------------

class DacCreate(SQLModel):
    name: str = Field(min_length=1, max_length=200)
    contact_email: EmailStr
    description: str = Field(default="", max_length=5_000)
    quorum: int = Field(default=1, ge=1, le=50, description="votes needed for a decision (1: any member decides)")


class Dac(SQLModel, table=True):
    __tablename__ = "catalogue_dac"
    id: str = Field(primary_key=True, max_length=16)
    name: str = Field(max_length=200, unique=True)
    contact_email: str = Field(max_length=320)
    description: str = Field(default="", max_length=5_000)
    quorum: int = 1
    created_at: datetime = _ts()


class DacPublic(SQLModel):
    id: str
    name: str
    contact_email: str
    description: str
    quorum: int
    created_at: UtcDatetime


# --- roles -------------------------------------------------------------------------------------------

class RoleGrantCreate(SQLModel):
    subject: str = Field(min_length=1, max_length=320)
    role: Role
    organisation_id: str | None = None
    dac_id: str | None = None


class RoleGrant(SQLModel, table=True):
    """A role held by a subject: admin everywhere, steward of one organisation, member of one DAC."""

    __tablename__ = "catalogue_role_grant"
    __table_args__ = (UniqueConstraint("subject", "role", "organisation_id", "dac_id"),)
    id: int | None = Field(default=None, primary_key=True)
    subject: str = Field(max_length=320, index=True)
    role: str = Field(max_length=16)
    organisation_id: str | None = Field(default=None, foreign_key="catalogue_organisation.id", max_length=16)
    dac_id: str | None = Field(default=None, foreign_key="catalogue_dac.id", max_length=16)
    granted_by: str = Field(max_length=320)
    created_at: datetime = _ts()


class RoleGrantPublic(SQLModel):
    id: int
    subject: str
    role: Role
    organisation_id: str | None
    dac_id: str | None
    granted_by: str
    created_at: UtcDatetime


# --- datasets ----------------------------------------------------------------------------------------

PRIVACY_P = 0.625  # a new dataset's Beacon privacy budget parameter: attack power <= alpha / p = 0.08 at 0.05
BeaconGranularity = Literal["none", "boolean", "count"]


class DatasetBase(SQLModel):
    title: str = Field(min_length=1, max_length=300)
    description: str = Field(default="", max_length=20_000)
    assembly: Assembly = Field(sa_type=String(16))
    security: SecurityLevel = Field(sa_type=String(16))
    contact_email: EmailStr | None = Field(default=None, sa_type=String(320))
    licence: str = Field(default="", max_length=200, description="licence of the metadata/data (SPDX id or URL)")
    dua_text: str = Field(default="", max_length=50_000, description="data access agreement text")
    dua_version: str = Field(default="1", max_length=40)
    keywords: list[str] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))

    @field_validator("keywords")
    @classmethod
    def _keywords(cls, value: list[str]) -> list[str]:
        if len(value) > 50 or any(len(k) > 100 or not k.strip() for k in value):
            raise ValueError("at most 50 keywords of 1 to 100 characters each")
        return [k.strip() for k in value]


class DatasetCreate(DatasetBase):
    organisation_id: str = Field(max_length=16)
    dac_id: str | None = Field(default=None, max_length=16)
    duo: list[str] = Field(default_factory=list, max_length=30, description="data use conditions (DUO CURIEs)")
    disease_terms: list[str] = Field(default_factory=list, max_length=30)
    beacon_granularity: BeaconGranularity = Field(
        default="boolean", description="what a CONTROLLED dataset tells callers without record-level rights")
    count_threshold: int = Field(default=5, ge=0, le=1_000, description="counts below this are shown as yes/no only")
    privacy_p: float = Field(default=PRIVACY_P, ge=0.0, le=1.0, description="Beacon privacy budget parameter p: any "
                                                                     "membership test's power <= alpha / p; 0: off")


class DatasetUpdate(SQLModel):
    title: str | None = Field(default=None, min_length=1, max_length=300)
    description: str | None = Field(default=None, max_length=20_000)
    contact_email: EmailStr | None = None
    licence: str | None = Field(default=None, max_length=200)
    dua_text: str | None = Field(default=None, max_length=50_000)
    dua_version: str | None = Field(default=None, max_length=40)
    keywords: list[str] | None = Field(default=None, max_length=50)
    dac_id: str | None = Field(default=None, max_length=16)
    security: SecurityLevel | None = None
    duo: list[str] | None = Field(default=None, max_length=30)
    disease_terms: list[str] | None = Field(default=None, max_length=30)
    beacon_granularity: BeaconGranularity | None = None
    count_threshold: int | None = Field(default=None, ge=0, le=1_000)
    privacy_p: float | None = Field(default=None, ge=0.0, le=1.0)

    @field_validator("title", "description", "licence", "dua_text", "dua_version", "keywords", "security", "duo",
                     "disease_terms", "beacon_granularity", "count_threshold", "privacy_p")
    @classmethod
    def _not_null(cls, value: Any) -> Any:
        if value is None:  # an explicit null: only contact_email and dac_id can be cleared
            raise ValueError("cannot be null; leave it out to keep its value")
        return value


class Dataset(DatasetBase, table=True):
    __tablename__ = "catalogue_dataset"
    id: str = Field(primary_key=True, max_length=16)
    organisation_id: str = Field(foreign_key="catalogue_organisation.id", max_length=16, index=True)
    dac_id: str | None = Field(default=None, foreign_key="catalogue_dac.id", max_length=16)
    duo: list[str] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    disease_terms: list[str] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    status: str = Field(default=DatasetStatus.draft, max_length=16, index=True)
    beacon_granularity: str = Field(default="boolean", sa_type=String(16),
                                    description="what a CONTROLLED dataset tells callers without record-level "
                                                "rights: none, boolean or count")
    count_threshold: int = Field(default=5, description="counts below this are hidden from callers without "
                                                        "record-level rights (0 shows every count)")
    privacy_p: float = Field(default=PRIVACY_P, description="membership-inference budget parameter p: any attack's "
                                                            "power <= alpha / p; 0 switches the defence off")
    version: int = 1
    statistics: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    created_at: datetime = _ts()
    updated_at: datetime = _ts()
    published_at: datetime | None = Field(default=None, sa_column=Column(DateTime(timezone=True)))


_HTTP_URL = re.compile(r"^https?://[^\s/?#]+(/[^\s?#]*)?$")


class RemoteDacSet(SQLModel):
    """The DAC at another node that decides access to a dataset held here, and the visa issuer it signs with."""

    node_url: str = Field(max_length=500,
                          description="the DAC's node: its GenomeGate base URL (e.g. https://node-b.example.org)")
    dac_id: str = Field(min_length=1, max_length=100, description="the DAC's id at that node")
    visa_issuer: str | None = Field(default=None, max_length=500, description="the `iss` of its visas "
                                                                              "(default: node_url)")
    jku: str | None = Field(default=None, max_length=1_000,
                            description="the `jku` of its visas (default: node_url/.well-known/jwks.json)")

    @field_validator("node_url", "visa_issuer", "jku")
    @classmethod
    def _http_url(cls, value: str | None) -> str | None:
        if value is not None and not _HTTP_URL.fullmatch(value):
            raise ValueError("give an http:// or https:// URL (no query, no fragment)")
        return value.rstrip("/") if value is not None else None

    @field_validator("dac_id")
    @classmethod
    def _dac_id(cls, value: str) -> str:
        if not re.fullmatch(r"[A-Za-z0-9._-]+", value):
            raise ValueError("letters, digits, '.', '_' and '-' only")
        return value


class RemoteDac(SQLModel, table=True):
    """A dataset held here whose access a DAC at another node decides (the Federated EGA pattern).

    Visas granting the dataset are accepted from (visa_issuer, jku) only, and that pair grants nothing else.
    """

    __tablename__ = "catalogue_remote_dac"
    dataset_id: str = Field(foreign_key="catalogue_dataset.id", primary_key=True, max_length=16)
    node_url: str = Field(max_length=500)
    dac_id: str = Field(max_length=100)
    visa_issuer: str = Field(max_length=500)
    jku: str = Field(max_length=1_000)
    set_by: str = Field(max_length=320)
    set_at: datetime = _ts()

    @property
    def dac_url(self) -> str:
        """The DAC's own address at its node."""
        return f"{self.node_url}/api/dacs/{self.dac_id}"


class RemoteDacPublic(SQLModel):
    dataset_id: str
    node_url: str
    dac_id: str
    dac_url: str
    visa_issuer: str
    jku: str
    set_by: str
    set_at: UtcDatetime


class DatasetCondition(SQLModel, table=True):
    """One DUO term of a dataset, kept as rows so that search can filter and count by term."""

    __tablename__ = "catalogue_dataset_condition"
    dataset_id: str = Field(foreign_key="catalogue_dataset.id", primary_key=True, max_length=16)
    term: str = Field(primary_key=True, max_length=16, index=True)


class DatasetFile(SQLModel, table=True):
    __tablename__ = "catalogue_dataset_file"
    id: str = Field(primary_key=True, max_length=16)
    dataset_id: str = Field(foreign_key="catalogue_dataset.id", max_length=16, index=True)
    name: str = Field(max_length=500)
    uri: str = Field(max_length=2_000)
    format: str = Field(max_length=16)
    size: int = Field(sa_type=BigInteger)
    md5: str = Field(max_length=32)
    sha256: str = Field(max_length=64)
    index_uri: str | None = Field(default=None, max_length=2_000)
    created_at: datetime = _ts()


class DatasetFilePublic(SQLModel):
    id: str
    name: str
    format: str
    size: int = Field(sa_type=BigInteger)
    md5: str
    sha256: str
    has_index: bool


class DatasetPublic(DatasetBase):
    id: str
    organisation_id: str
    dac_id: str | None
    duo: list[str]
    disease_terms: list[str]
    status: DatasetStatus
    beacon_granularity: str
    count_threshold: int
    privacy_p: float
    version: int
    statistics: dict[str, Any]
    created_at: UtcDatetime
    updated_at: UtcDatetime
    published_at: UtcDatetime | None
    files: list[DatasetFilePublic] = []
    url: str = ""


class DatasetsPublic(SQLModel):
    data: list[DatasetPublic]
    count: int
    limit: int
    offset: int
    facets: dict[str, dict[str, int]]


# --- samples -----------------------------------------------------------------------------------------

class Sample(SQLModel, table=True):
    """An individual whose genome is in a dataset, with the metadata its sample sheet gave."""

    __tablename__ = "catalogue_sample"
    dataset_id: str = Field(foreign_key="catalogue_dataset.id", primary_key=True, max_length=16)
    sample_id: str = Field(primary_key=True, max_length=200)
    sex: str = Field(default="unknown", max_length=16)
    population: str | None = Field(default=None, max_length=100)
    phenotypes: list[str] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    diseases: list[str] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))


class SamplePublic(SQLModel):
    sample_id: str
    sex: str
    population: str | None
    phenotypes: list[str]
    diseases: list[str]


# --- the variant index -------------------------------------------------------------------------------

class Gene(SQLModel, table=True):
    """A gene's extent on an assembly, loaded from an annotation (GFF3 or BED) for Beacon gene queries."""

    __tablename__ = "catalogue_gene"
    assembly: str = Field(primary_key=True, sa_type=String(16))
    symbol: str = Field(primary_key=True, max_length=64)
    chrom: str = Field(max_length=8)
    start: int = Field(description="1-based, inclusive")
    end: int = Field(description="1-based, inclusive")
    gene_id: str | None = Field(default=None, max_length=64, description="e.g. an Ensembl or HGNC id")


class ReferenceAllele(SQLModel, table=True):
    """An allele of a public reference panel (e.g. gnomAD sites) with its frequency, normalised like the index.

    The Beacon prices questions about membership from `af_lower`, the frequency's conservative lower bound.
    """

    __tablename__ = "catalogue_reference_allele"
    assembly: str = Field(primary_key=True, sa_type=String(16))
    chrom: str = Field(primary_key=True, max_length=8)
    pos: int = Field(primary_key=True)
    ref: str = Field(primary_key=True)
    alt: str = Field(primary_key=True)
    end: int
    variant_type: str = Field(max_length=8)
    length: int
    ac: int
    an: int
    af_lower: float


class ReferenceSpan(SQLModel, table=True):
    """The longest panel allele (end - pos) per chromosome: overlap questions find their alleles on (chrom, pos)."""

    __tablename__ = "catalogue_reference_span"
    assembly: str = Field(primary_key=True, sa_type=String(16))
    chrom: str = Field(primary_key=True, max_length=8)
    max_span: int


# The columns the variant index's locus index (chrom, pos) carries besides its key on PostgreSQL: every column
# a count query reads (catalogue.services.lookup.tally_variants), so that a count is an index-only scan.
LOCUS_INCLUDE = ("ref", "alt", "end", "ac", "het", "hom_alt", "hemi_alt", "dataset_id")


class Variant(SQLModel, table=True):
    """One allele of a dataset: (chrom, pos, ref, alt) normalised, with counts from its genotypes.

    `groups` holds the same counts per sample group ("population:EUR", "sex:female") as
    [ac, an, het, hom_alt] lists, when the sample sheet gave groups.
    """

    __tablename__ = "catalogue_variant"
    # On PostgreSQL the locus index also carries what a count reads (migration 0023; catalogue.services.partitions);
    # there the table is partitioned by dataset and carries no foreign keys (migration 0011).
    __table_args__ = (Index("ix_catalogue_variant_locus", "chrom", "pos", postgresql_include=list(LOCUS_INCLUDE)),)
    dataset_id: str = Field(foreign_key="catalogue_dataset.id", primary_key=True, max_length=16)
    chrom: str = Field(primary_key=True, max_length=8)
    pos: int = Field(primary_key=True)
    ref: str = Field(primary_key=True)
    alt: str = Field(primary_key=True)
    file_id: str = Field(foreign_key="catalogue_dataset_file.id", max_length=16, index=True)
    end: int
    variant_type: str = Field(max_length=8)
    length: int
    ac: int
    an: int
    het: int
    hom_alt: int
    hemi_alt: int
    groups: dict[str, list[int]] | None = Field(default=None, sa_column=Column(JSON, nullable=True))


class VariantAnnotation(SQLModel, table=True):
    """What a VEP (CSQ) or SnpEff (ANN) annotation of the file says of a variant in one gene: its molecular effects
    (SO term names, `&`-joined) and protein change, one row per (gene, change) with its transcripts' effects merged.

    `gene_key` is the upper-cased symbol (else gene id) that Beacon `geneId` matches, `gene_id_key` the gene id;
    `change` the one-letter protein change (V600E) that `aminoacidChange` matches, "" when none
    (catalogue.annotations). Written and removed with the variant's file.
    """

    __tablename__ = "catalogue_variant_annotation"
    __table_args__ = (Index("ix_catalogue_variant_annotation_gene", "dataset_id", "gene_key"),
                      Index("ix_catalogue_variant_annotation_gene_id", "dataset_id", "gene_id_key"),
                      Index("ix_catalogue_variant_annotation_change", "dataset_id", "change"))
    dataset_id: str = Field(foreign_key="catalogue_dataset.id", primary_key=True, max_length=16)
    chrom: str = Field(primary_key=True, max_length=8)
    pos: int = Field(primary_key=True)
    ref: str = Field(primary_key=True)
    alt: str = Field(primary_key=True)
    gene_key: str = Field(primary_key=True, max_length=64)
    change: str = Field(primary_key=True, max_length=100)
    file_id: str = Field(foreign_key="catalogue_dataset_file.id", max_length=16, index=True)
    gene: str = Field(max_length=64)
    gene_id_key: str = Field(max_length=64)
    effects: str = Field(max_length=2_000)
    protein: str = Field(max_length=200)


class SampleOptOut(SQLModel, table=True):
    """One request of a sample's opt-out history (catalogue.services.opt_outs): `action` is "opt_out" or "opt_in"
    (its undo), `applied_at` when the scheduled job made it take effect (None while pending, and for one that
    a later request of the same sample overtook before the job ran)."""

    __tablename__ = "catalogue_sample_opt_out"
    __table_args__ = (Index("ix_catalogue_sample_opt_out_sample", "dataset_id", "sample_id"),)
    id: int | None = Field(default=None, primary_key=True)
    dataset_id: str = Field(foreign_key="catalogue_dataset.id", max_length=16)
    sample_id: str = Field(max_length=200)
    action: str = Field(max_length=8)
    requested_at: datetime = Field(sa_column=Column(DateTime(timezone=True), nullable=False))
    applied_at: datetime | None = Field(default=None, sa_column=Column(DateTime(timezone=True), nullable=True))


class SampleExclusion(SQLModel, table=True):
    """A sample whose opt-out is in effect: the dataset's counts (and releases under later permits) leave it out.

    Written only by the job that recounts the dataset, in the transaction that publishes the recount, so these
    rows always name exactly the samples the variant index was counted without. `since`: when it took effect.
    """

    __tablename__ = "catalogue_sample_exclusion"
    dataset_id: str = Field(foreign_key="catalogue_dataset.id", primary_key=True, max_length=16)
    sample_id: str = Field(primary_key=True, max_length=200)
    since: datetime = Field(sa_column=Column(DateTime(timezone=True), nullable=False))


class WithdrawnAllele(SQLModel, table=True):
    """An allele (or its presence in a sample group) that applying opt-outs took out of the dataset's counts: what
    was carried before and no longer is. Budgeted Beacon answers (yes/no) still say "yes" for it, so that a
    yes/no answer never changes because someone opted out (catalogue.services.opt_outs; the README's Opt-out).

    `ac` is 1 when the allele was carried at all; `groups` holds [1, 0, 0, 0] for each group it left.
    """

    __tablename__ = "catalogue_withdrawn_allele"
    dataset_id: str = Field(foreign_key="catalogue_dataset.id", primary_key=True, max_length=16)
    chrom: str = Field(primary_key=True, max_length=8)
    pos: int = Field(primary_key=True)
    ref: str = Field(primary_key=True)
    alt: str = Field(primary_key=True)
    end: int
    variant_type: str = Field(max_length=8)
    length: int
    ac: int
    an: int = 0
    het: int = 0
    hom_alt: int = 0
    hemi_alt: int = 0
    groups: dict[str, list[int]] | None = Field(default=None, sa_column=Column(JSON, nullable=True))
