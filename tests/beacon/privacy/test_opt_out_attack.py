"""Opt-outs against the privacy budget: an attacker who knows a person's genome asks the Beacon about their alleles
before and after opt-outs are applied, looking for answers that turned from "yes" to "no" (the person was a member
and left). Without the defence the difference gives them away; with it no yes/no answer changes, so the attack's
power is the false-positive rate itself.

Its own small world (members, a panel, a few outsiders; see attacks.simulate_world), ingested twice as in the
suite's conftest: at the default privacy_p and with the defence off. Of 30 victims, all members, 15 opt out of
both datasets and 15 stay; the opt-out job recounts both. Every question comes from a fresh account of its own
organisation (colluding accounts, the strongest version: each question is charged to a full budget), before and
after. SQLite, one uvicorn thread on loopback.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from itertools import count

import httpx
import numpy as np
import pytest
from sqlmodel import Session, select

from beacon.privacy.domain import power_bound
from catalogue.identity import Caller
from catalogue.models import PRIVACY_P, Assembly, Variant, utcnow
from catalogue.runtime import Runtime
from catalogue.services import opt_outs
from ingest.opt_outs import start_recounts
from ingest.reference_af import load_reference_af
from tests.beacon.privacy.attacks import COMMON_AF, SEED, Allele, Answer, BeaconProbe, World, power, simulate_world
from tests.beacon.privacy.conftest import _beacon_dataset, _runtime
from tests.serving import serving_node
from tests.workers import run_queued

ALPHA = 0.05
QUITTERS = STAYERS = 15


@dataclass
class Node:
    base_url: str
    runtime: Runtime
    defended: str
    undefended: str


@pytest.fixture(scope="module")
def small_world(tmp_path_factory: pytest.TempPathFactory) -> World:
    return simulate_world(tmp_path_factory.mktemp("opt-out-world"), members=150, outsiders=10, panel=400,
                          sites=4_000, seed=SEED)


@pytest.fixture(scope="module")
def node(small_world: World, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Node]:
    runtime = _runtime(tmp_path_factory.mktemp("opt-out-node"))
    defended = _beacon_dataset(runtime, small_world, "Defended cohort", None)
    undefended = _beacon_dataset(runtime, small_world, "Undefended cohort", 0.0)
    with Session(runtime.engine, expire_on_commit=False) as session:
        load_reference_af(session, Caller.cli_operator(), small_world.panel_sites, assembly=Assembly.GRCh38)
    with serving_node(runtime) as base:
        yield Node(base, runtime, defended, undefended)
    runtime.engine.dispose()


def test_no_yes_no_answer_changes_when_people_opt_out_so_the_difference_reveals_nobody(
        node: Node, small_world: World, record_property: pytest.RecordProperty) -> None:
    world = small_world
    # The quitters include every member carrying one allele of 1-5% panel frequency, which the budget prices low
    # and answers: the opt-outs take it out of the counts, as a batch of opt-outs can.
    carriers: dict[Allele, list[str]] = {}
    for member in world.members:
        for allele in world.genomes[member]:
            carriers.setdefault(allele, []).append(member)
    shared = next(a for a in sorted(carriers) if COMMON_AF <= world.panel_af(a) <= 0.05
                  and 3 <= len(carriers[a]) <= QUITTERS)
    rng = np.random.default_rng([SEED, 0x0F7])
    others = [str(s) for s in rng.permutation([m for m in world.members if m not in carriers[shared]])]
    quitters = carriers[shared] + others[:QUITTERS - len(carriers[shared])]
    stayers = others[QUITTERS:QUITTERS + STAYERS]
    chosen = quitters + stayers
    # what tells a member from an outsider: the victim's alleles below 1% in the panel (or absent from it), and
    # the shared allele of its carriers
    asked = {v: [a for a in world.genomes[v] if world.panel_af(a) < COMMON_AF or a == shared] for v in chosen}
    accounts = count()
    datasets = (node.defended, node.undefended)
    assert node.runtime.issuer is not None
    issuer = node.runtime.issuer

    def ask(client: httpx.Client, dataset: str, allele: Allele) -> Answer:
        n = next(accounts)
        token = issuer.issue(f"attacker-{n}@example.org", affiliation=f"org-{n}.example.org")
        return BeaconProbe(client, dataset, token, chrom=world.chrom).ask(allele)

    def campaign(client: httpx.Client) -> dict[tuple[str, str, Allele], Answer]:
        return {(d, v, a): ask(client, d, a) for d in datasets for v in chosen for a in asked[v]}

    with httpx.Client(base_url=node.base_url, timeout=30.0) as client:
        before = campaign(client)
        with Session(node.runtime.engine) as session:
            for d in datasets:
                opt_outs.request_opt_out(session, d, quitters, at=utcnow())
            assert len(start_recounts(session)) == 2
        run_queued(node.runtime.engine, node.runtime.settings)
        with Session(node.runtime.engine) as session:
            assert all(opt_outs.excluded_now(session, d) == set(quitters) for d in datasets)
        after = campaign(client)
        # the individuals of the shared allele, asked yes/no: the same rule on that endpoint
        vid = f"GRCh38:{world.chrom}:{shared.pos}:{shared.ref}:{shared.alt}"
        said = {}
        for d in datasets:
            n = next(accounts)
            token = issuer.issue(f"attacker-{n}@example.org", affiliation=f"org-{n}.example.org")
            r = client.get(f"/beacon/v2/g_variants/{vid}/individuals", headers={"Authorization": f"Bearer {token}"},
                           params={"requestedGranularity": "boolean", "datasetIds": d})
            assert r.status_code == 200, r.text
            said[d] = r.json()["responseSummary"]["exists"]
        assert said == {node.defended: True, node.undefended: False}

    def flips(dataset: str, victim: str) -> float:
        return float(sum(1 for a in asked[victim] if before[(dataset, victim, a)] is Answer.YES
                         and after[(dataset, victim, a)] is Answer.NO))

    undefended = power([flips(node.undefended, v) for v in quitters], [flips(node.undefended, v) for v in stayers],
                       ALPHA)
    defended = power([flips(node.defended, v) for v in quitters], [flips(node.defended, v) for v in stayers], ALPHA)
    # the defended dataset did answer "yes" about alleles the opt-outs took out of its counts: the check has teeth
    with Session(node.runtime.engine) as session:
        gone = {Allele(v.pos, v.ref, v.alt) for v in session.exec(select(Variant).where(
            Variant.dataset_id == node.defended, Variant.ac == 0)).all()}
    kept_yes = sum(1 for (d, v, a), answer in before.items()
                   if d == node.defended and answer is Answer.YES and a in gone and after[(d, v, a)] is Answer.YES)
    answered = sum(1 for (d, _v, _a), answer in before.items() if d == node.defended and answer is Answer.YES)
    summary = (f"questions per campaign: {len(before)}; power of the before/after attack at alpha {ALPHA}: "
               f"defence off {undefended:.2f}, on {defended:.2f} (bound {power_bound(ALPHA, PRIVACY_P):.2f}); "
               f"defended 'yes' answers {answered}, of which about alleles opt-outs withdrew {kept_yes}")
    print(f"\n{summary}")
    record_property("opt_out_attack", summary)
    assert undefended >= 0.9  # without the defence the difference gives quitters away
    assert all(flips(node.defended, v) == 0 for v in chosen)  # with it, no answer changed
    assert defended <= power_bound(ALPHA, PRIVACY_P)
    assert kept_yes > 0 and shared in gone
