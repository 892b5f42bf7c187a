"""Read-only lookups in the variant index, the gene table and the samples, for the Beacon's hot path."""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace
from functools import lru_cache
from typing import Any

from sqlalchemy import Dialect, exists
from sqlalchemy.pool import PoolProxiedConnection
from sqlmodel import Session, col, select

from catalogue.annotations import Annotation
from catalogue.counts import allele_counts_known, carriers_known
from catalogue.database import ScopeSession, busy_error
from catalogue.models import Dataset, DatasetFile, DatasetStatus, Gene, Sample, SampleExclusion

__all__ = [
    "PublishedDataset", "VariantHit", "VariantSearch", "VariantTally", "annotations_of",
    "dataset_file", "find_gene", "find_variants", "published_datasets", "published_for_queries",
    "INDEX", "WITHDRAWN", "reference_frequency", "sample_datasets", "sample_traits", "samples_of", "tally_variants",
]

_COLUMNS = 'dataset_id, chrom, pos, ref, alt, "end", variant_type, length, ac, an, het, hom_alt, hemi_alt, groups'
INDEX, WITHDRAWN = "catalogue_variant", "catalogue_withdrawn_allele"  # the tables variants are looked up in


@dataclass(frozen=True, slots=True)
class VariantSearch:
    """What a variant must satisfy, in the index's own terms: canonical chrom, 1-based inclusive positions.

    `ref`/`alt` may hold `N`, which matches any one base. Bounds left as None do not constrain.
    `overlap` = (first, last) asks for variants whose [pos, end] overlaps [first, last].
    `gene` (upper-cased symbol or id) and `amino_acid` (one-letter protein change, upper-cased) ask for variants
    the dataset's annotations say so of; `chrom` may then be "" (any chromosome). With `gene_region`, `overlap`
    is the gene's extent and a variant matches by either: lying in it, or being annotated with the gene.
    """

    chrom: str
    pos_min: int | None = None
    pos_max: int | None = None
    end_min: int | None = None
    end_max: int | None = None
    overlap: tuple[int, int] | None = None
    ref: str | None = None
    alt: str | None = None
    variant_types: tuple[str, ...] = ()
    min_length: int | None = None
    max_length: int | None = None
    gene: str | None = None
    amino_acid: str | None = None
    gene_region: bool = False

    @property
    def annotated(self) -> bool:
        """Whether only annotations can answer it (no region to find the variants by)."""
        return (self.gene is not None or self.amino_acid is not None) and not self.gene_region


@dataclass(frozen=True, slots=True)
class VariantHit:
    """One row of the index as the Beacon reads it."""

    dataset_id: str
    chrom: str
    pos: int
    ref: str
    alt: str
    end: int
    variant_type: str
    length: int
    ac: int
    an: int
    het: int
    hom_alt: int
    hemi_alt: int
    groups: dict[str, list[int]] | None

    @property
    def carriers(self) -> int:
        return self.het + self.hom_alt + self.hemi_alt


@dataclass(frozen=True, slots=True)
class VariantTally:
    """Per dataset: how many variants matched (carried by someone), their summed AC and carriers."""

    variants: int
    allele_count: int
    carriers: int


@dataclass(frozen=True, slots=True)
class PublishedDataset:
    """What a variant query needs of a published dataset, read without the ORM (the Beacon's hot path)."""

    id: str
    assembly: str
    security: str
    beacon_granularity: str
    count_threshold: int
    statistics: dict[str, Any]
    privacy_p: float = 0.0

    @property
    def samples(self) -> int:
        """How many individuals' genotypes the dataset holds (0 for aggregated data, e.g. sites-only files)."""
        return int(self.statistics.get("samples") or 0)

    @property
    def annotated(self) -> bool:
        """Whether its files carried annotations (VEP CSQ, SnpEff ANN): gene and protein queries can ask it."""
        return bool(self.statistics.get("annotations"))

    @property
    def counts_known(self) -> bool:
        """False when some of its files say only that a variant is present: it then answers yes or no."""
        return allele_counts_known(self.statistics)

    @property
    def carriers_known(self) -> bool:
        """False when some of its allele counts come without genotypes (no carriers counted)."""
        return carriers_known(self.statistics)


