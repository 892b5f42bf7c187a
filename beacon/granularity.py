"""Pure rules: which granularity a caller gets of a dataset, and when a count is too small to show."""

from __future__ import annotations

from enum import IntEnum

from catalogue.models import SecurityLevel

__all__ = [
    "Granularity", "allowed_granularity", "hide_count", "included", "returned_granularity", "shown_granularity",
]


class Granularity(IntEnum):
    """Beacon granularities, ordered: asking for more than allowed returns the allowed level."""

    NONE = 0
    BOOLEAN = 1
    COUNT = 2
    RECORD = 3

    @property
    def label(self) -> str:
        return _LABELS[self]

    @classmethod
    def parse(cls, value: str) -> Granularity:
        return cls[value.strip().upper()]


_LABELS = {g: g.name.lower() for g in Granularity}  # the names as the Beacon spells them, looked up per response


def allowed_granularity(security: str, *, authenticated: bool, record_rights: bool,
                        controlled_granularity: str = "boolean") -> Granularity:
    """The most a caller may learn of a dataset.

    Record level needs record-level rights (an entitlement, later an accepted visa) at every security
    level. Otherwise PUBLIC gives anyone counts, REGISTERED gives signed-in callers counts (anonymous
    callers nothing), and CONTROLLED gives anyone what the dataset's steward chose (none, boolean, count).
    """
    if record_rights:
        return Granularity.RECORD
    # Compared as strings (SecurityLevel is a StrEnum): looking the member up costs more than the rule, per query.
    if security == SecurityLevel.PUBLIC:
        return Granularity.COUNT
    if security == SecurityLevel.REGISTERED:
        return Granularity.COUNT if authenticated else Granularity.NONE
    if security != SecurityLevel.CONTROLLED:
        raise ValueError(f"{security!r} is not a security level")
    return min(Granularity.parse(controlled_granularity), Granularity.COUNT)


def returned_granularity(requested: Granularity, allowed: Granularity) -> Granularity:
    """What a dataset's answer is given at: the lower of what was asked and what is allowed."""
    return min(requested, allowed)


def hide_count(count: int, threshold: int, *, record_rights: bool) -> bool:
    """True when a non-zero count below the dataset's threshold must not be shown to this caller.

    A display policy (small numbers are not printed), not a defence against membership inference.
    """
    return not record_rights and 0 < count < threshold


def shown_granularity(level: Granularity, *, count: int, threshold: int, record_rights: bool) -> Granularity:
    """The level a dataset answers at once the small-count policy applied: boolean when its count is hidden."""
    if level >= Granularity.COUNT and hide_count(count, threshold, record_rights=record_rights):
        return Granularity.BOOLEAN
    return level


def included(include: str, hit: bool) -> bool:
    """Whether a result set is returned under includeResultsetResponses (ALL, HIT, MISS or NONE)."""
    return include == "ALL" or (include == "HIT" and hit) or (include == "MISS" and not hit)
