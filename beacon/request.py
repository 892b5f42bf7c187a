"""Parse Beacon requests, GET query strings and POST bodies alike: liberal in what is accepted, strict on sense."""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from typing import Any

from beacon.errors import InvalidParameter
from beacon.granularity import Granularity
from beacon.models import INCLUDE_VALUES, BeaconRequest, Filter
from catalogue.limits import MAX_OFFSET, excerpt, excerpt_text

__all__ = ["DEFAULT_LIMIT", "MAX_FILTERS", "MAX_ITEMS", "MAX_TEXT", "from_body", "from_query"]

DEFAULT_LIMIT = 10
MAX_FILTERS = 100  # filters of one request
MAX_ITEMS = 100  # values of one list parameter (datasetIds, requestedSchemas; start and end hold two)
MAX_TEXT = 1_000  # characters of one parameter value
_MAX_INTEGER = 2**63 - 1  # what the database's BIGINT holds
_DIGITS = re.compile(r"-?[0-9]+")  # not str.isdigit, which takes "²" and "--5"

# Request parameters, lower-cased as real clients may spell them, mapped onto their canonical names.
_ALIASES = {
    "start": "start", "end": "end",
    "geneid": "geneId", "allele": "genomicAlleleShortForm", "datasetids": "datasetIds",
    "referencename": "referenceName", "referencebases": "referenceBases", "alternatebases": "alternateBases",
    "varianttype": "variantType", "variantminlength": "variantMinLength", "variantmaxlength": "variantMaxLength",
    "assemblyid": "assemblyId", "genomicalleleshortform": "genomicAlleleShortForm",
    "aminoacidchange": "aminoacidChange", "matename": "mateName",
}
_LISTS = {"start", "end", "datasetIds"}
_INTEGERS = {"start", "end", "variantMinLength", "variantMaxLength"}
_CONTROLS = {"requestedgranularity", "includeresultsetresponses", "skip", "limit", "testmode", "filters",
             "requestedschema", "requestedschemas"}


def _canonical(name: str) -> str | None:
    return _ALIASES.get(name.lower())


def _split(value: Any, name: str = "", limit: int = MAX_ITEMS) -> list[Any]:
    """The items of a list parameter: a JSON list (flat) or comma-joined text; at most `limit` of them."""
    parts = value if isinstance(value, list | tuple) else [value]
    items: list[Any] = []
    for part in parts:
        if isinstance(part, str):
            items.extend(p.strip() for p in part.split(",") if p.strip())
        elif isinstance(part, list | tuple | dict):
            raise InvalidParameter(name or "list", f"{excerpt(part)} is not a single value")
        else:
            items.append(part)
        if len(items) > limit:
            raise InvalidParameter(name or "list", f"has more than {limit} values; give at most {limit}")
    return items


def _integer(name: str, value: Any) -> int:
    if isinstance(value, bool):
        raise InvalidParameter(name, f"{excerpt(value)} is not an integer")
    if isinstance(value, str) and len(value) <= 40 and _DIGITS.fullmatch(value.strip()):
        value = int(value)
    if not isinstance(value, int):
        raise InvalidParameter(name, f"{excerpt(value)} is not an integer")
    if abs(value) > _MAX_INTEGER:
        raise InvalidParameter(name, f"{excerpt(value)} is out of range (at most {_MAX_INTEGER:,} either way)")
    return value


def _text(name: str, value: Any) -> str:
    if not isinstance(value, str | int | float) or isinstance(value, bool):
        raise InvalidParameter(name, f"{excerpt(value)} is not a string")
    text = str(value)
    if len(text) > MAX_TEXT:
        raise InvalidParameter(name, f"has {len(text):,} characters; at most {MAX_TEXT:,} are accepted")
    return text


