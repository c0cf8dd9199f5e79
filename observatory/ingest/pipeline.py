"""``observatory ingest``: load raw files into the warehouse, atomically.

All the files of one call are loaded into a copy of the warehouse, the marts are recomputed,
the checks run, and only then the copy replaces the warehouse. A file that cannot be read,
or whose share of rejected rows passes the threshold, fails the whole call and the previous
warehouse stays exactly as it was. A file already loaded (same SHA-256) is skipped.
"""

from __future__ import annotations

import importlib
import re
import tempfile
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from types import ModuleType
from typing import TYPE_CHECKING

import duckdb

from observatory import formatting, settings
from observatory.fsutil import sha256
from observatory.ingest.files import (
    IngestError,
    RawFile,
    Staged,
    open_raw,
    transcode_late_latin1,
    vintage_folder,
    vintage_order,
)
from observatory.warehouse import missing_units_note, note_text, open_warehouse
from observatory.warehouse.build import (
    append_sources,
    atomic_update,
    recompute_marts,
    register_reference,
    upgrade_landing,
)
from observatory.warehouse.sql import run_ingest

if TYPE_CHECKING:
    import pandas as pd

# Reader modules of observatory.ingest, in detection order (the most specific header first).
# Imported on first use: a SIRENE load needs neither pandas nor the other readers.
READERS: dict[str, str] = {
    "sirene": "sirene",
    "urssaf": "urssaf",
    "cress": "cress",
    "insee": "insee_tables",
    "essfrance": "essfrance",
    "structures": "structures",
    "plan": "plan",
}
LOAD_ORDER = ["essfrance", "sirene", "insee", "urssaf", "cress", "structures", "plan"]
DEFAULT_MAX_REJECT_RATE = 0.05
MEMORY_LIMIT = "2GB"


@dataclass
class LoadReport:
    """What happened to one file. ``in_scope``: for SIRENE, the rows that would have counted
    (active employer establishments, active unités légales), rejected ones included; the
    others are out of scope. ``notes``: what the user must know (a stock replaced, an
    establishment file without its unités légales)."""

    file: Path
    source: str
    vintage: str
    rows_read: int = 0
    rows_loaded: int = 0
    rows_rejected: int = 0
    in_scope: int | None = None
    skipped: bool = False
    examples: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    def summary(self) -> str:
        """The report's line, in French."""
        what = ", ".join(filter(None, [self.source, self.vintage]))
        if self.skipped:
            return f"{self.file.name} ({what}) : déjà chargé, ignoré."
        number = formatting.number
        if self.in_scope is None:
            return (
                f"{self.file.name} ({what}) : {number(self.rows_read)} lignes lues, "
                f"{number(self.rows_loaded)} chargées, {number(self.rows_rejected)} rejetées."
            )
        return (
            f"{self.file.name} ({what}) : {number(self.rows_read)} lignes lues ; "
            f"{number(self.in_scope)} dans le champ, dont {number(self.rows_rejected)} "
            f"rejetées ; {number(self.rows_read - self.in_scope)} hors champ."
        )


def problem_message(file: str, line, column, value, reason: str) -> str:
    """One problem, naming file, line, column, value and reason."""
    shown = "(vide)" if value is None else f"« {value} »"
    return f"{file}, ligne {line}, colonne {column}, valeur {shown} : {reason}"


def reader(name: str) -> ModuleType:
    """The reader module of source ``name``."""
    return importlib.import_module(f"observatory.ingest.{READERS[name]}")


def detect_source(raw: RawFile) -> str:
    """The source a file comes from, recognised from its header (or its kind)."""
    if raw.kind == "parquet":
        return "sirene"
    if raw.kind == "excel":
        return "insee"
    for name in READERS:
        if reader(name).matches(raw.header):
            return name
    if any(reader("insee").matches(row) for row in raw.first_rows):  # title rows above the table
        return "insee"
    shown = ", ".join(raw.header[:6])
    raise IngestError(
        f"{raw.name} : type de fichier non reconnu (en-tête : {shown}…) ; "
        f"précisez --source ({', '.join(READERS)})"
    )


def _vintage(path: Path, given: int | None) -> int | None:
    """The vintage given, or the year in the file's name, or else the year its drop-zone folder
    starts with (``sirene/2024-01/``); never a year in another folder's name."""
    if given is not None:
        return given
    found = re.search(r"(?<!\d)(19|20)\d{2}(?!\d)", path.name)
    if found:
        return int(found.group(0))
    folder = vintage_folder(path)
    return int(folder[:4]) if folder else None


