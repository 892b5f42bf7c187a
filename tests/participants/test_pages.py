"""The participant's pages, the register and the stewards' link sheet page, through the real app with sessions."""

from __future__ import annotations

import html
import re

import httpx
from fastapi.testclient import TestClient

from tests.participants.conftest import ADMIN, ANNA, OTHER_STEWARD, RESEARCHER, STEWARD, World, link_sheet

_CSRF = re.compile(r'<meta name="csrf-token" content="([^"]+)">')


def _text(response: httpx.Response) -> str:
    return " ".join(html.unescape(re.sub(r"<[^>]+>", " ", response.text)).split())


class _Browser:
    def __init__(self, world: World, subject: str | None) -> None:
        self.client = TestClient(world.client.app, raise_server_exceptions=False, follow_redirects=False)
        if subject:
            assert self.post("/signin/local", {"subject": subject}).status_code == 303

    def csrf(self) -> str:
        match = _CSRF.search(self.client.get("/signin").text)
        assert match
        return match.group(1)

    def post(self, url: str, data: dict[str, str] | None = None, **kwargs: object) -> httpx.Response:
        return self.client.post(url, data={"csrf_token": self.csrf(), **(data or {})}, **kwargs)  # type: ignore[arg-type]


def test_my_data_is_the_participants_page_only(world: World) -> None:
    assert world.upload(link_sheet(world)).status_code == 201
    request_id = world.approve()
    world.checkpoint()
    anna = _Browser(world, ANNA)
    page = anna.client.get("/my-data")
    assert page.status_code == 200
    text = _text(page)
    assert "Heart cohort" in text and "Second cohort" not in text and request_id in text, text
    assert "University of Utrecht" in text and "Which variants change the heart's rhythm?" in text
    assert re.search(r'href="/my-data/proofs/\d+\.json"', page.text)
    for who in (STEWARD, ADMIN, RESEARCHER):
        assert _Browser(world, who).client.get("/my-data").status_code == 404
    assert _Browser(world, None).client.get("/my-data").status_code == 401
    # opting out from the page, then back in
    out = anna.post("/my-data/opt-out", {"dataset": world.dataset})
    assert out.status_code == 303 and out.headers["location"] == "/my-data"
    assert "Opted out: pending" in _text(anna.client.get("/my-data"))
    assert anna.post("/my-data/opt-out", {"dataset": world.other}).status_code == 404  # not hers
    assert anna.post("/my-data/opt-in", {"dataset": "all"}).status_code == 303
    assert "Your data may be used under approvals" in _text(anna.client.get("/my-data"))
    # the form without its CSRF token is refused
    assert anna.client.post("/my-data/opt-out", data={"dataset": "all"}).status_code == 403


def test_the_register_page_is_public_and_names_no_participant(world: World) -> None:
    assert world.upload(link_sheet(world)).status_code == 201
    request_id = world.approve()
    page = _Browser(world, None).client.get("/register")
    assert page.status_code == 200
    text = _text(page)
    assert "Heart cohort" in text and "University of Utrecht" in text and "Heart rhythm genes" in text
    assert request_id in text and "active" in text
    for personal in (RESEARCHER, world.anna_sample, ANNA):
        assert personal not in page.text


def test_stewards_upload_link_sheets_from_their_page(world: World) -> None:
    steward = _Browser(world, STEWARD)
    url = f"/steward/datasets/{world.dataset}/participants"
    assert f'href="{url}"' in steward.client.get("/steward").text
    assert "No link sheet yet." in _text(steward.client.get(url))
    bad = steward.post(url, files={"sheet": ("links.csv", b"sample_id,participant_id\nNOPE,x\n", "text/csv")})
    assert bad.status_code == 303
    assert "not in dataset" in _text(steward.client.get(url))
    good = steward.post(url, files={"sheet": ("links.csv", link_sheet(world).encode(), "text/csv")})
    assert good.status_code == 303
    text = _text(steward.client.get(url))
    assert "The link sheet is stored" in text and "in force" in text
    assert ANNA not in steward.client.get(url).text
    assert _Browser(world, OTHER_STEWARD).client.get(url).status_code == 403
    assert _Browser(world, OTHER_STEWARD).post(url, files={"sheet": ("l.csv", b"x", "text/csv")}).status_code == 403
