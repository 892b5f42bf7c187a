"""The allele-frequency spectrum, checked against a plain Python count over the same index rows."""

from __future__ import annotations

import pytest
from sqlmodel import Session, select

from catalogue.models import Variant
from catalogue.services.statistics import allele_frequency_spectrum
from tests.factories import make_dataset, make_organisation


def _variant(dataset_id: str, pos: int, ac: int, an: int) -> Variant:
    return Variant(dataset_id=dataset_id, chrom="1", pos=pos, ref="A", alt="G", file_id="GGF000001", end=pos,
                   variant_type="SNV", length=1, ac=ac, an=an, het=ac, hom_alt=0, hemi_alt=0)


def test_spectrum_matches_a_python_count(session: Session) -> None:
    from catalogue.models import DatasetFile

    dataset = make_dataset(session, organisation_id=make_organisation(session).id)
    session.add(DatasetFile(id="GGF000001", dataset_id=dataset.id, name="x.vcf.gz", uri="file:///x", format="VCF",
                            size=1, md5="0" * 32, sha256="0" * 64))
    counts = [(0, 10), (1, 10), (5, 10), (9, 10), (10, 10), (3, 1000), (999, 1000), (7, 0), (1, 3), (2, 3)]
    session.add_all(_variant(dataset.id, i + 1, ac, an) for i, (ac, an) in enumerate(counts))
    session.commit()
    expected = [0] * 10
    for row in session.exec(select(Variant).where(Variant.dataset_id == dataset.id)):
        if row.an:
            expected[min(int(10 * row.ac / row.an), 9)] += 1
    assert allele_frequency_spectrum(session, dataset.id) == expected == [2, 1, 0, 1, 0, 1, 1, 0, 0, 3]
    assert sum(allele_frequency_spectrum(session, dataset.id, bins=4)) == 9


def test_bins_must_be_positive(session: Session) -> None:
    with pytest.raises(ValueError, match="bins must be at least 1"):
        allele_frequency_spectrum(session, "GGD000001", bins=0)
