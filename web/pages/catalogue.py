"""The catalogue pages: search with facets over this node's and its peers' datasets (`/`), a dataset's page with
its conditions, files and figures, and a peer's dataset's page with what was harvested and a link to its home."""

from __future__ import annotations

import json
from enum import StrEnum
from typing import Annotated, Any, TypeVar

from fastapi import Query, Request
from fastapi.responses import HTMLResponse

from access.services import entitlements
from beacon.privacy.domain import power_bound
from catalogue.counts import allele_counts_known
from catalogue.deps import SessionDep, SettingsDep
from catalogue.duo import DUO_TERMS, duo_term
from catalogue.limits import MAX_OFFSET, MAX_TERMS
from catalogue.models import Assembly, Dataset, DatasetStatus, SecurityLevel
from catalogue.services import datasets as ds
from catalogue.services import registry
from catalogue.services.search import DatasetQuery
from catalogue.services.statistics import allele_frequency_spectrum
from network import federated, peers, remote
from network.dac_requests import decided_here
from web.charts import bar_chart
from web.i18n import translator
from web.routing import page_router
from web.session import PageCallerDep
from web.templating import render

__all__ = ["router"]

router = page_router()
PAGE_SIZE = 20
E = TypeVar("E", bound=StrEnum)
Values = Annotated[list[str] | None, Query(max_length=MAX_TERMS)]
_DUO = {t for term in DUO_TERMS.values() for t in (term.id, term.shorthand) if t}


def _known(enum: type[E], values: list[str] | None) -> list[E]:
    # A browser form sends what its checkboxes hold; an unknown value (an old bookmark) is dropped, not an error.
    return [enum(v) for v in values or [] if v in {e.value for e in enum}]


@router.get("/", response_class=HTMLResponse)
def catalogue_page(request: Request, session: SessionDep, caller: PageCallerDep, settings: SettingsDep,
                   q: Annotated[str, Query(max_length=500)] = "", assembly: Values = None, security: Values = None,
                   duo: Values = None, organisation: Values = None, node: Values = None,
                   offset: Annotated[int, Query(ge=0, le=MAX_OFFSET)] = 0) -> HTMLResponse:
    query = DatasetQuery(q=q, assembly=_known(Assembly, assembly), security=_known(SecurityLevel, security),
                         duo=[d for d in duo or [] if d in _DUO], organisation=organisation or [],
                         status=[DatasetStatus.published], limit=PAGE_SIZE, offset=offset)
    result = federated.search_network(session, caller, query, [n for n in node or [] if n])
    organisations = {o.id: o.name for o in registry.list_organisations(session)}
    this_node = translator(request).gettext("This node (%(name)s)") % {"name": settings.node_name}
    nodes = {federated.LOCAL_NODE: this_node} | {
        p.id: p.name for p in peers.list_peers(session)}
    chosen = {"assembly": set(assembly or []), "security": set(security or []), "duo": set(duo or []),
              "organisation": set(organisation or []), "node": set(node or [])}
    params = [(k, v) for k, values in chosen.items() for v in sorted(values)] + ([("q", q)] if q else [])
    return render(request, "catalogue.html", {
        "q": q, "result": result, "organisations": organisations, "nodes": nodes, "chosen": chosen,
        "offset": offset, "page_size": PAGE_SIZE, "params": params,
    })


@router.get("/network/datasets/{peer_id}/{dataset_id}", response_class=HTMLResponse)
def remote_dataset_page(peer_id: str, dataset_id: str, request: Request, session: SessionDep,
                        settings: SettingsDep) -> HTMLResponse:
    dataset = remote.remote_dataset(session, peer_id, dataset_id)
    # a dataset whose access this node's DAC decides is applied for here, named by its URL at its node
    apply_here = (dataset.iri if dataset.security == "CONTROLLED"
                  and decided_here(dataset, settings.public_base_url) else None)
    return render(request, "remote_dataset.html", {
        "apply_here": apply_here,
        "dataset": dataset, "peer": peers.get_peer(session, peer_id), "home": remote.home_url(dataset),
        "conditions": [duo_term(c) for c in dataset.duo if c in _DUO],
        "unknown_conditions": [c for c in dataset.duo if c not in _DUO],
        "jsonld": json.dumps(dataset.raw, indent=2, ensure_ascii=False),
    })


@router.get("/datasets/{dataset_id}", response_class=HTMLResponse)
def dataset_page(dataset_id: str, request: Request, session: SessionDep, caller: PageCallerDep,
                 settings: SettingsDep) -> HTMLResponse:
    dataset = ds.get_dataset(session, caller, dataset_id)
    record = ds.dataset_public(dataset, ds.dataset_files(session, dataset.id), settings.public_base_url)
    stats: dict[str, Any] = dataset.statistics or {}
    charts = []
    if stats.get("variants"):
        per_chrom = list(stats.get("per_chromosome", {}).items())
        per_type = list(stats.get("per_type", {}).items())
        spectrum = allele_frequency_spectrum(session, dataset.id)
        bins = len(spectrum)
        t = translator(request)
        _ = t.gettext
        charts = [chart for chart in [
            (_("Variants per chromosome"), bar_chart(
                per_chrom, title=_("Variants per chromosome"),
                description=", ".join(_("chromosome %(name)s: %(count)s", name=c, count=n)
                                      for c, n in per_chrom))),
            (_("Variant types"), bar_chart(
                per_type, title=_("Variant types"),
                description=", ".join(f"{t}: {n}" for t, n in per_type))),
            (_("Allele-frequency spectrum (alleles per frequency bin)"), bar_chart(
                [(t.number(i / bins, 1), n) for i, n in enumerate(spectrum)],
                title=_("Allele-frequency spectrum"),
                description=_(
                    "alleles per allele-frequency bin of width %(width)s, from 0 to 1: %(counts)s",
                    width=t.number(1 / bins, 1), counts=", ".join(str(n) for n in spectrum))))
            if allele_counts_known(stats) else None,
        ] if chart is not None]
    mine = []
    if caller.authenticated and dataset.dac_id:
        mine = [entitlements.entitlement_public(e)
                for e in entitlements.list_entitlements(session, caller, scope="mine", dataset_id=dataset.id)]
    return render(request, "dataset.html", {
        "dataset": record, "organisation": registry.get_organisation(session, dataset.organisation_id),
        "dac": registry.get_dac(session, dataset.dac_id) if dataset.dac_id else None,
        "conditions": [duo_term(c) for c in dataset.duo], "stats": stats, "charts": charts,
        "entitlements": [e for e in mine if e.active],
        "requestable": dataset.security == SecurityLevel.CONTROLLED and dataset.status == DatasetStatus.published,
        "privacy": _privacy(request, dataset),
    })


def _privacy(request: Request, dataset: Dataset) -> str:
    """How the Beacon answers about this dataset, in words."""
    _ = translator(request).gettext
    if dataset.privacy_p <= 0:
        return _("no privacy budget: answers at the dataset's granularity")
    if not allele_counts_known(dataset.statistics or {}):
        return _("presence only (some files give no allele counts): answered yes or no, freely")
    if not (dataset.statistics or {}).get("samples"):
        return _("allele counts only, no genotypes behind them: answered freely")
    return _("yes/no answers within a privacy budget per account: no membership test has power above %(bound)s at "
             "5%% false positives", bound=translator(request).number(power_bound(0.05, dataset.privacy_p), 2))
