"""One portrait: the lazily fetched inputs of one territory and year, shared by every
indicator, and their assembly into the tidy frame, secrecy applied."""

from __future__ import annotations

from functools import cached_property
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from observatory import secrecy
from observatory.errors import YearError
from observatory.indicators.definitions import (
    COLUMNS,
    ESS_COLUMNS,
    FACT_THEMES,
    MEASURE_OF,
    NO_SOURCE,
    NOT_LOADED,
    REGISTRY,
    UNKNOWN_MEASURE,
    Territory,
    display,
)
from observatory.indicators.static import _static
from observatory.indicators.themes import _Themes
from observatory.secrecy.cells import _Block
from observatory.territories import resolve

if TYPE_CHECKING:
    from observatory.indicators.batch import _Batch
    from observatory.warehouse import Warehouse


class _Portrait(_Themes):
    """Lazily fetched inputs of one territory and year, shared by every indicator."""

    def __init__(
        self,
        wh: Warehouse,
        territory: Territory,
        year: int,
        reference: Territory | None,
        start: int | None,
        batch: _Batch | None = None,
    ):
        """``batch``: the inputs of many territories read at once (``compute_many``)."""
        self.wh, self.t, self.year = wh, territory, year
        self.batch = batch
        self.static = _static(wh)
        self.reference = reference
        # A year without ESS facts (only published figures, or none) has its fact themes n.d.
        self.has_facts = year in self.static.years
        self.start = start if start is not None else (self.static.years or [year])[0]
        if self.has_facts and (self.start not in self.static.years or self.start > year):
            raise YearError(
                f"année de début {self.start} non valable : entre {self.static.years[0]} et {year}"
            )
        self.key = (territory.level, territory.code)
        self.rows: list[dict] = []

    @cached_property
    def employment(self) -> dict[int, dict]:
        """Rows of ``employment_by_territory`` for the territory, by year."""
        if self.batch is not None:
            return self.batch.employment.get(self.t.code, {})
        return self.static.employment(self.wh.connection, self.t)

    @cached_property
    def protected_as(self) -> Territory:
        """The territory whose cells protect this one's: itself, or, for a département that
        is its région's only one (Guadeloupe, Martinique, Guyane, La Réunion, Mayotte), the
        région: both portraits then carry the same masks, and neither gives away the other."""
        if (
            self.t.level == "departement"
            and self.t.region_code is not None
            and len(self.static.children.get(("departement", self.t.region_code), [])) == 1
        ):
            return resolve(self.wh, self.t.region_code, "region")
        return self.t

    @cached_property
    def block(self) -> _Block:
        t = self.protected_as
        if t.level == "commune" or (t.level == "epci" and t.code in self.static.whole_epcis):
            return self.static.commune_block(self.wh, t.departement_code, self.year)
        return self.static.block(self.wh, t, self.year, lambda: self.employment)

    @property
    def key_protected(self) -> tuple[str, str]:
        return (self.protected_as.level, self.protected_as.code)

    def ess(self, measure: str, year: int | None = None, kind: int = 0) -> tuple[float, bool]:
        return self.block.get(measure, self.block.cell(self.key_protected, year or self.year, kind))

    def total(self, measure: str = "employees") -> tuple[float, bool]:
        """The ESS total of a measure for the year, masked as on the territory's own portrait,
        without building its block when the national solution holds the cell (France,
        régions, départements): a block leaves those cells' masks as they are, since every
        relation of their totals is a national one but the métropole split, whose own two
        cells are always there to mask first."""
        national = self.static.national_masks(self.wh)
        if self.key_protected not in national.index:
            return self.ess(measure)
        row = self.employment.get(self.year)
        cell = national.grid_cells([self.key_protected], [self.year])[0]
        value = row[ESS_COLUMNS[measure]] if row else 0.0
        return value, bool(national.masks[measure][cell])

    # Output -------------------------------------------------------------------------------

    def add(
        self,
        indicator: str,
        value,
        secret: bool = False,
        *,
        year: int | None = None,
        breakdown: str | None = None,
        category: str | None = None,
        category_label: str | None = None,
        available: bool = True,
        series_break: bool = False,
        note: str | None = None,
        source: str | None = None,
    ) -> None:
        """One row; ``source``: the row's own (a published figure), else the indicator's for
        the row's year. A measure the year's source does not give is « n.d. »."""
        year = year or self.year
        value = float(value) if value is not None and not pd.isna(value) else np.nan
        if not np.isfinite(value):
            value = np.nan
        unknown = [
            m for m in MEASURE_OF.get(indicator, ()) if m in self.static.unknown.get(year, ())
        ]
        if unknown:
            value, secret, available, note = np.nan, False, False, UNKNOWN_MEASURE[unknown[0]]
        self.rows.append(
            dict(
                indicator=indicator,
                year=year,
                breakdown=breakdown,
                category=category,
                category_label=category_label,
                value=value,
                secret=bool(secret),
                available=available,
                series_break=series_break,
                note=note,
                source=source,
            )
        )

    # Themes ------------------------------------------------------------------------------

    def not_loaded(self, theme: str) -> None:
        """A theme computed from ESS facts, in a year without any: each indicator « n.d. »."""
        note = f"{NOT_LOADED} pour {self.year} (aucun établissement de l'ESS)"
        for code, meta in REGISTRY.items():
            if meta.theme == theme:
                self.add(code, np.nan, available=False, note=note, source=NO_SOURCE)

    # Assembly ----------------------------------------------------------------------------

    def frame(self, themes, secrecy_on: bool) -> pd.DataFrame:
        frame = _assemble([self.columns(themes)], secrecy_on)
        frame.attrs = {
            "territory": self.t.label,
            "year": self.year,
            "secrecy": secrecy_on,
            "facts": self.has_facts,  # ESS facts for the year (else their themes are n.d.)
            "estimate": self.static.series.get(self.year) == "SIRENE",
            "indicators": {
                code: vars(REGISTRY[code]) for code in dict.fromkeys(frame["indicator"])
            },
        }
        return frame

    def columns(self, themes) -> dict[str, list]:
        """The rows of ``themes`` as columns of the tidy frame (``COLUMNS``), secrecy not yet
        applied."""
        for theme in themes:
            if theme in FACT_THEMES and not self.has_facts:
                self.not_loaded(theme)
            else:
                getattr(self, theme)()
        rows = self.rows
        meta = [REGISTRY[row["indicator"]] for row in rows]
        columns = {name: [row[name] for row in rows] for name in rows[0]} if rows else {}
        n = len(rows)
        columns.update(
            theme=[m.theme for m in meta],
            label=[m.label for m in meta],
            level=[self.t.level] * n,
            code=[self.t.code] * n,
            name=[self.t.name] * n,
            unit=[m.unit for m in meta],
            source=[
                row["source"] or self.static.source(m, row["year"]) for row, m in zip(rows, meta)
            ],
            display=[None] * n,
        )
        return columns


def _assemble(parts: list[dict[str, list]], secrecy_on: bool) -> pd.DataFrame:
    """The tidy frame of the columns of one portrait or more, secrecy applied, with what a
    reader sees (``display``)."""
    columns = {name: [v for part in parts for v in part.get(name, ())] for name in COLUMNS}
    frame = pd.DataFrame(columns, columns=COLUMNS).astype({"year": "int64"})
    frame = secrecy.mask_output(frame, secrecy_on)
    meta = [REGISTRY[code] for code in frame["indicator"]]
    frame["display"] = [
        secrecy.MARK if s else display(v, m.fmt, a)
        for v, s, m, a in zip(frame["value"], frame["secret"], meta, frame["available"])
    ]
    return frame
