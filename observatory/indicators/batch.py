"""The inputs of many portraits read at once (:func:`~.engine.compute_many`): one query over
all the territories of a level instead of one per territory."""

from __future__ import annotations

from typing import TYPE_CHECKING

from observatory.indicators.static import _static

if TYPE_CHECKING:
    import numpy as np

    from observatory.warehouse import Warehouse


class _Batch:
    """The inputs of the territories of one level read at once: their employment rows (every
    year) and, by year on demand, their salaried employment by A88 division."""

    def __init__(self, wh: Warehouse, level: str, codes: list[str]):
        self.wh, self.level, self.codes = wh, level, codes
        self.static = _static(wh)
        self.employment = self.static.employment_of(wh.connection, level, codes)
        self._sector_rows: dict[int, dict[str, dict[str, np.ndarray]]] = {}

    def sector_rows(self, year: int) -> dict[str, dict[str, np.ndarray]]:
        if year not in self._sector_rows:
            self._sector_rows[year] = self.static.sector_rows(
                self.wh.connection, self.level, self.codes, year
            )
        return self._sector_rows[year]
