"""The pages in the reader's language: complete catalogues, the language chosen per request, nothing left in English."""

from __future__ import annotations

import re
from html.parser import HTMLParser
from pathlib import Path

import httpx
import pytest
from babel.messages.catalog import Catalog, Message
from babel.messages.extract import DEFAULT_KEYWORDS, extract_from_dir
from babel.messages.frontend import parse_mapping_cfg
from babel.messages.pofile import read_po
from fastapi.testclient import TestClient

from catalogue.duo import DUO_TERMS
from tests.web.conftest import DAC_MEMBER, RESEARCHER, STEWARD, World
from web import i18n
from web.i18n import DEFAULT_LANGUAGE, LANGUAGE_COOKIE, LANGUAGES, LOCALE_DIR, negotiate, translations
from web.templating import templates

ROOT = Path(__file__).resolve().parents[2]
WEB = ROOT / "web"
TEMPLATES = WEB / "templates"
TRANSLATED = [lang for lang in LANGUAGES if lang != DEFAULT_LANGUAGE]

# Pages left in English on purpose: none. Every template under web/templates is checked. A page meant only for
# operators may be listed here (its file name, with a comment saying why); its messages must still be extracted.
ENGLISH_ONLY_TEMPLATES: frozenset[str] = frozenset()

# Literal text a template may hold outside gettext: names and notations that are the same in every language.
UNTRANSLATED_LITERALS = frozenset({
    "GenomeGate", "Beacon v2", "JSON", "DCAT-AP", "SHA-256", "#",
    "1, chr1, X", "GGD000001", "request.approve", "audit.checkpoint",  # placeholders that show what to type
})


# --- (a) the catalogues are complete ---------------------------------------------------------------------------

Key = tuple[str, str]  # (context or "", message): pgettext("variant", "Not found") is not _("Not found")


def _extracted() -> dict[Key, Message]:
    """The messages of the pages, extracted as `make messages` does (babel.cfg, the same keywords)."""
    with (ROOT / "babel.cfg").open() as config:
        method_map, options_map = parse_mapping_cfg(config)
    found: dict[Key, Message] = {}
    for _filename, _lineno, message, _comments, context in extract_from_dir(
            str(WEB), method_map, options_map, keywords={**DEFAULT_KEYWORDS, **i18n.EXTRACT_KEYWORDS}):
        entry = Message(message, context=context)
        found[_key(entry)] = entry
    return found


def _catalog(language: str) -> Catalog:
    with (LOCALE_DIR / language / "LC_MESSAGES" / "messages.po").open("rb") as po:
        return read_po(po, locale=language)


def _key(message: Message) -> Key:
    return message.context or "", message.id if isinstance(message.id, str) else message.id[0]


def _translated(message: Message) -> bool:
    forms = [message.string] if isinstance(message.string, str) else list(message.string)
    return bool(forms) and all(isinstance(f, str) and f.strip() for f in forms)


def test_the_pages_have_messages_to_translate() -> None:
    extracted = _extracted()
    # both the templates and the Python code of the pages are read
    assert {("", "Variant lookup"), ("", "Signed out."), ("", "Not found"), ("variant", "Not found")} <= set(
        extracted)
    assert len(extracted) > 300


@pytest.mark.parametrize("language", TRANSLATED)
def test_every_message_of_the_pages_is_translated(language: str) -> None:
    extracted = _extracted()
    catalog = _catalog(language)
    entries = {_key(m): m for m in catalog if m.id}
    missing = sorted(set(extracted) - set(entries))
    assert not missing, f"{language}: run `make messages` and translate: {missing}"
    stale = sorted(set(entries) - set(extracted))
    assert not stale, f"{language}: entries no page uses any more (run `make messages`): {stale}"
    assert not catalog.obsolete, f"{language}: obsolete (#~) entries: {sorted(catalog.obsolete)}"
    untranslated = sorted(k for k, m in entries.items() if not _translated(m))
    assert not untranslated, f"{language}: untranslated: {untranslated}"
    fuzzy = sorted(k for k, m in entries.items() if m.fuzzy)
    assert not fuzzy, f"{language}: fuzzy (unchecked) translations: {fuzzy}"
    plural = sorted(k for k, m in entries.items() if isinstance(m.id, tuple) != isinstance(extracted[k].id, tuple))
    assert not plural, f"{language}: singular/plural form differs from the pages: {plural}"


