"""Every timestamp the API returns carries its UTC offset, on SQLite (which stores them without one) and
PostgreSQL: every list and read endpoint whose answer holds a date-time, as the OpenAPI document lists them."""

from __future__ import annotations

import base64
import json
import os
import re
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from crypt4gh import sodium
from sqlmodel import Session

from beacon.privacy.models import PrivacyLedger
from catalogue.identity import Caller
from catalogue.runtime import Runtime
from ingest.services import start_ingestion
from ingest.synthetic import simulate_cohort
from tests.access.conftest import World

ALICE = "alice@uni.example"
ADMIN = "admin@example.org"
_ISO = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}")


def _timestamps(value: Any) -> list[str]:
    """Every string in a JSON document that is a date-time."""
    if isinstance(value, dict):
        return [t for v in value.values() for t in _timestamps(v)]
    if isinstance(value, list):
        return [t for v in value for t in _timestamps(v)]
    return [value] if isinstance(value, str) and _ISO.match(value) else []


def _with_date_times(spec: dict[str, Any]) -> set[str]:
    """The GET paths of the OpenAPI document whose 200 answer holds a date-time (through any $ref)."""
    schemas = spec["components"]["schemas"]

    def holds(node: Any, seen: set[str]) -> bool:
        text = json.dumps(node)
        if '"date-time"' in text:
            return True
        for name in re.findall(r'"#/components/schemas/([^"]+)"', text):
            if name not in seen and holds(schemas[name], seen | {name}):
                return True
        return False

    return {path for path, ops in spec["paths"].items()
            if "get" in ops and holds(ops["get"].get("responses", {}).get("200", {}), set())}


def test_every_read_endpoint_gives_timestamps_with_their_utc_offset(
        world: World, session: Session, runtime: Runtime, tmp_path: Path) -> None:
    # Something of everything that has a timestamp: a decided request (events, entitlement, audit), a vote,
    # an attachment, a key, an ingestion, a privacy budget.
    approved = world.approved(ALICE, [world.hmb])
    voted = world.submitted(ALICE, [world.gru])
    assert world.call("POST", f"/requests/{voted}/votes", "dac2@example.org",
                      json={"choice": "approve"}).status_code == 201
    drafted = world.draft(ALICE, [world.hmb])
    attached = world.call("POST", f"/requests/{drafted}/attachments?filename=ethics.pdf", ALICE,
                          content=b"%PDF-1.4 ethics", headers={"content-type": "application/pdf"})
    assert attached.status_code == 201, attached.text
    public = base64.b64encode(bytes(sodium.derive_pk(os.urandom(32)))).decode()
    pem = f"-----BEGIN CRYPT4GH PUBLIC KEY-----\n{public}\n-----END CRYPT4GH PUBLIC KEY-----\n"
    assert world.client.post("/api/access/keys", json={"public_key": pem},
                             headers=world.auth(ALICE)).status_code == 201
    cohort = simulate_cohort(tmp_path / "c.vcf.gz", samples=3, variants_per_contig=5)
    job = start_ingestion(session, Caller.cli_operator(), world.public, files=[cohort.path])
    session.add(PrivacyLedger(holder="account:x|reader", dataset_id=world.hmb, kind="account"))
    session.commit()
    organisation = world.client.get("/api/organisations").json()[0]["id"]

    reads = {  # path template -> (URL, who asks)
        "/api/organisations": ("/api/organisations", None),
        "/api/organisations/{organisation_id}": (f"/api/organisations/{organisation}", None),
        "/api/dacs": ("/api/dacs", None),
        "/api/dacs/{dac_id}": (f"/api/dacs/{world.dac}", None),
        "/api/admin/roles": ("/api/admin/roles", ADMIN),
        "/api/datasets": ("/api/datasets", None),
        "/api/datasets/{dataset_id}": (f"/api/datasets/{world.hmb}", None),
        "/api/datasets/{dataset_id}/ingestions": (f"/api/datasets/{world.public}/ingestions", ADMIN),
        "/api/ingestions/{job_id}": (f"/api/ingestions/{job.id}", ADMIN),
        "/api/access/requests": ("/api/access/requests", ALICE),
        "/api/access/requests/{request_id}": (f"/api/access/requests/{approved}", ALICE),
        "/api/access/requests/{request_id}/events": (f"/api/access/requests/{approved}/events", ALICE),
        "/api/access/requests/{request_id}/votes": (f"/api/access/requests/{voted}/votes", "dac1@example.org"),
        "/api/access/requests/{request_id}/attachments": (f"/api/access/requests/{drafted}/attachments", ALICE),
        "/api/access/entitlements": ("/api/access/entitlements", ALICE),
        "/api/access/audit": ("/api/access/audit", ADMIN),
        "/api/access/keys": ("/api/access/keys", ALICE),
        "/api/admin/privacy": ("/api/admin/privacy", ADMIN),
        "/api/jobs": ("/api/jobs", ADMIN),
        "/api/jobs/{job_id}": (f"/api/jobs/{job.job_id}", ADMIN),
    }
    assert _with_date_times(world.client.get("/openapi.json").json()) == set(reads)  # none is left out
    for template, (url, who) in reads.items():
        response = world.client.get(url, headers=world.auth(who) if who else {})
        assert response.status_code == 200, (template, response.text)
        found = _timestamps(response.json())
        assert found, f"{template}: no timestamp to check"
        for value in found:
            assert datetime.fromisoformat(value).utcoffset() == timedelta(0), (template, value)
