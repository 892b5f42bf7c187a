"""The pages' language: chosen per request (switcher, cookie, Accept-Language) and gettext catalogues read from .po."""

from __future__ import annotations

import gettext as _gettext
from dataclasses import dataclass
from functools import cache
from io import BytesIO
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

from babel.core import Locale, negotiate_locale
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from babel.numbers import format_decimal
from babel.support import Translations
from fastapi import Request, Response
from jinja2 import Environment, pass_context
from jinja2.runtime import Context

__all__ = [
    "DEFAULT_LANGUAGE", "EXTRACT_KEYWORDS", "LANGUAGES", "LANGUAGE_COOKIE", "LANGUAGE_PARAM", "LOCALE_DIR",
    "LanguageChoice", "N_", "Translator", "accepted_languages", "format_number", "install_i18n", "language_links",
    "language_of", "negotiate", "remember_language", "translations", "translator",
]

LOCALE_DIR = Path(__file__).parent / "locale"
DOMAIN = "messages"
DEFAULT_LANGUAGE = "en"
# The languages with a complete catalogue (English is the messages themselves); the switcher shows them in order.
LANGUAGES = ("en", "nl", "fr")
LANGUAGE_PARAM = "lang"  # ?lang=nl on any page switches, and the choice is kept in this cookie:
LANGUAGE_COOKIE = "genomegate_lang"
LANGUAGE_COOKIE_SECONDS = 365 * 24 * 3600
# What marks a message for extraction besides Babel's defaults (_, gettext, ngettext, ...): N_("...") marks a
# message kept in a constant, translated where it is shown. `make messages` passes the same keywords to pybabel.
EXTRACT_KEYWORDS: dict[str, tuple[int, ...] | None] = {"N_": None}
_MAX_HEADER = 1000  # characters of Accept-Language read
_MAX_RANGES = 20  # language ranges of Accept-Language considered
_STATE = "language"


def N_(message: str) -> str:
    """Marks a message for extraction where it is defined (a constant); it is translated where it is shown, with
    translator(request).gettext(message) or _(message) in a template."""
    return message


@cache
def translations(language: str) -> _gettext.NullTranslations:
    """The catalogue of `language`, compiled in memory from its .po file on first use (no build step, no .mo in
    git); fuzzy entries are left out, so a message only drafted stays in English."""
    path = LOCALE_DIR / language / "LC_MESSAGES" / f"{DOMAIN}.po"
    if language == DEFAULT_LANGUAGE or not path.is_file():
        return _gettext.NullTranslations()
    with path.open("rb") as po:
        catalog = read_po(po, locale=language, domain=DOMAIN)
    compiled = BytesIO()
    write_mo(compiled, catalog, use_fuzzy=False)
    compiled.seek(0)
    return Translations(compiled, domain=DOMAIN)


def accepted_languages(header: str | None) -> list[str]:
    """The language ranges of an Accept-Language header, most wanted first (q=0 means "not this one")."""
    ranked: list[tuple[float, int, str]] = []
    for position, part in enumerate((header or "")[:_MAX_HEADER].split(",")[:_MAX_RANGES]):
        tag, _, params = part.strip().partition(";")
        tag = tag.strip()
        quality = 1.0
        for param in params.split(";"):
            name, _, value = param.strip().partition("=")
            if name.strip().lower() == "q":
                try:
                    quality = float(value)
                except ValueError:
                    quality = 0.0
        if tag and tag != "*" and 0 < quality <= 1:
            ranked.append((-quality, position, tag))
    return [tag for _, _, tag in sorted(ranked)]


def negotiate(header: str | None) -> str:
    """The supported language a browser's Accept-Language asks for first (nl-BE finds nl), else English."""
    return negotiate_locale(accepted_languages(header), LANGUAGES, sep="-") or DEFAULT_LANGUAGE


def _supported(value: object) -> str | None:
    return value if isinstance(value, str) and value in LANGUAGES else None


def language_of(request: Request) -> str:
    """The request's language: ?lang= (the switcher), then the remembered choice (cookie), then Accept-Language."""
    chosen = getattr(request.state, _STATE, None)
    if chosen is None:
        chosen = (_supported(request.query_params.get(LANGUAGE_PARAM))
                  or _supported(request.cookies.get(LANGUAGE_COOKIE))
                  or negotiate(request.headers.get("accept-language")))
        setattr(request.state, _STATE, chosen)
    return str(chosen)


