"""The participant's journey in Chromium, in English, Dutch and French: sign in, see a use of their data with its
proof, download their genotypes, opt out and see the change (then opt back in). JavaScript off, SQLite, the demo's
participant linked by `genomegate.demo.seed_participant` on a node served by uvicorn."""

from __future__ import annotations

import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pysam
import pytest
from sqlmodel import Session

from access.checkpoints import AuditKey, node_signer
from access.release.api import release_context
from catalogue.identity import Caller
from catalogue.runtime import Runtime, build_runtime
from catalogue.settings import Settings
from genomegate.app import create_app
from genomegate.demo import DEMO_USERS, seed_demo, seed_participant
from genomegate.schema import upgrade
from ingest.opt_outs import start_recounts
from ingest.services import start_ingestion
from ingest.synthetic import SimulatedCohort
from participants.proofs import LineProof, check_proof
from tests.browsers import CHROMIUM, need_browser
from tests.serving import free_port, serving
from tests.workers import run_queued
from web.i18n import translations

COHORT = "Demo cardiomyopathy cohort"




@dataclass
class Node:
    url: str
    runtime: Runtime
    datasets: dict[str, str]
    cohort: SimulatedCohort


@pytest.fixture(scope="module")
def node(tmp_path_factory: pytest.TempPathFactory, cohort: tuple[SimulatedCohort, Path]) -> Iterator[Node]:
    port = free_port()
    folder = tmp_path_factory.mktemp("participant-node")
    runtime = build_runtime(Settings(data_dir=folder, public_base_url=f"http://127.0.0.1:{port}"))
    upgrade(runtime.engine)
    operator = Caller.cli_operator()
    with Session(runtime.engine, expire_on_commit=False) as session:
        demo = seed_demo(session, operator)
        for title in ("Demo population panel", COHORT):
            start_ingestion(session, operator, demo.datasets[title], files=[cohort[0].path], samples=cohort[1])
        run_queued(runtime.engine, runtime.settings)
        done = seed_participant(session, operator, demo, key=runtime.settings.participant_key,
                                ctx=release_context(runtime.settings), origin=runtime.settings.public_base_url,
                                signer=node_signer(runtime.settings.data_dir))
        assert any(line.startswith("approved") for line in done)
    with serving(create_app(runtime=runtime), port) as url:
        yield Node(url, runtime, demo.datasets, cohort[0])
    runtime.engine.dispose()


@pytest.fixture(scope="module")
def chromium() -> Iterator[Any]:
    sync_playwright = need_browser()
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=str(CHROMIUM), headless=True,
            args=["--no-sandbox", "--disable-background-networking", "--disable-dev-shm-usage"])
        yield browser
        browser.close()


def _apply_opt_outs(node: Node) -> None:
    """The scheduled job's run, now."""
    with Session(node.runtime.engine) as session:
        assert start_recounts(session)
    run_queued(node.runtime.engine, node.runtime.settings)


def _genotypes(path: Path) -> list[tuple[str, int, tuple[Any, ...]]]:
    with pysam.VariantFile(str(path)) as vcf:
        return [(r.chrom, r.pos, tuple(s["GT"] for s in r.samples.values())) for r in vcf]


@pytest.mark.parametrize("language", ["en", "nl", "fr"])
def test_a_participant_sees_a_use_with_its_proof_downloads_their_data_and_opts_out(
        chromium: Any, node: Node, language: str, tmp_path: Path) -> None:
    def _(message: str, **values: str) -> str:
        text = translations(language).gettext(message)
        if language != "en":
            assert text != message, f"{message!r} has no {language} translation"
        return text % values if values else text

    cohort = node.datasets[COHORT]
    context = chromium.new_context(java_script_enabled=False, locale=language, accept_downloads=True)
    page = context.new_page()
    page.set_default_timeout(20_000)
    requested: list[str] = []
    page.on("request", lambda r: requested.append(r.url))
    page.goto(f"{node.url}/signin?next=/my-data")
    page.get_by_test_id("signin-participant").click()
    assert page.url.endswith("/my-data")
    assert page.locator("html").get_attribute("lang") == language
    main = " ".join(page.inner_text("main").split())
    assert _("Every use of your data") in main and _("Datasets holding your genome") in main

    # a use of their data: the release of the cohort's file to the researcher, under the approval, proved
    use = page.locator("table[data-testid=my-uses] tr", has_text=DEMO_USERS["researcher"]).first
    assert "GGF" in use.inner_text() and use.get_by_test_id("proof-verified").count() == 1
    with page.expect_download() as proof_download:
        use.get_by_test_id("proof-link").click()
    proof = LineProof.model_validate_json(Path(proof_download.value.path()).read_bytes())
    key = AuditKey.from_jwk(context.request.get(f"{node.url}/.well-known/genomegate/audit-key").json())
    assert proof.line.action == "release.ticket" and check_proof(proof, key).ok
    proof.line.actor = "someone@else.example"
    assert not check_proof(proof, key).ok

    # their genotypes, as bcftools gives their column
    link = page.locator("ul[data-testid=my-files] a").first
    with page.expect_download() as vcf_download:
        link.click()
    ours = tmp_path / "mine.vcf"
    ours.write_bytes(Path(vcf_download.value.path()).read_bytes())
    sample = next(line for line in ours.read_text().splitlines() if line.startswith("#CHROM")).split("\t")[9]
    oracle = tmp_path / "oracle.vcf"
    oracle.write_bytes(subprocess.run(["bcftools", "view", "-s", sample, str(node.cohort.path)], check=True,
                                      capture_output=True).stdout)
    assert _genotypes(ours) == _genotypes(oracle)

    # opt out of the cohort: pending, then applied by the job; the approval granted before stays
    row = page.locator(f"tr[data-dataset={cohort}]")
    row.get_by_role("button", name=_("Opt out of this dataset")).click()
    assert _("Your opt-out is recorded. It takes effect at the next scheduled run.") in page.inner_text("main")
    state = page.locator(f"tr[data-dataset={cohort}] [data-testid=opt-out-state]")
    assert _("Opted out: pending, applied at the next scheduled run") in state.inner_text()
    _apply_opt_outs(node)
    page.reload()
    applied = " ".join(state.inner_text().split())
    assert _("Opted out: applied since %(day)s", day="").strip() in applied
    assert _("granted before your opt-out: unaffected") in page.get_by_test_id("my-decisions").inner_text()
    page.screenshot(path=str(tmp_path / f"my-data-{language}.png"), full_page=True)

    # and back in, for the next language's journey
    row.get_by_role("button", name=_("Opt back in")).click()
    _apply_opt_outs(node)
    page.reload()
    assert _("Your data may be used under approvals") in state.inner_text()
    context.close()
    assert [u for u in requested if not u.startswith(node.url)] == []