_PUBLISHED = ("SELECT id, assembly, security, beacon_granularity, count_threshold, statistics, privacy_p "
              "FROM catalogue_dataset WHERE status = 'published' ORDER BY id")


_PUBLISHED_KEY = "genomegate.published_for_queries"  # where a pooled SQLite connection keeps them


def published_for_queries(session: Session) -> list[PublishedDataset]:
    """Every published dataset's query settings, in accession order: one plain SELECT, no ORM objects.

    On SQLite they are kept with the pooled connection and read again only when what it sees may have
    changed (`_sqlite_revision`): every Beacon query asks for them, and the SELECT and the decoding of
    the statistics cost about as much as the variant lookup itself.
    """
    dialect, dbapi = _dbapi(session)
    revision = _sqlite_revision(dialect, dbapi)
    info = dbapi.info  # lives as long as the pooled DB-API connection
    if revision is not None and _PUBLISHED_KEY in info and info[_PUBLISHED_KEY][0] == revision:
        return list(info[_PUBLISHED_KEY][1])
    rows = _run(session, _PUBLISHED, {})
    datasets = [PublishedDataset(r[0], r[1], r[2], r[3], r[4], json.loads(r[5]) if isinstance(r[5], str) else r[5],
                                 float(r[6])) for r in rows]
    if revision is not None:
        info[_PUBLISHED_KEY] = (revision, tuple(datasets))
    return datasets


def _sqlite_revision(dialect: Dialect, dbapi: PoolProxiedConnection) -> tuple[int, int] | None:
    """On SQLite outside a transaction, a value that changes whenever what this connection reads may have
    changed: another connection committed (`PRAGMA data_version`) or this one wrote (`total_changes`).

    None elsewhere: inside a transaction a rollback (of a savepoint, too) undoes changes without changing
    either, so nothing read there is kept, nor anything on PostgreSQL.
    """
    if dialect.name != "sqlite":
        return None
    driver = dbapi.driver_connection
    assert driver is not None
    if driver.in_transaction:
        return None
    return int(driver.execute("PRAGMA data_version").fetchone()[0]), int(driver.total_changes)


def published_datasets(session: Session) -> list[Dataset]:
    """Every published dataset, in accession order (retired and draft datasets are never queried)."""
    return list(session.exec(select(Dataset).where(Dataset.status == DatasetStatus.published.value)
                             .order_by(col(Dataset.id))).all())


def _like(allele: str) -> tuple[str, str]:
    if "N" in allele:
        return "LIKE", allele.replace("N", "_")
    return "=", allele


def _where(search: VariantSearch, span: int | None) -> tuple[list[str], dict[str, Any]]:
    """The clauses of a search (without its dataset ids, `:ids`) and their parameters; see also `_source`."""
    clauses, params = _location(search, span)
    clauses += _common(search, params)
    if search.gene is not None or search.amino_acid is not None:
        clauses.append(_annotated(search, params))
    return clauses, params


def _location(search: VariantSearch, span: int | None) -> tuple[list[str], dict[str, Any]]:
    clauses: list[str] = []
    params: dict[str, Any] = {}
    if search.chrom:
        clauses.append("chrom = :chrom")
        params["chrom"] = search.chrom
    pos_min, pos_max, end_min = search.pos_min, search.pos_max, search.end_min
    if search.overlap is not None:
        first, last = search.overlap
        # Overlaps are found on the (chrom, pos) index: no variant starts more than `span` before its end.
        pos_min = max(pos_min or 0, first - (span or 0))
        pos_max = last if pos_max is None else min(pos_max, last)
        end_min = first if end_min is None else max(end_min, first)
    if pos_min is not None and pos_min == pos_max:
        clauses.append("pos = :pos")
        params["pos"] = pos_min
    else:
        if pos_min is not None:
            clauses.append("pos >= :pos_min")
            params["pos_min"] = pos_min
        if pos_max is not None:
            clauses.append("pos <= :pos_max")
            params["pos_max"] = pos_max
    if end_min is not None:
        clauses.append('"end" >= :end_min')
        params["end_min"] = end_min
    if search.end_max is not None:
        clauses.append('"end" <= :end_max')
        params["end_max"] = search.end_max
    return clauses, params