@pytest.mark.parametrize("language", TRANSLATED)
def test_translations_keep_the_placeholders(language: str) -> None:
    problems = [f"{_key(m)}: {errors}" for m, errors in _catalog(language).check()]
    assert not problems, problems
    for message in _catalog(language):
        if not message.id:
            continue
        names = set(re.findall(r"%\((\w+)\)s", str(message.id)))
        for form in [message.string] if isinstance(message.string, str) else message.string:
            assert set(re.findall(r"%\((\w+)\)s", form)) <= names | {"num"}, (language, message.id, form)


@pytest.mark.parametrize("language", TRANSLATED)
def test_the_catalogue_is_what_the_pages_use(language: str) -> None:
    """The compiled catalogue (from the .po, in memory) answers with the translations."""
    catalog = _catalog(language)
    compiled = translations(language)
    for message in catalog:
        if message.id and isinstance(message.id, str):
            found = (compiled.pgettext(message.context, message.id) if message.context
                     else compiled.gettext(message.id))
            assert found == message.string


class _Literals(HTMLParser):
    """Text and readable attributes of a template's HTML, outside code samples."""

    _READ = ("placeholder", "aria-label", "title", "alt")

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.found: list[str] = []
        self._code = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in ("code", "pre", "script", "style"):
            self._code += 1
        self.found += [value for name, value in attrs if name in self._READ and value]

    def handle_endtag(self, tag: str) -> None:
        if tag in ("code", "pre", "script", "style"):
            self._code -= 1

    def handle_data(self, data: str) -> None:
        if not self._code:
            self.found.append(data)


_MARK = "\x00"  # where a Jinja expression or tag stood


def _literal_html(source: str) -> str:
    """The template's HTML with every Jinja construct replaced by a mark, and {% trans %} blocks removed."""
    out: list[str] = []
    in_trans = False
    tokens = list(templates.env.lex(source))
    for i, (_line, kind, value) in enumerate(tokens):
        if kind == "block_begin":
            name = next((v for _, k, v in tokens[i + 1:] if k == "name"), "")
            if name == "trans":
                in_trans = True
            elif name == "endtrans":
                in_trans = False
        if kind == "data" and not in_trans:
            out.append(value)
        elif kind in ("variable_begin", "block_begin"):
            out.append(_MARK)
    return "".join(out)


def _untranslated_literals(template: Path) -> list[str]:
    parser = _Literals()
    parser.feed(_literal_html(template.read_text()))
    bare = []
    for found in parser.found:
        text = " ".join(found.replace(_MARK, " ").split())
        rest = text
        for literal in sorted(UNTRANSLATED_LITERALS, key=len, reverse=True):
            rest = rest.replace(literal, " ")
        if re.search(r"[^\W\d_]", rest):
            bare.append(text)
    return bare


def test_no_template_holds_text_outside_gettext() -> None:
    """Every word a template writes goes through _(), ngettext or {% trans %}: a new page with a bare English
    sentence fails here, before anyone renders it."""
    templates_found = sorted(TEMPLATES.rglob("*.html"))
    assert len(templates_found) > 10
    bare = {t.name: words for t in templates_found
            if t.name not in ENGLISH_ONLY_TEMPLATES and (words := _untranslated_literals(t))}
    assert not bare, f"wrap these in _() or {{% trans %}}: {bare}"


def test_the_literal_scan_finds_bare_text(tmp_path: Path) -> None:
    page = tmp_path / "page.html"
    page.write_text('{% extends "base.html" %}{% block main %}<h1>{{ _("Fine") }}</h1><p>Forgotten words</p>'
                    '<input placeholder="type here"><p>{% trans %}Wrapped {{ x }}{% endtrans %}</p>'
                    "<code>genomegate fetch</code>{% endblock %}")
    assert _untranslated_literals(page) == ["Forgotten words", "type here"]


# --- (b) the language of a request ---------------------------------------------------------------------------

