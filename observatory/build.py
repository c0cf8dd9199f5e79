"""Atomic build of the DuckDB warehouse: raw → staging → marts, checked, then swapped in.

A build registers its inputs as ``raw_*`` relations, writes a new file beside the target,
runs the SQL layers in ``observatory/sql`` (staging as temporary views, marts as tables),
runs the checks in ``sql/checks``, checkpoints and closes it, and only then replaces the
previous warehouse with ``os.replace``. Any failure removes the new file and leaves the
previous warehouse exactly as it was.
"""

from __future__ import annotations

import hashlib
import os
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path

import duckdb
import pandas as pd

from observatory import demo, reference, settings
from observatory.families import families_frame

SQL_DIR = Path(__file__).parent / "sql"
LAYERS = ("staging", "marts")


class BuildError(RuntimeError):
    """A build that could not complete; the previous warehouse is untouched."""


@dataclass
class BuildReport:
    """What a build did: where, how long each step took, and how many rows it loaded."""

    path: Path
    seconds: dict[str, float] = field(default_factory=dict)
    rows: dict[str, int] = field(default_factory=dict)


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _run_sql_layers(con: duckdb.DuckDBPyConnection) -> None:
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
        raise BuildError(f"{len(problems)} consistency check(s) failed: {shown}")


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
            raise BuildError(f"{path}: cannot read reference file ({exc})") from exc
        con.register(f"raw_{table}", frame)
        sources.append(
            dict(source=f"reference:{file_name.removesuffix('.parquet')}", file=str(path),
                 vintage="données de référence", file_sha256=_sha256(path),
                 rows_read=len(frame), rows_loaded=len(frame), rows_rejected=0,
                 synthetic=False)
        )
    con.register("raw_ref_families", families_frame())
    return sources


def _load_demo(con: duckdb.DuckDBPyConnection, seed: int) -> list[dict]:
    """Generate the demo dataset and register it as ``raw_*`` relations."""
    communes = pd.DataFrame(reference.communes()).drop(columns="geometry")
    data = demo.generate(communes, reference.naf(), seed=seed)
    vintage = f"{demo.YEARS[0]}-{demo.YEARS[-1]}"
    sources = []
    for table, frame in (("demo_ess_facts", data.ess_facts),
                         ("demo_employment_totals", data.employment_totals)):
        con.register(f"raw_{table}", frame)
        sources.append(
            dict(source=f"demo:{table.removeprefix('demo_')}",
                 file=f"observatory/demo.py (seed {seed})", vintage=vintage,
                 file_sha256=data.fingerprint, rows_read=len(frame), rows_loaded=None,
                 rows_rejected=0, synthetic=True)
        )
    return sources


def _write_sources(con: duckdb.DuckDBPyConnection, sources: list[dict]) -> None:
    loaded = {
        "demo:ess_facts": "SELECT count(*) FROM ess_facts WHERE source = 'demo'",
        "demo:employment_totals": "SELECT count(*) FROM employment_totals WHERE source = 'demo'",
    }
    now = datetime.now(timezone.utc)
    for row in sources:
        if row["rows_loaded"] is None:
            row["rows_loaded"] = con.execute(loaded[row["source"]]).fetchall()[0][0]
        row["loaded_at"] = now
    frame = pd.DataFrame(sources)[
        ["source", "file", "vintage", "file_sha256", "loaded_at", "rows_read", "rows_loaded",
         "rows_rejected", "synthetic"]
    ]
    con.register("frame", frame)
    con.execute("CREATE TABLE sources AS SELECT * FROM frame")
    con.unregister("frame")
    con.execute(
        "COMMENT ON TABLE sources IS 'Sources chargées : fichier, millésime, empreinte SHA-256, "
        "date de chargement, lignes lues, chargées et rejetées, données synthétiques ou non.'"
    )


def build(
    db_path: Path | None = None,
    seed: int = demo.SEED,
    on_step: Callable[[str], None] | None = None,
) -> BuildReport:
    """Build the warehouse from the reference data and the demo dataset, atomically."""
    target = Path(db_path or settings.db_path())
    target.parent.mkdir(parents=True, exist_ok=True)
    scratch = target.with_name(f".{target.name}.building-{os.getpid()}")
    report = BuildReport(path=target)
    _remove_abandoned_scratch(target)
    try:
        con = duckdb.connect(str(scratch))
        try:
            steps: list[tuple[str, Callable[[], object]]] = [
                ("géographie de référence", lambda: _load_reference(con)),
                ("données de démonstration", lambda: _load_demo(con, seed)),
                ("transformations SQL", lambda: _run_sql_layers(con)),
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
            started = time.perf_counter()
            _check(con)
            con.execute("CHECKPOINT")
            report.seconds["contrôles de cohérence"] = time.perf_counter() - started
            report.rows = dict(
                con.execute(
                    "SELECT table_name, estimated_size FROM duckdb_tables() ORDER BY table_name"
                ).fetchall()
            )
        finally:
            con.close()
        with scratch.open("rb") as handle:
            os.fsync(handle.fileno())
        os.replace(scratch, target)
        _fsync_dir(target.parent)
    except BuildError:
        _remove(scratch)
        raise
    except (duckdb.Error, OSError, ValueError, KeyError) as exc:
        _remove(scratch)
        raise BuildError(f"build of {target} failed: {exc}") from exc
    return report


def _remove_abandoned_scratch(target: Path) -> None:
    """Remove scratch files of builds whose process is gone (killed or crashed)."""
    for scratch in target.parent.glob(f".{target.name}.building-*"):
        pid = scratch.name.rsplit("-", 1)[-1].removesuffix(".wal")
        if pid.isdigit() and not Path(f"/proc/{pid}").exists() or pid == str(os.getpid()):
            scratch.unlink(missing_ok=True)


def _remove(path: Path) -> None:
    for candidate in (path, path.with_name(path.name + ".wal")):
        candidate.unlink(missing_ok=True)


def _fsync_dir(directory: Path) -> None:
    fd = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
