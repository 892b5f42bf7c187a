"""The job ledger over HTTP (/api/jobs) and on the admins' page (/admin/jobs): admins only, bounded, retry."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlmodel import Session

from catalogue.models import Role
from jobs.models import Job, JobState
from tests.factories import grant
from tests.web.conftest import Browser, text_of

ADMIN = "admin@node.example"


@pytest.fixture
def failed_and_done(session: Session) -> tuple[int, int]:
    grant(session, ADMIN, Role.admin)
    failed = Job(kind="access.notifications.deliver_outbox", state=JobState.failed, attempts=1, max_attempts=1,
                 error="SMTPException: the relay said no", progress_done=3, progress_total=10)
    done = Job(kind="audit.checkpoint", state=JobState.succeeded, attempts=1, max_attempts=1, result={"size": 4})
    session.add_all([failed, done])
    session.commit()
    assert failed.id is not None and done.id is not None
    return failed.id, done.id


def test_admins_list_show_and_retry_jobs(client: TestClient, auth: Callable[[str], dict[str, str]],
                                         failed_and_done: tuple[int, int]) -> None:
    failed, done = failed_and_done
    page = client.get("/api/jobs", headers=auth(ADMIN)).json()
    assert page["count"] == 2 and [j["id"] for j in page["data"]] == [done, failed]
    only = client.get("/api/jobs", params={"state": "failed"}, headers=auth(ADMIN)).json()
    assert [j["id"] for j in only["data"]] == [failed]
    job = client.get(f"/api/jobs/{failed}", headers=auth(ADMIN)).json()
    assert (job["state"], job["error"], job["progress_done"]) == ("failed", "SMTPException: the relay said no", 3)
    retried = client.post(f"/api/jobs/{failed}/retry", headers=auth(ADMIN))
    assert retried.status_code == 200, retried.text
    assert (retried.json()["state"], retried.json()["attempts"]) == ("queued", 0)
    again = client.post(f"/api/jobs/{failed}/retry", headers=auth(ADMIN))
    assert again.status_code == 409 and "only a failed job" in again.json()["detail"]
    assert client.post(f"/api/jobs/{done}/retry", headers=auth(ADMIN)).status_code == 409
    assert client.get("/api/jobs/999999", headers=auth(ADMIN)).status_code == 404


@pytest.mark.parametrize(("params", "field"), [
    ({"limit": 0}, "limit"), ({"limit": 501}, "limit"), ({"offset": -1}, "offset"), ({"state": "stuck"}, "state"),
    ({"kind": "k" * 101}, "kind"), ({"parent": 0}, "parent"),
])
def test_bad_filters_get_a_problem_naming_the_field(client: TestClient, auth: Callable[[str], dict[str, str]],
                                                   failed_and_done: tuple[int, int], params: dict[str, object],
                                                   field: str) -> None:
    response = client.get("/api/jobs", params=params, headers=auth(ADMIN))
    assert response.status_code == 422, response.text
    assert response.headers["content-type"] == "application/problem+json"
    assert any(field in e["field"] for e in response.json()["errors"])


def test_others_are_refused_the_api(client: TestClient, auth: Callable[[str], dict[str, str]], session: Session,
                                    failed_and_done: tuple[int, int]) -> None:
    failed, _ = failed_and_done
    for method, url in (("GET", "/api/jobs"), ("GET", f"/api/jobs/{failed}"), ("POST", f"/api/jobs/{failed}/retry")):
        assert client.request(method, url).status_code == 401
        refused = client.request(method, url, headers=auth("someone@uni.example"))
        assert refused.status_code == 403, refused.text
        assert refused.json()["detail"] == "this needs the admin role"
    assert session.get(Job, failed).state == JobState.failed  # type: ignore[union-attr]


def test_the_admin_page_shows_jobs_and_retries_a_failed_one(client: TestClient, session: Session,
                                                            failed_and_done: tuple[int, int]) -> None:
    failed, done = failed_and_done
    assert isinstance(client.app, FastAPI)
    admin = Browser(client.app).sign_in(ADMIN)
    page = admin.get("/admin/jobs")
    assert page.status_code == 200
    text = text_of(page)
    assert "SMTPException: the relay said no" in text and "3 of 10" in text and "audit.checkpoint" in text
    assert page.text.count("/retry") == 1  # the failed one only
    assert 'href="/admin/jobs"' in page.text  # in the menu
    response = admin.post(f"/admin/jobs/{failed}/retry")
    assert (response.status_code, response.headers["location"]) == (303, "/admin/jobs")
    session.expire_all()
    assert session.get(Job, failed).state == JobState.queued  # type: ignore[union-attr]
    follow = admin.get("/admin/jobs")
    assert f"Job {failed} is queued again." in text_of(follow)
    refused = admin.post(f"/admin/jobs/{done}/retry")
    assert refused.status_code == 303
    assert "only a failed job can be retried" in text_of(admin.get("/admin/jobs"))
    assert "queued" in text_of(admin.get("/admin/jobs", params={"state": "queued"}))


def test_others_are_refused_the_page(client: TestClient, session: Session, failed_and_done: tuple[int, int]) -> None:
    failed, _ = failed_and_done
    assert isinstance(client.app, FastAPI)
    anonymous = Browser(client.app)
    assert anonymous.get("/admin/jobs").status_code in (303, 401)
    someone = Browser(client.app).sign_in("someone@uni.example")
    page = someone.get("/admin/jobs")
    assert page.status_code == 403 and "admin role" in text_of(page)
    assert 'href="/admin/jobs"' not in someone.get("/").text
    assert someone.post(f"/admin/jobs/{failed}/retry").status_code == 403
    assert session.get(Job, failed).state == JobState.failed  # type: ignore[union-attr]