def remember_language(request: Request, response: Response, *, secure: bool) -> None:
    """Say the page's language (Content-Language; it varies with Accept-Language and the cookie), and keep a language
    chosen with the switcher for the next pages: a cookie, so that it outlives signing in and out."""
    response.headers["Content-Language"] = language_of(request)
    response.headers.add_vary_header("Accept-Language")
    response.headers.add_vary_header("Cookie")
    chosen = _supported(request.query_params.get(LANGUAGE_PARAM))
    if chosen and chosen != request.cookies.get(LANGUAGE_COOKIE):
        response.set_cookie(LANGUAGE_COOKIE, chosen, max_age=LANGUAGE_COOKIE_SECONDS, path="/", samesite="lax",
                            httponly=True, secure=secure)


@dataclass(frozen=True, slots=True)
class Translator:
    """Messages in one language, for Python code that puts text on pages: `_ = translator(request).gettext`,
    then `_("Signed in as %(name)s.", name=subject)` (placeholders are filled from the keywords)."""

    language: str

    def gettext(self, message: str, **variables: Any) -> str:
        text = translations(self.language).gettext(message)
        return text % variables if variables else text

    def ngettext(self, singular: str, plural: str, n: int, **variables: Any) -> str:
        """The singular or plural form for `n`; %(num)s is `n` unless given."""
        return translations(self.language).ngettext(singular, plural, n) % {"num": n, **variables}

    def number(self, value: int | float, decimals: int | None = None) -> str:
        """A number as the language writes it (1,234.5 / 1.234,5 / 1 234,5)."""
        return format_number(value, self.language, decimals)


def translator(request: Request) -> Translator:
    """The request's language, to translate with."""
    return Translator(language_of(request))


@dataclass(frozen=True, slots=True)
class LanguageChoice:
    """One entry of the switcher: the language's code, its own name, the URL showing this page in it."""

    code: str
    name: str
    url: str
    current: bool


def language_links(request: Request) -> list[LanguageChoice]:
    """The switcher: this page (with its query) in each language, as plain links that work without JavaScript."""
    current = language_of(request)
    if request.method in ("GET", "HEAD"):
        path, kept = request.url.path, [(k, v) for k, v in request.query_params.multi_items() if k != LANGUAGE_PARAM]
    else:
        path, kept = "/", []  # a page answering a form (an error): its URL takes no GET, so switch on the catalogue
    return [LanguageChoice(code, _native_name(code), f"{path}?{urlencode([*kept, (LANGUAGE_PARAM, code)])}",
                           code == current) for code in LANGUAGES]


@cache
def _native_name(code: str) -> str:
    name = Locale.parse(code).get_display_name(code) or code
    return name[:1].upper() + name[1:]


# Templates: gettext reads the language from the template's own context, never from shared state, so one
# environment serves concurrent requests in different languages.

@pass_context
def _template_gettext(context: Context, message: str) -> str:
    return translations(_language_in(context)).gettext(message)


@pass_context
def _template_ngettext(context: Context, singular: str, plural: str, n: int) -> str:
    return translations(_language_in(context)).ngettext(singular, plural, n)


@pass_context
def _template_pgettext(context: Context, msgctxt: str, message: str) -> str:
    return translations(_language_in(context)).pgettext(msgctxt, message)


@pass_context
def _template_npgettext(context: Context, msgctxt: str, singular: str, plural: str, n: int) -> str:
    return translations(_language_in(context)).npgettext(msgctxt, singular, plural, n)


def format_number(value: int | float, language: str, decimals: int | None = None) -> str:
    """`value` with the language's digit grouping and decimal sign; `decimals` fixes the digits after it."""
    pattern = None
    if decimals is not None:
        pattern = "#,##0." + "0" * decimals if decimals else "#,##0"
    return format_decimal(value, format=pattern, locale=language)


@pass_context
def _number(context: Context, value: int | float, decimals: int | None = None) -> str:
    return format_number(value, _language_in(context), decimals)


def _language_in(context: Context) -> str:
    return _supported(context.get("lang")) or DEFAULT_LANGUAGE


def install_i18n(env: Environment) -> None:
    """Jinja2's i18n extension with new-style gettext (_("..."), {% trans %}, %(name)s placeholders) that
    translates into the language each render names in its `lang` variable; and the `number` filter."""
    env.add_extension("jinja2.ext.i18n")
    env.policies["ext.i18n.trimmed"] = True  # {% trans %} blocks collapse their whitespace, as extraction does
    env.install_gettext_callables(  # type: ignore[attr-defined]
        _template_gettext, _template_ngettext, newstyle=True, pgettext=_template_pgettext,
        npgettext=_template_npgettext)
    env.filters["number"] = _number
