"""htsget request parsing, ticket planning and block tokens as plain functions."""

from __future__ import annotations

import base64
from typing import Any

import pytest

from access.release.bgzf import EOF_BLOCK
from access.release.errors import InvalidRange, TokenRefused, UnsupportedFormat, htsget_error
from access.release.tickets import (
    MAX_POSITION,
    Part,
    Region,
    TicketQuery,
    block_path,
    parse_query,
    plan_parts,
    resolve_contig,
    ticket_json,
)
from access.release.tokens import BlockGrant, is_block_token, read_block_token, sign_block_token
from catalogue.errors import Forbidden, InvalidInput, NotFound, Unauthenticated

SECRET = "s" * 32


@pytest.mark.parametrize(("params", "expected"), [
    ({}, TicketQuery()),
    ({"format": "bcf"}, TicketQuery(format="BCF")),
    ({"class": "header"}, TicketQuery(header_only=True)),
    ({"referenceName": "chr1", "start": "0", "end": "10"}, TicketQuery(regions=(Region("chr1", 0, 10),))),
    ({"referenceName": "1", "start": 5, "end": 5}, TicketQuery(regions=(Region("1", 5, 5),))),
    ({"referenceName": "X", "fields": "QNAME"}, TicketQuery(regions=(Region("X"),), ignored=("fields",))),
])
def test_queries_are_parsed(params: dict[str, Any], expected: TicketQuery) -> None:
    assert parse_query(params) == expected


@pytest.mark.parametrize(("params", "error", "match"), [
    ({"format": "CRAM"}, UnsupportedFormat, "CRAM"),
    ({"referenceName": "1", "start": 9, "end": 3}, InvalidRange, "greater than end"),
    ({"end": 3}, InvalidInput, "need a referenceName"),
    ({"referenceName": "*"}, InvalidInput, "unplaced"),
    ({"referenceName": "1", "start": 2**32}, InvalidInput, "32-bit"),
    ({"referenceName": "1", "start": True}, InvalidInput, "unsigned"),
    ({"class": "body"}, InvalidInput, "only class"),
    ({"tags": ["AB"], "notags": "AB"}, InvalidInput, "share a tag"),
])
def test_bad_queries_are_refused(params: dict[str, Any], error: type[Exception], match: str) -> None:
    with pytest.raises(error, match=match):
        parse_query(params)


def test_post_regions_are_parsed_and_checked() -> None:
    query = parse_query({"format": "VCF"}, regions=[{"referenceName": "2"}, {"referenceName": "1", "end": 9}])
    assert query.regions == (Region("2"), Region("1", None, 9))
    with pytest.raises(InvalidInput, match="needs a referenceName"):
        parse_query({}, regions=[{"start": 1}])


@pytest.mark.parametrize(("name", "contigs", "expected"), [
    ("chr1", ("chr1", "chr2"), "chr1"), ("1", ("chr1",), "chr1"), ("chr2", ("1", "2"), "2"),
    ("X", ("chr1",), None), ("weird_contig", ("weird_contig",), "weird_contig"),
])
def test_reference_names_are_resolved_to_the_files_naming(name: str, contigs: tuple[str, ...],
                                                          expected: str | None) -> None:
    assert resolve_contig(name, contigs, "GRCh38") == expected


def test_an_unknown_reference_is_not_found() -> None:
    with pytest.raises(NotFound, match="not a reference"):
        resolve_contig("chrUn_x", ("chr1",), "GRCh38")


def test_plans() -> None:
    whole = plan_parts(TicketQuery(), stored="VCF", file_contigs=(), assembly="GRCh38", size=25, block_bytes=10)
    assert [p.byte_range for p in whole] == [(0, 9), (10, 19), (20, 24)]
    regions = TicketQuery(regions=(Region("1", 3, 3), Region("2"), Region("X", 7)))
    planned = plan_parts(regions, stored="VCF", file_contigs=("chr1", "chr2"), assembly="GRCh38", size=25,
                         block_bytes=10)
    assert planned == [Part("header"), Part("body", "chr2", 0, MAX_POSITION)]


def test_plans_of_the_other_format_convert_each_part() -> None:
    asked = TicketQuery(format="BCF", regions=(Region("chr2", 5, 9),))
    planned = plan_parts(asked, stored="VCF", file_contigs=("chr1", "chr2"), assembly="GRCh38", size=25,
                         block_bytes=10)
    assert planned == [Part("header", convert="BCF"), Part("body", "chr2", 5, 9, convert="BCF")]
    # the whole file: no byte ranges of a file in the other format, but its header and each contig with records
    whole = plan_parts(TicketQuery(format="VCF"), stored="BCF", file_contigs=("chr2", "chr1"), assembly="GRCh38",
                       size=25, block_bytes=10)
    assert whole == [Part("header", convert="VCF"), Part("body", "chr2", 0, MAX_POSITION, convert="VCF"),
                     Part("body", "chr1", 0, MAX_POSITION, convert="VCF")]
    header = plan_parts(TicketQuery(format="BCF", header_only=True), stored="VCF", file_contigs=(),
                        assembly="GRCh38", size=25, block_bytes=10)
    assert header == [Part("header", convert="BCF")]
    assert block_path("D", "F", header[0]) == "/htsget/blocks/D/F/header?format=BCF"
    assert block_path("D", "F", planned[1]) == "/htsget/blocks/D/F/body?referenceName=chr2&start=5&end=9&format=BCF"
    assert block_path("D", "F", Part("header")) == "/htsget/blocks/D/F/header"


def test_ticket_json_carries_tokens_classes_and_the_eof_marker() -> None:
    ticket = ticket_json("VCF", [Part("header"), Part("body", "chr1", 0, 5)],
                         lambda p: (f"https://node/{p.part}", f"tok-{p.part}"))["htsget"]
    assert [u.get("class") for u in ticket["urls"]] == ["header", "body", "body"]
    assert ticket["urls"][1]["headers"] == {"Authorization": "Bearer tok-body"}
    assert base64.b64decode(ticket["urls"][2]["url"].split(",", 1)[1]) == EOF_BLOCK
    whole = ticket_json("BCF", [Part("file", byte_range=(0, 9))], lambda p: ("https://node/f", "t"))["htsget"]
    assert whole["urls"] == [{"url": "https://node/f", "headers": {"Authorization": "Bearer t", "Range": "bytes=0-9"}}]


def test_block_tokens_round_trip_and_expire() -> None:
    grant = BlockGrant("alice", "GGD000001", "GGF000001", "body", "chr1", 0, 10, expires_at=1_000)
    token = sign_block_token(SECRET, grant, now=700)
    assert is_block_token(token) and not is_block_token("abc")
    assert read_block_token(SECRET, token, now=999) == grant
    with pytest.raises(TokenRefused, match="expired"):
        read_block_token(SECRET, token, now=1_000)
    with pytest.raises(TokenRefused, match="signature"):
        read_block_token("t" * 32, token, now=800)


@pytest.mark.parametrize(("error", "expected"), [
    (Unauthenticated("x"), (401, "InvalidAuthentication")), (TokenRefused("x"), (401, "InvalidAuthentication")),
    (Forbidden("x"), (403, "PermissionDenied")), (NotFound("x"), (404, "NotFound")),
    (UnsupportedFormat("x"), (400, "UnsupportedFormat")), (InvalidRange("x"), (400, "InvalidRange")),
    (InvalidInput("x"), (400, "InvalidInput")),
])
def test_domain_errors_map_to_htsget_errors(error: Exception, expected: tuple[int, str]) -> None:
    assert htsget_error(error) == expected  # type: ignore[arg-type]
