"""Figures published by others — INSEE's tables, Urssaf's open ESS dataset, a CRESS's own
figures — as the observatory shows them (theme ``published`` of :mod:`observatory.indicators`).

Each figure keeps its publisher, vintage and file in its source, and its markers as the
publisher meant them: « s » (secret) stays masked, the others (``nd``, ``nc``, ``ns``, ``-``,
an empty cell) read « n.d. ». They are shown beside the observatory's own figures (SIRENE
estimates), never added to them.

A CRESS's figures may be raw counts: the observatory protects them as it protects its own.
A cell of fewer than 3 establishments is masked (all its measures), then, measure by measure,
no masked cell may be left alone in a published total and its published parts:

- the ESS and its families: a family absent from the file counts as zero (a reader may take
  the families listed for all of them), which may mask a little more than needed but never lets
  the total minus the families give a masked one away;
- a sector and its sub-sectors of a smaller level (A21 ⊃ A88 ⊃ NAF), and a territory and the
  territories of a smaller level inside it, when the file gives every one of them (a few
  sectors or communes listed are plainly not the whole).

A figure the CRESS marked (``s``, ``nd``…) is unknown to a reader, as a masked one is. INSEE's
and Urssaf's figures were protected by their publishers and are shown as published.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from functools import lru_cache
from pathlib import PurePath

import numpy as np

from observatory import secrecy

# Meaning of a publisher's marker, for the note of a figure shown « n.d. ».
MARKERS = {
    "nd": "non disponible",
    "nc": "non déterminé",
    "ns": "non significatif",
    "-": "néant",
    "vide": "cellule vide",
}
# INSEE publications recognised by the start of their file's name.
PUBLICATIONS = {"ITDD": "Indicateurs territoriaux de développement durable"}
CRESS_MEASURES = ("cress_establishments", "cress_employees", "cress_fte", "cress_gross_wages")
CRESS_SHARE = "cress_ess_share_employees"
# The observatory's own indicator a published one is set beside (same territory and year).
COUNTERPARTS = {
    "insee_ess_share_employees": "ess_share_employees",
    "cress_ess_share_employees": "ess_share_employees",
    "urssaf_establishments": "ess_establishments",
    "cress_establishments": "ess_establishments",
    "urssaf_average_employees": "ess_employees",
    "cress_employees": "ess_employees",
    "cress_fte": "ess_fte",
    "cress_gross_wages": "ess_gross_wages",
}
SECTOR_LEVELS = ("a21", "a88", "naf")
SECTOR_NAMES = {"a21": "section A21", "a88": "division A88", "naf": "sous-classe NAF"}
# Smaller levels inside a territory, and the column of a smaller territory naming it.
INSIDE = {
    "france": (("region", None), ("departement", None), ("commune", None)),
    "region": (("departement", "region_code"), ("commune", "region_code")),
    "departement": (("commune", "departement_code"),),
    "epci": (("commune", "epci_code"),),
}
COLUMNS = (
    "figure_id, indicator, source, year, family_code, family_label, sector_code, sector_level, "
    "sector_label, value, marker, file"
)


@lru_cache(maxsize=256)
def source_text(source: str, year: int, file: str) -> str:
    """The source of a published figure: publisher, vintage, publication and file."""
    name = PurePath(file).name
    if source == "insee":  # INSEE's ESS employment: Clap up to 2015, Flores since
        series = "Clap" if year <= 2015 else "Flores"
        title = next((t for key, t in PUBLICATIONS.items() if name.upper().startswith(key)), None)
        return (
            f"INSEE, {series} {year}, {title} ({name})"
            if title
            else f"INSEE, {series} {year} ({name})"
        )
    if source == "urssaf":
        return f"Urssaf, données ouvertes de l'économie sociale et solidaire, {year} ({name})"
    return f"CRESS, chiffres de la CRESS, {year} ({name})"


@dataclass(frozen=True)
class Figure:
    """One published figure as a portrait row."""

    indicator: str
    year: int
    breakdown: str | None
    category: str | None
    category_label: str | None
    value: float
    secret: bool
    available: bool
    note: str | None
    source: str


class Figures:
    """The published figures of a warehouse: their years, each territory's figures, and the
    secrecy masks of the CRESS's figures (solved once, on first need)."""

    def __init__(self, con, territories: Mapping):
        self.con, self.territories = con, territories
        present = con.execute("SELECT DISTINCT level, year FROM published_indicators").fetchall()
        self.years = sorted({int(year) for _, year in present})
        self.levels = {level for level, _ in present}  # no query for the others' portraits
        self._cress: dict[int, bool] | None = None

    def of(self, level: str, code: str) -> list[Figure]:
        """The figures of a territory, every year, ordered by indicator, year and category."""
        if level not in self.levels:
            return []
        rows = self.con.execute(
            f"SELECT {COLUMNS} FROM published_indicators WHERE level = $level AND code = $code "
            "ORDER BY figure_id",
            dict(level=level, code=code),
        ).fetchall()
        cress = self.cress_secret() if any(r[2] == "cress" for r in rows) else {}
        out = []
        for (
            figure_id,
            indicator,
            source,
            year,
            family,
            family_label,
            sector,
            sector_level,
            sector_label,
            value,
            marker,
            file,
        ) in rows:
            if family and sector:
                breakdown = f"famille et {SECTOR_NAMES[sector_level]}"
                category = f"{family} {sector}"
                label = f"{family_label}, {sector} – {sector_label}"
            elif family:
                breakdown, category, label = "famille", family, family_label
            elif sector:
                breakdown, category = SECTOR_NAMES[sector_level], sector
                label = f"{sector} – {sector_label}"
            else:
                breakdown = category = label = None
            hidden = marker not in (None, "s")
            out.append(
                Figure(
                    indicator=indicator,
                    year=int(year),
                    breakdown=breakdown,
                    category=category,
                    category_label=label,
                    value=np.nan if value is None else float(value),
                    secret=marker == "s" or cress.get(figure_id, False),
                    available=not hidden,
                    note=f"{MARKERS.get(marker, marker)} (marqueur de l'éditeur)"
                    if hidden
                    else None,
                    source=source_text(source, int(year), file),
                )
            )
        return out

    def cress_secret(self) -> dict[int, bool]:
        """Figure id → masked, for every figure of the CRESS (primary then secondary secrecy)."""
        if self._cress is None:
            self._cress = _solve_cress(
                self.con.execute(
                    "SELECT figure_id, indicator, level, code, year, coalesce(family_code, ''), "
                    "coalesce(sector_code, ''), value, marker "
                    "FROM published_indicators WHERE source = 'cress'"
                ).fetchall(),
                self.territories,
                self.con.execute("SELECT naf_code, a88_code, a21_code FROM sectors").fetchall(),
            )
        return self._cress


