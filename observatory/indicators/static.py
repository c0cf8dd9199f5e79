"""What never changes for one warehouse (years, series, sectors, labels, territories), loaded
once and kept for the warehouse's life, with the blocks of cells last used."""

from __future__ import annotations

import atexit
import gc
import weakref
import zlib
from collections import OrderedDict
from collections.abc import Callable
from datetime import date
from functools import cached_property
from typing import TYPE_CHECKING, TypeVar

import numpy as np
import pandas as pd

from observatory import published, search
from observatory.families import FAMILY_CODES
from observatory.indicators.definitions import (
    DEMO_SOURCE,
    GEOGRAPHY_SOURCE,
    POPULATION_SOURCE,
    SIRENE_SOURCE,
    Indicator,
    Territory,
)
from observatory.secrecy.cells import _Block, _NationalMasks
from observatory.secrecy.masks import FINE_INDEX, IDF, MEASURES, PARENT, RAW_MEASURES
from observatory.size_classes import SIZE_CLASS_CODES

if TYPE_CHECKING:
    from observatory.warehouse import Warehouse


# The columns of ``employment_by_territory`` a portrait reads, by year.
EMPLOYMENT_COLUMNS = (
    "ess_establishments",
    "private_non_ess_establishments",
    "public_establishments",
    "ess_employees",
    "private_non_ess_employees",
    "public_employees",
    "ess_fte",
    "private_non_ess_fte",
    "public_fte",
    "ess_wages",
    "private_non_ess_wages",
    "public_wages",
    "metro_ess_establishments",
    "metro_ess_employees",
    "metro_ess_top_employees",
    "other_ess_top_employees",
    "metro_total_employees",
    "communes",
    "communes_with_ess",
)