def _params(raw: Mapping[str, Any]) -> dict[str, Any]:
    params: dict[str, Any] = {}
    for key, value in raw.items():
        name = _canonical(key)
        if name is None:
            raise InvalidParameter(excerpt_text(key, 40), "is not a request parameter of this Beacon")
        if name in params:
            raise InvalidParameter(excerpt_text(key, 40), "is given twice (under two spellings)")
        if name in _LISTS:
            items = _split(value, name)
            if not items:
                raise InvalidParameter(name, "is empty")
            params[name] = [_integer(name, v) for v in items] if name in _INTEGERS else [_text(name, v) for v in items]
        elif name in _INTEGERS:
            params[name] = _integer(name, value[0] if isinstance(value, list) and len(value) == 1 else value)
        else:
            if isinstance(value, list):
                if len(value) != 1:
                    raise InvalidParameter(name, "takes one value")
                value = value[0]
            if not isinstance(value, str) or not value.strip():
                raise InvalidParameter(name, f"{excerpt(value)} is not a non-empty string")
            params[name] = _text(name, value.strip())
    return params


def _filters(raw: Any) -> tuple[Filter, ...]:
    out: list[Filter] = []
    items = _split(raw, "filters", MAX_FILTERS) if isinstance(raw, str) else raw
    if not isinstance(items, list):
        raise InvalidParameter("filters", "must be a list of filter ids or filter objects")
    if len(items) > MAX_FILTERS:
        raise InvalidParameter("filters", f"has {len(items):,} filters; at most {MAX_FILTERS} are accepted")
    for item in items:
        if isinstance(item, str) and item.strip():
            out.append(Filter(id=_text("filters", item.strip())))
        elif isinstance(item, dict) and isinstance(item.get("id"), str) and item["id"].strip():
            extra = set(item) - {"id", "operator", "value", "scope", "includeDescendantTerms", "similarity"}
            if extra:
                raise InvalidParameter("filters", f"unknown filter field(s) {excerpt(sorted(extra))}")
            op, value = item.get("operator"), item.get("value")
            if (op is None) != (value is None):
                raise InvalidParameter("filters", f"filter {excerpt(item['id'])} needs both operator and value, "
                                                  "or neither")
            if op is not None and op not in ("=", "!", "<", ">", "<=", ">="):
                raise InvalidParameter("filters", f"operator {excerpt(op)} is not one of = ! < > <= >=")
            scope = item.get("scope")
            out.append(Filter(id=_text("filters", item["id"].strip()), operator=op,
                              value=None if value is None else _text("filters", value),
                              scope=_text("filters", scope) if isinstance(scope, str) else None))
        else:
            raise InvalidParameter("filters", f"{excerpt(item)} is neither a term id nor a filter object with an id")
    return tuple(out)


def _granularity(value: Any) -> Granularity:
    try:
        granularity = Granularity.parse(str(value)[:20])
    except KeyError:
        granularity = Granularity.NONE
    if granularity is Granularity.NONE:
        raise InvalidParameter("requestedGranularity", f"{excerpt(value)} is not one of boolean, count, record")
    return granularity


def _include(value: Any) -> str:
    include = str(value)[:20].strip().upper()
    if include not in INCLUDE_VALUES:
        raise InvalidParameter("includeResultsetResponses",
                               f"{excerpt(value)} is not one of {', '.join(INCLUDE_VALUES)}")
    return include


def _boolean(name: str, value: Any) -> bool:
    if isinstance(value, bool):
        return value
    text = str(value)[:10].strip().lower()
    if text in ("true", "1", "yes"):
        return True
    if text in ("false", "0", "no"):
        return False
    raise InvalidParameter(name, f"{excerpt(value)} is not true or false")


def _page(skip: Any, limit: Any, max_limit: int) -> tuple[int, int]:
    skip_n = 0 if skip is None else _integer("skip", skip)
    limit_n = DEFAULT_LIMIT if limit is None else _integer("limit", limit)
    if not 0 <= skip_n <= MAX_OFFSET:
        raise InvalidParameter("skip", f"must be 0 to {MAX_OFFSET:,}; page through fewer results with filters")
    if limit_n < 0:
        raise InvalidParameter("limit", "must be 0 or more")
    if limit_n > max_limit:
        raise InvalidParameter("limit", f"{limit_n} is more than the largest page, {max_limit}")
    return skip_n, limit_n or DEFAULT_LIMIT


