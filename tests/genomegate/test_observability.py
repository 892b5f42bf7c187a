"""One JSON log line per request: method, path, status, duration and caller subject, never the token."""

from __future__ import annotations

import json
import logging
from collections.abc import Callable

from fastapi.testclient import TestClient

from genomegate.observability import JsonFormatter


class _Lines(logging.Handler):
    def __init__(self) -> None:
        super().__init__()
        self.setFormatter(JsonFormatter())
        self.lines: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.lines.append(self.format(record))


def test_each_request_logs_one_json_line_without_the_token(
        client: TestClient, auth: Callable[[str], dict[str, str]]) -> None:
    handler = _Lines()
    logger = logging.getLogger("genomegate.http")
    logger.addHandler(handler)
    try:
        headers = auth("alice@example.org")
        client.get("/api/me?access_token=secret", headers=headers)
        client.get("/api/datasets/GGD999999")
    finally:
        logger.removeHandler(handler)
    first, second = (json.loads(line) for line in handler.lines)
    assert (first["method"], first["path"], first["status"], first["subject"]) == (
        "GET", "/api/me", 200, "alice@example.org")
    assert first["duration_ms"] >= 0
    assert (second["status"], second["subject"]) == (404, None)
    token = headers["Authorization"].split()[1]
    assert all(token not in line and "secret" not in line for line in handler.lines)