@pytest.mark.parametrize(("header", "expected"), [
    ("nl", "nl"),
    ("fr-FR,fr;q=0.9,en;q=0.8", "fr"),
    ("nl-BE", "nl"),  # a regional variant finds its language
    ("fr;q=0.4, nl;q=0.8, en;q=0.1", "nl"),  # q-values rank, not the order
    ("en;q=0.5, fr", "fr"),
    ("de-DE, fr;q=0.5", "fr"),  # an unsupported first choice falls to the next supported one
    ("de, es", "en"),  # none supported: English
    ("nl;q=0, fr;q=0.1", "fr"),  # q=0 means "not this one"
    ("*", "en"),
    ("nl;q=abc, fr", "fr"),  # a malformed q-value does not count
    ("", "en"),
    (None, "en"),
    ("x" * 5000, "en"),
])
def test_accept_language_is_negotiated(header: str | None, expected: str) -> None:
    assert negotiate(header) == expected


def test_accepted_languages_are_ranked_and_bounded() -> None:
    assert i18n.accepted_languages("a;q=0.1, b, c;q=0.5") == ["b", "c", "a"]
    assert len(i18n.accepted_languages(",".join(f"x{i}" for i in range(500)))) <= 20


def _get(client: TestClient, url: str, language: str | None = None) -> httpx.Response:
    headers = {"Accept-Language": language} if language else {}
    response = client.get(url, headers=headers)
    assert response.status_code == 200, (url, response.status_code)
    return response


def _html_lang(response: httpx.Response) -> str:
    match = re.search(r'<html lang="([^"]+)">', response.text)
    assert match, "the page names its language"
    return match.group(1)


# What each page says in each language (written here, independently of the catalogues).
_SAYS = {
    "en": {"catalogue": "Search titles, descriptions and keywords", "lookup": "Position or range start",
           "signin": "Or any subject", "request_form": "Save draft", "request": "History and messages"},
    "nl": {"catalogue": "Zoek in titels, beschrijvingen en trefwoorden", "lookup": "Positie of begin van het bereik",
           "signin": "Of een willekeurige gebruikersnaam", "request_form": "Concept opslaan",
           "request": "Geschiedenis en berichten"},
    "fr": {"catalogue": "Rechercher dans les titres, descriptions et mots-clés",
           "lookup": "Position ou début de l’intervalle", "signin": "Ou n’importe quel identifiant",
           "request_form": "Enregistrer le brouillon", "request": "Historique et messages"},
}


def _pages(world: World, request_id: str) -> dict[str, str]:
    return {"catalogue": "/", "lookup": "/variants?assembly=GRCh38&chrom=1&start=1&end=10000", "signin": "/signin",
            "request_form": f"/requests/new?dataset={world.controlled}", "request": f"/requests/{request_id}"}


@pytest.mark.parametrize("language", LANGUAGES)
def test_accept_language_gives_translated_pages(world: World, language: str) -> None:
    request_id = world.draft_request()
    browser = world.browser(RESEARCHER)
    for page, url in _pages(world, request_id).items():
        response = _get(browser.client, url, f"{language};q=0.9, de;q=0.5")
        assert _html_lang(response) == language and response.headers["content-language"] == language, page
        assert {"accept-language", "cookie"} <= {v.strip().lower() for v in response.headers["vary"].split(",")}
        assert _SAYS[language][page] in response.text, (language, page)
        for other in LANGUAGES:
            if other != language:
                assert _SAYS[other][page] not in response.text, (language, page, other)


def test_an_unsupported_language_falls_back_to_english(world: World) -> None:
    response = _get(world.browser().client, "/", "de-DE,de;q=0.9,es;q=0.5")
    assert _html_lang(response) == "en" and _SAYS["en"]["catalogue"] in response.text
    assert LANGUAGE_COOKIE not in response.cookies


def _switcher(response: httpx.Response) -> dict[str, tuple[str, bool]]:
    """The language switcher's links: code -> (href, current)."""
    nav = response.text.split('data-testid="language-switcher"', 1)[1].split("</nav>", 1)[0]
    link = re.compile(r'<a href="([^"]+)" lang="(\w+)" hreflang="\w+" ?(aria-current="true")?')
    return {code: (href.replace("&amp;", "&"), bool(current)) for href, code, current in link.findall(nav)}


