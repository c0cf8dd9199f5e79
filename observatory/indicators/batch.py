"""The inputs of many portraits read at once (:func:`~.engine.compute_many`): one query over
all the territories of a level instead of one per territory."""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from observatory.indicators.static import _static

if TYPE_CHECKING:
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
            self._sector_rows[year] = sector_rows(
                self.static, self.wh.connection, self.level, self.codes, year
            )
        return self._sector_rows[year]


def sector_rows(
    static, con, level: str, codes: list[str], year: int
) -> dict[str, dict[str, np.ndarray]]:
    """Salaried employment outside the ESS (communes: private and public, from
    ``employment_totals``) or in all (other levels) by A88 division of the territories
    ``codes`` of a level for a year, in one query: by code, ``i`` (division) and ``n``."""
    if level == "commune":
        query = (
            "SELECT commune_code AS code, list_position($a88, a88_code) - 1 AS i, "
            "(private_non_ess_employees + public_employees)::DOUBLE AS n "
            "FROM employment_totals JOIN (SELECT unnest($codes) AS commune_code) "
            "USING (commune_code) WHERE year = $year"
        )
        params = dict(a88=static.a88, codes=codes, year=year)
    else:
        query = (
            "SELECT code, list_position($a88, a88_code) - 1 AS i, total_employees::DOUBLE AS n "
            "FROM sector_employment_by_territory JOIN (SELECT unnest($codes) AS code) "
            "USING (code) WHERE level = $level AND year = $year"
        )
        params = dict(a88=static.a88, codes=codes, level=level, year=year)
    rows = con.execute(query, params).fetchnumpy()
    code = np.asarray(rows["code"], dtype=str)
    order = np.argsort(code, kind="stable")  # rows of one code keep their order
    code, i, n = code[order], np.asarray(rows["i"])[order], np.asarray(rows["n"])[order]
    starts = np.flatnonzero(np.r_[True, code[1:] != code[:-1]]) if len(code) else []
    ends = [*starts[1:], len(code)]
    return {code[a]: dict(i=i[a:b], n=n[a:b]) for a, b in zip(starts, ends)}
