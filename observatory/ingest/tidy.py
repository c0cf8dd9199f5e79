"""Published figures in tidy form (territory × year × family × sector × measure): the shared
last step of the INSEE, Urssaf and CRESS readers, validated and stored in SQL."""

from __future__ import annotations

import duckdb
import pandas as pd

from observatory.families import FAMILIES
from observatory.ingest.files import EXTRA_COLUMN, IngestError, RawFile
from observatory.warehouse.sql import run_ingest

TIDY_COLUMNS = [
    "line",
    "level",
    "code_raw",
    "code_column",
    "year_raw",
    "year_column",
    "family_raw",
    "family_column",
    "sector_raw",
    "sector_column",
    "measure",
    "value_raw",
    "value_column",
    "additive",
    "min_value",
    "max_value",
    "row_problem",
    "row_problem_column",
    "row_problem_value",
]
# Bounds of a value (NaN: none) and the problem of the whole row it comes from (None: none).
OPTIONAL = {
    "min_value": float("nan"),
    "max_value": float("nan"),
    "row_problem": None,
    "row_problem_column": None,
    "row_problem_value": None,
}
NUMBERS = {"line", "additive", "min_value", "max_value"}
EXTRA = '"' + EXTRA_COLUMN + '"'
# Values of a family column besides the family codes and labels: all of the ESS, outside it.
FAMILY_SYNONYMS = {
    "ess": "ESS",
    "ensemble ess": "ESS",
    "total ess": "ESS",
    "ensemble de l'ess": "ESS",
    "économie sociale et solidaire": "ESS",
    "hors ess": "HORS_ESS",
    "association": "ASSO",
    "coopérative": "COOP",
    "mutuelle": "MUT",
    "fondation": "FOND",
    "société commerciale de l'ess": "SCESS",
}


def family_lookup() -> pd.DataFrame:
    """Every accepted spelling of a family (lower case) and its code."""
    rows = dict(FAMILY_SYNONYMS)
    for code, label, short in FAMILIES:
        rows.update({code.lower(): code, label.lower(): code, short.lower(): code})
    return pd.DataFrame({"given": list(rows), "family_code": list(rows.values())})


def read_rows(con: duckdb.DuckDBPyConnection, raw: RawFile) -> pd.DataFrame:
    """A small CSV as text columns with its ``line`` number (header is line 1), and the problem
    of a row with fewer or more values than the header, or cut off at the end of the file
    (``row_problem``, ``row_problem_column``, ``row_problem_value``; None for a whole row)."""
    frame = con.execute(
        "SELECT line, * EXCLUDE (line, shape), shape.why AS row_problem, "
        "shape.col AS row_problem_column, shape.val AS row_problem_value FROM ("
        f"SELECT row_number() OVER () + 1 AS line, * EXCLUDE ({EXTRA}), {raw.shape_sql()} "
        f"AS shape FROM {raw.read_csv_sql()})"
    ).df()
    if frame.empty:
        raise IngestError(f"{raw.name} : fichier vide (en-tête seul, aucune ligne de données)")
    if raw.last_line_cut:
        last = frame.index[-1]
        if frame.at[last, "row_problem"] is None or pd.isna(frame.at[last, "row_problem"]):
            frame.loc[last, ["row_problem", "row_problem_column"]] = [
                raw.last_line_cut,
                raw.header[-1],
            ]
    return frame


def store(con: duckdb.DuckDBPyConnection, raw: RawFile, tidy: pd.DataFrame) -> tuple[int, int]:
    """Validate and store tidy rows; returns (rows read, rows rejected)."""
    if tidy.empty:
        raise IngestError(f"{raw.name} : aucune donnée reconnue dans le fichier")
    tidy = tidy.assign(**{c: v for c, v in OPTIONAL.items() if c not in tidy})
    frame = tidy[TIDY_COLUMNS].reset_index(drop=True)
    frame.insert(0, "obs_id", range(len(frame)))
    for column in TIDY_COLUMNS:
        if column not in NUMBERS:
            frame[column] = frame[column].astype(object).where(frame[column].notna(), None)
    frame["min_value"] = frame["min_value"].astype(float)
    frame["max_value"] = frame["max_value"].astype(float)
    con.register("tidy_frame", frame)
    con.register("family_lookup", family_lookup())
    texts = ", ".join(f"{c}::VARCHAR AS {c}" for c in TIDY_COLUMNS if c not in NUMBERS)
    con.execute(
        f"CREATE OR REPLACE TEMP TABLE tidy AS SELECT obs_id, line::BIGINT AS line, {texts}, "
        "additive::BOOLEAN AS additive, min_value::DOUBLE AS min_value, "
        "max_value::DOUBLE AS max_value FROM tidy_frame"
    )
    con.unregister("tidy_frame")
    run_ingest(con, "published.sql")
    run_ingest(con, "published_store.sql")
    rejected = con.execute(
        "SELECT count(*) FROM tidy_checked WHERE problem IS NOT NULL"
    ).fetchall()[0][0]
    return len(frame), rejected
