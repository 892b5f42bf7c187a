"""Storing harvests and reading them back, on SQLite and PostgreSQL: a harvest replaces a peer's datasets (the same
rows for the datasets found again), a failure keeps them, search and facets over them, one read or NotFound."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime

import pytest
from sqlmodel import Session, select

from catalogue.errors import InvalidInput, NotFound
from catalogue.identity import ANONYMOUS
from catalogue.services.search import DatasetQuery
from network.dcat_reader import HarvestedDataset
from network.federated import LOCAL_NODE, search_network
from network.harvest import record_failure, store_harvest
from network.harvest_models import PeerHarvest, RemoteDataset
from network.models import Peer
from network.remote import harvest_of, remote_dataset, remote_datasets
from tests.factories import make_dataset, make_organisation


def _peer(session: Session, peer_id: str) -> None:
    session.add(Peer(id=peer_id, name=f"Node {peer_id}", beacon_url=f"http://{peer_id}.example/beacon/v2",
                     node_url=f"http://{peer_id}.example", beacon_id=f"org.{peer_id}", api_version="v2.0.0",
                     added_by="test"))
    session.commit()


def _dataset(identifier: str, title: str, **fields: object) -> HarvestedDataset:
    values: dict[str, object] = dict(
        dataset_id=identifier, iri=f"http://x.example/api/datasets/{identifier}",
        landing_page=f"http://x.example/datasets/{identifier}", title=title, description=f"about {title}",
        keywords=(), themes=(), health_themes=(), duo=("DUO:0000042",), access_rights=None, security="PUBLIC",
        dac_name=None, dac_iri=None, dac_node_url=None, assembly="GRCh38", publisher="X lab", publisher_iri=None,
        issued=datetime(2026, 1, 2, tzinfo=UTC), modified=None, raw={"@id": identifier})
    values.update(fields)
    return HarvestedDataset(**values)  # type: ignore[arg-type]


def _stored(session: Session, peer_id: str) -> dict[str, str]:
    rows = session.exec(select(RemoteDataset).where(RemoteDataset.peer_id == peer_id)).all()
    return {r.dataset_id: r.title for r in rows}


def test_a_harvest_replaces_the_peers_datasets_and_a_failure_keeps_them(session: Session) -> None:
    _peer(session, "x")
    _peer(session, "y")
    assert store_harvest(session, "y", [_dataset("Y1", "Other node's")]) == 1
    assert store_harvest(session, "x", [_dataset("D1", "First"), _dataset("D2", "Second")]) == 2
    session.commit()
    assert _stored(session, "x") == {"D1": "First", "D2": "Second"}

    assert store_harvest(session, "x", [_dataset("D2", "Second, renamed"), _dataset("D3", "Third")]) == 2
    session.commit()
    assert _stored(session, "x") == {"D2": "Second, renamed", "D3": "Third"}
    assert _stored(session, "y") == {"Y1": "Other node's"}  # another peer's are left alone
    record = harvest_of(session, "x")
    assert record is not None and (record.datasets, record.failures, record.last_error) == (2, 0, None)
    succeeded = record.succeeded_at

    assert record_failure(session, "x", "it broke") == 2
    assert record_failure(session, "x", "it broke again") == 2
    session.commit()
    assert _stored(session, "x") == {"D2": "Second, renamed", "D3": "Third"}
    record = harvest_of(session, "x")
    assert record is not None and (record.failures, record.last_error, record.succeeded_at) == (
        2, "it broke again", succeeded)

    assert store_harvest(session, "x", []) == 0  # the peer's catalogue is empty now
    session.commit()
    assert _stored(session, "x") == {}
    assert store_harvest(session, "nobody", [_dataset("D1", "Lost")]) is None  # a peer removed meanwhile
    assert record_failure(session, "nobody", "gone") is None


def test_a_removed_peer_takes_its_harvest_with_it(session: Session) -> None:
    _peer(session, "x")
    store_harvest(session, "x", [_dataset("D1", "First")])
    session.commit()
    session.delete(session.get(Peer, "x"))
    session.commit()
    assert session.exec(select(RemoteDataset)).all() == [] and session.exec(select(PeerHarvest)).all() == []


def test_remote_datasets_are_searched_by_text_filters_and_node_with_facets(session: Session) -> None:
    _peer(session, "x")
    _peer(session, "y")
    store_harvest(session, "x", [
        _dataset("X1", "Heart cohort", keywords=("cardio",), duo=("DUO:0000006",), security="CONTROLLED"),
        _dataset("X2", "Lung cohort 100%_sure", assembly="GRCh37"),
    ])
    store_harvest(session, "y", [_dataset("Y1", "Heart panel", publisher="Heart institute", duo=())])
    session.commit()

    def ids(**query: object) -> list[str]:
        return [d.dataset_id for d in remote_datasets(session, **query).datasets]  # type: ignore[arg-type]

    assert ids() == ["X1", "X2", "Y1"]
    assert ids(q="HEART") == ["X1", "Y1"] and ids(q="cardio") == ["X1"] and ids(q="institute") == ["Y1"]
    assert ids(q="100%_") == ["X2"] and ids(q="%") == ["X2"] and ids(q="_") == ["X2"]  # wildcards are text
    assert ids(peers=["y"]) == ["Y1"] and ids(assembly=["GRCh37"]) == ["X2"]
    assert ids(security=["CONTROLLED"]) == ["X1"] and ids(duo=["DUO:0000006"]) == ["X1"]
    assert ids(duo=["DUO:0000042"]) == ["X2"]
    assert ids(limit=1, offset=1) == ["X2"] and ids(offset=3) == []
    found = remote_datasets(session, q="heart", peers=["x"])
    assert found.count == 1 and found.nodes == {"x": 1, "y": 1}
    assert found.facets == {"assembly": {"GRCh38": 1}, "security": {"CONTROLLED": 1}, "duo": {"DUO:0000006": 1}}
    with pytest.raises(InvalidInput, match="more than 20 words"):
        remote_datasets(session, q="w " * 21)

    assert remote_dataset(session, "y", "Y1").publisher == "Heart institute"
    for peer, dataset in (("x", "Y1"), ("z", "X1"), ("x", "X" * 300)):
        with pytest.raises(NotFound, match=f"no dataset {dataset} harvested from peer {peer}"):
            remote_dataset(session, peer, dataset)


def test_the_network_search_lists_this_nodes_datasets_then_the_peers(session: Session) -> None:
    org = make_organisation(session)
    local = [make_dataset(session, organisation_id=org.id, title=f"Local heart {n}", publish=True).id
             for n in range(2)]
    make_dataset(session, organisation_id=org.id, title="Local heart draft")  # drafts are never listed
    _peer(session, "x")
    store_harvest(session, "x", [_dataset("X1", "Remote heart"), _dataset("X2", "Remote lung")])
    session.commit()
    anyone = ANONYMOUS

    def hits(query: DatasetQuery, nodes: tuple[str, ...] = ()) -> list[tuple[str, str]]:
        found = search_network(session, anyone, query, nodes)
        return [(h.node, h.local.id if h.local else h.remote.dataset_id) for h in found.hits]  # type: ignore[union-attr]

    everything = [(LOCAL_NODE, local[0]), (LOCAL_NODE, local[1]), ("x", "X1"), ("x", "X2")]
    assert hits(DatasetQuery()) == everything
    pages = [hits(replace(DatasetQuery(), limit=3, offset=offset)) for offset in (0, 3)]
    assert pages == [everything[:3], everything[3:]]
    assert hits(replace(DatasetQuery(), limit=1, offset=2)) == [("x", "X1")]
    assert hits(DatasetQuery(q="heart")) == everything[:3]
    assert hits(DatasetQuery(), (LOCAL_NODE,)) == everything[:2] and hits(DatasetQuery(), ("x",)) == everything[2:]
    found = search_network(session, anyone, DatasetQuery(q="heart"), ("x",))
    assert found.count == 1 and found.facets["node"] == {LOCAL_NODE: 2, "x": 1}
    assert found.facets["security"] == {"PUBLIC": 1}
    both = search_network(session, anyone, DatasetQuery(q="heart"))
    assert both.count == 3 and both.facets["security"] == {"PUBLIC": 3} and both.facets["duo"] == {"DUO:0000042": 3}
    assert hits(DatasetQuery(organisation=[org.id])) == everything[:2]  # this node's organisations only
