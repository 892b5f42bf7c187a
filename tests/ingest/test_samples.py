"""Sample sheets: formats, sex spellings, CURIE checks, reconciliation and group keys."""

from __future__ import annotations

from pathlib import Path

import pytest

from ingest.errors import SampleSheetError
from ingest.samples import SampleMeta, group_keys, normalise_sex, read_sample_sheet, reconcile, sample_groups


def _sheet(tmp_path: Path, name: str, text: str) -> Path:
    path = tmp_path / name
    path.write_text(text)
    return path


def test_reads_tsv(tmp_path: Path) -> None:
    path = _sheet(
        tmp_path,
        "s.tsv",
        "sample_id\tsex\tpopulation\tphenotypes\tdiseases\n"
        "S1\tM\tEUR\tHP:0001250;HP:0000717\tMONDO:0005148\n"
        "S2\tfemale\tAFR\t\t\n"
        "S3\t\t\t\t\n",
    )
    assert read_sample_sheet(path) == [
        SampleMeta("S1", "male", "EUR", ("HP:0001250", "HP:0000717"), ("MONDO:0005148",), 2),
        SampleMeta("S2", "female", "AFR", (), (), 3),
        SampleMeta("S3", "unknown", None, (), (), 4),
    ]


@pytest.mark.parametrize(("name", "sep"), [("s.csv", ","), ("sheet", ","), ("sheet", "\t"), ("s.txt", "\t")])
def test_separator_by_extension_or_sniffing(tmp_path: Path, name: str, sep: str) -> None:
    path = _sheet(tmp_path, name, sep.join(["Sample", "Sex"]) + "\n" + sep.join(["A", "2"]) + "\n")
    assert read_sample_sheet(path) == [SampleMeta("A", "female", line=2)]


def test_id_column_may_be_called_id_and_blank_lines_are_skipped(tmp_path: Path) -> None:
    path = _sheet(tmp_path, "s.tsv", "id\tsex\nA\tNCIT:C20197\n\t\nB\tPATO:0000383\n")
    assert [(m.sample_id, m.sex, m.line) for m in read_sample_sheet(path)] == [("A", "male", 2), ("B", "female", 4)]


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("male", "male"), ("M", "male"), ("1", "male"), ("NCIT:C20197", "male"), ("PATO:0000384", "male"),
        ("Female", "female"), ("f", "female"), ("2", "female"), ("ncit:C16576", "female"),
        ("PATO:0000383", "female"), ("", "unknown"), ("unknown", "unknown"), ("0", "unknown"),
        ("NCIT:C17998", "unknown"), ("yes", None), ("3", None),
    ],
)
def test_normalise_sex(value: str, expected: str | None) -> None:
    assert normalise_sex(value) == expected


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("name\tsex\nA\tM\n", r"s\.tsv: line 1: has no sample_id column"),
        ("sample_id\tsex\nA\tM\nB\tyes\n", r"s\.tsv: line 3, column 'sex': sex 'yes' is not male, female or unknown"),
        ("sample_id\tphenotypes\nA\tHP:0001250;seizures\n",
         r"s\.tsv: line 2, column 'phenotypes': 'seizures' is not a CURIE"),
        ("sample_id\tdiseases\nA\tMONDO 0005148\n", r"line 2, column 'diseases': 'MONDO 0005148' is not a CURIE"),
        ("sample_id\tsex\nA\tM\nA\tF\n", r"s\.tsv: line 3, column 'sample_id': sample 'A' already appears on line 2"),
        ("sample_id\tsex\nA\tM\n\tF\n", r"line 3, column 'sample_id': sample id is empty"),
    ],
)
def test_errors_name_file_line_and_column(tmp_path: Path, text: str, message: str) -> None:
    with pytest.raises(SampleSheetError, match=message):
        read_sample_sheet(_sheet(tmp_path, "s.tsv", text))


def test_missing_file(tmp_path: Path) -> None:
    with pytest.raises(SampleSheetError, match=r"nope\.tsv: does not exist"):
        read_sample_sheet(tmp_path / "nope.tsv")


def test_reconcile() -> None:
    sheet = [SampleMeta("B"), SampleMeta("A"), SampleMeta("Z")]
    matched, missing, extra = reconcile(["A", "B", "C"], sheet)
    assert [m.sample_id for m in matched] == ["A", "B"]
    assert (missing, extra) == (["C"], ["Z"])


def test_group_keys() -> None:
    assert group_keys(SampleMeta("A", "male", "EUR")) == ["population:EUR", "sex:male"]
    assert group_keys(SampleMeta("A", "unknown", None)) == []
    assert sample_groups([SampleMeta("A", "female"), SampleMeta("B")]) == {"A": ["sex:female"], "B": []}