def test_the_switcher_overrides_the_browser_and_is_remembered(world: World) -> None:
    browser = world.browser()
    dutch = _get(browser.client, "/variants?assembly=GRCh38&chrom=1", "nl")
    links = _switcher(dutch)
    assert set(links) == set(LANGUAGES) and links["nl"][1] and not links["fr"][1]
    assert links["fr"][0] == "/variants?assembly=GRCh38&chrom=1&lang=fr"  # the same page, its query kept
    french = _get(browser.client, links["fr"][0], "nl")
    assert _html_lang(french) == "fr" and _switcher(french)["fr"][1]
    assert french.cookies.get(LANGUAGE_COOKIE) == "fr"
    assert "httponly" in french.headers["set-cookie"].lower() and "samesite=lax" in french.headers["set-cookie"].lower()
    # later pages, whatever the browser asks for, stay in the chosen language ...
    assert _html_lang(_get(browser.client, "/", "nl")) == "fr"
    # ... also across signing in (the session is renewed there) and for the messages after a form
    signed_in = browser.post("/signin/local", {"subject": RESEARCHER, "next": "/requests"},
                             headers={"Accept-Language": "nl"})
    assert signed_in.status_code == 303
    landing = _get(browser.client, "/requests", "nl")
    assert _html_lang(landing) == "fr" and f"Connecté en tant que {RESEARCHER}." in landing.text
    # and back to English with the switcher
    assert _html_lang(_get(browser.client, "/?lang=en", "nl")) == "en"
    assert _html_lang(_get(browser.client, "/", "nl")) == "en"


def test_the_switcher_of_a_page_answering_a_form_leads_to_a_page(world: World) -> None:
    refused = world.browser(RESEARCHER).post("/requests", {"project_title": "x"}, headers={"Accept-Language": "fr"})
    assert refused.status_code == 422 and _html_lang(refused) == "fr"
    assert _switcher(refused)["nl"] == ("/?lang=nl", False)


def test_an_unknown_language_in_the_switcher_is_ignored(world: World) -> None:
    response = _get(world.browser().client, "/?lang=xx", "fr")
    assert _html_lang(response) == "fr" and LANGUAGE_COOKIE not in response.cookies


def test_messages_after_a_form_and_error_pages_are_translated(world: World) -> None:
    browser = world.browser(RESEARCHER)
    out = browser.post("/signout", headers={"Accept-Language": "nl"})
    assert out.status_code == 303
    assert "Afgemeld." in _get(browser.client, "/", "nl").text
    missing = browser.client.get("/datasets/GGD999999", headers={"Accept-Language": "fr"})
    assert missing.status_code == 404 and _html_lang(missing) == "fr"
    assert "<h1>Introuvable</h1>" in missing.text and "Erreur 404" in missing.text
    unsigned = world.browser().client.get("/requests", headers={"Accept-Language": "nl"})
    assert unsigned.status_code == 401 and "meld u aan om deze pagina te zien" in unsigned.text


def test_numbers_are_written_the_way_the_language_writes_them() -> None:
    number = templates.env.from_string("{{ 1234567.5 | number(1) }} {{ 1234 | number }}")
    assert number.render(lang="en") == "1,234,567.5 1,234"
    assert number.render(lang="nl") == "1.234.567,5 1.234"
    assert number.render(lang="fr") == "1\u202f234\u202f567,5 1\u202f234"


def test_concurrent_renders_each_keep_their_language() -> None:
    """The environment is shared: each render translates into the language of its own context."""
    from concurrent.futures import ThreadPoolExecutor

    page = templates.env.from_string("{{ _('Sign in') }}|{{ ngettext('%(num)s file', '%(num)s files', n) }}")
    expected = {"en": "Sign in|3 files", "nl": "Aanmelden|3 bestanden", "fr": "Se connecter|3 fichiers"}
    with ThreadPoolExecutor(8) as pool:
        results = list(pool.map(lambda lang: (lang, page.render(lang=lang, n=3)), list(LANGUAGES) * 50))
    assert all(text == expected[lang] for lang, text in results)


# --- (c) nothing of the English page is left on the translated ones ----------------------------------------------

_KEY_ELEMENTS = ("h1", "h2", "h3", "button", "label", "legend", "th", "summary", "dt", "caption", "figcaption",
                 "title", "option")


