"""HTTP API of the catalogue under /api: organisations, DACs, roles, datasets, search and DCAT export."""

from __future__ import annotations

import json
from typing import Annotated, Any

from fastapi import APIRouter, Path, Query, Response, status
from pydantic import BaseModel

from catalogue import dcat
from catalogue.deps import CallerDep, RuntimeDep, SessionDep, SettingsDep, SignedInDep
from catalogue.errors import InvalidInput
from catalogue.limits import MAX_ID, MAX_OFFSET
from catalogue.models import (
    Assembly,
    DacCreate,
    DacPublic,
    DatasetCreate,
    DatasetPublic,
    DatasetsPublic,
    DatasetStatus,
    DatasetUpdate,
    OrganisationCreate,
    OrganisationPublic,
    RoleGrantCreate,
    RoleGrantPublic,
    SamplePublic,
    SecurityLevel,
)
from catalogue.problems import problems
from catalogue.services import datasets as ds
from catalogue.services import registry, roles
from catalogue.services.remote_dacs import remote_dac, remote_dacs
from catalogue.services.search import DatasetQuery, listed_enums, listed_values, search_datasets
from catalogue.settings import Settings

__all__ = ["router", "wellknown_router"]

router = APIRouter(prefix="/api")
wellknown_router = APIRouter()
JSONLD = "application/ld+json"


class Me(BaseModel):
    subject: str
    issuer: str
    name: str | None
    email: str | None
    admin: bool
    steward_of: list[str]
    dac_member_of: list[str]


@wellknown_router.get("/.well-known/jwks.json", tags=["identity"], summary="Public keys of this node (anyone)")
def jwks(runtime: RuntimeDep) -> dict[str, Any]:
    return dict(runtime.issuer.jwks()) if runtime.issuer else {"keys": []}


@router.get("/me", tags=["identity"], summary="The signed-in caller and their roles (signed-in callers)")
def me(caller: SignedInDep) -> Me:
    assert caller.principal is not None
    p, r = caller.principal, caller.roles
    return Me(subject=p.subject, issuer=p.issuer, name=p.name, email=p.email, admin=r.admin,
              steward_of=sorted(r.steward_of), dac_member_of=sorted(r.dac_member_of))


# --- organisations, DACs, roles --------------------------------------------------------------------

@router.get("/organisations", tags=["registry"], summary="List organisations (anyone)")
def list_organisations(session: SessionDep) -> list[OrganisationPublic]:
    return [OrganisationPublic.model_validate(o) for o in registry.list_organisations(session)]


@router.post("/organisations", tags=["registry"], responses=problems(403, 409), status_code=status.HTTP_201_CREATED,
             summary="Register an organisation (admins)")
def create_organisation(data: OrganisationCreate, session: SessionDep, caller: SignedInDep) -> OrganisationPublic:
    return OrganisationPublic.model_validate(registry.create_organisation(session, caller, data))


@router.get("/organisations/{organisation_id}", tags=["registry"], summary="One organisation (anyone)")
def get_organisation(organisation_id: str, session: SessionDep) -> OrganisationPublic:
    return OrganisationPublic.model_validate(registry.get_organisation(session, organisation_id))


@router.get("/dacs", tags=["registry"], summary="List data access committees (anyone)")
def list_dacs(session: SessionDep) -> list[DacPublic]:
    return [DacPublic.model_validate(d) for d in registry.list_dacs(session)]


@router.post("/dacs", tags=["registry"], responses=problems(403, 409), status_code=status.HTTP_201_CREATED,
             summary="Register a data access committee (admins)")
def create_dac(data: DacCreate, session: SessionDep, caller: SignedInDep) -> DacPublic:
    return DacPublic.model_validate(registry.create_dac(session, caller, data))


@router.get("/dacs/{dac_id}", tags=["registry"], summary="One data access committee (anyone)")
def get_dac(dac_id: str, session: SessionDep) -> DacPublic:
    return DacPublic.model_validate(registry.get_dac(session, dac_id))


@router.get("/admin/roles", tags=["admin"], responses=problems(403), summary="List role grants (admins)")
def list_roles(session: SessionDep, caller: SignedInDep,
               subject: Annotated[str | None, Query(max_length=320)] = None) -> list[RoleGrantPublic]:
    return [RoleGrantPublic.model_validate(g) for g in roles.list_role_grants(session, caller, subject)]


@router.post("/admin/roles", tags=["admin"], responses=problems(403, 404, 409), status_code=status.HTTP_201_CREATED,
             summary="Grant a role: admin, steward of an organisation, member of a DAC (admins)")
def grant_role(data: RoleGrantCreate, session: SessionDep, caller: SignedInDep) -> RoleGrantPublic:
    return RoleGrantPublic.model_validate(roles.grant_role(session, caller, data))


@router.delete("/admin/roles/{grant_id}", tags=["admin"], responses=problems(403),
               status_code=status.HTTP_204_NO_CONTENT,
               summary="Revoke a role grant (admins)")
def revoke_role(grant_id: Annotated[int, Path(ge=1, le=MAX_ID)], session: SessionDep, caller: SignedInDep) -> Response:
    roles.revoke_role(session, caller, grant_id)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


# --- datasets ----------------------------------------------------------------------------------------

@router.get("/datasets", tags=["datasets"],
            summary="Search datasets (anyone; drafts only for their stewards and admins)")
