"""Charging Beacon answers to privacy budgets: price each question, settle it atomically, refuse and audit."""

from __future__ import annotations

import hashlib
import json
import logging
import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import and_, bindparam, insert, select, update
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session

from access import audit
from beacon.filters import Selection
from beacon.granularity import Granularity
from beacon.privacy.domain import (
    RARE_AF,
    Charge,
    answer_cost,
    budget,
    haplotypes,
    period_over,
    withheld_when_locked,
)
from beacon.privacy.errors import BudgetExhausted, TooRevealing
from beacon.privacy.models import PrivacyLedger, PrivacyQuestion
from catalogue.errors import DomainError
from catalogue.identity import Caller
from catalogue.models import as_utc
from catalogue.services.lookup import PublishedDataset, VariantSearch, reference_frequency, sample_traits
from catalogue.settings import Settings

__all__ = ["Account", "Gate", "Policy", "account_of", "budgeted", "renew_ended_periods"]

log = logging.getLogger("genomegate.privacy")

_LEDGER = PrivacyLedger.__table__  # type: ignore[attr-defined]
_QUESTION = PrivacyQuestion.__table__  # type: ignore[attr-defined]

# (dataset, granularity, record rights) as the Beacon's scope carries them
Item = tuple[PublishedDataset, Granularity, bool]

# Statements built once: on the query path SQLAlchemy then only looks up their compiled form.
_HOLDER = and_(_LEDGER.c.holder == bindparam("h"), _LEDGER.c.dataset_id == bindparam("d"))
_ASKED = select(_QUESTION.c.cost).where(_QUESTION.c.holder == bindparam("h"), _QUESTION.c.dataset_id == bindparam("d"),
                                        _QUESTION.c.question == bindparam("q"))
_ROW = select(_LEDGER).where(_HOLDER)
_NEW_ROW = insert(_LEDGER).values(holder=bindparam("h"), dataset_id=bindparam("d"), kind=bindparam("k"),
                                  organisation=bindparam("o"), spent=0.0, period_start=bindparam("t"), answered=0,
                                  refused=0, rare=0)
_RENEW = update(_LEDGER).where(_HOLDER, _LEDGER.c.period_start == bindparam("was")).values(
    spent=0.0, locked_at=None, period_start=bindparam("t"))
_CHARGE = update(_LEDGER).where(_HOLDER, _LEDGER.c.locked_at.is_(None),
                                _LEDGER.c.spent + bindparam("c") <= bindparam("cap")).values(
    spent=_LEDGER.c.spent + bindparam("c"), answered=_LEDGER.c.answered + 1, rare=_LEDGER.c.rare + bindparam("r"))
# A question a lock does not withhold (domain.withheld_when_locked): charged whether or not the budget is locked.
_CHARGE_LOCKED = update(_LEDGER).where(_HOLDER, _LEDGER.c.spent + bindparam("c") <= bindparam("cap")).values(
    spent=_LEDGER.c.spent + bindparam("c"), answered=_LEDGER.c.answered + 1, rare=_LEDGER.c.rare + bindparam("r"))
_ASK = insert(_QUESTION).values(holder=bindparam("h"), dataset_id=bindparam("d"), question=bindparam("q"),
                                cost=bindparam("c"), rare=bindparam("rare_q"), label=bindparam("l"),
                                asked_at=bindparam("t"))
_LOCK = update(_LEDGER).where(_HOLDER, _LEDGER.c.locked_at.is_(None)).values(locked_at=bindparam("t"))
_REFUSED = update(_LEDGER).where(_HOLDER).values(refused=_LEDGER.c.refused + 1, rare=_LEDGER.c.rare + bindparam("r"))
_ALERT = update(_LEDGER).where(_HOLDER, _LEDGER.c.alerted_at.is_(None), _LEDGER.c.rare >= bindparam("n")).values(
    alerted_at=bindparam("t"))


class _Overspent(Exception):
    def __init__(self, holder: str) -> None:
        super().__init__(holder)
        self.holder = holder


@dataclass(frozen=True, slots=True)
class Policy:
    """The node's privacy settings."""

    anonymous: str = "refuse"  # "refuse" or "budget" (per network address)
    anonymous_p: float = 0.9
    renew: timedelta | None = None
    org_budgets: float = 1.0
    alert_rare: int = 25

    @classmethod
    def from_settings(cls, settings: Settings) -> Policy:
        return cls(anonymous=settings.privacy_anonymous, anonymous_p=settings.privacy_anonymous_p,
                   renew=timedelta(days=settings.privacy_renew_days) if settings.privacy_renew_days else None,
                   org_budgets=settings.privacy_org_budgets, alert_rare=settings.privacy_alert_rare)