class _Visible(HTMLParser):
    """The text of the elements that carry a page's own words: headings, navigation, buttons, labels, tables."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.texts: set[str] = set()
        self._open: list[tuple[str, list[str]]] = []
        self._nav = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "nav":
            self._nav += 1
        if tag in _KEY_ELEMENTS or (tag == "a" and self._nav):
            self._open.append((tag, []))
        for name, value in attrs:
            if name in ("aria-label", "placeholder") and value:
                self.texts.add(value)

    def handle_endtag(self, tag: str) -> None:
        if tag == "nav":
            self._nav -= 1
        if self._open and self._open[-1][0] == tag:
            _, parts = self._open.pop()
            text = " ".join("".join(parts).split())
            if text:
                self.texts.add(text)

    def handle_data(self, data: str) -> None:
        for _, parts in self._open:
            parts.append(data)


def _visible(response: httpx.Response) -> set[str]:
    parser = _Visible()
    parser.feed(response.text)
    return parser.texts


def _data_words(world: World) -> list[str]:
    """What the pages show as data, the same in every language: the world's names, DUO terms, identifiers."""
    words = ["Population panel", "Cardiomyopathy cohort", "Other cohort", "Unfinished cohort", "Biobank DAC",
             "Other DAC", "Heart genes", "GenomeGate", "Beacon v2", "GRCh38", "GRCh37", "SHA-256", "JSON", "DCAT-AP",
             "VCF", "BCF", "FASTA", RESEARCHER, DAC_MEMBER, STEWARD, world.org, world.other_org, world.dac,
             world.other_dac, "English", "Nederlands", "Français", "Lab A", "Lab B", "SNV", "INS", "DEL",
             "MNV", "request.approve"]
    for term in DUO_TERMS.values():
        words += [term.label, term.label.capitalize(), term.id, term.shorthand or term.id, term.plain]
    return sorted(words, key=len, reverse=True)


def _is_data(text: str, data: list[str]) -> bool:
    for word in data:
        text = text.replace(word, " ")
    return not re.search(r"[^\W\d_]{2,}", re.sub(r"\b(GG[DRO]\d+|DUO:\d+|MONDO:\d+|chr\w+)\b", " ", text))


def _same_by_design(language: str) -> list[str]:
    """The words of messages whose translation is the English itself ("Status", "Datasets" in Dutch): a
    translator's choice, visible in the .po, so not a forgotten string."""
    words = []
    for message in _catalog(language):
        if not message.id:
            continue
        english = [message.id] if isinstance(message.id, str) else list(message.id)
        forms = [message.string] if isinstance(message.string, str) else list(message.string)
        for source, translated in zip(english, forms, strict=False):
            if source == translated:
                words += [part.strip() for part in re.split(r"%\(\w+\)s", source) if part.strip()]
    return words


@pytest.mark.parametrize("language", TRANSLATED)
def test_translated_pages_keep_no_english_words(ingested: World, language: str) -> None:
    """Headings, navigation, buttons, labels and table headers of each main page differ from the English page's,
    except data (names, identifiers, DUO terms): a string not wrapped for translation shows up here."""
    world = ingested
    request_id = world.submitted_request()
    pages = {
        RESEARCHER: ["/", f"/datasets/{world.controlled}", f"/datasets/{world.public}", "/variants",
                     "/variants?assembly=GRCh38&chrom=1&start=1&end=10000", "/signin",
                     f"/requests/new?dataset={world.controlled}", f"/requests/{request_id}", "/requests",
                     "/datasets/GGD999999"],
        DAC_MEMBER: ["/dac", "/dac?state=all", "/dac/entitlements", "/dac/audit", f"/requests/{request_id}"],
        STEWARD: ["/steward"],
    }
    data = sorted([*_data_words(world), *_same_by_design(language)], key=len, reverse=True)
    left: dict[str, list[str]] = {}
    for subject, urls in pages.items():
        browser = world.browser(subject)
        for url in urls:
            english = _visible(browser.client.get(url, headers={"Accept-Language": "en"}))
            translated = _visible(browser.client.get(url, headers={"Accept-Language": language}))
            assert english and translated, url
            if words := sorted(t for t in english & translated if not _is_data(t, data)):
                left[url] = words
    assert not left, f"{language}: English left on the page (wrap it for translation): {left}"