def _refuse_demo(target: Path) -> None:
    if not target.is_file():
        raise IngestError(
            f"aucun entrepôt à {target} : lancez d'abord `observatory build --no-demo`"
        )
    with duckdb.connect(str(target), read_only=True) as con:
        demo = con.execute("SELECT coalesce(bool_or(synthetic), false) FROM sources").fetchall()[0][
            0
        ]
    if demo:
        raise IngestError(
            f"l'entrepôt {target} contient des {settings.DEMO_LABEL.lower()} : les chiffres réels ne "
            "s'y mélangent pas ; construisez un entrepôt sans démonstration avec "
            "`observatory build --no-demo`, puis relancez l'ingestion"
        )


def ingest(
    paths: list[Path | Staged],
    source: str | None = None,
    vintage: int | None = None,
    db_path: Path | None = None,
    max_reject_rate: float = DEFAULT_MAX_REJECT_RATE,
) -> list[LoadReport]:
    """Load ``paths`` into the warehouse at ``db_path`` in one atomic step (a refresh gives
    the drop-zone files it staged)."""
    if source is not None and source not in READERS:
        raise IngestError(f"source inconnue « {source} » : {', '.join(READERS)}")
    target = Path(db_path or settings.db_path())
    _refuse_demo(target)
    reports: list[LoadReport] = []
    with (
        tempfile.TemporaryDirectory(prefix="observatory-ingest-") as tmp,
        atomic_update(target, from_current=True) as con,
    ):
        con.execute(f"SET memory_limit = '{MEMORY_LIMIT}'")
        con.execute("SET enable_progress_bar = false")
        con.execute(f"SET temp_directory = '{tmp}'")
        con.execute("SET preserve_insertion_order = true")  # SIRENE line numbers are rowids
        upgrade_landing(con)
        register_reference(con, "commune_aliases")
        register_reference(con, "commune_history")
        run_ingest(con, "00_macros.sql")
        plan = []
        for number, path in enumerate(paths):
            workdir = Path(tmp) / f"file-{number}"
            workdir.mkdir()
            raw = open_raw(path if isinstance(path, Staged) else Path(path), workdir)
            name = source or detect_source(raw)
            units_first = (
                0 if name != "sirene" or reader("sirene").layout(raw.header) == "units" else 1
            )
            # Establishment stocks of one vintage from several drop-zone folders load oldest
            # folder first, so that the newest stock replaces the others.
            stock = (0, "")
            if units_first:
                stock = (
                    _vintage(raw.path, vintage) or 0,
                    vintage_order(vintage_folder(raw.path) or ""),
                )
            plan.append((LOAD_ORDER.index(name), units_first, stock, number, raw, name))
        plan.sort(key=lambda item: item[:4])
        # The files' SHA-256 are computed in two threads, in loading order (hashlib releases
        # the GIL): the second file's hash uses the core left idle while the first file waits
        # for its own, and then overlaps the loading of the files before it.
        hasher = ThreadPoolExecutor(max_workers=2)
        stocks: dict[int, str] = {}
        try:
            digests = [hasher.submit(sha256, raw.readable) for *_, raw, _ in plan]
            for (*_, raw, name), digest in zip(plan, digests):
                reports.append(_load_one(con, raw, name, digest, vintage, max_reject_rate, stocks))
        finally:
            hasher.shutdown(cancel_futures=True)
        recompute_marts(con)
        _note_missing_units(con, reports, [raw.recorded for *_, raw, _ in plan])
    return reports


def _stock_start(con, raw: RawFile, year: int, stocks: dict[int, str]) -> tuple[bool, str | None]:
    """Whether a StockEtablissement file starts a new stock of its vintage, replacing the one
    stored (named in the second value, if any), or adds to the stock under way: the files of
    one call form one stock (one per drop-zone folder), and a later file named as a part of
    the stored stock (``…_part2.csv``) adds to it. ``stocks``: the stock each vintage of this
    call is loading (its drop-zone folder, '' for none)."""
    sirene = reader("sirene")
    folder = vintage_folder(raw.path) or ""
    if stocks.get(year) == folder:
        return False, None
    stored = {
        sirene.stock_label(Path(file))
        for (file,) in con.execute(
            "SELECT DISTINCT file FROM sirene_establishments WHERE vintage = ?", [year]
        ).fetchall()
    }
    continued = (
        year not in stocks and sirene.is_part(raw.path) and sirene.stock_label(raw.path) in stored
    )
    stocks[year] = folder
    if continued:
        return False, None
    return True, " ; ".join(f"« {label} »" for label in sorted(stored)) or None


def _note_missing_units(con, reports: list[LoadReport], files: list[str]) -> None:
    """Notes for the establishment files whose establishments lack their unité légale (they
    reach no figure), read from the marts just recomputed; ``files``: each report's file as
    the warehouse records it."""
    missing = dict(
        con.execute(
            "SELECT file, without_legal_unit FROM sirene_files WHERE without_legal_unit > 0"
        ).fetchall()
    )
    for report, file in zip(reports, files):
        count = missing.get(file)
        if count and not report.skipped:
            report.notes.append(missing_units_note(count))