@dataclass(frozen=True, slots=True)
class Account:
    """Who is charged: a verified identity (with its organisation's shared cap) or an anonymous address."""

    holder: str
    kind: str  # "account" or "address"
    organisation: str | None = None
    p: float | None = None  # an address's own budget parameter (the smaller budget of it and the dataset's wins)

    @property
    def org_holder(self) -> str | None:
        return f"org:{self.organisation}" if self.organisation else None


def account_of(caller: Caller, policy: Policy) -> Account | None:
    """The budget holder of a caller; None for an anonymous caller the node does not answer about genotypes."""
    if caller.principal is not None:
        principal = caller.principal
        return Account(f"{principal.issuer}|{principal.subject}", "account", principal.organisation)
    if policy.anonymous == "budget" and caller.address:
        return Account(f"addr:{caller.address}", "address", p=policy.anonymous_p)
    return None


def budgeted(dataset: PublishedDataset, record_rights: bool) -> bool:
    """Whether answers about the dataset are charged: genotypes behind it, no record rights, defence on."""
    return not record_rights and dataset.privacy_p > 0 and dataset.samples > 0


_GROUPS_REFUSED = ("questions about a population or a disease group are answered only with record-level rights: "
                   "the public frequencies that price questions do not say how often such a group carries an allele")


def _group_key(selection: Selection | None) -> str | None:
    return None if selection is None or selection.empty else f"sex={selection.sex}"


def _of_sex(session: Session, dataset: PublishedDataset, sex: str) -> int:
    """How many of the dataset's people are of that sex (what a question filtered by sex is about)."""
    return sum(1 for s, _, _ in sample_traits(session, dataset.id) if s == sex)


def _question(dataset: PublishedDataset, search: VariantSearch, group: str | None) -> tuple[str, str]:
    """(digest, label) of a question: the normalised search, the group asked about and the data's version."""
    fields = {k: getattr(search, k) for k in search.__slots__}
    version = hashlib.sha256(json.dumps(dataset.statistics, sort_keys=True, default=str).encode()).hexdigest()
    key = json.dumps([dataset.id, version, fields, group], sort_keys=True, default=list)
    shown = {k: v for k, v in fields.items() if v not in (None, ())}
    label = " ".join(f"{k}={v}" for k, v in shown.items())
    if group:
        label += f" group={group}"
    return hashlib.sha256(key.encode()).hexdigest(), label[:300]


