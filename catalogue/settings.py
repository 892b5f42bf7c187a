"""Settings: every knob, its environment variable (GENOMEGATE_*) and default, validated once at start-up."""

from __future__ import annotations

import json
import re
from enum import StrEnum
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import BaseModel, Field, ValidationError, field_validator, model_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

__all__ = [
    "DEV_PARTICIPANT_KEY", "DEV_SECRET", "Environment", "Settings", "SettingsError", "TrustedIssuer",
    "TrustedVisaIssuer", "load_settings",
]

DEV_SECRET = "dev-insecure-change-me"
DEV_PARTICIPANT_KEY = "dev-participant-key-change-me"
_BROKERS = ("redis://", "rediss://", "unix://", "postgresql://", "postgresql+psycopg://", "postgres://", "sqlite:///")


class Environment(StrEnum):
    development = "development"
    production = "production"


class TrustedIssuer(BaseModel):
    """An external OIDC/JWT issuer whose tokens are accepted (e.g. LS Login, Keycloak, another node)."""

    issuer: str
    audience: str
    jwks_url: str | None = None
    jwks_file: Path | None = None

    @model_validator(mode="after")
    def _one_key_source(self) -> TrustedIssuer:
        if (self.jwks_url is None) == (self.jwks_file is None):
            raise ValueError(f"issuer {self.issuer}: give exactly one of jwks_url or jwks_file")
        return self


class TrustedVisaIssuer(BaseModel):
    """A GA4GH visa issuer whose visas are accepted: the (iss, jku) pair is allow-listed before any key is fetched."""

    iss: str
    jku: str
    jwks_file: Path | None = Field(default=None, description="the JWKS at jku, read from disk instead of fetched")


