"""The API documentation pages in Chromium with the network cut off: /docs (the app's OpenAPI 3.1) and
/beacon/v2/docs (the Beacon's) list every operation from this node's own files."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from catalogue.runtime import build_runtime
from catalogue.settings import Settings
from genomegate.app import create_app
from genomegate.schema import upgrade
from tests.browsers import CHROMIUM, need_browser
from tests.serving import free_port, serving

_METHODS = ("get", "post", "put", "patch", "delete")


@pytest.fixture(scope="module")
def node(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    port = free_port()
    runtime = build_runtime(Settings(data_dir=tmp_path_factory.mktemp("docs-node"),
                                     public_base_url=f"http://127.0.0.1:{port}"))
    upgrade(runtime.engine)
    with serving(create_app(runtime=runtime), port) as url:
        yield url
    runtime.engine.dispose()


@pytest.fixture(scope="module")
def chromium() -> Iterator[Any]:
    sync_playwright = need_browser()
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), headless=True,
                                             args=["--no-sandbox", "--disable-dev-shm-usage"])
        yield browser
        browser.close()


def _summaries(document: dict[str, Any]) -> list[str]:
    return sorted(op["summary"] for path in document["paths"].values() for method, op in path.items()
                  if method in _METHODS)


@pytest.mark.parametrize(("page", "openapi"), [("/docs", "/openapi.json"),
                                               ("/beacon/v2/docs", "/beacon/v2/openapi.json")])
def test_the_documentation_lists_every_operation_offline(chromium: Any, node: str, page: str, openapi: str,
                                                         tmp_path: Path) -> None:
    document = httpx.get(node + openapi).json()
    assert document["openapi"].startswith("3.1")
    expected = _summaries(document)
    assert len(expected) > 10
    context = chromium.new_context()
    blocked: list[str] = []

    def only_this_node(route: Any) -> None:
        if route.request.url.startswith(node + "/"):
            route.continue_()
        else:
            blocked.append(route.request.url)
            route.abort("internetdisconnected")

    context.route("**/*", only_this_node)
    browser_page = context.new_page()
    browser_page.set_default_timeout(30_000)
    assert browser_page.goto(node + page).status == 200
    operations = browser_page.locator(".opblock-summary-description")
    operations.first.wait_for()
    shown = sorted(" ".join(text.split()) for text in operations.all_inner_texts())
    body = browser_page.inner_text("body")
    browser_page.screenshot(path=str(tmp_path / "docs.png"))
    context.close()
    assert "Unable to render this definition" not in body
    assert set(shown) == set(expected)  # an operation under two tags is listed under each
    assert blocked == [], f"the page asked for other hosts: {blocked}"