def search(
    session: SessionDep, caller: CallerDep, settings: SettingsDep,
    q: Annotated[str, Query(max_length=500, description="free text over title, description, keywords")] = "",
    assembly: Annotated[list[str] | None, Query()] = None,
    security: Annotated[list[str] | None, Query()] = None,
    duo: Annotated[list[str] | None, Query(description="DUO CURIE or shorthand; all must apply")] = None,
    organisation: Annotated[list[str] | None, Query()] = None,
    status_: Annotated[list[str] | None, Query(alias="status")] = None,
    limit: Annotated[int, Query(ge=1, le=10_000)] = 20,
    offset: Annotated[int, Query(ge=0, le=MAX_OFFSET)] = 0,
) -> DatasetsPublic:
    if limit > settings.max_page_size:
        raise InvalidInput(f"limit may be at most {settings.max_page_size}", field="limit")
    query = DatasetQuery(
        q=q, assembly=listed_enums(Assembly, assembly, "assembly"),
        security=listed_enums(SecurityLevel, security, "security"), duo=listed_values(duo, "duo"),
        organisation=listed_values(organisation, "organisation"), status=listed_enums(DatasetStatus, status_, "status"),
        limit=limit, offset=offset,
    )
    result = search_datasets(session, caller, query)
    base = settings.public_base_url
    data = [ds.dataset_public(d, ds.dataset_files(session, d.id), base) for d in result.datasets]
    return DatasetsPublic(data=data, count=result.count, limit=limit, offset=offset, facets=result.facets)


@router.post("/datasets", tags=["datasets"], responses=problems(403, 404, 409), status_code=status.HTTP_201_CREATED,
             summary="Register a draft dataset (stewards of the organisation; admins)")
def create_dataset(data: DatasetCreate, session: SessionDep, caller: SignedInDep,
                   settings: SettingsDep) -> DatasetPublic:
    dataset = ds.create_dataset(session, caller, data)
    return ds.dataset_public(dataset, [], settings.public_base_url)


@router.get("/datasets/{dataset_id}", tags=["datasets"],
            summary="A dataset's full public record (anyone; drafts only for stewards and admins)")
def get_dataset(dataset_id: str, session: SessionDep, caller: CallerDep, settings: SettingsDep) -> DatasetPublic:
    dataset = ds.get_dataset(session, caller, dataset_id)
    return ds.dataset_public(dataset, ds.dataset_files(session, dataset.id), settings.public_base_url)


@router.patch("/datasets/{dataset_id}", tags=["datasets"], responses=problems(403, 409),
              summary="Change metadata (stewards; admins)")
def update_dataset(dataset_id: str, data: DatasetUpdate, session: SessionDep, caller: SignedInDep,
                   settings: SettingsDep) -> DatasetPublic:
    dataset = ds.update_dataset(session, caller, dataset_id, data)
    return ds.dataset_public(dataset, ds.dataset_files(session, dataset.id), settings.public_base_url)


@router.post("/datasets/{dataset_id}/publish", tags=["datasets"], responses=problems(403, 409),
             summary="Publish a draft (stewards; admins)")
def publish_dataset(dataset_id: str, session: SessionDep, caller: SignedInDep,
                    settings: SettingsDep) -> DatasetPublic:
    dataset = ds.publish_dataset(session, caller, dataset_id)
    return ds.dataset_public(dataset, ds.dataset_files(session, dataset.id), settings.public_base_url)


@router.post("/datasets/{dataset_id}/retire", tags=["datasets"], responses=problems(403, 409),
             summary="Retire a dataset (stewards; admins)")
def retire_dataset(dataset_id: str, session: SessionDep, caller: SignedInDep,
                   settings: SettingsDep) -> DatasetPublic:
    dataset = ds.retire_dataset(session, caller, dataset_id)
    return ds.dataset_public(dataset, ds.dataset_files(session, dataset.id), settings.public_base_url)


@router.get("/datasets/{dataset_id}/samples", tags=["datasets"],responses=problems(403),
            summary="Sample metadata of a dataset (stewards of its organisation; admins)")
def dataset_samples(dataset_id: str, session: SessionDep, caller: SignedInDep) -> list[SamplePublic]:
    return [SamplePublic.model_validate(s) for s in ds.dataset_samples(session, caller, dataset_id)]


@router.get("/datasets/{dataset_id}/dcat", tags=["datasets"], response_class=Response,
            summary="A dataset as DCAT-AP / HealthDCAT-AP JSON-LD (anyone, as its record)")
def dataset_dcat(dataset_id: str, session: SessionDep, caller: CallerDep, settings: SettingsDep) -> Response:
    dataset = ds.get_dataset(session, caller, dataset_id)
    org = registry.get_organisation(session, dataset.organisation_id)
    doc = dcat.dataset_jsonld(dataset, ds.dataset_files(session, dataset.id), org, settings.public_base_url,
                              facts=_catalogue_facts(settings),
                              dac=registry.get_dac(session, dataset.dac_id) if dataset.dac_id else None,
                              remote_dac=remote_dac(session, dataset.id))
    return _jsonld(doc)


@router.get("/catalog.jsonld", tags=["datasets"], response_class=Response,
            summary="The published catalogue as a DCAT-AP dcat:Catalog for harvesters (anyone)")
def catalog(session: SessionDep, settings: SettingsDep) -> Response:
    return _jsonld(dcat.catalog_jsonld(ds.public_catalogue(session), settings.public_base_url,
                                       facts=_catalogue_facts(settings),
                                       dacs={d.id: d for d in registry.list_dacs(session)},
                                       remote_dacs=remote_dacs(session)))


def _catalogue_facts(settings: Settings) -> dcat.CatalogueFacts:
    return dcat.CatalogueFacts(spatial=tuple(settings.dcat_spatial), licence=settings.dcat_licence)


def _jsonld(doc: dict[str, Any]) -> Response:
    return Response(json.dumps(doc), media_type=JSONLD)
