"""Atomic build of the DuckDB warehouse: raw → staging → marts, checked, then swapped in.

A build registers its inputs as ``raw_*`` relations, writes a new file beside the target,
runs the SQL layers in ``observatory/sql`` (staging as temporary views, marts as tables),
runs the checks in ``sql/checks``, checkpoints and closes it, and only then replaces the
previous warehouse with ``os.replace``. Any failure removes the new file and leaves the
previous warehouse exactly as it was.
"""

from __future__ import annotations

import errno
import hashlib
import os
import shutil
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path

import duckdb
import pandas as pd

from observatory import demo, indicators, reference, settings
from observatory.families import families_frame
from observatory.size_classes import size_classes_frame
from observatory.sirene_codes import legal_categories_frame, staff_bands_frame
from observatory.warehouse import Warehouse

SQL_DIR = Path(__file__).parent / "sql"
# landing: stored tables kept across loads (created if missing); staging: temporary views;
# marts: tables recomputed from scratch at every build and every load.
LAYERS = ("landing", "staging", "marts")
DEMO_COLUMNS = {
    "demo_ess_facts": ["commune_code", "year", "family_code", "naf_code", "establishments",
                       "employees", "fte", "gross_wages", "top_employees", "top_fte", "top_wages"],
    "demo_ess_size_facts": ["commune_code", "year", "size_class", "establishments", "employees",
                            "fte", "gross_wages", "top_employees", "top_fte", "top_wages"],
    "demo_employment_totals": [
        "commune_code", "year", "a88_code", "private_non_ess_establishments",
        "private_non_ess_employees", "private_non_ess_fte", "private_non_ess_wages",
        "public_establishments", "public_employees", "public_fte", "public_wages"],
}


class BuildError(RuntimeError):
    """A build that could not complete; the previous warehouse is untouched."""


@dataclass
class BuildReport:
    """What a build did: where, how long each step took, and how many rows it loaded."""

    path: Path
    seconds: dict[str, float] = field(default_factory=dict)
    rows: dict[str, int] = field(default_factory=dict)


def sha256(path: Path) -> str:
    """SHA-256 of a file, read by blocks."""
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def run_sql_layers(con: duckdb.DuckDBPyConnection) -> None:
    """Run the landing, staging and marts SQL files in order (marts are recomputed)."""
    for layer in LAYERS:
        for script in sorted((SQL_DIR / layer).glob("*.sql")):
            try:
                con.execute(script.read_text(encoding="utf-8"))
            except duckdb.Error as exc:
                raise BuildError(f"{script.relative_to(SQL_DIR)}: {exc}") from exc


def _check(con: duckdb.DuckDBPyConnection) -> None:
    problems: list[str] = []
    for script in sorted((SQL_DIR / "checks").glob("*.sql")):
        problems += [row[0] for row in con.execute(script.read_text(encoding="utf-8")).fetchall()]
    if problems:
        shown = "; ".join(problems[:5])
        raise BuildError(f"{len(problems)} contrôle(s) de cohérence en échec : {shown}")


def _load_reference(con: duckdb.DuckDBPyConnection) -> list[dict]:
    """Register the reference geography and nomenclatures as ``raw_*`` relations."""
    tables = {
        "ref_regions": ("regions.parquet", reference.regions),
        "ref_departements": ("departements.parquet", reference.departements),
        "ref_epcis": ("epcis.parquet", reference.epcis),
        "ref_communes": ("communes.parquet", reference.communes),
        "ref_naf": ("naf.parquet", reference.naf),
    }
    sources = []
    for table, (file_name, loader) in tables.items():
        path = settings.REFERENCE_DIR / file_name
        try:
            frame = pd.DataFrame(loader()).drop(columns="geometry", errors="ignore")
        except Exception as exc:  # a corrupt or missing reference file
            raise BuildError(f"{path} : fichier de référence illisible ({exc})") from exc
        con.register(f"raw_{table}", frame)
        sources.append(
            dict(source=f"reference:{file_name.removesuffix('.parquet')}", file=str(path),
                 vintage="données de référence", file_sha256=sha256(path),
                 rows_read=len(frame), rows_loaded=len(frame), rows_rejected=0,
                 synthetic=False)
        )
    con.register("raw_ref_families", families_frame())
    con.register("raw_legal_categories", legal_categories_frame())
    con.register("raw_staff_bands", staff_bands_frame())
    con.register("raw_ref_size_classes", size_classes_frame())
    return sources


def _register_empty_demo(con: duckdb.DuckDBPyConnection) -> list[dict]:
    """Register empty demo relations: a warehouse for real files only."""
    for table, columns in DEMO_COLUMNS.items():
        con.register(f"raw_{table}", pd.DataFrame({c: pd.Series(dtype="object") for c in columns}))
    return []


