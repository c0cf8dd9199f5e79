"""The directory of support structures (incubators, pépinières, DLA, CRESS, PTCE, tiers-lieux):
a CSV (or Excel) file following data/templates/structures_modele.csv, documented in
docs/support.md. A line replaces the stored structure with the same identifier."""

from __future__ import annotations

import duckdb
import pandas as pd

from observatory import support
from observatory.ingest import tidy
from observatory.ingest.files import IngestError, RawFile, workbook_table

SOURCE = "structures"
PROBLEM_COLUMNS = ["line", "column", "value", "reason"]
NEEDS_VINTAGE = False


def matches(header: list[str]) -> bool:
    return set(support.REQUIRED_COLUMNS) <= {support.key(h).replace(" ", "_") for h in header}


def read_table(
    con: duckdb.DuckDBPyConnection, raw: RawFile, what: str
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """A template file (CSV or Excel) as text columns with its ``line`` number, and the
    problems of its broken rows (fewer or more values than the header, cut off at the end of
    the file), left out of the first."""
    if raw.kind == "excel":
        rows = workbook_table(raw)
        if rows.empty:
            raise IngestError(f"{raw.name} : fichier vide (en-tête seul, aucune ligne de données)")
        return rows, pd.DataFrame(columns=PROBLEM_COLUMNS)
    if raw.kind != "csv":
        raise IngestError(f"{raw.name} : {what} se charge depuis un fichier CSV ou Excel")
    rows = tidy.read_rows(con, raw)
    broken = rows["row_problem"].notna()
    problems = pd.DataFrame(
        {
            "line": rows.loc[broken, "line"],
            "column": rows.loc[broken, "row_problem_column"],
            "value": rows.loc[broken, "row_problem_value"],
            "reason": rows.loc[broken, "row_problem"],
        }
    )
    kept = rows.loc[~broken].drop(
        columns=["row_problem", "row_problem_column", "row_problem_value"]
    )
    return kept.reset_index(drop=True), problems


def store_rejects(con: duckdb.DuckDBPyConnection, problems: pd.DataFrame) -> None:
    """Rejected lines into ``rejects``, with the source, file and time of ``load_context``."""
    con.register("new_rejects", problems.astype({"line": "Int64", "value": object}))
    con.execute(
        'INSERT INTO rejects SELECT c.source, c.file, r.line, r."column", r.value, '
        "r.reason, c.loaded_at FROM new_rejects AS r, load_context AS c ORDER BY r.line"
    )
    con.unregister("new_rejects")


def load(con: duckdb.DuckDBPyConnection, raw: RawFile) -> tuple[int, int]:
    """Load one directory file; returns (rows read, rows rejected)."""
    rows, broken = read_table(con, raw, "l'annuaire des structures")
    names = {support.key(c).replace(" ", "_") for c in rows.columns}
    missing = [c for c in support.REQUIRED_COLUMNS if c not in names]
    if missing:
        raise IngestError(
            f"{raw.name} : colonnes de l'annuaire des structures absentes : {', '.join(missing)}"
        )
    frame, problems = support.validate(rows)
    file, loaded_at = con.execute("SELECT file, loaded_at::VARCHAR FROM load_context").fetchall()[0]
    support.store(con, frame, synthetic=False, file=file, loaded_at=loaded_at)
    store_rejects(con, pd.concat([broken, problems], ignore_index=True))
    return len(rows) + len(broken), len(problems) + len(broken)
