"""Atomic build of the DuckDB warehouse: raw → staging → marts, checked, then swapped in.

A build registers its inputs as ``raw_*`` relations, writes a new file beside the target,
runs the SQL layers in ``observatory/sql`` (staging as temporary views, marts as tables),
runs the checks in ``sql/checks``, checkpoints and closes it, and only then replaces the
previous warehouse with ``os.replace``. Any failure removes the new file and leaves the
previous warehouse exactly as it was.
"""

from __future__ import annotations

import errno
import os
import shutil
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import duckdb

from observatory import fsutil, settings
from observatory.domains import DOMAINS, RULES
from observatory.errors import BuildError
from observatory.families import FAMILIES
from observatory.sirene_codes import LEGAL_CATEGORIES, STAFF_BANDS
from observatory.size_classes import SIZE_CLASSES
from observatory.warehouse.sql import SQL_DIR, check_problems

# landing: stored tables kept across loads (created if missing); staging: temporary views;
# marts: tables recomputed from scratch at every build and every load.
LAYERS = ("landing", "staging", "marts")
# data/reference/<name>.parquet → raw_ref_<name>, for every build and load.
REFERENCE_FILES = ("regions", "departements", "epcis", "communes", "naf")
# The documented code lists of the package → raw_* tables (SQL columns, rows).
CODE_LISTS = {
    "raw_ref_families": (
        "family_code VARCHAR, label VARCHAR, short_label VARCHAR, sort_order BIGINT",
        [(code, label, short, i + 1) for i, (code, label, short) in enumerate(FAMILIES)],
    ),
    "raw_legal_categories": (
        "legal_category VARCHAR, family_code VARCHAR, ess_by_status BOOLEAN",
        LEGAL_CATEGORIES,
    ),
    "raw_staff_bands": (
        "staff_band VARCHAR, label VARCHAR, estimated_employees DOUBLE",
        STAFF_BANDS,
    ),
    "raw_ref_domains": (
        "domain_code VARCHAR, label VARCHAR, naf_codes VARCHAR, sort_order BIGINT",
        [(code, label, naf, i + 1) for i, (code, label, naf) in enumerate(DOMAINS)],
    ),
    "raw_ref_domain_rules": ("naf VARCHAR, domain_code VARCHAR", RULES),
    "raw_ref_size_classes": (
        "size_class VARCHAR, label VARCHAR, min_employees BIGINT, sort_order BIGINT",
        [(code, label, low, i + 1) for i, (code, label, low) in enumerate(SIZE_CLASSES)],
    ),
}
DEMO_COLUMNS = {
    "demo_ess_facts": [
        "commune_code",
        "year",
        "family_code",
        "naf_code",
        "establishments",
        "employees",
        "fte",
        "gross_wages",
        "top_employees",
        "top_fte",
        "top_wages",
    ],
    "demo_ess_size_facts": [
        "commune_code",
        "year",
        "size_class",
        "establishments",
        "employees",
        "fte",
        "gross_wages",
        "top_employees",
        "top_fte",
        "top_wages",
    ],
    "demo_employment_totals": [
        "commune_code",
        "year",
        "a88_code",
        "private_non_ess_establishments",
        "private_non_ess_employees",
        "private_non_ess_fte",
        "private_non_ess_wages",
        "public_establishments",
        "public_employees",
        "public_fte",
        "public_wages",
    ],
}
# Stored key columns whose type changed (SIREN and SIRET were text until November 2026):
# (table, column, type); ``upgrade_landing`` converts an older warehouse's tables.
LANDING_TYPES = [
    ("legal_units", "siren", "INTEGER"),
    ("ess_france_sirens", "siren", "INTEGER"),
    ("sirene_establishments", "siret", "BIGINT"),
    ("sirene_establishments", "siren", "INTEGER"),
]
SOURCE_COLUMNS = (
    "source",
    "file",
    "vintage",
    "file_sha256",
    "loaded_at",
    "rows_read",
    "rows_loaded",
    "rows_rejected",
    "synthetic",
)


