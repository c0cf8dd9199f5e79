"""The CRESS template: a tidy CSV (or Excel) file for a CRESS's own figures, one figure a
line, documented in docs/ingestion.md with an example in data/templates/."""

from __future__ import annotations

import duckdb
import pandas as pd

from observatory.ingest import tidy
from observatory.ingest.files import IngestError, RawFile, column_letter, workbook_table

SOURCE = "cress"
NEEDS_VINTAGE = False
COLUMNS = ["niveau", "code", "annee", "famille", "secteur", "mesure", "valeur"]
# Accepted measures → upper bound (None: a count, only non-negative).
MEASURES = {
    "etablissements": None,
    "postes_salaries": None,
    "etp": None,
    "remunerations_brutes": None,
    "part_emploi_salarie_pct": 100.0,
}


def matches(header: list[str]) -> bool:
    return set(COLUMNS) <= {name.lower() for name in header}


def load(con: duckdb.DuckDBPyConnection, raw: RawFile) -> tuple[int, int]:
    """Load one CRESS template file; returns (rows read, rows rejected)."""
    if raw.kind == "excel":
        rows = workbook_table(raw)
        raw.header = list(rows.columns[1:])
    elif raw.kind == "csv":
        rows = tidy.read_rows(con, raw)
    else:
        raise IngestError(f"{raw.name} : le modèle CRESS est un fichier CSV ou Excel")
    # A column is named as in the file, by its letter in a workbook (docs/ingestion.md).
    names = {
        str(c).lower().strip(): (
            column_letter(i) if raw.kind == "excel" else str(c).lower().strip()
        )
        for i, c in enumerate(raw.header)
    }
    rows.columns = [str(c).lower().strip() for c in rows.columns]
    missing = [c for c in COLUMNS if c not in rows]
    if missing:
        raise IngestError(f"{raw.name} : colonnes du modèle CRESS absentes : {', '.join(missing)}")
    measure = rows["mesure"].fillna("").str.strip().str.lower()
    unknown = ~measure.isin(list(MEASURES))
    frame = pd.DataFrame(
        {
            "line": rows["line"],
            "level": rows["niveau"].fillna("").str.strip().str.lower(),
            "code_raw": rows["code"],
            "code_column": names["code"],
            "year_raw": rows["annee"],
            "year_column": names["annee"],
            "family_raw": rows["famille"],
            "family_column": names["famille"],
            "sector_raw": rows["secteur"],
            "sector_column": names["secteur"],
            "measure": measure,
            # An unknown measure is rejected as a non-numeric value of column « mesure ».
            "value_raw": rows["valeur"].mask(unknown, "mesure inconnue : " + measure),
            "value_column": pd.Series(names["valeur"], index=rows.index).mask(
                unknown, names["mesure"]
            ),
            "additive": measure != "part_emploi_salarie_pct",
            "min_value": 0.0,
            "max_value": measure.map(MEASURES).astype(float),
        }
    )
    for column in ("row_problem", "row_problem_column", "row_problem_value"):
        if column in rows:
            frame[column] = rows[column]
    return tidy.store(con, raw, frame)