def _common(search: VariantSearch, params: dict[str, Any]) -> list[str]:
    clauses = ["ac > 0"]
    for name in ("ref", "alt"):
        value = getattr(search, name)
        if value is not None:
            op, pattern = _like(value)
            clauses.append(f"{name} {op} :{name}")
            params[name] = pattern
    if search.variant_types:
        clauses.append("variant_type IN :types")
        params["types"] = list(search.variant_types)
    if search.min_length is not None:
        clauses.append("length >= :min_length")
        params["min_length"] = search.min_length
    if search.max_length is not None:
        clauses.append("length <= :max_length")
        params["max_length"] = search.max_length
    return clauses


def _annotated(search: VariantSearch, params: dict[str, Any]) -> str:
    """The variants of datasets `:ids` whose annotations name the gene and the protein change asked for."""
    where = ["dataset_id IN :ids"]
    if search.gene is not None:
        where.append("(gene_key = :gene OR gene_id_key = :gene)")
        params["gene"] = search.gene
    if search.amino_acid is not None:
        where.append('"change" = :amino_acid')
        params["amino_acid"] = search.amino_acid
    return ("(dataset_id, chrom, pos, ref, alt) IN (SELECT dataset_id, chrom, pos, ref, alt "
            f"FROM catalogue_variant_annotation WHERE {' AND '.join(where)})")


def _source(search: VariantSearch, span: int | None, table: str = INDEX) -> tuple[str, dict[str, Any]]:
    """`FROM ... WHERE ...` of the rows of datasets `:ids` matching a search: a gene's region and its annotated
    variants are two index look-ups whose rows are put together (UNION ALL, the second without the first's).
    `table`: the variant index, or the alleles opt-outs withdrew from it (WITHDRAWN)."""
    assert table in (INDEX, WITHDRAWN)
    if not search.gene_region:
        clauses, params = _where(search, span)
        return f"FROM {table} WHERE dataset_id IN :ids AND {' AND '.join(clauses)}", params
    region, params = _location(search, span)
    common = " AND ".join(_common(search, params))
    annotated = _annotated(replace(search, amino_acid=None), params)
    inside = " AND ".join(region)
    return (f"FROM (SELECT {_COLUMNS} FROM {table} WHERE dataset_id IN :ids AND {inside} AND {common} "
            f"UNION ALL SELECT {_COLUMNS} FROM {table} WHERE dataset_id IN :ids AND {annotated} AND {common} "
            f"AND NOT ({inside})) AS v", params)


def _dataset_span(session: Session, dataset: Dataset | PublishedDataset, chrom: str) -> int:
    """The longest variant (end - pos) of a dataset on a chromosome, from its statistics (kept by ingest)."""
    spans = dataset.statistics.get("max_span_per_chromosome")
    if spans is not None:
        return int(spans.get(chrom, 0))
    # An index written before the statistics carried spans: ask the index itself.
    rows = _run(session, 'SELECT MAX("end" - pos) FROM catalogue_variant WHERE dataset_id = :d AND chrom = :c',
                {"d": dataset.id, "c": chrom})
    return int(rows[0][0] or 0)


def _span(session: Session, datasets: Sequence[Dataset | PublishedDataset], search: VariantSearch) -> int | None:
    if search.overlap is None:
        return None
    return max((_dataset_span(session, d, search.chrom) for d in datasets), default=0)


_NAMED = re.compile(r"(?<![:\w]):(\w+)")


@lru_cache(maxsize=1024)
def _render(sql: str, paramstyle: str, list_lengths: tuple[tuple[str, int], ...]) -> str:
    """The SQL in the driver's own parameter style, IN-lists expanded (cached: rendering is per query shape)."""
    lengths = dict(list_lengths)

    def one(name: str) -> str:
        return f"%({name})s" if paramstyle == "pyformat" else f":{name}"

    def replace(match: re.Match[str]) -> str:
        name = match.group(1)
        if name in lengths:
            return "(" + ", ".join(one(f"{name}_{i}") for i in range(lengths[name])) + ")"
        return one(name)

    return _NAMED.sub(replace, sql)


def _dbapi(session: Session) -> tuple[Dialect, PoolProxiedConnection]:
    """The dialect and the pooled DB-API connection a session's plain reads run on: a `session_scope`'s
    own, read without the ORM; else that of the session's (ORM) connection."""
    if isinstance(session, ScopeSession):
        return session.dialect, session.dbapi
    connection = session.connection()
    return connection.dialect, connection.connection