class _Static:
    """What never changes for one warehouse: years, series, sectors, labels."""

    KEPT_BLOCKS = 4
    KEPT_COMMUNE_BLOCKS = 2
    KEPT_MEMBER_ROWS = 4  # two breakdowns of two blocks

    def __init__(self, wh: Warehouse):
        con = wh.connection
        self._national: _NationalMasks | None = None
        years = con.execute("SELECT year, series FROM years ORDER BY year").fetchall()
        self.years = [int(y) for y, _ in years]
        self.series = {int(y): s for y, s in years}
        self.families = dict(
            con.execute("SELECT family_code, label FROM families ORDER BY sort_order").fetchall()
        )
        self.size_classes = dict(
            con.execute("SELECT size_class, label FROM size_classes ORDER BY sort_order").fetchall()
        )
        self.has_sizes = bool(
            con.execute("SELECT count(*) FROM (SELECT 1 FROM ess_size_facts LIMIT 1)").fetchall()[
                0
            ][0]
        )
        sectors = con.execute(
            "SELECT DISTINCT a88_code, a88_label, a38_code, a38_label, a21_code, a21_label "
            "FROM sectors ORDER BY a88_code"
        ).fetchall()
        self.a88 = [row[0] for row in sectors]
        self.a38 = sorted({row[2] for row in sectors})
        self.a21 = sorted({row[4] for row in sectors})
        self.a88_to = {
            "a38": np.array([self.a38.index(row[2]) for row in sectors]),
            "a21": np.array([self.a21.index(row[4]) for row in sectors]),
        }
        # A88 columns grouped by A38 and by A21 (every group has divisions), for reduceat.
        self.a88_groups = {
            level: (
                np.argsort(index, kind="stable"),
                np.searchsorted(np.sort(index), np.arange(index.max() + 1)),
            )
            for level, index in self.a88_to.items()
        }
        self.a38_to_a21 = np.array(
            [self.a21.index(next(row[4] for row in sectors if row[2] == a38)) for a38 in self.a38]
        )
        self.labels = {}
        for a88, a88_label, a38, a38_label, a21, a21_label in sectors:
            self.labels.update(
                {("a88", a88): a88_label, ("a38", a38): a38_label, ("a21", a21): a21_label}
            )
        self._domains(con)
        # ESS employees of France by fine unit, every year; fine units present in France (any
        # establishment or employee), the sectors of every block and the national solution.
        self.france_fine = {year: self.by_fine(con, "france", "FR", year) for year in self.years}
        self.france_present = {
            year: (self.by_fine(con, "france", "FR", year, "establishments") > 0) | (fine > 0)
            for year, fine in self.france_fine.items()
        }
        self.france_sectors = {
            year: self.fine_rollup_rows(fine[None, :])["a88"][0]
            for year, fine in self.france_fine.items()
        }
        self.whole_epcis = {
            code
            for (code,) in con.execute(
                """
            SELECT tc.code FROM territory_communes AS tc
            JOIN territories AS c ON c.level = 'commune' AND c.code = tc.commune_code
            WHERE tc.level = 'epci' GROUP BY tc.code
            HAVING count(DISTINCT c.departement_code) = 1
            """
            ).fetchall()
        }
        self.demo = bool(con.execute("SELECT bool_or(synthetic) FROM sources").fetchall()[0][0])
        self.stored_masks = wh.has_table("commune_masks") and bool(
            con.execute("SELECT count(*) FROM (SELECT 1 FROM commune_masks LIMIT 1)").fetchall()[0][
                0
            ]
        )
        self._rankings: dict[tuple[str, int], dict[str, np.ndarray]] = {}
        self._employment: dict[tuple[str, str], dict[int, dict]] = {}
        self._region_sectors: dict[tuple[str, int], np.ndarray] = {}
        self._commune_blocks: OrderedDict[tuple[str | None, int], _Block] = OrderedDict()
        self._blocks: OrderedDict[tuple[str, str, int], _Block] = OrderedDict()
        self._member_rows: OrderedDict[tuple, dict[str, np.ndarray]] = OrderedDict()
        self.territories: dict[tuple[str, str], Territory] = {}
        self.children: dict[tuple[str, str | None], list[Territory]] = {}
        self.epci_communes: dict[str, list[Territory]] = {}
        for row in con.execute(
            "SELECT level, code, name, region_code, departement_code, epci_code, epci_type, "
            "population::DOUBLE FROM territories ORDER BY level, code"
        ).fetchall():
            territory = Territory(*row)
            self.territories[(territory.level, territory.code)] = territory
            column = PARENT.get(territory.level, (None, None))[1]
            parent = getattr(territory, column) if column else None
            self.children.setdefault((territory.level, parent), []).append(territory)
            if territory.level == "commune" and territory.epci_code:
                self.epci_communes.setdefault(territory.epci_code, []).append(territory)
        # Measures a year's source does not give (SIRENE: FTE and wages), shown « n.d. ».
        self.unknown = {
            int(year): {m for m, known in (("fte", fte), ("gross_wages", wages)) if not known}
            for year, fte, wages in con.execute(
                "SELECT year, bool_or(fte IS NOT NULL), bool_or(gross_wages IS NOT NULL) "
                "FROM ess_by_territory WHERE level = 'france' GROUP BY year"
            ).fetchall()
        }
        self.published = (
            published.Figures(con, self.territories)
            if wh.has_table("published_indicators")
            else None
        )
        published_years = self.published.years if self.published else []
        # Every year a portrait may show: the facts' and the published figures'.
        self.all_years = sorted(set(self.years) | set(published_years))
        self.default_year = (
            self.years[-1]
            if self.years
            else (self.all_years[-1] if self.all_years else _latest_vintage(con))
        )

    def _domains(self, con) -> None:
        """The activity domains and the finest units of the ESS cells: each A88 division within
        each of its domains (``fine``, sorted by division). A division split between domains
        (94: 94.99Z apart) has one unit per domain, its ``pieces``: cells of the secrecy
        relations (domain = its divisions and pieces, division = its pieces), never published.
        """
        fine = con.execute(
            "SELECT DISTINCT a88_code, domain_code FROM sectors ORDER BY a88_code, domain_code"
        ).fetchall()
        self.fine = [f"{a88}|{domain}" for a88, domain in fine]
        domains = con.execute(
            "SELECT domain_code, label, naf_codes FROM domains "
            "WHERE domain_code IN (SELECT domain_code FROM sectors) ORDER BY sort_order"
        ).fetchall()
        self.domains = [code for code, _, _ in domains]
        self.domain_naf = {code: naf for code, _, naf in domains}
        self.labels.update({("domain", code): label for code, label, _ in domains})
        fine_a88 = np.array([self.a88.index(a88) for a88, _ in fine], dtype=np.int64)
        fine_domain = np.array([self.domains.index(d) for _, d in fine], dtype=np.int64)
        self.fine_a88, self.fine_domain = fine_a88, fine_domain
        self.fine_starts = np.searchsorted(fine_a88, np.arange(len(self.a88)))
        self.domain_groups = (
            np.argsort(fine_domain, kind="stable"),
            np.searchsorted(np.sort(fine_domain), np.arange(len(self.domains))),
        )
        split = np.bincount(fine_a88, minlength=len(self.a88)) > 1
        self.pieces = np.flatnonzero(split[fine_a88])
        # A domain's cells in its sum: the largest sectors lying wholly inside it (a section,
        # else an A38 group, else a division), else the pieces of its split divisions. The sum
        # of its divisions follows from the sectors' own relations; these few relations leave
        # fewer cells alone than one cell per division would.
        a88_domains = [set(fine_domain[fine_a88 == a]) for a in range(len(self.a88))]
        a88_of = {
            "a88": [[a] for a in range(len(self.a88))],
            "a38": [np.flatnonzero(self.a88_to["a38"] == u) for u in range(len(self.a38))],
            "a21": [np.flatnonzero(self.a88_to["a21"] == u) for u in range(len(self.a21))],
        }
        self.domain_parts = []
        for d in range(len(self.domains)):
            parts = []
            for f in np.flatnonzero(fine_domain == d):
                a = int(fine_a88[f])
                if split[a]:
                    parts.append(("piece", int(np.flatnonzero(self.pieces == f)[0])))
                    continue
                for level in ("a21", "a38", "a88"):
                    upper = a if level == "a88" else int(self.a88_to[level][a])
                    if all(a88_domains[b] == {d} for b in a88_of[level][upper]):
                        parts.append((level, upper))
                        break
            self.domain_parts.append(list(dict.fromkeys(parts)))
        # Slots free in the domains' layer: the pieces and the domains that are not one sector
        # under another name (« Santé humaine » is QA: masked with it, never instead of it).
        self.free_slots = {("piece", p) for p in range(len(self.pieces))} | {
            ("domain", d)
            for d, parts in enumerate(self.domain_parts)
            if len(parts) > 1 or parts[0][0] == "piece"
        }
        self.split_a88 = {
            int(a): [int(p) for p in np.flatnonzero(fine_a88[self.pieces] == a)]
            for a in np.flatnonzero(split)
        }

    def present_slots(self, fine: np.ndarray) -> set[tuple[str, int]]:
        """The sector slots (``_Block.SLOT_LEVELS``) holding one of the fine units ``fine``
        (booleans in ``self.fine`` order)."""
        rolled = self.fine_rollup_rows(np.asarray(fine, dtype=float)[None, :])
        return {(level, int(i)) for level, row in rolled.items() for i in np.flatnonzero(row[0])}

    def slot_sizes(self) -> dict[str, int]:
        """How many sector slots of each level (``_Block.SLOT_LEVELS``)."""
        return {
            "a21": len(self.a21),
            "a38": len(self.a38),
            "a88": len(self.a88),
            "domain": len(self.domains),
            "piece": len(self.pieces),
        }

    def sector_sums(
        self, present: set, domains: bool = False
    ) -> list[tuple[tuple[str, int] | None, list]]:
        """(whole, parts) of the additive relations between a territory's sector slots, as
        slot keys (``None`` for its total): total = its A21 sections, a section = its A38, an
        A38 = its divisions; or, with ``domains``, total = its domains, a domain = its largest
        sectors and pieces (``domain_parts``), a split division = its pieces. Only the
        ``present`` slots (the others are zero everywhere)."""
        groups = (
            [
                (None, [("domain", d) for d in range(len(self.domains))]),
                *[(("domain", d), parts) for d, parts in enumerate(self.domain_parts)],
                *[
                    (("a88", a), [("piece", p) for p in parts])
                    for a, parts in self.split_a88.items()
                ],
            ]
            if domains
            else [
                (None, [("a21", i) for i in range(len(self.a21))]),
                *[
                    (("a21", u), [("a38", j) for j in np.flatnonzero(self.a38_to_a21 == u)])
                    for u in range(len(self.a21))
                ],
                *[
                    (("a38", u), [("a88", j) for j in np.flatnonzero(self.a88_to["a38"] == u)])
                    for u in range(len(self.a38))
                ],
            ]
        )
        sums = []
        for whole, parts in groups:
            parts = [(level, int(i)) for level, i in parts if (level, int(i)) in present]
            if (whole is None or whole in present) and parts:
                sums.append((whole, parts))
        return sums

    def fine_rollup_rows(self, grid: np.ndarray, how: str = "sum") -> dict[str, np.ndarray]:
        """Rows of fine-unit vectors summed (or maxed) up to A88, A38, A21 and the domains, with
        the pieces (one row per territory)."""
        reduce = np.add.reduceat if how == "sum" else np.maximum.reduceat
        out = self.rollup_rows(reduce(grid, self.fine_starts, axis=1), how)
        order, starts = self.domain_groups
        out["domain"] = reduce(grid[:, order], starts, axis=1)
        out["piece"] = grid[:, self.pieces]
        return out

    def source(self, meta: Indicator, year: int) -> str:
        """The source of an indicator's value for a year: the demo's, SIRENE's estimate of
        that year (with INSEE's population or geography where the indicator uses them), or
        the indicator's own."""
        if self.demo:
            return DEMO_SOURCE
        if self.series.get(year) == "SIRENE":
            estimate = SIRENE_SOURCE.format(year=year)
            if meta.source in (POPULATION_SOURCE, GEOGRAPHY_SOURCE):
                return f"{estimate} ; {meta.source}"
            return estimate
        return meta.source

    @cached_property
    def search_index(self) -> pd.DataFrame:
        """Every territory's level, code, name and population, indexed for
        :func:`observatory.search.find`."""
        return search.index(
            pd.DataFrame(
                [(t.level, t.code, t.name, t.population) for t in self.territories.values()],
                columns=["level", "code", "name", "population"],
            )
        )

    def breakdowns(self) -> list[tuple[str, str, list[str], int]]:
        """(table, column, categories, first kind) of the cells that sum to a total: the
        families, and the size classes when a loaded source gives them."""
        breakdowns = [("ess_by_territory", "family_code", FAMILY_CODES, _Block.FAMILIES.start)]
        if self.has_sizes:
            breakdowns.append(
                ("ess_size_by_territory", "size_class", SIZE_CLASS_CODES, _Block.SIZES.start)
            )
        return breakdowns

    def member_rows(
        self, con, level: str, codes: list[str], breakdown: tuple[str, str, list[str], int]
    ) -> dict[str, np.ndarray]:
        """Rows of a breakdown (one of ``breakdowns()``) for the territories ``codes`` of a
        level (in code order), every year, with ``m``: the position of each row's territory in
        ``codes``. The last few are kept: the blocks of every year read the same rows.

        The range ``$low``..``$high`` is a zone-map scan of the sorted marts; the join keeps
        the territories' own rows and numbers them."""
        table, column, categories, first = breakdown
        by_a88 = column == "family_code"
        query = f"""
            SELECT m, list_position($years, year) - 1 AS y,
                   $first + list_position($categories, {column}) - 1 AS k,
                   {FINE_INDEX if by_a88 else "-1"} AS i,
                   {RAW_MEASURES}
            FROM {table}
            JOIN (SELECT unnest($codes) AS code, unnest(range(len($codes))) AS m) USING (code)
            WHERE level = $level AND code BETWEEN $low AND $high
              AND list_contains($years, year)
            """
        params = dict(
            codes=codes,
            low=codes[0],
            high=codes[-1],
            level=level,
            years=self.years,
            categories=categories,
            first=first,
            **({"fine": self.fine} if by_a88 else {}),
        )
        return _kept(
            self._member_rows,
            (table, level, codes[0], codes[-1], len(codes)),
            self.KEPT_MEMBER_ROWS,
            lambda: {
                name: np.asarray(values)
                for name, values in con.execute(query, params).fetchnumpy().items()
            },
        )

    def national_masks(self, wh: Warehouse) -> _NationalMasks:
        """Masks of France, the régions and the départements, solved once per warehouse."""
        if self._national is None:
            self._national = _NationalMasks(wh, self)
        return self._national

    def commune_block(self, wh: Warehouse, departement: str, year: int) -> _Block:
        """The cells of a département's communes, of the EPCIs lying wholly inside it and of
        itself, for a year: shared by the portraits of all of them; the last two are kept
        (callers go through a département's territories together; an EPCI straddling two
        départements needs both)."""
        commune = self.children[("commune", departement)][0]
        return _kept(
            self._commune_blocks,
            (departement, year),
            self.KEPT_COMMUNE_BLOCKS,
            lambda: _Block(
                wh,
                commune,
                self,
                local_year=year,
                masks=self.commune_masks(wh.connection, departement, year),
            ),
        )

    def commune_masks(self, con, departement: str, year: int) -> dict[str, np.ndarray] | None:
        """The masks of a département's commune block stored at build, or None (none stored:
        a warehouse whose marts were recomputed by an ingest)."""
        if not self.stored_masks:
            return None
        rows = con.execute(
            f"SELECT cells, {', '.join(MEASURES)} FROM commune_masks "
            "WHERE departement_code = $departement AND year = $year",
            dict(departement=departement, year=year),
        ).fetchall()
        if not rows:
            return None
        cells, *packed = rows[0]
        return {
            measure: np.unpackbits(
                np.frombuffer(zlib.decompress(bits), np.uint8), count=cells
            ).astype(bool)
            for measure, bits in zip(MEASURES, packed)
        }

    def block(
        self,
        wh: Warehouse,
        territory: Territory,
        year: int,
        employment: Callable[[], dict[int, dict]],
    ) -> _Block:
        """The block of a territory above the communes for a year (the last few are kept: a
        département's block also serves every commune portrait compared with it)."""
        return _kept(
            self._blocks,
            (territory.level, territory.code, year),
            self.KEPT_BLOCKS,
            lambda: _Block(wh, territory, self, local_year=year, employment=employment()),
        )

    def ranking_table(self, con, level: str, year: int) -> dict[str, np.ndarray]:
        """ESS employees and share of every territory of a level, for rankings (cached)."""
        key = (level, year)
        if key not in self._rankings:
            column = PARENT[level][1] or "level"
            rows = con.execute(
                f"""
                SELECT e.code, t.{column} AS parent, e.ess_employees::DOUBLE AS employees,
                       e.ess_employees / nullif(e.ess_employees + e.private_non_ess_employees
                                                + e.public_employees, 0) AS share
                FROM employment_by_territory AS e JOIN territories AS t USING (level, code)
                WHERE e.level = $level AND e.year = $year
                """,
                dict(level=level, year=year),
            ).fetchnumpy()
            self._rankings[key] = {  # codes as fixed-width strings: 35,000 communes
                "code": np.asarray(rows["code"], dtype=str),
                "parent": np.asarray(rows["parent"], dtype=str),
                "employees": np.asarray(rows["employees"], dtype=float),
                "share": np.ma.filled(np.ma.asarray(rows["share"], dtype=float), np.nan),
            }
        return self._rankings[key]

    def employment(self, con, territory: Territory) -> dict[int, dict]:
        """Rows of ``employment_by_territory`` for a territory, by year (kept above the
        communes: France, a région or a département is every portrait's reference)."""
        key = (territory.level, territory.code)
        if key in self._employment:
            return self._employment[key]
        by_year = self.employment_of(con, territory.level, [territory.code]).get(territory.code, {})
        if territory.level in _NationalMasks.LEVELS:
            self._employment[key] = by_year
        return by_year

    def employment_of(self, con, level: str, codes: list[str]) -> dict[str, dict[int, dict]]:
        """Rows of ``employment_by_territory`` for the territories ``codes`` of a level, by code
        and year, in one query (a code without rows is left out)."""
        rows = con.execute(
            f"SELECT code, year, {', '.join(EMPLOYMENT_COLUMNS)} FROM employment_by_territory "
            "JOIN (SELECT unnest($codes) AS code) USING (code) WHERE level = $level",
            dict(level=level, codes=codes),
        ).fetchnumpy()
        names = ("year", *EMPLOYMENT_COLUMNS)
        values = zip(  # Python floats, NULL as NaN
            *(
                np.ma.filled(np.ma.asarray(rows[name], dtype=float), np.nan).tolist()
                for name in names
            )
        )
        found: dict[str, dict[int, dict]] = {}
        for code, year, row in zip(rows["code"], rows["year"], values):
            found.setdefault(str(code), {})[int(year)] = dict(zip(names, row))
        return found

    def province_employment(self, con) -> dict[int, dict]:
        """« France de province »'s rows of ``employment_by_territory``: France's less
        Île-de-France's, by year."""
        france = self.employment(con, self.territories[("france", "FR")])
        idf = self.employment(con, self.territories[("region", IDF)])
        return {
            year: {
                column: value - idf.get(year, {}).get(column, 0.0) for column, value in row.items()
            }
            for year, row in france.items()
        }

    def region_sectors(self, con, region: str, year: int) -> np.ndarray:
        """ESS employees of a région by A88 division (kept: every portrait inside it)."""
        if (region, year) not in self._region_sectors:
            self._region_sectors[(region, year)] = self.by_a88(con, "region", region, year)
        return self._region_sectors[(region, year)]

    def by_a88(self, con, level: str, code: str, year: int) -> np.ndarray:
        """ESS employees of a territory by A88 division (in ``self.a88`` order)."""
        return self.fine_rollup_rows(self.by_fine(con, level, code, year)[None, :])["a88"][0]

    def by_fine(
        self, con, level: str, code: str, year: int, measure: str = "employees"
    ) -> np.ndarray:
        """ESS employees (or another measure) of a territory by fine unit (in ``self.fine``
        order)."""
        rows = con.execute(
            f"SELECT {FINE_INDEX} AS i, sum({measure})::DOUBLE AS n "
            "FROM ess_by_territory WHERE level = $level AND code = $code AND year = $year "
            "GROUP BY ALL",
            dict(fine=self.fine, level=level, code=code, year=year),
        ).fetchnumpy()
        vector = np.zeros(len(self.fine))
        vector[rows["i"]] = rows["n"]
        return vector

    def rollup_rows(self, grid: np.ndarray, how: str = "sum") -> dict[str, np.ndarray]:
        """Rows of A88 vectors summed (or maxed) up to A38 and A21, one row per territory."""
        out = {"a88": grid}
        reduce = np.add.reduceat if how == "sum" else np.maximum.reduceat
        for level, (order, starts) in self.a88_groups.items():
            out[level] = reduce(grid[:, order], starts, axis=1)
        return out

    def rollup(self, vector: np.ndarray, how: str = "sum") -> dict[str, np.ndarray]:
        """An A88 vector summed (or maxed) up to A38 and A21."""
        return {level: rows[0] for level, rows in self.rollup_rows(vector[None, :], how).items()}


