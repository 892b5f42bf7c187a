"""Local sign-in for development and demos: who may use it, and where it leads afterwards."""

from __future__ import annotations

import pytest

from catalogue.runtime import Runtime
from catalogue.settings import Environment
from tests.factories import client_with
from tests.web.conftest import RESEARCHER, Browser, World, text_of


def test_the_sign_in_page_offers_the_demo_users(world: World) -> None:
    page = world.browser().get("/signin")
    for label in ("admin", "steward", "dac", "researcher"):
        assert f'data-testid="signin-{label}"' in page.text
    assert '<label for="subject">' in page.text


def test_signing_in_leads_back_to_the_page_asked_for(world: World) -> None:
    browser = world.browser()
    response = browser.post("/signin/local", {"subject": RESEARCHER, "next": "/requests"})
    assert response.status_code == 303 and response.headers["location"] == "/requests"


@pytest.mark.parametrize("target", ["https://evil.example/", "//evil.example/x", "/\\evil.example"])
def test_signing_in_never_leads_to_another_site(world: World, target: str) -> None:
    response = world.browser().post("/signin/local", {"subject": RESEARCHER, "next": target})
    assert response.headers["location"] == "/"


def test_local_sign_in_is_refused_in_production(runtime: Runtime) -> None:
    with client_with(runtime, env=Environment.production, secret_key="x" * 40) as client:
        browser = Browser(client.app)  # type: ignore[arg-type]
        assert "Development sign-in" not in browser.get("/signin").text
        refused = browser.post("/signin/local", {"subject": RESEARCHER})
        assert refused.status_code == 403 and "for development and demos" in text_of(refused)
        assert browser.get("/requests").status_code == 401


def test_without_an_oidc_provider_its_sign_in_is_refused(world: World) -> None:
    assert "identity provider" not in world.browser().get("/signin").text
    assert world.browser().get("/signin/oidc").status_code == 403
