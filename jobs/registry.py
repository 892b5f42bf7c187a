"""The kinds of job this process knows, registered by the module of the area whose work they are.

`@task("area.what")` registers a kind run with a payload; `@periodic("area.what", every=...)` registers one run
by the scheduler every so many seconds (its interval read from the settings; 0 turns it off). The composition
(genomegate) imports every area's `tasks` module, so that the server and the workers know the same kinds.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, TypeVar

from sqlalchemy import Engine

from catalogue.settings import Settings
from jobs.context import JobContext

__all__ = ["GiveUpHook", "Kind", "Periodic", "get", "kinds", "periodic", "periodics", "task"]

Run = Callable[[JobContext, Mapping[str, Any]], Mapping[str, Any] | None]  # a small result, or None
GiveUpHook = Callable[[Engine, Mapping[str, Any], str], None]
Every = Callable[[Settings], float]
F = TypeVar("F", bound=Callable[..., Any])
MAX_NAME = 100


@dataclass(frozen=True, slots=True)
class Kind:
    name: str
    run: Run
    max_attempts: int | None  # None: the setting job_max_attempts
    on_give_up: GiveUpHook | None  # runs once a job of the kind failed for good (it must be idempotent)


@dataclass(frozen=True, slots=True)
class Periodic:
    name: str
    every: Every  # seconds between runs, from the settings (0 or less: never)


_kinds: dict[str, Kind] = {}
_periodics: dict[str, Periodic] = {}


def _register(kind: Kind) -> None:
    if not kind.name or len(kind.name) > MAX_NAME:
        raise ValueError(f"a kind's name has 1 to {MAX_NAME} characters: {kind.name!r}")
    known = _kinds.get(kind.name)
    if known is not None and known.run is not kind.run and _qualname(known.run) != _qualname(kind.run):
        raise ValueError(f"two kinds are called {kind.name}: {_qualname(known.run)} and {_qualname(kind.run)}")
    _kinds[kind.name] = kind


def _qualname(func: Callable[..., Any]) -> str:
    return f"{func.__module__}.{func.__qualname__}"


def task(name: str, *, max_attempts: int | None = None, on_give_up: GiveUpHook | None = None) -> Callable[[F], F]:
    """Register `func(ctx, payload)` as the kind `name`: tried up to `max_attempts` times (default: the setting
    job_max_attempts), then failed; `on_give_up(engine, payload, error)` runs then (it must be idempotent).
    `func` returns None or a small JSON mapping, kept as the job's result."""
    if max_attempts is not None and not 1 <= max_attempts <= 100:
        raise ValueError("max_attempts is 1 to 100")

    def register(func: F) -> F:
        _register(Kind(name=name, run=func, max_attempts=max_attempts, on_give_up=on_give_up))
        return func

    return register


def periodic(name: str, *, every: Every) -> Callable[[F], F]:
    """Register `func(ctx)` as the periodic kind `name`, run once every `every(settings)` seconds by one worker.

    A periodic run that fails is not retried: the next slot runs it again.
    """

    def register(func: F) -> F:
        def run(ctx: JobContext, _payload: Mapping[str, Any]) -> Mapping[str, Any] | None:
            result: Mapping[str, Any] | None = func(ctx)
            return result

        run.__module__, run.__qualname__ = func.__module__, func.__qualname__
        _register(Kind(name=name, run=run, max_attempts=1, on_give_up=None))
        _periodics[name] = Periodic(name=name, every=every)
        return func

    return register


def get(name: str) -> Kind | None:
    return _kinds.get(name)


def kinds() -> list[Kind]:
    return sorted(_kinds.values(), key=lambda k: k.name)


def periodics() -> list[Periodic]:
    return sorted(_periodics.values(), key=lambda p: p.name)