@dataclass
class BuildReport:
    """What a build did: where, how long each step took, and how many rows it loaded."""

    path: Path
    seconds: dict[str, float] = field(default_factory=dict)
    rows: dict[str, int] = field(default_factory=dict)


def run_sql_layers(con: duckdb.DuckDBPyConnection) -> None:
    """Run the landing, staging and marts SQL files in order (marts are recomputed)."""
    for layer in LAYERS:
        for script in sorted((SQL_DIR / layer).glob("*.sql")):
            try:
                con.execute(script.read_text(encoding="utf-8"))
            except duckdb.Error as exc:
                raise BuildError(f"{script.relative_to(SQL_DIR)}: {exc}") from exc


def upgrade_landing(con: duckdb.DuckDBPyConnection) -> None:
    """Convert the stored tables of a warehouse written by an older version to the current
    column types (``LANDING_TYPES``), before anything is loaded into them."""
    for table, column, data_type in LANDING_TYPES:
        stored = con.execute(
            "SELECT data_type FROM duckdb_columns() WHERE database_name = "
            "current_database() AND schema_name = 'main' "
            "AND table_name = ? AND column_name = ?",
            [table, column],
        ).fetchall()
        if stored and stored[0][0] != data_type:
            con.execute(
                f"ALTER TABLE {table} ALTER {column} SET DATA TYPE {data_type} "
                f"USING TRY_CAST(trim({column}) AS {data_type})"
            )


def _check(con: duckdb.DuckDBPyConnection) -> None:
    problems = check_problems(con)
    if problems:
        shown = "; ".join(problems[:5])
        raise BuildError(f"{len(problems)} contrôle(s) de cohérence en échec : {shown}")


def register_reference(con: duckdb.DuckDBPyConnection, name: str) -> int:
    """``data/reference/<name>.parquet`` as the temporary table ``raw_ref_<name>``, without its
    geometry; returns its number of rows. Read by DuckDB: loading real files needs no pandas."""
    path = settings.REFERENCE_DIR / f"{name}.parquet"
    try:
        con.execute(
            f"CREATE OR REPLACE TEMP TABLE raw_ref_{name} AS "
            "SELECT COLUMNS(lambda c: c <> 'geometry') FROM read_parquet(?)",
            [str(path)],
        )
    except duckdb.Error as exc:  # a corrupt or missing reference file
        first = str(exc).splitlines()[0]
        raise BuildError(f"{path} : fichier de référence illisible ({first})") from exc
    return con.execute(f"SELECT count(*) FROM raw_ref_{name}").fetchall()[0][0]


def _load_reference(con: duckdb.DuckDBPyConnection) -> list[dict]:
    """Register the reference geography, nomenclatures and code lists as ``raw_*`` tables."""
    sources = []
    for name in REFERENCE_FILES:
        rows = register_reference(con, name)
        path = settings.REFERENCE_DIR / f"{name}.parquet"
        sources.append(
            dict(
                source=f"reference:{name}",
                file=str(path),
                vintage="données de référence",
                file_sha256=fsutil.sha256(path),
                rows_read=rows,
                rows_loaded=rows,
                rows_rejected=0,
                synthetic=False,
            )
        )
    for table, (columns, rows) in CODE_LISTS.items():
        con.execute(f"CREATE OR REPLACE TEMP TABLE {table} ({columns})")
        values = ", ".join(["(" + ", ".join("?" * len(rows[0])) + ")"] * len(rows))
        con.execute(f"INSERT INTO {table} VALUES {values}", [v for row in rows for v in row])
    return sources


def _register_empty_demo(con: duckdb.DuckDBPyConnection) -> list[dict]:
    """Register empty demo tables: a warehouse for real files only."""
    for table, columns in DEMO_COLUMNS.items():
        con.execute(
            f"CREATE OR REPLACE TEMP TABLE raw_{table} "
            f"({', '.join(f'{column} VARCHAR' for column in columns)})"
        )
    return []


