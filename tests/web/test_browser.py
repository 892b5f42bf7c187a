"""End-to-end journeys in Chromium against the real app served by uvicorn (SQLite only: one node, one browser).

The node holds `make demo`'s data (genomegate.demo) with a simulated cohort ingested into both demo datasets.
Every page is visited with JavaScript switched off, which proves the pages work without it. Screenshots of each
page are saved to tests/artifacts/screenshots/ (the path is printed).
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

import pytest
from sqlmodel import Session

from catalogue.identity import Caller
from catalogue.models import Assembly
from catalogue.runtime import Runtime, build_runtime
from catalogue.settings import Settings
from genomegate.app import create_app
from genomegate.demo import DEMO_FILES, DEMO_USERS, seed_demo
from genomegate.schema import upgrade
from ingest.reference_af import load_reference_af
from tests.browsers import CHROMIUM, need_browser
from tests.serving import free_port, serving
from tests.web.conftest import ingest_into

SCREENSHOTS = Path(__file__).resolve().parents[1] / "artifacts" / "screenshots"
INTRUDER = "intruder@elsewhere.example"




@dataclass
class Node:
    url: str
    runtime: Runtime
    datasets: dict[str, str]  # title -> id


@pytest.fixture(scope="module")
def node(tmp_path_factory: pytest.TempPathFactory, cohort_files: tuple[Path, Path]) -> Iterator[Node]:
    port = free_port()
    folder = tmp_path_factory.mktemp("node")
    runtime = build_runtime(Settings(data_dir=folder, public_base_url=f"http://127.0.0.1:{port}"))
    upgrade(runtime.engine)
    with Session(runtime.engine, expire_on_commit=False) as session:
        demo = seed_demo(session, Caller.cli_operator())
        # The cohort's own sites price Beacon questions, as the demo's panel does.
        load_reference_af(session, Caller.cli_operator(), cohort_files[0], assembly=Assembly.GRCh38)
    for title, dataset_id in demo.datasets.items():
        if DEMO_FILES[title][1] is not None:  # the datasets with genotypes (the third holds counts only)
            ingest_into(runtime, dataset_id, cohort_files)
    with serving(create_app(runtime=runtime), port) as url:
        yield Node(url, runtime, demo.datasets)
    runtime.engine.dispose()


@pytest.fixture(scope="module")
def chromium(pytestconfig: pytest.Config) -> Iterator[Any]:
    sync_playwright = need_browser()
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    reporter = pytestconfig.pluginmanager.get_plugin("terminalreporter")
    if reporter is not None:
        reporter.write_line(f"\nbrowser journeys: screenshots in {SCREENSHOTS}")
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=str(CHROMIUM), headless=True,
            args=["--no-sandbox", "--disable-background-networking", "--disable-dev-shm-usage"])
        yield browser
        browser.close()


class Person:
    """One person at one browser: a fresh context (profile), JavaScript off unless asked, every request recorded."""

    def __init__(self, chromium: Any, node: Node, **context: Any) -> None:
        self.node = node
        self.context = chromium.new_context(**{"java_script_enabled": False, **context})
        self.page = self.context.new_page()
        self.page.set_default_timeout(20_000)
        self.requested: list[str] = []
        self.page.on("request", lambda r: self.requested.append(r.url))

    def go(self, path: str) -> Any:
        response = self.page.goto(self.node.url + path)
        assert response is not None
        return response

    def shot(self, name: str) -> None:
        self.page.screenshot(path=str(SCREENSHOTS / f"{name}.png"), full_page=True)

    def sign_in(self, label: str, then: str = "/") -> None:
        self.go(f"/signin?next={then}")
        self.page.get_by_test_id(f"signin-{label}").click()
        assert DEMO_USERS[label] in self.page.get_by_test_id("signed-in-as").inner_text()

    def text(self) -> str:
        return " ".join(self.page.inner_text("main").split())

    def close(self) -> None:
        outside = [u for u in self.requested if not u.startswith(self.node.url)]
        self.context.close()
        assert outside == [], f"the pages fetched from elsewhere: {outside}"


def _answer(person: Person, dataset_id: str) -> tuple[str, str]:
    article = person.page.locator(f'article.answer[data-dataset="{dataset_id}"]')
    return str(article.get_attribute("data-granularity")), " ".join(article.inner_text().split())


def _lookup(person: Person) -> None:
    person.go("/variants")
    person.page.fill("#chrom", "22")
    person.page.fill("#start", "1")
    person.page.fill("#end", "40000")
    person.page.get_by_role("button", name="Look up").click()
    person.page.wait_for_url(re.compile(r"/variants\?"))


@pytest.fixture(scope="module")
def journeys() -> dict[str, str]:
    """What one journey leaves for the next (the request's id): the tests below run in order, as people would."""
    return {}


def test_researcher_searches_looks_up_requests_and_follows(chromium: Any, node: Node,
                                                           journeys: dict[str, str]) -> None:
    controlled = node.datasets["Demo cardiomyopathy cohort"]
    me = Person(chromium, node)
    me.go("/")
    assert "3 datasets" in me.text()
    me.shot("01-catalogue")
    me.page.keyboard.press("Tab")  # the first stop is the skip link
    assert me.page.evaluate("document.activeElement.textContent") == "Skip to content"
    me.page.fill("#q", "cardiomyopathy")
    me.page.get_by_role("button", name="Search").click()
    assert "1 dataset" in me.text()
    me.page.get_by_role("link", name="Demo cardiomyopathy cohort").click()
    assert "Research on the named disease(s) only." in me.text()
    assert me.page.locator("svg.chart").count() == 3
    me.shot("02-dataset")

    _lookup(me)
    level, text = _answer(me, controlled)
    assert level == "none" and "within a privacy budget" in text and "Sign in for more." in text
    me.shot("03-lookup-anonymous")

    me.go(f"/datasets/{controlled}")
    me.page.get_by_role("link", name="Sign in to request access").click()
    me.page.get_by_test_id("signin-researcher").click()
    assert me.page.url.endswith(f"/requests/new?dataset={controlled}")
    me.page.fill("#project_title", "Cardiomyopathy variant burden")
    me.page.fill("#lay_summary", "We compare rare variants in patients with cardiomyopathy.")
    me.page.get_by_label("Disease category research").check()
    me.page.fill("#disease_terms", "MONDO:0004994")
    me.page.fill("#institution", "University of Examples")
    me.shot("04-request-form")
    me.page.get_by_role("button", name="Save draft").click()
    assert "needs a DAC member's judgement" in me.page.get_by_test_id("duo-verdict").inner_text()
    request_id = me.page.url.rsplit("/", 1)[1]
    journeys["request"] = request_id
    me.page.get_by_label("I accept this agreement").check()
    me.page.get_by_role("button", name="Accept").click()
    me.page.set_input_files("#file", files=[{"name": "ethics-approval.txt", "mimeType": "text/plain",
                                            "buffer": b"Approved by the ethics board, ref 2026/17."}])
    me.page.get_by_role("button", name="Attach").click()
    assert "Attached ethics-approval.txt." in me.text()
    me.shot("05-request-draft")
    me.page.get_by_test_id("submit-request").click()
    assert "submitted" in me.page.get_by_test_id("request-state").inner_text()
    me.shot("06-request-submitted")

    me.go("/requests")
    assert request_id in me.text() and "submitted" in me.text()
    me.shot("07-my-requests")
    _lookup(me)
    level, _ = _answer(me, controlled)
    assert level == "boolean"  # signing in alone gives no records
    me.close()


def test_dac_member_reviews_votes_and_approves(chromium: Any, node: Node, journeys: dict[str, str]) -> None:
    request_id = journeys["request"]
    dac = Person(chromium, node)
    dac.sign_in("dac", then="/dac")
    assert request_id in dac.text() and "abstain" in dac.text()
    dac.shot("08-review-queue")
    dac.page.get_by_role("link", name=request_id).click()
    text = dac.text()
    assert "ethics approval (IRB) must be checked" in text and "ethics-approval.txt" in text
    dac.page.get_by_label("Approve", exact=True).check()
    dac.page.get_by_test_id("cast-vote").click()
    assert "voted approve" in dac.text()
    dac.shot("09-review-request")
    dac.page.get_by_test_id("approve").click()
    assert "approved" in dac.page.get_by_test_id("request-state").inner_text()
    dac.shot("10-review-approved")
    dac.go("/dac/entitlements")
    assert DEMO_USERS["researcher"] in dac.text()
    dac.shot("11-review-entitlements")
    dac.go("/dac/audit")
    assert "request.approve" in dac.text()
    dac.shot("12-review-audit")
    dac.close()


def test_researcher_sees_the_entitlement_and_record_level_answers(chromium: Any, node: Node,
                                                                  journeys: dict[str, str]) -> None:
    controlled = node.datasets["Demo cardiomyopathy cohort"]
    me = Person(chromium, node)
    me.sign_in("researcher", then="/requests")
    text = me.text()
    assert "approved" in text and "active" in text
    assert f"genomegate fetch {node.url} {controlled}" in text
    assert str(date.today().year + 1) in me.page.get_by_test_id("my-entitlements").inner_text()
    me.shot("13-my-entitlements")
    _lookup(me)
    level, text = _answer(me, controlled)
    assert level == "record" and "your approved access shows each variant" in text
    records = me.page.locator(f'article.answer[data-dataset="{controlled}"] table[data-testid="records"] tbody tr')
    assert records.count() > 0
    me.shot("14-lookup-record-level")
    me.close()


def test_another_researcher_cannot_open_the_request(chromium: Any, node: Node, journeys: dict[str, str]) -> None:
    request_id = journeys["request"]
    other = Person(chromium, node)
    other.go("/signin")
    other.page.fill("#subject", INTRUDER)
    other.page.get_by_role("button", name="Sign in", exact=True).click()
    response = other.go(f"/requests/{request_id}")
    assert response.status == 404
    assert "Not found" in other.text() and "Cardiomyopathy variant burden" not in other.page.content()
    other.shot("15-refused-request")
    assert other.go(f"/requests/{request_id}/attachments/GGA000001").status == 404
    assert other.go("/dac").status == 403
    other.close()


def test_steward_pages_and_a_phone_sized_catalogue(chromium: Any, node: Node) -> None:
    steward = Person(chromium, node)
    steward.sign_in("steward", then="/steward")
    assert "Demo population panel" in steward.text() and "succeeded" in steward.text()
    steward.shot("16-steward")
    steward.page.get_by_role("link", name=re.compile("^GGI")).first.click()
    assert "succeeded" in steward.text()
    steward.shot("17-ingestion")
    steward.close()
    phone = Person(chromium, node, viewport={"width": 390, "height": 844}, device_scale_factor=2, is_mobile=True)
    phone.go("/")
    width = phone.page.evaluate("document.documentElement.scrollWidth")
    assert width <= 390, f"the catalogue is {width}px wide on a 390px screen"
    phone.shot("18-catalogue-phone")
    phone.close()


def test_with_javascript_the_form_shows_the_duo_verdict_as_the_purpose_is_chosen(chromium: Any, node: Node) -> None:
    controlled = node.datasets["Demo cardiomyopathy cohort"]
    me = Person(chromium, node, java_script_enabled=True)
    me.sign_in("researcher", then=f"/requests/new?dataset={controlled}")
    live = me.page.get_by_test_id("live-verdict")
    me.page.get_by_label("Ancestry research").check()
    live.get_by_text("DUO check: incompatible").wait_for()
    me.page.get_by_label("Ancestry research").uncheck()
    me.page.get_by_label("Disease category research").check()
    me.page.fill("#disease_terms", "MONDO:0004994")
    me.page.locator("#disease_terms").dispatch_event("change")
    live.get_by_text("needs a DAC member's judgement").wait_for()
    me.shot("19-request-form-live-verdict")
    me.close()


def test_a_dutch_browser_reads_dutch_and_the_switcher_changes_the_language(chromium: Any, node: Node) -> None:
    """The browser's language picks the pages' language; the switcher's links (no JavaScript) change it for good."""
    reader = Person(chromium, node, locale="nl-BE")
    reader.go("/")
    assert reader.page.get_attribute("html", "lang") == "nl"
    assert "3 datasets" in reader.text()
    reader.page.fill("#q", "cardiomyopathy")
    reader.page.get_by_role("button", name="Zoeken").click()
    assert "1 dataset" in reader.text() and "Filters toepassen" in reader.text()
    reader.shot("20-catalogue-nl")
    reader.page.get_by_test_id("language-switcher").get_by_role("link", name="Français").click()
    assert reader.page.get_attribute("html", "lang") == "fr"
    assert "1 jeu de données" in reader.text() and "q=cardiomyopathy" in reader.page.url  # the same search
    reader.sign_in("researcher", then="/requests")
    assert reader.page.get_attribute("html", "lang") == "fr"
    assert "Connecté en tant que" in reader.text() and "Mes demandes d’accès" in reader.text()
    reader.go("/variants")
    assert reader.page.get_by_role("button", name="Rechercher").count() == 1
    reader.shot("21-lookup-fr")
    reader.close()
