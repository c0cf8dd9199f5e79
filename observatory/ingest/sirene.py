"""SIRENE stock files (StockEtablissement, StockUniteLegale) as CSV, zip or Parquet.

Read in DuckDB SQL in one parallel pass, at national scale (a row's line number is its rowid
in the table that pass writes, in file order). Columns are matched by name, so older and newer
layouts load alike. Establishments go to ``sirene_establishments`` (active employer ones, placed
in their commune); unités légales to ``legal_units``. Classification
(ESS or not, family, staff estimate) happens when the marts are recomputed
(``sql/staging/04_sirene.sql``, rules in ``observatory/sirene_codes.py``).
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import NamedTuple

import duckdb

from observatory.ingest.files import IngestError, RawFile, vintage_folder
from observatory.warehouse.sql import run_ingest

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
# O/N flags a Parquet file may hold as booleans.
FLAGS = {"employer", "ess_flag"}
SHAPE_TYPE = "STRUCT(col VARCHAR, val VARCHAR, why VARCHAR)"
# A part of a stock split into several files: « …_part2 », « …-partie3 ».
PART = re.compile(r"[-_. ]*(?:part|partie)[-_. ]*\d+$", re.IGNORECASE)
EXTENSIONS = (".zip", ".gz", ".csv", ".txt", ".parquet")


class Counts(NamedTuple):
    """Rows of a file: read, rejected, and in scope (the rows that would have counted,
    rejected ones included)."""

    read: int
    rejected: int
    in_scope: int


def stock_label(path: Path) -> str:
    """The stock a StockEtablissement file belongs to: its drop-zone folder (``sirene/2024-03/``
    → ``2024-03``), or else its name without extension and part number
    (``StockEtablissement_2021-11_part2.csv`` → ``StockEtablissement_2021-11``)."""
    return vintage_folder(path) or PART.sub("", _stem(path))


def is_part(path: Path) -> bool:
    """True for a file named as one part of a stock (``…_part2.csv``)."""
    return bool(PART.search(_stem(path)))


def _stem(path: Path) -> str:
    name = path.name
    while name.lower().endswith(EXTENSIONS):
        name = name[: name.rindex(".")]
    return name


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


def load(con: duckdb.DuckDBPyConnection, raw: RawFile) -> Counts:
    """Load one SIRENE file; returns its rows read, rejected and in scope."""
    relation = _relation(raw)
    types: dict[str, str] = {}
    if raw.kind == "parquet":
        types = dict(
            row[:2] for row in con.execute(f"DESCRIBE SELECT * FROM {relation}").fetchall()
        )
        raw.header = list(types)
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
        f"CREATE OR REPLACE TEMP VIEW {view} AS SELECT {_projection(raw, columns, types)} "
        f"FROM {relation}"
    )
    con.execute(
        "CREATE OR REPLACE TEMP TABLE sirene_file AS SELECT ? AS last_line_cut, ? AS last_column",
        [raw.last_line_cut, raw.header[-1]],
    )
    run_ingest(con, f"sirene_{kind}.sql")
    counts = "sirene_counts" if kind == "establishments" else "units_counts"
    read, rejected, in_scope = con.execute(
        f"SELECT rows_read, rows_rejected, in_scope FROM {counts}"
    ).fetchall()[0]
    if read == 0:
        raise IngestError(f"{raw.name} : fichier vide (en-tête seul, aucune ligne de données)")
    return Counts(read, rejected, in_scope)


def _relation(raw: RawFile) -> str:
    if raw.kind == "parquet":
        return "read_parquet('" + str(raw.readable).replace("'", "''") + "')"
    if raw.kind == "csv":
        return raw.read_csv_sql()
    raise IngestError(f"{raw.name} : un fichier SIRENE doit être un CSV, un zip ou un Parquet")


def _projection(raw: RawFile, columns: dict[str, tuple[str, bool]], types: dict[str, str]) -> str:
    """The columns the SQL reads, renamed, as text: NULL for a missing column or a value missing
    from a short row, '' for an empty value; ``shape``, the problem of a row with fewer or
    more values than the header. A Parquet file's booleans are O/N flags."""
    missing = [name for name, required in columns.values() if required and name not in raw.header]
    if missing:
        raise IngestError(f"{raw.name} : colonnes SIRENE absentes : {', '.join(missing)}")
    selected = []
    for alias, (name, _) in columns.items():
        if name not in raw.header:
            selected.append(f"NULL::VARCHAR AS {alias}")
        elif raw.kind == "csv":
            selected.append(f'"{name}" AS {alias}')
        elif types.get(name) == "BOOLEAN" and alias in FLAGS:
            selected.append(
                f"CASE \"{name}\" WHEN true THEN 'O' WHEN false THEN 'N' ELSE '' END AS {alias}"
            )
        else:
            selected.append(f"coalesce(CAST(\"{name}\" AS VARCHAR), '') AS {alias}")
    shape = raw.shape_sql() if raw.kind == "csv" else f"NULL::{SHAPE_TYPE}"
    return ", ".join([*selected, f"{shape} AS shape"])
