"""INSEE tabulations (xls, xlsx, csv) laid out for reading: title rows, then one or several
blocks per sheet, each with measure labels, a row « Année » giving the year of every column,
and one territory a row (code, name, values). INSEE's « Indicateurs territoriaux de
développement durable » workbook has a régions block then a départements block in each sheet.

Every value becomes a row of ``published_figures`` (France and the zones P, France de province,
and M, France métropolitaine, repeated in every block, are read once); ``s``, ``nd``, ``nc``, ``ns``, ``-`` and
empty cells become missing values with their meaning kept in ``marker``.
"""

from __future__ import annotations

import csv
import re
import unicodedata

import duckdb
import pandas as pd

from observatory.ingest import tidy
from observatory.ingest.files import IngestError, RawFile, column_letter, read_workbook

SOURCE = "insee"
NEEDS_VINTAGE = False
YEAR_LABEL = "annee"
# Block titles → territory level.
BLOCK_LEVELS = {
    "regions": "region",
    "departements": "departement",
    "epci": "epci",
    "communes": "commune",
    "france": "france",
}
# Codes of aggregates in INSEE tables: France (hors Mayotte), de province, métropolitaine.
AGGREGATES = {"F": ("france", "FR"), "P": ("zone", "P"), "M": ("zone", "M")}
HEADER_ROWS = 3  # rows above « Année » that may hold the measure labels
# Words of a measure in percent that is a change or a gap, not a share.
CHANGE_WORDS = ("evolution", "variation", "croissance", "ecart", "solde", "progression")


def _norm(value) -> str:
    text = "" if value is None or (isinstance(value, float) and pd.isna(value)) else str(value)
    text = unicodedata.normalize("NFKD", text.strip().lower())
    return "".join(ch for ch in text if not unicodedata.combining(ch))


def _text(value) -> str | None:
    """A cell as text: integers without ``.0``, floats at full precision, None when empty."""
    if value is None or (isinstance(value, float) and pd.isna(value)):
        return None
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    text = str(value).strip()
    return text or None


def _year(label: str | None) -> str | None:
    """« 2014 », « 2006* » (a note), « 1er janvier 2014 » → 2014; kept as is otherwise."""
    found = re.findall(r"(?<!\d)(?:19|20)\d{2}(?!\d)", label or "")
    return found[0] if len(found) == 1 else label


def matches(header: list[str]) -> bool:
    return any(_norm(cell) == YEAR_LABEL for cell in header)


def _sheets(raw: RawFile) -> dict[str, list[list]]:
    if raw.kind == "excel":
        return read_workbook(raw)
    if raw.kind == "csv":
        with raw.csv_path.open(encoding="utf-8", newline="") as handle:
            return {"": [row for row in csv.reader(handle, delimiter=raw.delimiter)]}
    raise IngestError(f"{raw.name} : un tableau INSEE est un fichier xls, xlsx ou csv")


def _short_cells(raw: RawFile, rows: list[list]) -> list[dict[int, str]]:
    """For each row of a CSV table, the problem of the cells it lacks: a row shorter than the
    table (its widest row) lost its last values, and the last line of a file that looks cut
    off is rejected whole. Empty for a workbook, whose rows have no length of their own."""
    if raw.kind != "csv":
        return [{} for _ in rows]
    width = max((len(row) for row in rows), default=0)
    short = (
        f"ligne incomplète : {{n}} valeurs, moins que les {width} colonnes du tableau "
        "(ligne ou fichier coupé ?)"
    )
    problems = [
        {c: short.format(n=len(row)) for c in range(len(row), width)} if len(row) > 0 else {}
        for row in rows
    ]
    if raw.last_line_cut and rows:
        problems[-1] = dict.fromkeys(range(width), raw.last_line_cut)
    return problems