def _schemas(value: Any) -> tuple[dict[str, str], ...]:
    items = value if isinstance(value, list) else _split(value, "requestedSchemas")
    if len(items) > MAX_ITEMS:
        raise InvalidParameter("requestedSchemas", f"has {len(items):,} schemas; at most {MAX_ITEMS} are accepted")
    out = []
    for item in items:
        if isinstance(item, dict) and isinstance(item.get("schema"), str):
            out.append({k: _text("requestedSchemas", v) for k, v in item.items() if k in ("entityType", "schema")})
        elif isinstance(item, str):
            out.append({"schema": _text("requestedSchemas", item)})
        else:
            raise InvalidParameter("requestedSchemas", f"{excerpt(item)} is not a schema reference")
    return tuple(out)


def from_query(items: Iterable[tuple[str, str]], *, max_limit: int) -> BeaconRequest:
    """A request from GET query items; lists are comma-joined or repeated (`start=1,2` or `start=1&start=2`)."""
    grouped: dict[str, list[str]] = {}
    controls: dict[str, list[str]] = {}  # under lower-cased names
    for key, value in items:
        lower = key.lower()
        if lower in _CONTROLS:
            controls.setdefault(lower, []).append(value)
        else:
            grouped.setdefault(key, []).append(value)
    params = _params(grouped)

    def one(name: str) -> str | None:
        values = controls.get(name)
        if values is None:
            return None
        if len(values) != 1:
            raise InvalidParameter(name, "takes one value")
        return values[0]

    skip, limit = _page(one("skip"), one("limit"), max_limit)
    granularity = one("requestedgranularity")
    include = one("includeresultsetresponses")
    test_mode = one("testmode")
    schemas = controls.get("requestedschema") or controls.get("requestedschemas") or []
    return BeaconRequest(
        params=params, filters=_filters([f for v in controls.get("filters", []) for f in v.split(",") if f]),
        granularity=_granularity(granularity) if granularity else Granularity.BOOLEAN,
        include=_include(include) if include else "HIT", skip=skip, limit=limit,
        test_mode=_boolean("testMode", test_mode) if test_mode else False, requested_schemas=_schemas(schemas))


def _flatten(raw: Any) -> dict[str, Any]:
    """Flat (`{"referenceName": ...}`) and nested (`{"g_variant": {...}, "datasets": {...}}`) both accepted."""
    if raw is None:
        return {}
    if not isinstance(raw, dict):
        raise InvalidParameter("requestParameters", "must be an object")
    flat: dict[str, Any] = {}
    for key, value in raw.items():
        if key == "$schema":
            continue
        if isinstance(value, dict) and _canonical(key) is None:
            for inner, inner_value in value.items():
                if inner in flat:
                    raise InvalidParameter(excerpt_text(inner, 40), "is given twice")
                flat[inner] = inner_value
        else:
            if key in flat:
                raise InvalidParameter(excerpt_text(key, 40), "is given twice")
            flat[key] = value
    return flat


def from_body(body: Any, *, max_limit: int) -> BeaconRequest:
    """A request from a POST body following the Beacon v2 request schema (meta + query)."""
    if body is None:
        body = {}
    if not isinstance(body, dict):
        raise InvalidParameter("body", "must be a JSON object with meta and query")
    meta = body.get("meta") or {}
    query = body.get("query") or {}
    if not isinstance(meta, dict):
        raise InvalidParameter("meta", "must be an object")
    if not isinstance(query, dict):
        raise InvalidParameter("query", "must be an object")
    pagination = query.get("pagination") or {}
    if not isinstance(pagination, dict):
        raise InvalidParameter("pagination", "must be an object with skip and limit")
    skip, limit = _page(pagination.get("skip"), pagination.get("limit"), max_limit)
    granularity = query.get("requestedGranularity")
    include = query.get("includeResultsetResponses")
    test_mode = query.get("testMode", meta.get("testMode"))
    return BeaconRequest(
        params=_params(_flatten(query.get("requestParameters"))), filters=_filters(query.get("filters") or []),
        granularity=_granularity(granularity) if granularity is not None else Granularity.BOOLEAN,
        include=_include(include) if include is not None else "HIT", skip=skip, limit=limit,
        test_mode=_boolean("testMode", test_mode) if test_mode is not None else False,
        requested_schemas=_schemas(meta.get("requestedSchemas") or []))