class Settings(BaseSettings):
    """GenomeGate's configuration; each field is read from GENOMEGATE_<FIELD> (upper case)."""

    model_config = SettingsConfigDict(env_prefix="GENOMEGATE_", extra="ignore")

    env: Environment = Field(default=Environment.development, description="development or production")
    data_dir: Path = Field(Path(".genomegate"), description="keys, managed files and the SQLite database")
    database_url: str = Field(default="", description="SQLAlchemy URL; default SQLite in the data dir")
    import_dir: Path | None = Field(default=None, description="files the ingest API may read; default data_dir/import")
    public_base_url: str = Field(default="http://127.0.0.1:8000", description="URL this node is reached at")
    cors_origins: Annotated[list[str], NoDecode] = Field(
        default_factory=list, description="comma-separated origins allowed by CORS"
    )
    secret_key: str = Field(default=DEV_SECRET, description="signs short-lived URLs; must be set in production")
    token_audience: str = Field(default="genomegate", description="audience of tokens issued by the local issuer")
    local_issuer: bool = Field(default=True, description="run the built-in token issuer (development, single node)")
    trusted_issuers: Annotated[list[TrustedIssuer], NoDecode] = Field(
        default_factory=list, description="JSON list of {issuer, audience, jwks_url | jwks_file}"
    )
    oidc_issuer: str | None = Field(
        default=None, description="OpenID Connect provider people sign in with on the web pages "
                                  "(its /.well-known/openid-configuration is read)")
    oidc_client_id: str | None = Field(default=None, description="this node's client id at the OIDC provider")
    oidc_client_secret: str | None = Field(default=None, description="this node's client secret at the OIDC provider")
    reference_fasta: Annotated[dict[str, Path], NoDecode] = Field(
        default_factory=dict, description='JSON {"GRCh38": "/path/GRCh38.fa"}: indexed FASTA per assembly '
                                          "with which the Beacon left-aligns query indels")
    access_days: int = Field(default=365, ge=1, le=3650, description="default length of an approved access, in days")
    visa_lifetime: int = Field(default=3600, ge=60, le=86_400, description="seconds a visa issued here stays valid")
    trusted_visa_issuers: Annotated[list[TrustedVisaIssuer], NoDecode] = Field(
        default_factory=list, description="JSON list of {iss, jku[, jwks_file]} whose visas are accepted")
    release_ticket_ttl: int = Field(
        default=300, ge=10, le=86_400, description="seconds an htsget ticket's URLs stay valid")
    release_file_block_bytes: int = Field(default=1 << 30, ge=1 << 20,
                                          description="largest byte range of one whole-file htsget URL")
    release_spool_bytes: int = Field(default=8 << 20, ge=1 << 16,
                                     description="region blocks larger than this spill to a temporary file")
    release_node_key: Path | None = Field(
        default=None, description="the node's Crypt4GH secret key for files kept encrypted at rest; "
                                  "default data_dir/keys/node.c4gh.sec")
    attachment_max_bytes: int = Field(default=10_000_000, ge=1_000, description="largest attachment of a request")
    max_body_bytes: int = Field(
        default=1 << 20, ge=1_024, description="largest request body but an attachment upload's (413 beyond it)")
    max_json_depth: int = Field(
        default=32, ge=2, le=256, description="deepest nesting of a JSON request body (400 beyond it)")
    reminder_days: int = Field(default=30, ge=1, description="remind applicants this many days before access ends")
    smtp_host: str | None = Field(default=None, description="SMTP server for notifications (none: kept in the outbox)")
    smtp_port: int = Field(default=25, description="SMTP port")
    smtp_user: str | None = Field(default=None, description="SMTP user name")
    smtp_password: str | None = Field(default=None, description="SMTP password")
    smtp_starttls: bool = Field(default=False, description="use STARTTLS")
    smtp_from: str = Field(default="genomegate@localhost", description="sender of notifications")
    privacy_anonymous: Literal["refuse", "budget"] = Field(
        default="refuse", description="anonymous callers and datasets with genotypes: refuse, or a budget per address")
    privacy_anonymous_p: float = Field(
        default=0.9, gt=0.0, le=1.0, description="budget parameter p of one address (attack power <= alpha / p)")
    privacy_renew_days: int = Field(
        default=0, ge=0, le=3650, description="days after which a spent budget renews (0: never)")
    privacy_org_budgets: float = Field(
        default=1.0, ge=1.0, le=100.0,
        description="an organisation's accounts together get this many accounts' budgets")
    privacy_alert_rare: int = Field(
        default=25, ge=1, description="alert after this many rare-allele questions of one account about one dataset")
    audit_checkpoint_seconds: int = Field(
        default=300, ge=0, le=86_400,
        description="a worker signs a checkpoint of the audit log this often, when lines were added (0: never)")
    log_level: str = Field(default="INFO", description="logging level")
    max_page_size: int = Field(default=100, ge=1, le=10_000, description="largest page a list endpoint returns")
    worker_threads: int = Field(default=8, ge=1, le=1_000, description="threads per server process that run the "
                                "endpoints' database, file and network work (at least max_in_flight: no request "
                                "admitted waits for a thread)")
    db_pool_size: int = Field(default=12, ge=1, le=1_000, description="database connections per server process (at "
                              "least max_in_flight: a thread never waits long for one)")
    db_pool_timeout: float = Field(default=1.0, gt=0, le=60, description="seconds a request waits for a database "
                                   "connection before it is answered 503")
    db_lock_timeout: float = Field(default=0.5, gt=0, le=60, description="seconds a write waits for another's lock "
                                   "(SQLite busy_timeout, PostgreSQL lock_timeout) before it is answered 503")
    max_in_flight: int = Field(default=8, ge=1, le=10_000, description="requests one server process works on at once; "
                               "more are answered 503 with Retry-After at once (/healthz is never refused)")
    max_heavy_in_flight: int = Field(default=4, ge=1, le=10_000, description="of those, heavy ones (signed-in, POST "
                                     "or filtered Beacon queries; ingestion starts): more are answered 503 at once, "
                                     "so cheap requests always find room")
    # Ingestion spread over workers (ingest/chunks.py)
    ingest_chunk_records: int = Field(
        default=250_000, ge=1, le=100_000_000,
        description="records per chunk of an ingestion, about (contigs with more are cut into position ranges); "
                    "a worker holds one chunk's rows in memory while it stages them")

    # --- release: rate limit of htsget tickets and blocks and downloads ---
    release_rate_limit: int = Field(
        default=600, ge=0, le=1_000_000,
        description="htsget tickets, htsget blocks and downloads one caller (an anonymous one: one network address) "
                    "may ask for in a window; more are answered 429 with Retry-After (0: no limit)")
    release_rate_window: int = Field(
        default=60, ge=1, le=86_400, description="seconds of the release rate limit's sliding window")

    # jobs
    queue_url: str = Field(
        default="", description="the broker that carries jobs to workers: empty for the embedded queue (a SQLite "
                                "file in the data dir; workers on this machine only), redis://host:port/db, or "
                                "postgresql://user@host/db")
    queue_name: str = Field(default="genomegate", min_length=1, max_length=64, pattern=r"^[A-Za-z0-9_.-]+$",
                            description="the queue's name on the broker (nodes or tests sharing one broker differ)")
    job_lease_seconds: int = Field(
        default=30, ge=1, le=3600, description="a running job's worker renews its claim every third of this; a job "
                                               "unrenewed this long is given to another worker")
    job_max_attempts: int = Field(default=3, ge=1, le=100, description="attempts of a job before it fails (kinds "
                                  "may say otherwise); waits 2, 4, 8 ... s between them")
    job_keep_days: int = Field(default=7, ge=1, le=3650, description="days a finished job stays in the ledger")
    worker_concurrency: int = Field(default=2, ge=1, le=256, description="jobs one `genomegate worker` runs at once")
    notifications_every_seconds: int = Field(
        default=30, ge=0, le=86_400, description="the outbox is delivered this often (besides right after an action "
                                                 "that queued mail; 0: only then)")
    reminders_every_seconds: int = Field(
        default=86_400, ge=0, le=604_800, description="expiry reminders are queued this often (0: never)")
    expiries_every_seconds: int = Field(
        default=300, ge=0, le=86_400, description="entitlements that ended are recorded (audit, notice) this often "
                                                  "(0: never)")
    budget_renewal_every_seconds: int = Field(
        default=3600, ge=0, le=604_800, description="privacy budgets whose period ended are renewed this often "
                                                    "(0: only when next used)")

    # --- several servers, one database: a read replica -------------------------------------------------------
    database_read_url: str = Field(default="", description="SQLAlchemy URL of a read-only copy of the database (a "
                                   "PostgreSQL streaming replica) that Beacon reads (counts, records, lookups) go "
                                   "to; its connections are opened read-only. Empty: every read goes to "
                                   "database_url. Writes (privacy ledger, audit, sessions) always go to database_url")

    @field_validator("cors_origins", mode="before")
    @classmethod
    def _split_origins(cls, value: Any) -> Any:
        if isinstance(value, str):
            return [o.strip() for o in value.split(",") if o.strip()]
        return value

    @field_validator("reference_fasta")
    @classmethod
    def _references_exist(cls, value: dict[str, Path]) -> dict[str, Path]:
        for assembly, path in value.items():
            if assembly not in ("GRCh37", "GRCh38"):
                raise ValueError(f"{assembly} is not an assembly (GRCh37 or GRCh38)")
            if not path.is_file() or not Path(f"{path}.fai").is_file():
                raise ValueError(f"{path} is not an indexed FASTA (it and {path.name}.fai must exist)")
        return value

    @field_validator("trusted_issuers", "trusted_visa_issuers", "reference_fasta", mode="before")
    @classmethod
    def _parse_issuers(cls, value: Any) -> Any:
        if isinstance(value, str):
            return json.loads(value) if value.strip() else []
        return value

    @field_validator("public_base_url")
    @classmethod
    def _strip_slash(cls, value: str) -> str:
        if not value.startswith(("http://", "https://")):
            raise ValueError("must start with http:// or https://")
        return value.rstrip("/")

    @model_validator(mode="after")
    def _production_rules(self) -> Settings:
        if not self.database_url:
            self.database_url = f"sqlite:///{self.data_dir / 'genomegate.db'}"
        if self.env is Environment.production:
            if self.secret_key == DEV_SECRET or len(self.secret_key) < 32:
                raise ValueError("GENOMEGATE_SECRET_KEY: set it to 32+ random characters in production "
                                 "(the development default is refused)")
        if self.queue_url and not self.queue_url.startswith(_BROKERS):
            raise ValueError("GENOMEGATE_QUEUE_URL: a broker is redis://, rediss://, postgresql:// or sqlite:/// "
                             "(empty: the embedded queue)")
        if self.oidc_issuer and not self.oidc_client_id:
            raise ValueError("GENOMEGATE_OIDC_CLIENT_ID: set it together with GENOMEGATE_OIDC_ISSUER")
        return self

    @property
    def import_root(self) -> Path:
        return (self.import_dir or self.data_dir / "import").resolve()

    @property
    def store_root(self) -> Path:
        """Where ingested files are kept (bgzipped, indexed, named by checksum)."""
        return (self.data_dir / "store").resolve()

    @property
    def issuer_url(self) -> str:
        """The `iss` of tokens from the built-in issuer."""
        return self.public_base_url

    # --- DCAT-AP catalogue (catalogue/dcat.py) ---
    dcat_spatial: Annotated[list[str], NoDecode] = Field(
        default_factory=list, description="comma-separated EU country codes (ISO 3166-1 alpha-3, e.g. SWE) where the "
        "catalogue's data come from: dct:spatial of the catalogue and its datasets")
    dcat_licence: str = Field(default="", max_length=200, description="licence of the catalogue's metadata (an SPDX "
                              "id such as CC0-1.0, or a URL): dct:license of the dcat:Catalog")

    @field_validator("dcat_spatial", mode="before")
    @classmethod
    def _split_countries(cls, value: Any) -> Any:
        if isinstance(value, str):
            value = [c.strip() for c in value.split(",") if c.strip()]
        if isinstance(value, list) and not all(isinstance(c, str) and re.fullmatch(r"[A-Z]{3}", c) for c in value):
            raise ValueError("give EU country codes of three capital letters (ISO 3166-1 alpha-3), e.g. SWE,NOR")
        return value

    # --- federation: this node among its peers (network/) ---------------------------------------------------
    node_name: str = Field(default="GenomeGate", min_length=1, max_length=100,
                           description="this node's name, as peers and the service registry show it")
    beacon_id: str = Field(default="org.genomegate.beacon", pattern=r"^[A-Za-z0-9][A-Za-z0-9._-]{0,99}$",
                           description="this node's Beacon id (reverse domain name, e.g. se.example.beacon): unique "
                           "in a network, it tags this node's answers in network responses")
    network_deadline_seconds: float = Field(default=2.0, gt=0, le=30, description="the network Beacon's overall "
                                            "deadline for one query: what arrived by then is answered")
    network_peer_timeout_seconds: float = Field(default=5.0, gt=0, le=60, description="a peer's time to answer a "
                                                "health check or a harvest")
    network_health_every_seconds: int = Field(default=60, ge=0, le=86_400, description="seconds between health "
                                              "checks of the peers (0: never; the backed-off wait starts from it)")
    network_failures_to_open: int = Field(default=3, ge=1, le=100, description="consecutive failures after which "
                                          "a peer is backed off (its circuit opened)")
    network_backoff_max_seconds: int = Field(default=900, ge=1, le=86_400, description="the longest a peer is "
                                             "backed off before it is tried again (the wait doubles from the "
                                             "health-check interval)")
    # --- federation: witnessing the peers' audit logs (network/witness/) ---------------------------------------
    witness_every_seconds: int = Field(default=300, ge=0, le=86_400, description="seconds between looks at each "
                                       "GenomeGate peer's latest signed audit checkpoint, countersigned when it "
                                       "extends the last one witnessed (0: never)")

    # --- opt-outs (catalogue.services.opt_outs, ingest.opt_outs) ---
    opt_out_apply_every_seconds: float = Field(
        default=14_400, ge=0, le=43_200, description="how often the scheduled job applies requested opt-outs and "
        "their undo (a recount of each dataset concerned); at most 12 hours, so that one takes effect within 24; "
        "0 switches the schedule off (then only `genomegate opt-outs apply` applies them)")

    @field_validator("opt_out_apply_every_seconds")
    @classmethod
    def _not_too_often(cls, value: float) -> float:
        if 0 < value < 60:
            raise ValueError("give at least 60 seconds (a recount per dataset concerned), or 0 for no schedule")
        return value

    # --- participants (participants/): linking people to their samples by a keyed hash, never in clear ---
    participant_key: str = Field(
        default=DEV_PARTICIPANT_KEY, min_length=1, max_length=500, description="node secret (32+ characters in "
        "production) keying the HMAC-SHA256 of participant identifiers; never stored in the database")
    participant_claim: str = Field(
        default="sub", min_length=1, max_length=100, pattern=r"^[A-Za-z0-9_.:-]+$",
        description="the token claim that identifies a participant (e.g. sub, or a national identity claim)")

    @model_validator(mode="after")
    def _participant_key_in_production(self) -> Settings:
        if self.env is Environment.production and (self.participant_key == DEV_PARTICIPANT_KEY
                                                    or len(self.participant_key) < 32):
            raise ValueError("GENOMEGATE_PARTICIPANT_KEY: set it to 32+ random characters in production (the "
                             "development default is refused; changing it later unlinks every participant)")
        return self

    # --- federated catalogue: harvesting the peers' DCAT-AP catalogues (network/harvest.py) -------------------
    network_harvest_every_seconds: int = Field(default=3_600, ge=0, le=7 * 86_400, description="seconds between "
                                               "harvests of the peers' DCAT-AP catalogues (0: only on demand)")
    network_harvest_max_bytes: int = Field(default=16 << 20, ge=1 << 16, le=1 << 30, description="largest DCAT-AP "
                                           "catalogue read from a peer (a larger one fails its harvest)")
    network_harvest_timeout_seconds: float = Field(default=60.0, gt=0, le=3_600, description="a peer's whole "
                                                   "DCAT-AP catalogue must arrive within this (each read within "
                                                   "network_peer_timeout_seconds)")
    network_harvest_max_datasets: int = Field(default=10_000, ge=1, le=1_000_000, description="most datasets kept "
                                              "from one peer's catalogue (more fails its harvest)")

    # --- federation, decide access once: DACs at other nodes (access/visas.py, access/services/remote_dacs.py) ---
    federated_visa_lifetime: int = Field(
        default=300, ge=10, le=3600, description="seconds a visa this node's DAC issues for a dataset held at another "
        "node stays valid: a revocation here reaches the holding node within this (plus its leeway)")
    remote_visa_max_lifetime: int = Field(
        default=900, ge=10, le=86_400, description="the longest life (exp - iat) of a visa from a DAC at another node "
        "accepted here: it bounds how long a revocation there takes to reach this node")
    visa_leeway_seconds: int = Field(
        default=30, ge=0, le=300, description="clock skew allowed on a visa's expiry when it is checked here")


class SettingsError(Exception):
    """The configuration is invalid; each line of the message names a setting and what is wrong."""


def load_settings(**overrides: Any) -> Settings:
    """Build settings from the environment (and overrides), turning validation errors into one line each."""
    try:
        return Settings(**overrides)
    except ValidationError as exc:
        lines = []
        for err in exc.errors():
            loc = ".".join(str(p) for p in err["loc"])
            msg = err["msg"].removeprefix("Value error, ")
            lines.append(f"GENOMEGATE_{loc.split('.')[0].upper()}: {msg}" if loc else msg)
        raise SettingsError("\n".join(lines)) from None
