"""Urssaf's open ESS datasets (CSV export with ``;``): établissements, average salaried
employees and wage bill by year × ESS family × A88 sector, into ``published_figures``: by
région (``…-ess-regions-x-na88``, a ``code_region`` column: level ``region``) and for France
(``…-ess-france-x-na88``, no région column and a « Grand secteur d'activité » one: level
``france``). ``champ_ess`` says whether a row is in the ESS: « OUI » / « NON » as open.urssaf.fr
exports it, or « ESS » / « Hors ESS »; any other value is rejected, never counted as ESS."""

from __future__ import annotations

import duckdb
import pandas as pd

from observatory.ingest import tidy
from observatory.ingest.files import IngestError, RawFile

SOURCE = "urssaf"
NEEDS_VINTAGE = False
REQUIRED = {"annee", "famille_ess", "secteur_na88"}
# Either column tells an Urssaf ESS export apart: the région's code, or the ESS field.
DISTINCTIVE = {"code_region", "champ_ess"}
# Urssaf column → measure stored in published_figures.
MEASURES = {
    "nombre_d_etablissements": "etablissements",
    "effectifs_salaries_moyens": "effectifs_salaries_moyens",
    "masse_salariale": "masse_salariale",
}
# Values of champ_ess (lower case): in the ESS, outside it.
IN_ESS = {"oui", "ess"}
OUTSIDE_ESS = {"non", "hors ess"}
# Values of famille_ess that name no family: the whole of the row's field.
NO_FAMILY = {"", "total", "ensemble"}


def matches(header: list[str]) -> bool:
    names = set(header)
    return names >= REQUIRED and bool(DISTINCTIVE & names) and bool(set(MEASURES) & names)


def _families(rows: pd.DataFrame) -> tuple[pd.Series, pd.Series]:
    """Each row's family as the tidy rows want it, and the problem of its champ_ess (None when
    understood): a row outside the ESS is « Hors ESS » whatever its family column says, unless
    that column names a family of the ESS."""
    family = rows["famille_ess"].astype(object)
    given = family.fillna("").str.strip().str.lower()
    family = family.mask(given.isin(NO_FAMILY), "ESS")  # no family, or a total: the whole ESS
    problem = pd.Series(None, index=rows.index, dtype=object)
    if "champ_ess" not in rows:
        return family, problem
    champ = rows["champ_ess"].fillna("")
    field = champ.str.strip().str.lower()
    shown = champ.str.strip().str.upper()
    families = tidy.family_lookup().set_index("given").family_code
    named = given.map(families)
    ess_family = named.notna() & ~named.isin(["HORS_ESS"]) & ~given.isin(NO_FAMILY)
    outside = field.isin(OUTSIDE_ESS)
    problem = problem.mask(
        ~field.isin(IN_ESS | OUTSIDE_ESS),
        "champ de l'ESS non reconnu (attendu OUI ou NON, ESS ou Hors ESS)",
    )
    problem = problem.mask(
        outside & ess_family,
        "ligne hors du champ de l'ESS (" + shown + ") dont la famille est une famille de l'ESS",
    )
    problem = problem.mask(
        field.isin(IN_ESS) & (named == "HORS_ESS"),
        "ligne du champ de l'ESS (" + shown + ") dont la famille est « Hors ESS »",
    )
    return family.mask(outside, "Hors ESS"), problem


def load(con: duckdb.DuckDBPyConnection, raw: RawFile) -> tuple[int, int]:
    """Load one Urssaf export; returns (rows read, rows rejected)."""
    if raw.kind != "csv" or not matches(raw.header):
        raise IngestError(
            f"{raw.name} : ce n'est pas un export Urssaf ESS (colonnes attendues : "
            f"{', '.join(sorted(REQUIRED | set(MEASURES)))}, et code_region ou champ_ess)"
        )
    rows = tidy.read_rows(con, raw)
    family, champ_problem = _families(rows)
    # A broken row keeps its own problem; a champ_ess not understood rejects the row.
    champ_problem = champ_problem.where(rows["row_problem"].isna())
    rows["row_problem_column"] = rows["row_problem_column"].mask(champ_problem.notna(), "champ_ess")
    rows["row_problem_value"] = rows["row_problem_value"].mask(
        champ_problem.notna(), rows.get("champ_ess")
    )
    rows["row_problem"] = rows["row_problem"].mask(champ_problem.notna(), champ_problem)
    if "code_region" in rows:
        level, code, code_column = "region", rows["code_region"], "code_region"
    else:
        level, code, code_column = "france", "FR", None
    frames = []
    for column, measure in MEASURES.items():
        if column not in rows:
            continue
        frames.append(
            pd.DataFrame(
                {
                    "line": rows["line"],
                    "level": level,
                    "code_raw": code,
                    "code_column": code_column,
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
