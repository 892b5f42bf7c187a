"""Answers for `testMode=true`: a fixed synthetic dataset and variant, never real data."""

from __future__ import annotations

from typing import Any

from beacon.granularity import Granularity
from beacon.models import BeaconRequest
from beacon.responses import BEACON_ID, result_set, summary_response

__all__ = ["TEST_DATASET", "test_answer"]

TEST_DATASET = "TEST-DATASET"

# One synthetic SNV: chromosome 1, VCF POS 1000, A>G, seen 3 times in 100 alleles.
_TEST_VARIANT: dict[str, Any] = {
    "variantInternalId": "GRCh38:1:1000:A:G",
    "variation": {
        "location": {"type": "SequenceLocation", "sequence_id": "refseq:NC_000001.11",
                     "interval": {"type": "SequenceInterval", "start": {"type": "Number", "value": 999},
                                  "end": {"type": "Number", "value": 1000}}},
        "referenceBases": "A", "alternateBases": "G", "variantType": "SNP",
    },
    "frequencyInPopulations": [{"source": "GenomeGate test mode", "sourceReference": "synthetic",
                                "frequencies": [{"population": "ALL", "alleleFrequency": 0.03}]}],
}


def test_answer(request: BeaconRequest, entity: str = "genomicVariation", beacon_id: str = BEACON_ID
                ) -> dict[str, Any]:
    """Answer any query from the synthetic data: the test variant exists; the granularity asked is given."""
    granularity = request.granularity
    results = [_TEST_VARIANT] if granularity is Granularity.RECORD and entity == "genomicVariation" else []
    sets = [result_set(TEST_DATASET, exists=True, count=1, results=results,
                       info={"testMode": True, "returnedGranularity": granularity.label})]
    return summary_response(request, granularity, entity, exists=True, total=1, result_sets=sets,
                            info={"testMode": "synthetic answer; no real dataset was queried"}, beacon_id=beacon_id)
