"""Input errors survive pickling (a --jobs worker process raises them) with their message and parts."""

from __future__ import annotations

import pickle

import pytest

from ingest.errors import BadAllele, IngestInputError, MalformedFile, SampleSheetError


@pytest.mark.parametrize("error", [
    BadAllele("/data/bad.vcf.gz", "ALT 'Q' has bases other than A,C,G,T,N", record=601, locus="chr2:8245"),
    MalformedFile("/data/cut.vcf.gz", "cannot be parsed after record 3"),
    SampleSheetError("/data/sheet.tsv", "sex must be male or female", line=4, column="sex"),
])
def test_an_input_error_is_the_same_after_pickling(error: IngestInputError) -> None:
    copy = pickle.loads(pickle.dumps(error))
    assert type(copy) is type(error)
    assert (copy.message, copy.field, copy.path, copy.reason, copy.record, copy.locus, copy.line, copy.column) == (
        error.message, error.field, error.path, error.reason, error.record, error.locus, error.line, error.column)
    assert str(copy) == str(error)
