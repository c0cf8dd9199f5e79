"""SIRENE stock files (StockEtablissement, StockUniteLegale) as CSV, zip or Parquet.

Read in DuckDB SQL in one parallel pass, at national scale (a row's line number is its rowid
in the table that pass writes, in file order). Columns are matched by name, so older and newer
layouts load alike. Establishments go to ``sirene_establishments`` (active employer ones, placed
in their commune); unités légales to ``legal_units``. Classification
(ESS or not, family, staff estimate) happens when the marts are recomputed
(``sql/staging/04_sirene.sql``, rules in ``observatory/sirene_codes.py``).
"""

from __future__ import annotations

import duckdb

from observatory.ingest.files import IngestError, RawFile
from observatory.ingest.sql import run_sql

SOURCE = "sirene"
NEEDS_VINTAGE = True
# Name used in SQL → (SIRENE column, required).
ESTABLISHMENT_COLUMNS = {
    "siret": ("siret", True),
    "siren": ("siren", False),
    "state": ("etatAdministratifEtablissement", True),
    "employer": ("caractereEmployeurEtablissement", False),
    "staff_band": ("trancheEffectifsEtablissement", True),
    "commune": ("codeCommuneEtablissement", True),
    "country": ("codePaysEtrangerEtablissement", False),
    "naf": ("activitePrincipaleEtablissement", True),
    "naf_nomenclature": ("nomenclatureActivitePrincipaleEtablissement", False),
}
UNIT_COLUMNS = {
    "siren": ("siren", True),
    "state": ("etatAdministratifUniteLegale", False),
    "legal_category": ("categorieJuridiqueUniteLegale", True),
    "ess_flag": ("economieSocialeSolidaireUniteLegale", False),
}


def layout(header: list[str]) -> str | None:
    """``establishments``, ``units`` or None, from the column names."""
    names = set(header)
    if {"siret", "codeCommuneEtablissement"} <= names:
        return "establishments"
    if {"siren", "categorieJuridiqueUniteLegale"} <= names:
        return "units"
    return None


def matches(header: list[str]) -> bool:
    return layout(header) is not None


def load(con: duckdb.DuckDBPyConnection, raw: RawFile) -> tuple[int, int]:
    """Load one SIRENE file; returns (rows read, rows rejected)."""
    relation = _relation(raw)
    if raw.kind == "parquet":
        raw.header = [
            row[0] for row in con.execute(f"DESCRIBE SELECT * FROM {relation}").fetchall()
        ]
    kind = layout(raw.header)
    if kind is None:
        raise IngestError(
            f"{raw.name} : ce n'est pas un fichier SIRENE StockEtablissement ou "
            "StockUniteLegale (colonnes siret/codeCommuneEtablissement ou "
            "siren/categorieJuridiqueUniteLegale absentes)"
        )
    columns = ESTABLISHMENT_COLUMNS if kind == "establishments" else UNIT_COLUMNS
    view = "sirene_scan" if kind == "establishments" else "sirene_units_scan"
    con.execute(
        f"CREATE OR REPLACE TEMP VIEW {view} AS SELECT {_projection(raw, columns)} FROM {relation}"
    )
    run_sql(con, f"sirene_{kind}.sql")
    counts = "sirene_counts" if kind == "establishments" else "units_counts"
    read, rejected = con.execute(f"SELECT rows_read, rows_rejected FROM {counts}").fetchall()[0]
    if read == 0:
        raise IngestError(f"{raw.name} : fichier vide (en-tête seul, aucune ligne de données)")
    return read, rejected


def _relation(raw: RawFile) -> str:
    if raw.kind == "parquet":
        return "read_parquet('" + str(raw.path).replace("'", "''") + "')"
    if raw.kind == "csv":
        return raw.read_csv_sql()
    raise IngestError(f"{raw.name} : un fichier SIRENE doit être un CSV, un zip ou un Parquet")


def _projection(raw: RawFile, columns: dict[str, tuple[str, bool]]) -> str:
    missing = [name for name, required in columns.values() if required and name not in raw.header]
    if missing:
        raise IngestError(f"{raw.name} : colonnes SIRENE absentes : {', '.join(missing)}")
    return ", ".join(
        (
            f'CAST("{name}" AS VARCHAR) AS {alias}'
            if name in raw.header
            else f"NULL::VARCHAR AS {alias}"
        )
        for alias, (name, _) in columns.items()
    )
