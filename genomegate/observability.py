"""Structured logs: one JSON line per request (method, path, status, duration, caller subject; no tokens)."""

from __future__ import annotations

import json
import logging
import sys
import time
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime

from fastapi import Request, Response

__all__ = ["JsonFormatter", "access_log_middleware", "configure_logging"]

access_log = logging.getLogger("genomegate.http")


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        entry = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname.lower(),
            "logger": record.name,
            "message": record.getMessage(),
        }
        entry.update(getattr(record, "fields", {}))
        if record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
        return json.dumps(entry, default=str)


def configure_logging(level: str) -> None:
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(JsonFormatter())
    root = logging.getLogger("genomegate")
    root.handlers[:] = [handler]
    root.setLevel(level.upper())
    root.propagate = False


async def access_log_middleware(request: Request,
                                call_next: Callable[[Request], Awaitable[Response]]) -> Response:
    started = time.perf_counter()
    status = 500
    try:
        response = await call_next(request)
        status = response.status_code
        return response
    finally:
        access_log.info("request", extra={"fields": {
            "method": request.method,
            "path": request.url.path,  # the query string is left out: it may carry a token
            "status": status,
            "duration_ms": round((time.perf_counter() - started) * 1000, 2),
            "subject": getattr(request.state, "subject", None),
            "client": request.client.host if request.client else None,
        }})