def _blocks(rows: list[list]) -> list[tuple[int, int]]:
    """(row of « Année », column of « Année ») for every block of a sheet."""
    return [
        (r, c)
        for r, row in enumerate(rows)
        for c, cell in enumerate(row)
        if _norm(cell) == YEAR_LABEL
    ]


def _parse_block(rows, problems, sheet, head, year_col, level_hint, seen: set) -> list[dict]:
    header = rows[head]
    years = {c: _text(header[c]) for c in range(year_col + 1, len(header)) if _text(header[c])}
    top = max(head - HEADER_ROWS, 0)
    out = []
    for c in years:
        # A label spans the year columns up to the next label (merged cells read this way).
        start = max(
            (
                k
                for k in range(year_col + 1, c + 1)
                if any(_text(rows[r][k]) for r in range(top, head))
            ),
            default=c,
        )
        parts = [_text(rows[r][start]) for r in range(top, head) if _text(rows[r][start])]
        years[c] = (years[c], " – ".join(parts) or f"colonne {column_letter(c)}")
    code_col = year_col - 1 if year_col > 0 else None
    for r in range(head + 1, len(rows)):
        row = rows[r]
        name = _text(row[year_col]) if year_col < len(row) else None
        code = _text(row[code_col]) if code_col is not None else name
        if name is None or _norm(row[year_col]) in BLOCK_LEVELS or _norm(name) == YEAR_LABEL:
            break  # end of the block: notes or the next block's title
        level, code_out = AGGREGATES.get(code, (level_hint, code))
        if code in AGGREGATES:  # France and its zones repeat in every block: read them once
            if code in seen:
                continue
            seen.add(code)
        for c, (year, measure) in years.items():
            value = row[c] if c < len(row) else None
            out.append(
                dict(
                    line=r + 1,
                    level=level,
                    code_raw=code_out,
                    code_column=column_letter(code_col) if code_col is not None else "A",
                    year_raw=_year(year),
                    year_column=column_letter(c) + str(head + 1),
                    family_raw=None,
                    family_column=None,
                    sector_raw=None,
                    sector_column=None,
                    measure=f"{sheet} : {measure}" if sheet else measure,
                    value_raw=repr(value) if isinstance(value, float) else _text(value),
                    value_column=column_letter(c),
                    additive=False,
                    min_value=0.0 if _share(measure) else float("nan"),
                    max_value=100.0 if _share(measure) else float("nan"),
                    row_problem=problems[r].get(c),
                    row_problem_column=None,
                )
            )
    return out


def _share(measure: str) -> bool:
    """A measure in percent that is a share (from 0 to 100), not a change (« évolution »,
    « variation »…, which may be negative or above 100)."""
    label = _norm(measure)
    return "%" in label and not any(word in label for word in CHANGE_WORDS)


def _level_of(rows, head) -> str | None:
    for r in range(head - 1, -1, -1):
        for cell in rows[r]:
            if _norm(cell) in BLOCK_LEVELS:
                return BLOCK_LEVELS[_norm(cell)]
    return None


def load(con: duckdb.DuckDBPyConnection, raw: RawFile) -> tuple[int, int]:
    """Load every block of every sheet; returns (rows read, rows rejected)."""
    records = []
    for sheet, rows in _sheets(raw).items():
        problems = _short_cells(raw, rows)
        width = max((len(row) for row in rows), default=0)
        rows = [list(row) + [None] * (width - len(row)) for row in rows]
        seen: set[str] = set()
        for head, year_col in _blocks(rows):
            level = _level_of(rows, head)
            if level is None:
                raise IngestError(
                    f"{raw.name}, feuille {sheet or '1'}, ligne {head + 1} : niveau "
                    "territorial du bloc introuvable (titre RÉGIONS, DÉPARTEMENTS…)"
                )
            records += _parse_block(rows, problems, sheet, head, year_col, level, seen)
    if not records:
        raise IngestError(f"{raw.name} : aucun tableau INSEE reconnu (ligne « Année » introuvable)")
    return tidy.store(con, raw, pd.DataFrame(records))
