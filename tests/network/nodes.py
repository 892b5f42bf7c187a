"""Several GenomeGate nodes for federation tests: each a real `genomegate serve` process on loopback with its own
data directory, signing keys and database (SQLite, or a PostgreSQL database of its own), its own Beacon id.

A test sets a node up in-process through its `runtime` (the same services the CLI calls, on the node's database),
then starts it; peers are added over HTTP or with the node's CLI, exactly as an operator would.
"""

from __future__ import annotations

import json
import subprocess
import sys
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
from sqlmodel import Session, select

from catalogue.identity import Caller
from catalogue.models import Dac, Dataset, Organisation, Role, SecurityLevel
from catalogue.runtime import Runtime, build_runtime
from catalogue.services.datasets import publish_dataset
from catalogue.settings import Settings
from genomegate.schema import upgrade
from ingest.services import run_job, start_ingestion
from tests.factories import grant, make_dac, make_dataset, make_organisation
from tests.serving import free_port
from tests.workers import ROOT, settings_env

__all__ = ["Node", "nodes"]

OPERATOR = Caller.cli_operator()


@dataclass
class Node:
    """One node: its settings and runtime (for set-up in the test's process) and, once started, its process."""

    name: str
    settings: Settings
    runtime: Runtime
    folder: Path
    process: subprocess.Popen[bytes] | None = None
    env_extra: dict[str, str] = field(default_factory=dict)

    @property
    def url(self) -> str:
        return self.settings.public_base_url

    @property
    def beacon(self) -> str:
        return f"{self.url}/beacon/v2"

    def session(self) -> Session:
        return Session(self.runtime.engine, expire_on_commit=False)

    def env(self, **extra: Any) -> dict[str, str]:
        """The environment of a process of this node (a server, a worker, a CLI command)."""
        values = self.settings.model_dump(mode="json", include=self.settings.model_fields_set)
        values = {k: json.dumps(v) if isinstance(v, list | dict) else v for k, v in {**values, **extra}.items()}
        return {**settings_env(self.settings, **values), **self.env_extra}

    def token(self, subject: str, **claims: Any) -> str:
        """A bearer token of this node's own issuer."""
        assert self.runtime.issuer is not None
        return self.runtime.issuer.issue(subject, **claims)

    def admin_token(self, subject: str | None = None) -> str:
        subject = subject or f"admin@{self.name}.example"
        with self.session() as session:
            grant(session, subject, Role.admin)
        return self.token(subject)

    def cli(self, *args: str, check: bool = True, timeout: float = 120) -> subprocess.CompletedProcess[str]:
        """`genomegate <args>` as this node's operator runs it."""
        result = subprocess.run([sys.executable, "-m", "genomegate", *args], env=self.env(), cwd=ROOT,
                                capture_output=True, text=True, timeout=timeout, check=False)
        if check and result.returncode != 0:
            raise AssertionError(f"genomegate {' '.join(args)} on {self.name} failed ({result.returncode}):\n"
                                 f"{result.stdout}\n{result.stderr}")
        return result

    def publish(self, files: Sequence[Path], *, samples: Path | None = None,
                security: SecurityLevel = SecurityLevel.PUBLIC, title: str | None = None,
                **overrides: Any) -> Dataset:
        """A published dataset of this node with `files` ingested (privacy budget off unless given)."""
        overrides.setdefault("privacy_p", 0.0)
        overrides.setdefault("count_threshold", 0)
        with self.session() as session:
            # one biobank and DAC per node, made with its first dataset
            org = (session.exec(select(Organisation).where(Organisation.name == f"{self.name} biobank")).first()
                   or make_organisation(session, name=f"{self.name} biobank"))
            dac = (session.exec(select(Dac).where(Dac.name == f"{self.name} DAC")).first()
                   or make_dac(session, name=f"{self.name} DAC"))
            dataset = make_dataset(session, organisation_id=org.id, dac_id=dac.id, dua_text="use it well",
                                   security=security, title=title or f"{self.name} cohort")
            for key, value in overrides.items():
                setattr(dataset, key, value)
            session.add(dataset)
            session.commit()
            job = start_ingestion(session, OPERATOR, dataset.id, files=list(files), samples=samples)
        done = run_job(self.runtime.engine, job.id, store_root=self.settings.store_root)
        assert done.state == "succeeded", done
        with self.session() as session:
            published = publish_dataset(session, OPERATOR, dataset.id)
            session.refresh(published)
            return published

    def start(self, **extra: Any) -> None:
        """Serve this node (`genomegate serve`) until stop(); `extra` settings for this run."""
        assert self.process is None, f"{self.name} is running already"
        log = (self.folder / "serve.log").open("ab")
        port = self.url.rsplit(":", 1)[1]
        self.process = subprocess.Popen([sys.executable, "-m", "genomegate", "serve", "--port", port],
                                        env=self.env(**extra), cwd=ROOT, stdout=subprocess.DEVNULL, stderr=log)
        log.close()
        deadline = time.monotonic() + 60
        while not _answers(f"{self.url}/healthz"):
            if self.process.poll() is not None:
                raise RuntimeError(f"{self.name} exited: {self.log()[-2000:]}")
            if time.monotonic() > deadline:
                raise RuntimeError(f"{self.name} did not answer within 60 s: {self.log()[-2000:]}")
            time.sleep(0.1)

    def stop(self) -> None:
        if self.process is None:
            return
        self.process.terminate()
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
        self.process = None

    def kill(self) -> None:
        """SIGKILL: the node vanishes mid-whatever, as a crashed machine would."""
        if self.process is not None:
            self.process.kill()
            self.process.wait()
            self.process = None

    def log(self) -> str:
        path = self.folder / "serve.log"
        return path.read_text(errors="replace") if path.exists() else ""


def _answers(url: str) -> bool:
    try:
        return httpx.get(url, timeout=1).status_code == 200
    except httpx.HTTPError:
        return False


@contextmanager
def nodes(folder: Path, names: Sequence[str], database_url: Callable[[str], str] | None = None,
          **settings: Any) -> Iterator[list[Node]]:
    """Nodes named `names`, migrated and configured (not started: call `start()`); all stopped at the end.

    `database_url(name)` gives each node's database (default: SQLite in its data directory); `settings` apply to
    every node."""
    made: list[Node] = []
    with ExitStack() as stack:
        for name in names:
            home = folder / name
            home.mkdir(parents=True)
            port = free_port()
            node_settings = Settings(
                data_dir=home / "data", database_url=database_url(name) if database_url else "",
                import_dir=home / "import", public_base_url=f"http://127.0.0.1:{port}",
                beacon_id=f"org.genomegate.{name}", node_name=f"Node {name}", secret_key=f"{name}-secret-" + "x" * 32,
                log_level="WARNING", **settings)
            node_settings.data_dir.mkdir(parents=True)
            runtime = build_runtime(node_settings)
            upgrade(runtime.engine)
            node = Node(name=name, settings=node_settings, runtime=runtime, folder=home)
            stack.callback(runtime.engine.dispose)
            stack.callback(node.stop)
            made.append(node)
        yield made