def _run(session: Session, sql: str, params: dict[str, Any]) -> list[Any]:
    """Run a read on the session's connection straight through the DB-API driver.

    The Beacon's queries are a handful of fixed shapes; SQLAlchemy's per-execution work (compiling the
    text, building the result machinery) cost more than the index lookups themselves. The cursor is the
    session's own connection's, so the read sees the session's transaction.
    """
    dialect, dbapi = _dbapi(session)
    flat: dict[str, Any] = {}
    lists: list[tuple[str, int]] = []
    for name, value in params.items():
        if isinstance(value, list):
            lists.append((name, len(value)))
            flat.update({f"{name}_{i}": v for i, v in enumerate(value)})
        else:
            flat[name] = value
    rendered = _render(sql, dialect.paramstyle, tuple(lists))
    cursor = dbapi.driver_connection.cursor()  # type: ignore[union-attr]
    try:
        cursor.execute(rendered, flat)
        rows: list[Any] = cursor.fetchall()
        return rows
    except Exception as exc:
        busy = busy_error(exc)  # a read waited out its lock_timeout (a dataset's variants being swapped)
        if busy is not None:
            raise busy from None
        raise
    finally:
        cursor.close()


def find_variants(session: Session, datasets: Sequence[Dataset | PublishedDataset], search: VariantSearch, *,
                  limit: int | None = None, offset: int = 0, table: str = INDEX) -> list[VariantHit]:
    """Carried variants (AC > 0) of `datasets` matching `search`, in (dataset, pos, ref, alt) order (of the
    withdrawn alleles with `table=WITHDRAWN`)."""
    if not datasets:
        return []
    source, params = _source(search, _span(session, datasets, search), table)
    params["ids"] = [d.id for d in datasets]
    order = "dataset_id, pos, ref, alt" if search.chrom else "dataset_id, chrom, pos, ref, alt"
    sql = f"SELECT {_COLUMNS} {source} ORDER BY {order}"
    if limit is not None:
        sql += " LIMIT :limit OFFSET :offset"
        params.update(limit=limit, offset=offset)
    rows = _run(session, sql, params)
    # Raw SQL hands JSON back as text on SQLite and decoded on PostgreSQL.
    # The row's columns are VariantHit's fields in order (_COLUMNS), which mypy cannot count through the unpacking.
    return [VariantHit(*row[:-1], json.loads(row[-1]) if isinstance(row[-1], str) else row[-1])  # type: ignore[call-arg]
            for row in rows]


def tally_variants(session: Session, datasets: Sequence[Dataset | PublishedDataset],
                   search: VariantSearch, *, table: str = INDEX) -> dict[str, VariantTally]:
    """Per dataset with a match: the number of carried variants matching `search`, ΣAC and Σcarriers (of the
    withdrawn alleles with `table=WITHDRAWN`)."""
    if not datasets:
        return {}
    source, params = _source(search, _span(session, datasets, search), table)
    params["ids"] = [d.id for d in datasets]
    sql = f"SELECT dataset_id, COUNT(*), SUM(ac), SUM(het + hom_alt + hemi_alt) {source} GROUP BY dataset_id"
    rows = _run(session, sql, params)
    return {row[0]: VariantTally(int(row[1]), int(row[2]), int(row[3])) for row in rows}


def reference_frequency(session: Session, assembly: str, search: VariantSearch) -> float:
    """The highest frequency lower bound of the reference panel's alleles that match `search` (0 when none does).

    If any allele a question could be answered "yes" by is that common, the answer is "yes" for nearly
    everyone; so this is the frequency that prices the question. The panel holds no annotations: a question
    asked of them is priced by the gene's region alone (fewer alleles: a frequency no higher, a price no lower),
    and one without a region as for an allele no panel holds (0).
    """
    if search.gene_region:
        search = replace(search, gene=None, gene_region=False)
    elif search.gene is not None or search.amino_acid is not None:
        return 0.0
    span = None
    if search.overlap is not None:
        spans = _run(session, "SELECT max_span FROM catalogue_reference_span WHERE assembly = :assembly "
                              "AND chrom = :chrom", {"assembly": assembly, "chrom": search.chrom})
        span = spans[0][0] if spans else 0
    clauses, params = _where(search, span)
    params["assembly"] = assembly
    sql = f"SELECT MAX(af_lower) FROM catalogue_reference_allele WHERE assembly = :assembly AND {' AND '.join(clauses)}"
    value = _run(session, sql, params)[0][0]
    return float(value or 0.0)