def recompute_marts(con: duckdb.DuckDBPyConnection) -> None:
    """Recompute every mart of a warehouse for real files from its stored landing tables."""
    _load_reference(con)
    _register_empty_demo(con)
    run_sql_layers(con)


def _load_demo(con: duckdb.DuckDBPyConnection, seed: int) -> list[dict]:
    """Generate the demo dataset and register it as ``raw_*`` relations."""
    communes = pd.DataFrame(reference.communes()).drop(columns="geometry")
    data = demo.generate(communes, reference.naf(), seed=seed)
    vintage = f"{demo.YEARS[0]}-{demo.YEARS[-1]}"
    sources = []
    for table, frame in (("demo_ess_facts", data.ess_facts),
                         ("demo_ess_size_facts", data.ess_size_facts),
                         ("demo_employment_totals", data.employment_totals)):
        con.register(f"raw_{table}", frame)
        sources.append(
            dict(source=f"demo:{table.removeprefix('demo_')}",
                 file=f"observatory/demo.py (seed {seed})", vintage=vintage,
                 file_sha256=data.fingerprint, rows_read=len(frame), rows_loaded=None,
                 rows_rejected=0, synthetic=True)
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
    now = datetime.now(timezone.utc)
    for row in sources:
        if row["rows_loaded"] is None:
            row["rows_loaded"] = con.execute(loaded[row["source"]]).fetchall()[0][0]
        row["loaded_at"] = now
    append_sources(con, sources)


def append_sources(con: duckdb.DuckDBPyConnection, sources: list[dict]) -> None:
    """Append rows to the ``sources`` table (created by the landing layer)."""
    frame = pd.DataFrame(sources)[
        ["source", "file", "vintage", "file_sha256", "loaded_at", "rows_read", "rows_loaded",
         "rows_rejected", "synthetic"]
    ]
    con.register("new_sources", frame)
    con.execute("INSERT INTO sources SELECT * FROM new_sources")
    con.unregister("new_sources")


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
        _fsync_dir(target.parent)
    except BuildError as exc:
        _remove(scratch)
        disk = _disk_problem(target, exc)
        if disk:  # a full or read-only disk, met while running SQL
            raise type(exc)(disk) from exc
        raise
    except (duckdb.Error, OSError, ValueError, KeyError) as exc:
        _remove(scratch)
        first = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise BuildError(_disk_problem(target, exc)
                         or f"la construction de {target} a échoué : {first}") from exc
    except BaseException:  # a bug or an interrupt: no scratch file is left behind either
        _remove(scratch)
        raise


def _disk_problem(target: Path, exc: BaseException) -> str | None:
    """A French message when writing ``target`` failed for lack of space or of rights."""
    text = str(exc)
    code = getattr(exc, "errno", None)
    if code == errno.ENOSPC or "No space left on device" in text:
        return (f"plus de place sur le disque pour écrire {target} : libérez de l'espace dans "
                f"{target.parent}, puis relancez la commande")
    if code == errno.EROFS or "Read-only file system" in text:
        return (f"le dossier {target.parent} est en lecture seule : l'entrepôt {target.name} ne "
                "peut pas y être écrit (choisissez un autre dossier avec --db ou OBSERVATORY_DB)")
    if code == errno.EACCES or "Permission denied" in text:
        return f"droits insuffisants pour écrire {target} dans {target.parent}"
    return None


def build(
    db_path: Path | None = None,
    seed: int = demo.SEED,
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
            ("données de démonstration", lambda: _load_demo(con, seed)) if with_demo
            else ("entrepôt sans données de démonstration", lambda: _register_empty_demo(con)),
            ("structures d'accompagnement et plan régional", lambda: _load_support(con, with_demo)),
            ("transformations SQL", lambda: run_sql_layers(con)),
            ("secret statistique des communes",
             lambda: indicators.store_commune_masks(Warehouse.over(con))),
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
        indicators.store_commune_masks(Warehouse.over(con))


def _remove_abandoned_scratch(target: Path) -> None:
    """Remove scratch files of builds whose process is gone (killed or crashed)."""
    for scratch in target.parent.glob(f".{target.name}.building-*"):
        pid = scratch.name.rsplit("-", 1)[-1].split(".")[0]
        if pid.isdigit() and not Path(f"/proc/{pid}").exists() or pid == str(os.getpid()):
            _remove(target.with_name(f".{target.name}.building-{pid}"))


def _remove(path: Path) -> None:
    """A scratch file with its write-ahead log and DuckDB's spill folder."""
    for candidate in (path, path.with_name(path.name + ".wal")):
        if candidate.exists():  # unlink fails on a read-only disk even for a missing file
            candidate.unlink()
    shutil.rmtree(path.with_name(path.name + ".tmp"), ignore_errors=True)


def _fsync_dir(directory: Path) -> None:
    fd = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
