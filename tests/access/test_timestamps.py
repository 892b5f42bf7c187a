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
from catalogue.models import Sample, utcnow
from catalogue.runtime import Runtime
from ingest.services import start_ingestion
from ingest.synthetic import simulate_cohort
from network.harvest_models import PeerHarvest, RemoteDataset
from network.models import Peer
from network.witness.models import AlarmKind, WatchedLog, WitnessAlarm
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
    # the network's records (a peer, its harvest and a dataset of it, a witnessed log and an alarm), as the
    # health check, the harvest and the witness write them; a participant linked to a sample; a remote DAC
    now = utcnow()
    session.add(Peer(id="peer-b", name="Node B", beacon_url="http://b.example/beacon/v2", node_url="http://b.example",
                     beacon_id="org.b", api_version="v2.0.0", added_by=ADMIN, checked_at=now, ok_at=now))
    session.flush()  # the peer before what refers to it
    session.add(PeerHarvest(peer_id="peer-b", attempted_at=now, succeeded_at=now, datasets=1))
    session.add(RemoteDataset(peer_id="peer-b", dataset_id="GGD000009", iri="http://b.example/datasets/GGD000009",
                              title="Remote cohort", issued=now, modified=now))
    session.add(WatchedLog(origin="http://b.example", peer_id="peer-b", key_x="x", key_id="k", checked_at=now))
    session.add(WitnessAlarm(origin="http://b.example", peer_id="peer-b", kind=AlarmKind.inconsistent,
                             message="history rewritten", size=2))
    session.add(Sample(dataset_id=world.hmb, sample_id="S1"))
    session.commit()
    linked = world.client.post(f"/api/datasets/{world.hmb}/link-sheets", headers=world.auth(ADMIN),
                               files={"sheet": ("links.csv", f"sample_id,participant_id\nS1,{ALICE}\n", "text/csv")})
    assert linked.status_code == 201, linked.text
    remote = world.call("PUT", f"/datasets/{world.gru}/remote-dac", ADMIN,
                        json={"node_url": "http://b.example", "dac_id": "GGC000001"})
    assert remote.status_code == 200, remote.text
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
        "/api/network/peers": ("/api/network/peers", ADMIN),
        "/api/network/peers/{peer_id}": ("/api/network/peers/peer-b", ADMIN),
        "/api/network/harvests": ("/api/network/harvests", ADMIN),
        "/api/network/datasets/{peer_id}/{dataset_id}": ("/api/network/datasets/peer-b/GGD000009", None),
        "/api/network/witness/logs": ("/api/network/witness/logs", ADMIN),
        "/api/network/witness/alarms": ("/api/network/witness/alarms", ADMIN),
        "/api/datasets/{dataset_id}/link-sheets": (f"/api/datasets/{world.hmb}/link-sheets", ADMIN),
        "/api/access/datasets/{dataset_id}/remote-dac": (f"/api/access/datasets/{world.gru}/remote-dac", None),
        "/api/participants/me": ("/api/participants/me", ALICE),
        "/api/register/permits": ("/api/register/permits", None),
    }
    assert _with_date_times(world.client.get("/openapi.json").json()) == set(reads)  # none is left out
    for template, (url, who) in reads.items():
        response = world.client.get(url, headers=world.auth(who) if who else {})
        assert response.status_code == 200, (template, response.text)
        found = _timestamps(response.json())
        assert found, f"{template}: no timestamp to check"
        for value in found:
            assert datetime.fromisoformat(value).utcoffset() == timedelta(0), (template, value)
