"""Form handling shared by the pages: post, redirect, get (a correctable error comes back as a message)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from fastapi import Request
from fastapi.responses import RedirectResponse

from catalogue.errors import Conflict, InvalidInput
from web.templating import flash

__all__ = ["attempt", "redirect", "split_list"]


def redirect(url: str) -> RedirectResponse:
    return RedirectResponse(url, status_code=303)


def attempt(request: Request, action: Callable[[], Any], *, done: str, back: str,
            then: Callable[[Any], str] | None = None) -> RedirectResponse:
    """Run one service call for a form: on success say `done` and go to `then(result)` (or back); when the
    input breaks a rule or clashes with the current state, show the service's message on the `back` page.

    NotFound and Forbidden are not caught: they are answered with an error page.
    """
    try:
        result = action()
    except (InvalidInput, Conflict) as exc:
        flash(request, exc.message, "error")
        return redirect(back)
    flash(request, done, "success")
    return redirect(then(result) if then else back)


def split_list(text: str) -> list[str]:
    """Values typed into one text field, separated by commas, semicolons, spaces or new lines."""
    return [v for v in text.replace(";", ",").replace("\n", ",").replace(" ", ",").split(",") if v.strip()]
