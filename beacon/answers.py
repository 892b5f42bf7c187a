"""Typed Beacon answers: per dataset what it answered and at which granularity, and why others did not.

The values built on every query are NamedTuples: immutable and typed like frozen dataclasses, and built in
half their time (the anonymous count path answers in under 100 us, so microseconds count).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import TYPE_CHECKING, Generic, NamedTuple, TypeVar

from beacon.genotypes import Carrier
from beacon.granularity import Granularity
from catalogue.annotations import Annotation
from catalogue.services.lookup import PublishedDataset, VariantHit, VariantTally

if TYPE_CHECKING:
    from beacon.models import BeaconRequest
    from beacon.plan import Plan

__all__ = [
    "COUNT_HIDDEN_NOTE", "UNKNOWN_TOTAL_NOTE", "DatasetResult", "Exclusion", "Reason", "VariantAnswer",
    "VariantRecord", "variant_id",
]

R = TypeVar("R")


class Reason(StrEnum):
    """Why a dataset is left out of an answer, or why it answers with less than the caller asked for."""

    OTHER_ASSEMBLY = "OTHER_ASSEMBLY"  # the query names a chromosome or assembly the dataset is not on
    SIGN_IN_REQUIRED = "SIGN_IN_REQUIRED"  # a REGISTERED dataset asked anonymously
    RECORD_RIGHTS_REQUIRED = "RECORD_RIGHTS_REQUIRED"  # a CONTROLLED dataset whose steward chose no Beacon answers
    NOT_ANNOTATED = "NOT_ANNOTATED"  # only annotations could answer (gene not loaded, protein change), it has none
    GENOTYPES_SIGN_IN_REQUIRED = "GENOTYPES_SIGN_IN_REQUIRED"  # genotypes behind it, and no anonymous budget
    PRIVACY_REFUSED = "PRIVACY_REFUSED"  # the privacy gate judged the question too revealing
    BUDGET_SPENT = "BUDGET_SPENT"  # the caller's privacy budget for the dataset is spent (until `renews_at`)
    INDIVIDUAL_RECORD_RIGHTS_REQUIRED = "INDIVIDUAL_RECORD_RIGHTS_REQUIRED"  # one person's genotypes asked for
    COUNT_BELOW_THRESHOLD = "COUNT_BELOW_THRESHOLD"  # answered yes/no only: its count is under the threshold
    PRIVACY_BUDGETED = "PRIVACY_BUDGETED"  # answered yes/no only, and charged to the privacy budget

    @property
    def sign_in_helps(self) -> bool:
        """Whether signing in would get an anonymous caller an answer."""
        return self in (Reason.SIGN_IN_REQUIRED, Reason.GENOTYPES_SIGN_IN_REQUIRED)


# The words of each exclusion, in one place. Refusals of the privacy gate carry the gate's own words.
_TEXT: dict[Reason, str] = {
    Reason.OTHER_ASSEMBLY: "its assembly {assembly} is not the query's ({asked})",
    Reason.SIGN_IN_REQUIRED: "it answers signed-in callers only",
    Reason.RECORD_RIGHTS_REQUIRED: "it does not answer Beacon queries without record-level rights",
    Reason.NOT_ANNOTATED: "its variants carry no annotations (VEP CSQ or SnpEff ANN) to answer {message} from",
    Reason.GENOTYPES_SIGN_IN_REQUIRED: "it holds individuals' genotypes and answers signed-in callers only, "
                                       "within a privacy budget",
    Reason.PRIVACY_REFUSED: "{message}",
    Reason.BUDGET_SPENT: "{message}",
    Reason.INDIVIDUAL_RECORD_RIGHTS_REQUIRED: "an individual's genotypes need record-level rights",
    Reason.COUNT_BELOW_THRESHOLD: "its count is below the threshold for showing counts",
    Reason.PRIVACY_BUDGETED: "it holds individuals' genotypes: it answers yes or no, within a privacy budget",
}

COUNT_HIDDEN_NOTE = ("counts below a dataset's threshold are not shown without record-level rights; "
                     "this is a display policy, not a privacy protection")

UNKNOWN_TOTAL_NOTE = ("no total is given: a dataset answering yes/no only (see info.datasets) found something, "
                      "and its count is not known to the caller")


@dataclass(frozen=True, slots=True)
class Exclusion:
    """A dataset left out of an answer: the reason's code, and what its words need."""

    dataset_id: str
    reason: Reason
    assembly: str = ""
    asked: tuple[str, ...] = ()  # the query's assemblies (OTHER_ASSEMBLY)
    gene: str = ""
    message: str = ""  # the privacy gate's words for its refusal
    renews_at: datetime | None = None  # BUDGET_SPENT: when the budget comes back (None: never)
    retry_after: int | None = None  # BUDGET_SPENT: seconds until then

    @property
    def text(self) -> str:
        """The reason in words, as the Beacon's `info.excludedDatasets` and the lookup page give it."""
        return _TEXT[self.reason].format(assembly=self.assembly, asked=", ".join(self.asked), gene=self.gene,
                                         message=self.message)


@dataclass(frozen=True, slots=True)
class VariantRecord:
    """One variant at record level: its index row, who carries it (from the dataset's files) and what its
    annotations say."""

    assembly: str
    hit: VariantHit
    carriers: tuple[Carrier, ...]
    annotations: tuple[Annotation, ...] = ()

    @property
    def id(self) -> str:
        return variant_id(self.assembly, self.hit)

    @property
    def variant_type(self) -> str:
        """The Beacon's spelling of the variant's class (SNP for the index's SNV)."""
        return "SNP" if self.hit.variant_type == "SNV" else self.hit.variant_type

    @property
    def allele_frequency(self) -> float:
        return self.hit.ac / self.hit.an if self.hit.an else 0.0


def variant_id(assembly: str, hit: VariantHit) -> str:
    """The stable id of a variant: `<assembly>:<chrom>:<VCF POS>:<REF>:<ALT>` of the normalised (trimmed) allele."""
    return f"{assembly}:{hit.chrom}:{hit.pos}:{hit.ref}:{hit.alt}"


class DatasetResult(NamedTuple, Generic[R]):
    """One dataset's answer: the granularity it is returned at, whether it has a hit, its count and records.

    `matched` is what the entry type counts (variants, individuals); a variant answer's `tally` adds the
    allele count and carriers. `listed` says whether the dataset has a result set in the response (count
    level or more, and includeResultsetResponses lets it); `records` is its page at record level.
    `limited_by` says why it answers with less than allowed: COUNT_BELOW_THRESHOLD or PRIVACY_BUDGETED.
    """

    dataset: PublishedDataset
    granularity: Granularity
    exists: bool
    matched: int
    record_rights: bool
    listed: bool
    records: tuple[R, ...] = ()
    limited_by: Reason | None = None
    tally: VariantTally | None = None

    @property
    def count_hidden(self) -> bool:
        """Whether its count is not shown: below the dataset's threshold, without record-level rights."""
        return self.limited_by is Reason.COUNT_BELOW_THRESHOLD


class VariantAnswer(NamedTuple):
    """A genomic-variation query's answer: the plan it ran, each dataset's result, the datasets left out."""

    request: BeaconRequest
    plan: Plan
    results: tuple[DatasetResult[VariantRecord], ...]
    excluded: tuple[Exclusion, ...]