Kept = TypeVar("Kept")


def _kept(cache: OrderedDict, key, size: int, make: Callable[[], Kept]) -> Kept:
    """The cached value of ``key``, made if missing; only the ``size`` last used are kept."""
    if key not in cache:
        cache[key] = make()
        while len(cache) > size:
            cache.popitem(last=False)
    cache.move_to_end(key)
    return cache[key]


_STATIC: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()
atexit.register(gc.unfreeze)  # what ``_static`` froze, back for the interpreter's last collection


def _static(wh: Warehouse) -> _Static:
    if wh not in _STATIC:
        _STATIC[wh] = _Static(wh)
        # The dimensions just loaded live as long as the process: left to the cyclic garbage
        # collector, each of its full passes walks them again (50-60 ms, a portrait's time).
        gc.freeze()
    return _STATIC[wh]


def _latest_vintage(con) -> int:
    """The latest year named by a loaded file's vintage (``2024``, ``2024-01``), else this year:
    the year of the portraits of a warehouse without any figure."""
    found = con.execute(
        "SELECT max(TRY_CAST(regexp_extract(vintage, '^((19|20)\\d{2})', 1) AS INTEGER)) "
        "FROM sources WHERE NOT source LIKE 'reference:%'"
    ).fetchall()[0][0]
    return int(found) if found else date.today().year