def _load_one(
    con,
    raw: RawFile,
    name: str,
    hashing: Future,
    vintage: int | None,
    max_rate: float,
    stocks: dict[int, str],
) -> LoadReport:
    module = reader(name)
    digest = hashing.result()
    year = _vintage(Path(raw.recorded), vintage)
    if module.NEEDS_VINTAGE and year is None:
        raise IngestError(
            f"{raw.name} : millésime introuvable dans le nom du fichier ou du dossier ; "
            "précisez --vintage"
        )
    report = LoadReport(raw.path, name, str(year) if year else "")
    done = con.execute(
        "SELECT count(*) FROM sources WHERE source = ? AND file_sha256 = ?", [name, digest]
    ).fetchall()[0][0]
    if done:
        report.skipped = True
        return report
    file = raw.recorded
    loaded_at = datetime.now(UTC)
    new_stock, replaced = False, None
    if name == "sirene" and module.layout(raw.header) == "establishments":
        new_stock, replaced = _stock_start(con, raw, year, stocks)
    con.execute(
        "CREATE OR REPLACE TEMP TABLE load_context AS SELECT ? AS source, ? AS file, "
        "?::TIMESTAMPTZ AS loaded_at, ?::SMALLINT AS vintage, ? AS new_stock, "
        "? AS replaced_stock",
        [name, file, loaded_at, year, new_stock, replaced],
    )
    con.execute("DELETE FROM rejects WHERE file = ?", [file])
    con.execute("DELETE FROM load_stats WHERE file = ?", [file])
    read, rejected, *in_scope = _read(con, module, raw)
    report.rows_read, report.rows_rejected = read, rejected
    report.rows_loaded = read - rejected
    report.in_scope = in_scope[0] if in_scope else None
    report.examples = [
        problem_message(raw.name, *row)
        for row in con.execute(
            'SELECT line, "column", value, reason FROM rejects WHERE file = ? ORDER BY line LIMIT 3',
            [file],
        ).fetchall()
    ]
    report.notes = [
        note_text(item, value)
        for item, value in con.execute(
            "SELECT item, value FROM load_stats WHERE file = ? AND item LIKE 'remplace %'", [file]
        ).fetchall()
    ]
    # The threshold applies to the rows read and to the rows that would have counted: 10 %
    # of the active employer establishments rejected is not 0.8 % of a stock's rows.
    for total, what in ((read, "lues"), (report.in_scope, "dans le champ")):
        if total and rejected / total > max_rate:
            raise IngestError(
                f"{raw.name} : {formatting.number(rejected)} lignes rejetées sur "
                f"{formatting.number(total)} {what} "
                f"({formatting.percent(100 * rejected / total)}), au-delà du seuil de "
                f"{formatting.percent(100 * max_rate)} ; chargement refusé. "
                + " ; ".join(report.examples)
            )
    if not report.vintage:
        years = con.execute(
            "SELECT min(year), max(year) FROM published_figures WHERE file = ?", [file]
        ).fetchall()[0]
        report.vintage = "-".join(dict.fromkeys(str(y) for y in years if y is not None))
    append_sources(
        con,
        [
            dict(
                source=name,
                file=file,
                vintage=report.vintage,
                file_sha256=digest,
                loaded_at=loaded_at,
                rows_read=read,
                rows_loaded=report.rows_loaded,
                rows_rejected=rejected,
                synthetic=False,
            )
        ],
    )
    return report


def _read(con, module: ModuleType, raw: RawFile) -> tuple[int, ...]:
    """Run the reader (rows read, rows rejected and, for SIRENE, rows in scope). A CSV with
    line breaks inside quoted values is read again without DuckDB's parallel scanner; a file
    DuckDB cannot read is refused."""
    try:
        return module.load(con, raw)
    except duckdb.Error as exc:
        text = str(exc)
        if raw.parallel and "quoted new lines" in text:
            raw.parallel = False
            return _read(con, module, raw)
        line = re.search(r"CSV Error on Line: (\d+)", text)
        if raw.encoding == "utf-8" and "Invalid unicode" in text and line:
            transcode_late_latin1(raw, int(line.group(1)))
            return _read(con, module, raw)
        details = [
            part
            for part in text.splitlines()
            if part.strip() and not part.startswith(("Original Line", "Possible Solution"))
        ][:2]
        shown = raw.named(" ; ".join(details))[:300]
        raise IngestError(f"{raw.name} : fichier illisible ({shown})") from exc


def rejects_frame(db_path: Path | None = None, source: str | None = None) -> pd.DataFrame:
    """The ``rejects`` table, optionally of one source."""
    with open_warehouse(db_path) as wh:
        return wh.sql(
            'SELECT source, file, line, "column", value, reason FROM rejects '
            "WHERE $source IS NULL OR source = $source ORDER BY source, file, line",
            dict(source=source),
        )