def recompute_marts(con: duckdb.DuckDBPyConnection) -> None:
    """Recompute every mart of a warehouse for real files from its stored landing tables."""
    _load_reference(con)
    _register_empty_demo(con)
    run_sql_layers(con)


def _load_demo(con: duckdb.DuckDBPyConnection, seed: int | None) -> list[dict]:
    """Generate the demo dataset (``seed`` None: the demo's own) and register it as ``raw_*``
    relations."""
    import pandas as pd

    from observatory import reference
    from observatory.warehouse import demo

    seed = demo.SEED if seed is None else seed
    communes = pd.DataFrame(reference.communes()).drop(columns="geometry")
    data = demo.generate(communes, reference.naf(), seed=seed)
    vintage = f"{demo.YEARS[0]}-{demo.YEARS[-1]}"
    sources = []
    for table, frame in (
        ("demo_ess_facts", data.ess_facts),
        ("demo_ess_size_facts", data.ess_size_facts),
        ("demo_employment_totals", data.employment_totals),
    ):
        con.register(f"raw_{table}", frame)
        sources.append(
            dict(
                source=f"demo:{table.removeprefix('demo_')}",
                file=f"observatory/warehouse/demo.py (seed {seed})",
                vintage=vintage,
                file_sha256=data.fingerprint,
                rows_read=len(frame),
                rows_loaded=None,
                rows_rejected=0,
                synthetic=True,
            )
        )
    return sources


def _load_support(con: duckdb.DuckDBPyConnection, with_demo: bool) -> list[dict]:
    """Store the embedded directory of support structures and, with the demo data, demo
    structures and the example plan (landing tables kept across loads)."""
    from observatory import plan, support

    return support.seed(con, with_demo) + plan.seed(con, with_demo)


def _write_sources(con: duckdb.DuckDBPyConnection, sources: list[dict]) -> None:
    loaded = {
        "demo:ess_facts": "SELECT count(*) FROM ess_facts WHERE source = 'demo'",
        "demo:ess_size_facts": "SELECT count(*) FROM ess_size_facts WHERE source = 'demo'",
        "demo:employment_totals": "SELECT count(*) FROM employment_totals WHERE source = 'demo'",
    }
    now = datetime.now(UTC)
    for row in sources:
        if row["rows_loaded"] is None:
            row["rows_loaded"] = con.execute(loaded[row["source"]]).fetchall()[0][0]
        row["loaded_at"] = now
    append_sources(con, sources)


def append_sources(con: duckdb.DuckDBPyConnection, sources: list[dict]) -> None:
    """Append rows to the ``sources`` table (created by the landing layer)."""
    if sources:
        con.executemany(
            f"INSERT INTO sources ({', '.join(SOURCE_COLUMNS)}) "
            f"VALUES ({', '.join('?' * len(SOURCE_COLUMNS))})",
            [[row[column] for column in SOURCE_COLUMNS] for row in sources],
        )


@contextmanager
def atomic_update(target: Path, *, from_current: bool) -> Iterator[duckdb.DuckDBPyConnection]:
    """A connection to a scratch file beside ``target`` that replaces it only on success.

    With ``from_current``, the scratch file starts as a copy of the current warehouse. The
    body runs, then the checks; on any failure the scratch file is removed and the previous
    warehouse stays exactly as it was.
    """
    scratch = target.with_name(f".{target.name}.building-{os.getpid()}")
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        _remove_abandoned_scratch(target)
        if from_current:
            shutil.copyfile(target, scratch)
        con = duckdb.connect(str(scratch))
        try:
            yield con
            _check(con)
            con.execute("CHECKPOINT")
        finally:
            con.close()
        with scratch.open("rb") as handle:
            os.fsync(handle.fileno())
        os.replace(scratch, target)
        fsutil.fsync_dir(target.parent)
    except BuildError as exc:
        _remove(scratch)
        disk = _disk_problem(target, exc)
        if disk:  # a full or read-only disk, met while running SQL
            raise type(exc)(disk) from exc
        raise
    except (duckdb.Error, OSError, ValueError, KeyError) as exc:
        _remove(scratch)
        first = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise BuildError(
            _disk_problem(target, exc) or f"la construction de {target} a échoué : {first}"
        ) from exc
    except BaseException:  # a bug or an interrupt: no scratch file is left behind either
        _remove(scratch)
        raise


