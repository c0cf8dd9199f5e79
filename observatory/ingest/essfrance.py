"""ESS France's list of ESS companies: a SIREN list (a ``siren`` column, or one column of
SIREN numbers) used to flag unités légales as ESS (rule « liste ESS France »). The published
list, ``entreprisesess.csv``, has 8 columns (SIREN, name, legal family, postcode, commune,
département, région); a list of one's own has up to 6."""

from __future__ import annotations

import duckdb

from observatory.ingest.files import IngestError, RawFile
from observatory.warehouse.sql import run_ingest

SOURCE = "essfrance"
NEEDS_VINTAGE = False
# The column of the published list that no other file has: the company's family in the ESS.
LIST_FAMILY_COLUMN = "famille juridique de l'entreprise"


def _siren_column(header: list[str]) -> str | None:
    lowered = {name.lower().strip(): name for name in header}
    return lowered.get("siren") or (header[0] if len(header) == 1 else None)


def matches(header: list[str]) -> bool:
    if _siren_column(header) is None or "categorieJuridiqueUniteLegale" in header:
        return False
    names = {name.lower().strip().replace("\u2019", "'") for name in header}
    return len(header) <= 6 or LIST_FAMILY_COLUMN in names


def load(con: duckdb.DuckDBPyConnection, raw: RawFile) -> tuple[int, int]:
    """Load the list; returns (rows read, rows rejected)."""
    if raw.kind != "csv":
        raise IngestError(f"{raw.name} : la liste ESS France doit être un fichier CSV")
    column = _siren_column(raw.header)
    if column is None:
        raise IngestError(f"{raw.name} : colonne « siren » introuvable dans la liste ESS France")
    if len(raw.header) == 1 and column.strip().isdigit():
        raise IngestError(f"{raw.name} : la première ligne doit être un en-tête (« siren »)")
    quoted = column.replace('"', '""')
    con.execute(
        f'CREATE OR REPLACE TEMP VIEW essfrance_scan AS SELECT "{quoted}" AS siren, '
        f"{raw.shape_sql()} AS shape FROM {raw.read_csv_sql()}"
    )
    con.execute(
        "CREATE OR REPLACE TEMP TABLE essfrance_file AS SELECT ? AS unterminated, "
        "? AS last_line_cut, ? AS last_column",
        [raw.unterminated, raw.last_line_cut, raw.header[-1]],
    )
    run_ingest(con, "essfrance.sql")
    read, rejected = con.execute(
        "SELECT count(*), count(*) FILTER (problem IS NOT NULL) FROM essfrance_checked"
    ).fetchall()[0]
    if read == 0:
        raise IngestError(f"{raw.name} : fichier vide (en-tête seul, aucune ligne de données)")
    return read, rejected
