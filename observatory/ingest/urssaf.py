"""Urssaf's open ESS dataset (CSV export with ``;``): établissements, average salaried
employees and wage bill by région × year × ESS family × A88 sector, into
``published_figures`` (level ``region``)."""

from __future__ import annotations

import duckdb
import pandas as pd

from observatory.ingest import tidy
from observatory.ingest.files import IngestError, RawFile

SOURCE = "urssaf"
NEEDS_VINTAGE = False
REQUIRED = {"code_region", "annee", "famille_ess", "secteur_na88"}
# Urssaf column → measure stored in published_figures.
MEASURES = {
    "nombre_d_etablissements": "etablissements",
    "effectifs_salaries_moyens": "effectifs_salaries_moyens",
    "masse_salariale": "masse_salariale",
}


def matches(header: list[str]) -> bool:
    return set(header) >= REQUIRED and bool(set(MEASURES) & set(header))


def load(con: duckdb.DuckDBPyConnection, raw: RawFile) -> tuple[int, int]:
    """Load one Urssaf export; returns (rows read, rows rejected)."""
    if raw.kind != "csv" or not matches(raw.header):
        raise IngestError(
            f"{raw.name} : ce n'est pas un export Urssaf ESS (colonnes attendues : "
            f"{', '.join(sorted(REQUIRED | set(MEASURES)))})"
        )
    rows = tidy.read_rows(con, raw)
    family = rows["famille_ess"].astype(object)
    # No family, or a total: the whole ESS; the « Hors ESS » field: outside the ESS.
    family = family.mask(
        family.fillna("").str.strip().str.lower().isin(["", "total", "ensemble"]), "ESS"
    )
    if "champ_ess" in rows:
        family = family.mask(
            rows["champ_ess"].fillna("").str.strip().str.lower() == "hors ess", "Hors ESS"
        )
    frames = []
    for column, measure in MEASURES.items():
        if column not in rows:
            continue
        frames.append(
            pd.DataFrame(
                {
                    "line": rows["line"],
                    "level": "region",
                    "code_raw": rows["code_region"],
                    "code_column": "code_region",
                    "year_raw": rows["annee"],
                    "year_column": "annee",
                    "family_raw": family,
                    "family_column": "famille_ess",
                    "sector_raw": rows["secteur_na88"],
                    "sector_column": "secteur_na88",
                    "measure": measure,
                    "value_raw": rows[column],
                    "value_column": column,
                    "additive": True,
                    "min_value": 0.0,
                    "row_problem": rows["row_problem"],
                    "row_problem_column": rows["row_problem_column"],
                    "row_problem_value": rows["row_problem_value"],
                }
            )
        )
    return tidy.store(con, raw, pd.concat(frames, ignore_index=True))