def _disk_problem(target: Path, exc: BaseException) -> str | None:
    """A French message when writing ``target`` failed for lack of space or of rights."""
    text = str(exc)
    code = getattr(exc, "errno", None)
    if code == errno.ENOSPC or "No space left on device" in text:
        return (
            f"plus de place sur le disque pour écrire {target} : libérez de l'espace dans "
            f"{target.parent}, puis relancez la commande"
        )
    if code == errno.EROFS or "Read-only file system" in text:
        return (
            f"le dossier {target.parent} est en lecture seule : l'entrepôt {target.name} ne "
            "peut pas y être écrit (choisissez un autre dossier avec --db ou OBSERVATORY_DB)"
        )
    if code == errno.EACCES or "Permission denied" in text:
        return f"droits insuffisants pour écrire {target} dans {target.parent}"
    return None


def build(
    db_path: Path | None = None,
    seed: int | None = None,
    on_step: Callable[[str], None] | None = None,
    with_demo: bool = True,
) -> BuildReport:
    """Build the warehouse from the reference data and (by default) the demo dataset.

    Without the demo data the facts are empty, ready for ``observatory ingest``.
    """
    target = Path(db_path or settings.db_path())
    report = BuildReport(path=target)
    with atomic_update(target, from_current=False) as con:
        steps: list[tuple[str, Callable[[], object]]] = [
            ("géographie de référence", lambda: _load_reference(con)),
            ("données de démonstration", lambda: _load_demo(con, seed))
            if with_demo
            else ("entrepôt sans données de démonstration", lambda: _register_empty_demo(con)),
            ("structures d'accompagnement et plan régional", lambda: _load_support(con, with_demo)),
            ("transformations SQL", lambda: run_sql_layers(con)),
            ("secret statistique des communes", lambda: _store_commune_masks(con)),
        ]
        sources: list[dict] = []
        for name, step in steps:
            if on_step:
                on_step(name)
            started = time.perf_counter()
            result = step()
            if isinstance(result, list):
                sources += result
            report.seconds[name] = time.perf_counter() - started
        _write_sources(con, sources)
        if on_step:
            on_step("contrôles de cohérence")
        report.rows = dict(
            con.execute(
                "SELECT table_name, estimated_size FROM duckdb_tables() ORDER BY table_name"
            ).fetchall()
        )
    return report


def store_masks(target: Path) -> None:
    """Solve and store the communes' secrecy masks of the warehouse at ``target``, after an
    ingest (its recomputed marts have none: portraits would solve them on first use)."""
    with atomic_update(target, from_current=True) as con:
        _store_commune_masks(con)


def _store_commune_masks(con: duckdb.DuckDBPyConnection) -> None:
    """Solve and store the communes' secrecy masks (with pandas, imported here only:
    ``observatory ingest`` runs without it)."""
    from observatory import indicators
    from observatory.warehouse import Warehouse

    indicators.store_commune_masks(Warehouse.over(con))


def _remove_abandoned_scratch(target: Path) -> None:
    """Remove scratch files of builds whose process is gone (killed or crashed)."""
    for scratch in target.parent.glob(f".{target.name}.building-*"):
        pid = scratch.name.rsplit("-", 1)[-1].split(".")[0]
        if (pid.isdigit() and not Path(f"/proc/{pid}").exists()) or pid == str(os.getpid()):
            _remove(target.with_name(f".{target.name}.building-{pid}"))


def _remove(path: Path) -> None:
    """A scratch file with its write-ahead log and DuckDB's spill folder."""
    for candidate in (path, path.with_name(path.name + ".wal")):
        if candidate.exists():  # unlink fails on a read-only disk even for a missing file
            candidate.unlink()
    shutil.rmtree(path.with_name(path.name + ".tmp"), ignore_errors=True)
