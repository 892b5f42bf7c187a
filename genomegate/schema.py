"""Schema management through Alembic: upgrade, and whether a database is at the current revision."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Engine

__all__ = ["SchemaStatus", "alembic_config", "import_all_models", "schema_status", "upgrade"]



def import_all_models() -> None:
    """Import every area's tables, so that SQLModel.metadata holds the whole schema."""
    import access.models  # noqa: F401
    import access.release.models  # noqa: F401
    import beacon.privacy.models  # noqa: F401
    import catalogue.models  # noqa: F401
    import ingest.models  # noqa: F401
    import jobs.models  # noqa: F401
    import network.harvest_models  # noqa: F401
    import network.models  # noqa: F401


def alembic_config(url: str) -> Config:
    config = Config()
    config.set_main_option("script_location", str(Path(__file__).parent / "migrations"))
    config.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    return config


@dataclass(frozen=True, slots=True)
class SchemaStatus:
    current: str | None
    head: str

    @property
    def is_current(self) -> bool:
        return self.current == self.head


def schema_status(engine: Engine) -> SchemaStatus:
    """The database's revision and the code's head revision."""
    head = ScriptDirectory.from_config(alembic_config(str(engine.url))).get_current_head()
    assert head is not None
    with engine.connect() as conn:
        current = MigrationContext.configure(conn).get_current_revision()
    return SchemaStatus(current=current, head=head)


def upgrade(engine: Engine, revision: str = "head") -> None:
    """Migrate the database to `revision` (the newest by default)."""
    config = alembic_config(engine.url.render_as_string(hide_password=False))
    with engine.begin() as conn:
        config.attributes["connection"] = conn
        command.upgrade(config, revision)