def _solve_cress(rows: list[tuple], territories: Mapping, nomenclature: list[tuple]) -> dict:
    """Masks of the CRESS's figures (figure id → masked): a cell (territory, year, family,
    sector) of 1 or 2 establishments masks all its measures; then each measure is protected in
    every relation of a total and its parts (module docstring); a share is masked with its
    cell's posts. ``nomenclature``: (NAF sous-classe, A88 division, A21 section) of every
    sous-classe."""
    cells: dict[str, dict[tuple, tuple]] = {}
    for fid, indicator, level, code, year, family, sector, value, marker in rows:
        cells.setdefault(indicator, {})[(level, code, year, family, sector)] = (fid, value, marker)
    small = {
        key
        for key, (_, value, _) in cells.get("cress_establishments", {}).items()
        if value is not None and 0 < value < secrecy.MIN_ESTABLISHMENTS
    }
    wholes = _Wholes(territories, nomenclature)
    secret: dict[int, bool] = {}
    for indicator in CRESS_MEASURES:
        present = cells.get(indicator, {})
        keys = list(present)
        index = {key: i for i, key in enumerate(keys)}
        values = np.array([present[k][1] or 0.0 for k in keys], dtype=float)
        # Unknown to a reader: masked here, marked secret or otherwise missing by the CRESS.
        masked = np.array([k in small or present[k][2] is not None for k in keys], dtype=bool)
        relations = secrecy.Relations()
        for total, parts in wholes.relations(keys):
            relations.add([index[total]], [[index[p] for p in parts]])
        masked = secrecy.secondary(values, masked, relations)
        for key, (fid, _, marker) in present.items():
            secret[fid] = bool(masked[index[key]]) and marker in (None, "s")
    posts = cells.get("cress_employees", {})
    for key, (fid, _, _) in cells.get(CRESS_SHARE, {}).items():
        shown_posts = posts.get(key)
        secret[fid] = key in small or (shown_posts is not None and secret[shown_posts[0]])
    return secret


class _Wholes:
    """What a total is made of: the sectors of each smaller level inside a sector (the whole
    ESS: sector ``""``), and the territories of each smaller level inside a territory."""

    def __init__(self, territories: Mapping, nomenclature: list[tuple]):
        self.inside: dict[tuple, list] = {}  # (sector or territory, smaller level) → members
        for naf, a88, a21 in nomenclature:
            for whole, level, member in (
                ("", "a21", a21),
                ("", "a88", a88),
                ("", "naf", naf),
                (a21, "a88", a88),
                (a21, "naf", naf),
                (a88, "naf", naf),
            ):
                self.inside.setdefault((whole, level), {})[member] = None  # ordered set
        for (level, code), territory in territories.items():
            for parent_level, parents in INSIDE.items():
                for smaller, column in parents:
                    if level == smaller:
                        parent = "FR" if column is None else getattr(territory, column)
                        self.inside.setdefault(((parent_level, parent), smaller), {})[code] = None

    def relations(self, keys: list[tuple]):
        """(total, parts) of the relations among the cells ``keys`` present (module
        docstring): a total and its families present; a sector or a territory and all its
        smaller ones, when every one of them is present."""
        present = set(keys)
        families: dict[tuple, list[tuple]] = {}
        for key in keys:
            if key[3]:
                families.setdefault((*key[:3], key[4]), []).append(key)
        for total in keys:
            level, code, year, family, sector = total
            if not family and (level, code, year, sector) in families:
                yield total, families[(level, code, year, sector)]
            for smaller in SECTOR_LEVELS:
                parts = [
                    (level, code, year, family, s) for s in self.inside.get((sector, smaller), ())
                ]
                if parts and present.issuperset(parts):
                    yield total, parts
            for smaller, _ in INSIDE.get(level, ()):
                parts = [
                    (smaller, c, year, family, sector)
                    for c in self.inside.get(((level, code), smaller), ())
                ]
                if parts and present.issuperset(parts):
                    yield total, parts
