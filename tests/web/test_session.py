"""Sessions and forms: cookie flags, CSRF refusal, error pages, and the JSON APIs left as they were."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

import web.pages.catalogue
from catalogue.runtime import Runtime
from catalogue.tokens import LocalIssuer, TokenVerifier
from genomegate.app import create_app
from tests.factories import client_with
from tests.web.conftest import RESEARCHER, Browser, World, text_of


def test_session_cookie_is_httponly_and_samesite_lax_and_not_secure_over_http(world: World) -> None:
    browser = world.browser()
    response = browser.post("/signin/local", {"subject": RESEARCHER})
    cookie = response.headers["set-cookie"].lower()
    assert cookie.startswith("genomegate_session=")
    assert "httponly" in cookie and "samesite=lax" in cookie and "secure" not in cookie


def test_session_cookie_is_secure_when_the_node_is_served_over_https(runtime: Runtime) -> None:
    with client_with(runtime, public_base_url="https://genomegate.example.org") as client:
        browser = Browser(client.app)  # type: ignore[arg-type]
        response = browser.post("/signin/local", {"subject": RESEARCHER})
        assert "secure" in response.headers["set-cookie"].lower()


def test_the_signed_in_page_names_the_user_and_signing_out_ends_the_session(world: World) -> None:
    browser = world.browser(RESEARCHER)
    assert RESEARCHER in browser.get("/").text
    assert browser.get("/requests").status_code == 200
    assert browser.post("/signout").status_code == 303
    assert browser.get("/requests").status_code == 401


@pytest.mark.parametrize("token", [None, "forged"])
def test_a_post_without_the_sessions_csrf_token_is_refused(world: World, token: str | None) -> None:
    browser = world.browser(RESEARCHER)
    data = {"datasets": world.controlled, "project_title": "Sneaky", "purpose": "DUO:0000040"}
    if token:
        data["csrf_token"] = token
    response = browser.client.post("/requests", data=data)
    assert response.status_code == 403
    assert "security token" in text_of(response)
    assert "Sneaky" not in browser.get("/requests").text  # nothing was created


def test_signing_in_without_the_csrf_token_is_refused(world: World) -> None:
    browser = world.browser()
    assert browser.client.post("/signin/local", data={"subject": RESEARCHER}).status_code == 403
    assert browser.get("/requests").status_code == 401


def test_pages_carry_security_headers(world: World) -> None:
    headers = world.browser().get("/").headers
    assert "default-src 'self'" in headers["content-security-policy"]
    assert headers["x-content-type-options"] == "nosniff"


def test_an_unknown_page_is_html_and_an_unknown_api_path_stays_problem_json(world: World) -> None:
    browser = world.browser()
    page = browser.get("/no/such/page", headers={"accept": "text/html"})
    assert page.status_code == 404 and page.headers["content-type"].startswith("text/html")
    api = browser.get("/api/no/such/thing", headers={"accept": "text/html"})
    assert api.status_code == 404 and api.headers["content-type"] == "application/problem+json"


def test_the_json_api_sets_no_session_cookie(world: World) -> None:
    response = world.browser().get("/api/datasets")
    assert response.status_code == 200 and "set-cookie" not in response.headers


def test_a_crash_is_a_generic_page_without_the_traceback(world: World, monkeypatch: pytest.MonkeyPatch) -> None:
    def crash(*_: object, **__: object) -> None:
        raise RuntimeError("secret internals")

    monkeypatch.setattr(web.pages.catalogue.federated, "search_network", crash)
    page = world.browser().get("/")
    assert page.status_code == 500
    assert "the error was logged" in page.text and "secret internals" not in page.text
    assert "Traceback" not in page.text


def test_a_session_whose_token_no_longer_verifies_is_anonymous(world: World, runtime: Runtime,
                                                              tmp_path: Path) -> None:
    cookie = world.browser(RESEARCHER).client.cookies["genomegate_session"]
    # The node's signing key is rotated: the token inside the (still validly signed) cookie no longer verifies.
    key = LocalIssuer(tmp_path / "new-key.json", issuer=runtime.settings.issuer_url,
                      audience=runtime.settings.token_audience)
    rotated = Runtime(settings=runtime.settings, engine=runtime.engine, issuer=key,
                      verifier=TokenVerifier(runtime.settings, key))
    browser = TestClient(create_app(runtime=rotated), follow_redirects=False)
    browser.cookies.set("genomegate_session", cookie)
    assert browser.get("/requests").status_code == 401


def test_a_tampered_cookie_is_no_session(world: World) -> None:
    browser = world.browser(RESEARCHER)
    value = browser.client.cookies["genomegate_session"]
    browser.client.cookies.clear()
    browser.client.cookies.set("genomegate_session", value[:-4] + ("AAAA" if not value.endswith("AAAA") else "BBBB"))
    assert browser.get("/requests").status_code == 401


def test_validation_errors_on_pages_are_html(world: World) -> None:
    page = world.browser().get("/variants", params={"assembly": "hg19x", "chrom": "1"})
    assert page.status_code == 422 and page.headers["content-type"].startswith("text/html")


def test_the_api_documentation_loads_nothing_from_elsewhere(world: World) -> None:
    browser = world.browser()
    page = browser.get("/docs")
    assert page.status_code == 200 and "/openapi.json" in page.text
    assets = re.findall(r'(?:src|href)="([^"]+)"', page.text)
    assert assets and all(a.startswith("/static/swagger-ui/") for a in assets), assets
    for asset in assets:
        assert browser.get(asset).status_code == 200, asset
