"""The steward's pages: the organisation's datasets with drafts, and ingestions with their progress."""

from __future__ import annotations

from pathlib import Path

import pytest

from catalogue.runtime import Runtime
from tests.web.conftest import DAC_MEMBER, OTHER_STEWARD, RESEARCHER, STEWARD, World, ingest_into, text_of
from tests.workers import run_queued


def test_the_steward_sees_the_organisations_datasets_with_drafts(world: World) -> None:
    page = text_of(world.browser(STEWARD).get("/steward"))
    for title in ("Population panel", "Cardiomyopathy cohort", "Unfinished cohort"):
        assert title in page
    assert "Other cohort" not in page and "draft" in page


def test_a_steward_of_another_organisation_sees_only_theirs(world: World) -> None:
    page = text_of(world.browser(OTHER_STEWARD).get("/steward"))
    assert "Other cohort" in page and "Unfinished cohort" not in page and "Population panel" not in page


@pytest.mark.parametrize(("who", "status"), [(None, 401), (RESEARCHER, 403), (DAC_MEMBER, 403)])
def test_the_steward_pages_are_for_stewards(world: World, who: str | None, status: int) -> None:
    assert world.browser(who).get("/steward").status_code == status


def test_an_ingestion_page_shows_its_state_and_counts(world: World, runtime: Runtime,
                                                       cohort_files: tuple[Path, Path]) -> None:
    job = ingest_into(runtime, world.public, cohort_files)
    overview = world.browser(STEWARD).get("/steward")
    assert f'href="/steward/ingestions/{job.id}"' in overview.text
    page = world.browser(STEWARD).get(f"/steward/ingestions/{job.id}")
    text = text_of(page)
    assert "succeeded" in text and "variants written" in text and "cohort.vcf.gz" in text
    assert 'http-equiv="refresh"' not in page.text  # a finished job does not refresh itself
    assert world.browser(OTHER_STEWARD).get(f"/steward/ingestions/{job.id}").status_code == 403
    assert world.browser(RESEARCHER).get(f"/steward/ingestions/{job.id}").status_code == 403


def test_a_steward_starts_an_ingestion_of_a_file_in_the_import_directory(world: World, runtime: Runtime,
                                                                        cohort_files: tuple[Path, Path]) -> None:
    imports = runtime.settings.import_root
    imports.mkdir(parents=True, exist_ok=True)
    for path in (*cohort_files, Path(f"{cohort_files[0]}.tbi")):
        (imports / path.name).write_bytes(path.read_bytes())
    browser = world.browser(STEWARD)
    response = browser.post("/steward/ingestions", {"dataset": world.draft, "files": cohort_files[0].name,
                                                     "samples": cohort_files[1].name, "pass_only": "true"})
    assert response.status_code == 303 and response.headers["location"].startswith("/steward/ingestions/GGI")
    first = text_of(browser.get(response.headers["location"]))
    assert "Ingestion started." in first and "queued" in first  # for the workers
    run_queued(runtime.engine, runtime.settings)  # what a worker does
    page = text_of(browser.get(response.headers["location"]))
    assert "succeeded" in page and "variants written" in page


def test_a_missing_file_is_a_message_and_another_organisations_dataset_is_refused(world: World) -> None:
    browser = world.browser(STEWARD)
    response = browser.post("/steward/ingestions", {"dataset": world.draft, "files": "nowhere.vcf.gz"})
    assert response.headers["location"] == "/steward"
    assert "no such file in the import directory" in text_of(browser.get("/steward"))
    assert browser.post("/steward/ingestions", {"dataset": world.draft, "files": "../../etc/passwd"}).status_code == 303
    assert "must lie inside the import directory" in text_of(browser.get("/steward"))
    refused = world.browser(OTHER_STEWARD).post("/steward/ingestions", {"dataset": world.public, "files": "x.vcf"})
    assert refused.status_code == 403
    assert world.browser(OTHER_STEWARD).post("/steward/ingestions", {"dataset": world.draft,
                                                                      "files": "x.vcf"}).status_code == 404