@dataclass(slots=True)
class Gate:
    """The privacy check of one Beacon request: which datasets answer, at what level, and what it cost."""

    account: Account | None
    policy: Policy
    actor: str | None = None  # the audit log's actor (the subject, or the address)
    # keys the tags that stand for samples in the audit lines of what the request shows (catalogue.sample_tags)
    sample_key: str = field(default="", repr=False)

    @classmethod
    def for_caller(cls, caller: Caller, settings: Settings) -> Gate:
        policy = Policy.from_settings(settings)
        account = account_of(caller, policy)
        actor = caller.subject or (account.holder if account else None)
        return cls(account, policy, actor, settings.participant_key)

    def admit(self, session: Session, items: Sequence[Item], searches: Callable[[PublishedDataset], VariantSearch],
              *, selection: Selection | None = None) -> tuple[list[Item], list[dict[str, str]]]:
        """The items that answer (budgeted ones at boolean at most, charged) and the ones left out, with why.

        A question about one sex is priced for the people of that sex. Questions about populations or diseases
        are refused on budgeted datasets: how often a group carries an allele is not what the public panel's
        frequency says (an allele common elsewhere can be rare in one ancestry), so no price would be sound.
        Raises BudgetExhausted (or TooRevealing) when every dataset that would have answered was refused.
        """
        group = _group_key(selection)
        admitted: list[Item] = []
        excluded: list[dict[str, str]] = []
        refusals: list[DomainError] = []
        settled = False
        for d, level, records in items:
            if not budgeted(d, records):
                admitted.append((d, level, records))
                continue
            if self.account is None:
                excluded.append({"datasetId": d.id, "reason": "it holds individuals' genotypes and answers signed-in "
                                                              "callers only, within a privacy budget"})
                continue
            if selection is not None and (selection.populations or selection.diseases):
                refusals.append(TooRevealing(_GROUPS_REFUSED))
                excluded.append({"datasetId": d.id, "reason": _GROUPS_REFUSED})
                continue
            search = searches(d)
            digest, label = _question(d, search, group)
            refusal = None
            if not self._asked(session, self.account.holder, d.id, digest):  # asked before: answered for nothing
                samples = _of_sex(session, d, selection.sex) if selection is not None and selection.sex else d.samples
                frequency = reference_frequency(session, d.assembly, search)
                charge = Charge(d.id, digest, answer_cost(frequency, haplotypes(samples, search.chrom)),
                                rare=frequency < RARE_AF)
                refusal = self._settle(session, d, charge, label)
                settled = True
            if refusal is None:
                admitted.append((d, min(level, Granularity.BOOLEAN), records))
            else:
                refusals.append(refusal)
                excluded.append({"datasetId": d.id, "reason": refusal.message})
        if settled:
            session.commit()
        if refusals and not admitted:
            spent = [r for r in refusals if isinstance(r, BudgetExhausted)]
            raise (spent or refusals)[0]
        return admitted, excluded

    # --- settling one charge ------------------------------------------------------------------------

    def _settle(self, session: Session, dataset: PublishedDataset, charge: Charge, label: str) -> DomainError | None:
        account = self.account
        assert account is not None
        now = datetime.now(UTC)
        p = max(dataset.privacy_p, account.p or 0.0)
        limit = budget(p)
        ledger = self._ledger(session, account.holder, dataset.id, account.kind, account.organisation, now)
        if charge.cost > limit:
            return self._refuse(session, dataset, charge, label, ledger, TooRevealing(
                f"{dataset.id}: this question alone could tell whether one person is in the cohort (no public "
                "reference shows the allele to be common); it is answered only with record-level rights: request "
                "access to the dataset"))
        holders = [(account.holder, limit, ledger)]
        if account.org_holder is not None:
            org = self._ledger(session, account.org_holder, dataset.id, "organisation", None, now)
            holders.append((account.org_holder, limit * self.policy.org_budgets, org))
        withheld = withheld_when_locked(charge)  # a locked budget still answers a common allele that it can pay for
        for holder, cap, row in holders:
            if (row["locked_at"] is not None and withheld) or row["spent"] + charge.cost > cap:
                self._lock(session, holder, dataset.id, now)
                return self._refuse(session, dataset, charge, label, ledger, self._spent(dataset, holder, row))
        try:
            with session.begin_nested():
                for holder, cap, _row in holders:
                    done = session.execute(_CHARGE if withheld else _CHARGE_LOCKED, {
                        "h": holder, "d": dataset.id, "c": charge.cost, "cap": cap, "r": int(charge.rare)})
                    if done.rowcount != 1:  # type: ignore[attr-defined]
                        raise _Overspent(holder)
                session.execute(_ASK, {"h": account.holder, "d": dataset.id, "q": charge.question, "c": charge.cost,
                                       "rare_q": charge.rare, "l": label, "t": now})
        except _Overspent as lost:  # a concurrent request of the same holder spent it first: nothing was charged
            self._lock(session, lost.holder, dataset.id, now)
            row = self._ledger(session, lost.holder, dataset.id, "account", None, now)
            return self._refuse(session, dataset, charge, label, ledger, self._spent(dataset, lost.holder, row))
        except IntegrityError:  # the same question, asked concurrently, was charged by the other request
            return None
        if charge.rare:
            self._maybe_alert(session, dataset, ledger, now)
        return None

    @staticmethod
    def _asked(session: Session, holder: str, dataset_id: str, question: str) -> bool:
        return session.execute(_ASKED, {"h": holder, "d": dataset_id, "q": question}).first() is not None

    def _ledger(self, session: Session, holder: str, dataset_id: str, kind: str, organisation: str | None,
                now: datetime) -> dict[str, Any]:
        """The holder's ledger row for the dataset (made on first use; renewed when its period is over)."""
        key = {"h": holder, "d": dataset_id}
        row = session.execute(_ROW, key).mappings().first()
        if row is None:
            try:
                with session.begin_nested():
                    session.execute(_NEW_ROW, {**key, "k": kind, "o": organisation, "t": now})
            except IntegrityError:  # made by a concurrent request of the same holder
                pass
            row = session.execute(_ROW, key).mappings().one()
        state = dict(row)
        state["period_start"] = as_utc(state["period_start"])
        if period_over(state["period_start"], self.policy.renew, now):
            session.execute(_RENEW, {**key, "was": row["period_start"], "t": now})
            state.update(spent=0.0, locked_at=None, period_start=now)
        return state

    @staticmethod
    def _lock(session: Session, holder: str, dataset_id: str, now: datetime) -> None:
        session.execute(_LOCK, {"h": holder, "d": dataset_id, "t": now})

    def _spent(self, dataset: PublishedDataset, holder: str, row: dict[str, Any]) -> BudgetExhausted:
        whose = "your organisation's" if holder.startswith("org:") else (
            "this address's" if holder.startswith("addr:") else "your")
        renew = self.policy.renew
        if renew is None:
            return BudgetExhausted(f"{dataset.id}: {whose} privacy budget for this dataset is spent; new questions "
                                   "about it are refused (it does not renew): request access to the dataset for "
                                   "record-level answers")
        renews_at = row["period_start"] + renew
        seconds = max(math.ceil((renews_at - datetime.now(UTC)).total_seconds()), 1)
        return BudgetExhausted(f"{dataset.id}: {whose} privacy budget for this dataset is spent until "
                               f"{renews_at.isoformat(timespec='seconds')}; new questions about it are refused until "
                               "then", renews_at=renews_at, retry_after=seconds)

    def _refuse(self, session: Session, dataset: PublishedDataset, charge: Charge, label: str,
                ledger: dict[str, Any], error: DomainError) -> DomainError:
        account = self.account
        assert account is not None
        session.execute(_REFUSED, {"h": account.holder, "d": dataset.id, "r": int(charge.rare)})
        reason = "too_revealing" if isinstance(error, TooRevealing) else "budget_spent"
        audit.append(session, actor=self.actor or account.holder, action="beacon.privacy_refused",
                     dataset_id=dataset.id, details={"holder": account.holder, "reason": reason, "question": label,
                                                     "cost": None if math.isinf(charge.cost) else charge.cost,
                                                     "spent": ledger["spent"]})
        log.info("privacy refusal", extra={"holder": account.holder, "dataset": dataset.id, "reason": reason})
        if charge.rare:
            self._maybe_alert(session, dataset, ledger, datetime.now(UTC))
        return error

    def _maybe_alert(self, session: Session, dataset: PublishedDataset, ledger: dict[str, Any], now: datetime) -> None:
        """Flag an account whose questions look like an attack: many rare alleles asked of one dataset (answered or
        refused: an attacker's rarest alleles are exactly what the budget refuses)."""
        account = self.account
        assert account is not None
        if ledger["alerted_at"] is not None or ledger["rare"] + 1 < self.policy.alert_rare:
            return
        done = session.execute(_ALERT, {"h": account.holder, "d": dataset.id, "n": self.policy.alert_rare, "t": now})
        if done.rowcount == 1:  # type: ignore[attr-defined]
            audit.append(session, actor=self.actor or account.holder, action="beacon.privacy_alert",
                         dataset_id=dataset.id, details={"holder": account.holder, "rare_questions":
                                                         ledger["rare"] + 1, "spent": ledger["spent"]})
            log.warning("possible membership-inference attack: %s asked %d rare alleles of %s",
                        account.holder, ledger["rare"] + 1, dataset.id)


def renew_ended_periods(session: Session, policy: Policy, *, now: datetime | None = None) -> int:
    """Renew every budget whose period ended (the rule of `period_over`, as a query is charged), in one
    transaction: each starts a new period from `now` with nothing spent. Returns how many were renewed."""
    if policy.renew is None:
        return 0
    now = now or datetime.now(UTC)
    # period_over(start, renew, now) <=> start <= now - renew; the row is re-checked by the update itself, so a
    # budget renewed meanwhile by a query (its period_start moved on) is left alone
    renewed = session.execute(update(_LEDGER).where(_LEDGER.c.period_start <= now - policy.renew).values(
        spent=0.0, locked_at=None, period_start=now)).rowcount  # type: ignore[attr-defined]
    session.commit()
    return int(renewed or 0)