def find_gene(session: Session, assembly: str, name: str) -> Gene | None:
    """A gene of the assembly by symbol (case-insensitive) or by its gene id."""
    gene = session.exec(select(Gene).where(Gene.assembly == assembly, Gene.symbol == name)).first()
    if gene is None:
        gene = session.exec(select(Gene).where(Gene.assembly == assembly, Gene.gene_id == name)).first()
    if gene is None:
        upper = name.upper()
        gene = session.exec(select(Gene).where(Gene.assembly == assembly, Gene.symbol == upper)).first()
    return gene


def dataset_file(session: Session, dataset_id: str, chrom: str | None = None) -> list[DatasetFile]:
    """The dataset's variant files (the Beacon reads genotypes from them for record-level answers)."""
    del chrom  # one file may hold any chromosome; the reader checks each file's contigs
    return list(session.exec(select(DatasetFile).where(DatasetFile.dataset_id == dataset_id)
                             .order_by(col(DatasetFile.id))).all())


def samples_of(session: Session, dataset_ids: Iterable[str], *, sample_id: str | None = None,
               limit: int | None = None, offset: int = 0) -> list[Sample]:
    """Samples of the datasets (optionally one sample id), in (dataset, sample) order; those whose opt-out is in
    effect are left out (catalogue.services.opt_outs)."""
    ids = list(dataset_ids)
    if not ids:
        return []
    query = select(Sample).where(col(Sample.dataset_id).in_(ids), ~exists().where(
        col(SampleExclusion.dataset_id) == col(Sample.dataset_id),
        col(SampleExclusion.sample_id) == col(Sample.sample_id)))
    if sample_id is not None:
        query = query.where(Sample.sample_id == sample_id)
    query = query.order_by(col(Sample.dataset_id), col(Sample.sample_id)).offset(offset)
    if limit is not None:
        query = query.limit(limit)
    return list(session.exec(query).all())


def sample_traits(session: Session, dataset_id: str) -> list[tuple[str, str | None, list[str]]]:
    """(sex, population, diseases) of each of the dataset's samples (not those opted out): one plain SELECT."""
    rows = _run(session, "SELECT sex, population, diseases FROM catalogue_sample s WHERE dataset_id = :d AND NOT "
                         "EXISTS (SELECT 1 FROM catalogue_sample_exclusion x WHERE x.dataset_id = s.dataset_id "
                         "AND x.sample_id = s.sample_id)", {"d": dataset_id})
    return [(r[0], r[1], json.loads(r[2]) if isinstance(r[2], str) else list(r[2] or [])) for r in rows]


def sample_datasets(session: Session, sample_id: str) -> list[str]:
    """The datasets a sample id appears in."""
    return list(session.exec(select(Sample.dataset_id).where(Sample.sample_id == sample_id)
                             .order_by(col(Sample.dataset_id))).all())


def annotations_of(session: Session, hits: Sequence[VariantHit]) -> list[tuple[Annotation, ...]]:
    """Each hit's annotations (in the hits' order; none for a dataset without annotations)."""
    if not hits:
        return []
    rows = _run(session, "SELECT dataset_id, chrom, pos, ref, alt, gene, gene_id_key, effects, protein, \"change\" "
                         "FROM catalogue_variant_annotation WHERE dataset_id IN :ids AND chrom IN :chroms "
                         "AND pos IN :positions ORDER BY gene_key, \"change\"",
                {"ids": sorted({h.dataset_id for h in hits}), "chroms": sorted({h.chrom for h in hits}),
                 "positions": sorted({h.pos for h in hits})})
    found: dict[tuple[str, str, int, str, str], list[Annotation]] = {}
    for d, chrom, pos, ref, alt, gene, gene_id, effects, protein, change in rows:
        found.setdefault((d, chrom, pos, ref, alt), []).append(
            Annotation(gene, gene_id, tuple(e for e in effects.split("&") if e), protein, change))
    return [tuple(found.get((h.dataset_id, h.chrom, h.pos, h.ref, h.alt), ())) for h in hits]
