"""Cells and masks: the blocks of cells protected together (France, régions and départements
in one national solution; a territory with its siblings and parent), so that a figure masked
on one page is masked on all of them."""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from observatory.families import FAMILY_CODES
from observatory.secrecy import rules
from observatory.secrecy.masks import (
    CELL_MEASURES,
    FINE_INDEX,
    IDF,
    MEASURES,
    PARENT,
    PROVINCE,
    TOPS,
    _accumulate,
    _merged,
    _solve,
)
from observatory.size_classes import SIZE_CLASS_CODES

if TYPE_CHECKING:
    from observatory.indicators.definitions import Territory
    from observatory.indicators.static import _Static
    from observatory.warehouse import Warehouse


class _NationalMasks:
    """One secrecy solution for France, the régions and the départements: their totals and
    families for every year and their sectors (A21 ⊃ A38 ⊃ A88) and activity domains, protected
    together in every additive relation (total = families = sections = domains, parent =
    children). Every block starts from it, so a figure masked on one page is masked on all of
    them and no combination of pages (a région beside its départements, a département beside
    France) gives a masked cell away.

    « France de province » (France less Île-de-France) is one more territory of the solution:
    its totals are published beside France's and Île-de-France's, so France = province +
    Île-de-France for each of them (its other cells are published nowhere, and a reader who
    subtracts Île-de-France's from France's learns nothing the relations do not hold).
    """

    LEVELS = ("france", "region", "departement")

    def __init__(self, wh: Warehouse, static: _Static):
        self.static = static
        territories = [
            t
            for level in self.LEVELS
            for (lvl, _), t in sorted(static.territories.items())
            if lvl == level
        ]
        self.index = {(t.level, t.code): i for i, t in enumerate(territories)}
        others = [i for (level, code), i in self.index.items() if level == "region" and code != IDF]
        if ("region", IDF) in self.index and ("france", "FR") in self.index and others:
            self.index[PROVINCE] = len(territories)
        years, kinds = static.years, _Block.KINDS
        sizes = static.slot_sizes()
        self.slots = {
            slot: n
            for n, slot in enumerate(
                (level, i) for level in _Block.SLOT_LEVELS for i in range(sizes[level])
            )
        }
        n_t, n_y, n_k, n_s = len(self.index), len(years), kinds, len(self.slots)
        self.grid_size = n_t * n_y * n_k
        columns = (*MEASURES, *TOPS.values())
        grid = {column: np.zeros((n_t, n_y, n_k)) for column in columns}
        fine = {column: np.zeros((n_t, n_y, len(static.fine))) for column in columns}
        for table, column, categories, first in static.breakdowns():
            by_fine = column == "family_code"  # the families' cells also give the sectors
            rows = wh.connection.execute(
                f"""
                SELECT level, code, list_position($years, year) - 1 AS y,
                       $first + list_position($categories, {column}) - 1 AS k,
                       {FINE_INDEX if by_fine else "-1"} AS i,
                       {CELL_MEASURES}
                FROM {table}
                WHERE list_contains($levels, level) AND list_contains($years, year)
                GROUP BY ALL
                """,
                dict(
                    years=years,
                    categories=categories,
                    first=first,
                    levels=list(self.LEVELS),
                    **({"fine": static.fine} if by_fine else {}),
                ),
            ).fetchnumpy()
            t = np.array(
                [self.index[key] for key in zip(rows["level"], rows["code"])], dtype=np.int64
            )
            y, k, i = (np.asarray(rows[c], dtype=np.int64) for c in ("y", "k", "i"))
            for name in columns:
                accumulate = np.maximum.at if name in TOPS.values() else np.add.at
                values = np.asarray(rows[name], dtype=float)
                accumulate(grid[name], (t, y, k), values)
                if by_fine:
                    accumulate(fine[name], (t, y, i), values)
        if PROVINCE in self.index:  # the régions but Île-de-France
            for name in columns:
                combine = np.max if name in TOPS.values() else np.sum
                for cells in (grid, fine):
                    cells[name][self.index[PROVINCE]] = combine(cells[name][others], axis=0)
        self.data = {}
        for name in columns:
            how = "max" if name in TOPS.values() else "sum"
            families = grid[name][:, :, _Block.FAMILIES]
            grid[name][:, :, 0] = families.max(2) if how == "max" else families.sum(2)
            rolled = static.fine_rollup_rows(fine[name].reshape(n_t * n_y, -1), how)
            sectors = np.concatenate([rolled[level] for level in _Block.SLOT_LEVELS], axis=1)
            self.data[name] = np.concatenate([grid[name].ravel(), sectors.ravel()])
        relations = rules.Relations()
        grid_cells = np.arange(self.grid_size).reshape(n_t, n_y, n_k)
        sector_cells = self.grid_size + np.arange(n_t * n_y * n_s).reshape(n_t, n_y, n_s)
        domains = rules.Relations()
        if PROVINCE in self.index:  # only its totals are published
            grid_cells, sector_cells, province = grid_cells[:-1], sector_cells[:-1], grid_cells[-1]
            domains.add(
                grid_cells[self.index[("france", "FR")], :, 0],
                np.stack([province[:, 0], grid_cells[self.index[("region", IDF)], :, 0]], axis=1),
            )
        n_sectors = sum(level in _Block.SECTOR_LEVELS for level, _ in self.slots)
        relations.add(grid_cells[:, :, 0], grid_cells[:, :, _Block.FAMILIES])  # total = families
        if static.has_sizes:
            relations.add(grid_cells[:, :, 0], grid_cells[:, :, _Block.SIZES])  # total = sizes
        families = []  # (parent, children) of every parent = sum of its children
        for (level, code), p in self.index.items():
            child_level = {"france": "region", "region": "departement"}.get(level)
            parent_code = code if level == "region" else None  # régions have no parent code
            children = [
                self.index[(child_level, c.code)]
                for c in static.children.get((child_level, parent_code), [])
            ]
            if children:
                families.append((p, children))
                relations.add(
                    grid_cells[p].ravel(), grid_cells[children].reshape(len(children), -1).T
                )
        # The sectors of each year present in France, as in every block: a sector absent
        # there is zero everywhere, and a mask the blocks cannot see would protect nothing.
        for y, year in enumerate(years):
            present = static.present_slots(static.france_present[year])
            for layer, in_layer in ((relations, False), (domains, True)):
                for whole, parts in static.sector_sums(present, in_layer):
                    total = (
                        grid_cells[:, y, 0]
                        if whole is None
                        else sector_cells[:, y, self.slots[whole]]
                    )
                    layer.add(total, sector_cells[:, y, [self.slots[p] for p in parts]])
                slots = [self.slots[slot] for slot in sorted(present, key=self.slots.get)]
                slots = [n for n in slots if (n >= n_sectors) == in_layer]
                for p, children in families:
                    cells = sector_cells[:, y, slots]
                    layer.add(cells[p], cells[children].T)
        # The sectors first, then the domains and « France de province » with every other
        # mask fixed: a sector's mask is the same with or without them, unless no domain (or
        # province) cell can protect a relation.
        first = _solve(self.data, relations)
        free = np.zeros(len(self.data["employees"]), bool)
        free[sector_cells[:, :, [self.slots[slot] for slot in static.free_slots]].ravel()] = True
        free[self.grid_size - n_y * n_k * int(PROVINCE in self.index) : self.grid_size] = True
        self.masks = _solve(
            self.data,
            _merged(relations, domains),
            first,
            frozen={measure: ~free for measure in MEASURES},
        )
        del self.data  # only the masks serve from now on (seeds of every block)

    def grid_cells(self, keys: list[tuple[str, str]], years: list[int]) -> np.ndarray:
        """The cells of the territories' totals and families (territory, year, kind order), or
        -1 for a territory not protected here."""
        index = np.array([self.index.get(key, -1) for key in keys])
        y = np.array([self.static.years.index(year) for year in years])
        kinds = np.arange(_Block.KINDS)
        cells = (
            index[:, None, None] * len(self.static.years) + y[None, :, None]
        ) * _Block.KINDS + kinds[None, None, :]
        return np.where(index[:, None, None] >= 0, cells, -1).ravel()

    def sector_cells(
        self, key: tuple[str, str], year: int, slots: list[tuple[str, int]]
    ) -> np.ndarray:
        """The cells of a territory's sectors (one of France, the régions, the départements)."""
        y = self.static.years.index(year)
        start = self.grid_size + (self.index[key] * len(self.static.years) + y) * len(self.slots)
        return start + np.array([self.slots[slot] for slot in slots], dtype=np.int64)


class _Block:
    """ESS cells of a territory, its siblings and its parent (total and families, every year),
    plus the territory's own sectors and métropole split for one year, protected together.

    Every sibling's portrait builds the same block, so masks agree from one portrait to the next.
    """

    # Kinds of cell of a territory and year: the total, one per family, one per size class.
    FAMILIES = slice(1, 1 + len(FAMILY_CODES))
    SIZES = slice(FAMILIES.stop, FAMILIES.stop + len(SIZE_CLASS_CODES))
    KINDS = SIZES.stop
    SECTOR_LEVELS = ("a21", "a38", "a88")
    # Every sector slot of a member: the published sectors and domains, the unpublished pieces.
    SLOT_LEVELS = (*SECTOR_LEVELS, "domain", "piece")

    def __init__(
        self,
        wh: Warehouse,
        territory: Territory,
        static: _Static,
        local_year: int,
        employment: dict[int, dict] | None = None,
        masks: dict[str, np.ndarray] | None = None,
        grid_masks: dict[str, np.ndarray] | None = None,
    ):
        """``masks``: the block's masks stored at build (``store_commune_masks``), or None to
        solve them (they are solved too if their number of cells is not the block's);
        ``grid_masks``: the first layer's masks, the same for every local year (``grid_masks``
        of the block of another year), or None to solve that layer too."""
        con = wh.connection
        self.static = static
        self.years = years = static.years
        codes = self.members = self._members(con, territory)
        self.index = {key: i for i, key in enumerate(codes)}
        n_t, n_y, n_k = len(codes), len(years), self.KINDS
        self.grid_size = n_t * n_y * n_k
        columns = (*MEASURES, *TOPS.values())
        data = {column: np.zeros(self.grid_size) for column in columns}
        siblings = [code for _, code in codes[: self.siblings]]
        for breakdown in self.static.breakdowns():
            rows = self.static.member_rows(con, territory.level, siblings, breakdown)
            _accumulate(data, (rows["m"] * n_y + rows["y"]) * n_k + rows["k"], rows)
            if breakdown[1] == "family_code":  # the families' rows also give the local sectors
                now = rows["y"] == years.index(local_year)
                local_rows = {name: values[now] for name, values in rows.items()}
        # The parent and the EPCIs are sums of their members: no need to read them.
        groups = self._sums()[: 1 + len(self.epcis)]  # the parent's and EPCIs' sums of members
        for column in columns:
            grid = data[column].reshape(n_t, n_y * n_k)
            for target, members in groups:
                grid[target] = (
                    grid[members].max(axis=0)
                    if column in TOPS.values()
                    else grid[members].sum(axis=0)
                )
        for column in columns:
            grid = data[column].reshape(n_t * n_y, n_k)
            families = grid[:, self.FAMILIES]
            grid[:, 0] = families.max(axis=1) if column in TOPS.values() else families.sum(1)
        self.metro_cells: dict[str, int] = {}
        self.data = self._local_cells(territory, local_year, local_rows, data, employment)
        stored = masks is not None and len(masks["establishments"]) == len(self.data["employees"])
        self.masks = masks if stored else self._solve(wh, territory, local_year, grid_masks)
        # Only the measures' values and masks are read from now on (a dashboard kernel keeps
        # a block).
        for column in TOPS.values():
            del self.data[column], self.member_sectors[column]

    def _members(self, con, territory: Territory) -> list[tuple[str, str]]:
        """(level, code) of the siblings in code order (the same cells for every sibling's
        portrait), then the parent, then, at commune level, the EPCIs lying wholly inside the
        département. An EPCI straddling départements is alone in its block."""
        self.epcis: dict[str, list[str]] = {}
        self.siblings, self.parent = 1, None
        if territory.level == "france":
            return [("france", "FR")]
        parent_level, column = PARENT[territory.level]
        parent_code = "FR" if column is None else getattr(territory, column)
        if parent_code is None or territory.level == "epci":
            # No parent, or an EPCI straddling départements (those lying wholly inside one are
            # in its commune block): protected on its own, against its communes.
            return [(territory.level, territory.code)]
        siblings = [
            (t.code, t.epci_code)
            for t in self.static.children[
                (territory.level, None if column is None else parent_code)
            ]
        ]
        members = [(territory.level, code) for code, _ in siblings]
        members.append((parent_level, parent_code))
        if territory.level == "commune":
            for code, epci in siblings:
                if epci in self.static.whole_epcis:
                    self.epcis.setdefault(epci, []).append(code)
            members += [("epci", code) for code in sorted(self.epcis)]
        self.siblings = len(siblings)
        self.parent = (parent_level, parent_code)
        return members

    def cell(self, key: tuple[str, str], year: int, kind: int = 0) -> int:
        return (self.index[key] * len(self.years) + self.years.index(year)) * self.KINDS + kind

    def _sums(self) -> list[tuple[int, np.ndarray]]:
        """(whole, parts) member indices of every sum: the parent = its siblings; at commune
        level, each EPCI = its communes, and the parent = its EPCIs and the communes outside
        them (which protects the EPCIs from one another)."""
        if self.parent is None:
            return []
        sums = [(self.index[self.parent], np.arange(self.siblings))]
        inside = set()
        for epci, communes in self.epcis.items():
            sums.append(
                (
                    self.index[("epci", epci)],
                    np.array([self.index[("commune", c)] for c in communes]),
                )
            )
            inside.update(communes)
        if self.epcis:
            outside = [i for i in range(self.siblings) if self.members[i][1] not in inside]
            sums.append(
                (
                    self.index[self.parent],
                    np.array(
                        [self.index[("epci", e)] for e in sorted(self.epcis)] + outside,
                        dtype=np.int64,
                    ),
                )
            )
        return sums

    def _grid_relations(self) -> rules.Relations:
        """Relations of the totals, families and size classes of every year: total = its
        families, total = its size classes, and every sum of members per year and kind."""
        n_y, n_k = len(self.years), self.KINDS
        relations = rules.Relations()
        base = np.arange(len(self.members) * n_y) * n_k
        kinds = np.arange(n_k)
        relations.add(base, base[:, None] + kinds[self.FAMILIES])
        if self.static.has_sizes:
            relations.add(base, base[:, None] + kinds[self.SIZES])
        slots = (np.arange(n_y)[:, None] * n_k + np.arange(n_k)).ravel()  # (year, kind) offsets
        stride = n_y * n_k
        for whole, parts in self._sums():
            relations.add(whole * stride + slots, parts[None, :] * stride + slots[:, None])
        return relations

    def _local_cells(self, territory, year, rows, data, employment) -> dict:
        """Cells of the sector hierarchy (A21 ⊃ A38 ⊃ A88) of the territory, its siblings, its
        parent and (at commune level) the EPCIs lying wholly inside the parent, and the
        territory's métropole split, from the siblings' ``rows`` of the year by A88 division."""
        static = self.static
        keys = self.members  # siblings, parent, EPCIs: row m is member m
        n_m = len(keys)
        sums = self._sums()
        grids = {
            column: np.zeros((n_m, len(static.fine))) for column in (*MEASURES, *TOPS.values())
        }
        _accumulate(
            {column: grid.reshape(-1) for column, grid in grids.items()},
            rows["m"] * len(static.fine) + rows["i"],
            rows,
        )
        sectors = {}  # column → level → (member, sector) grid
        for column, grid in grids.items():
            for whole, parts in sums[: 1 + len(self.epcis)]:  # sums (or largest) of communes
                grid[whole] = (
                    grid[parts].max(axis=0) if column in TOPS.values() else grid[parts].sum(axis=0)
                )
            sectors[column] = static.fine_rollup_rows(
                grid, "max" if column in TOPS.values() else "sum"
            )
        self.member_sectors = sectors
        scope = grids["establishments"][self.siblings if self.parent else 0]
        present = static.fine_rollup_rows(
            ((scope > 0) | static.france_present[year]).astype(float)[None, :]
        )
        self.present = {level: np.flatnonzero(present[level][0]) for level in self.SLOT_LEVELS}
        # Cell of member m's sector slot p: size + m * n_p + p (slots: A21, A38, A88, domains,
        # pieces, in order).
        slots = [(level, int(i)) for level in self.SLOT_LEVELS for i in self.present[level]]
        position = {slot: p for p, slot in enumerate(slots)}
        n_p = len(slots)
        size = self.grid_size
        base = size + n_p * np.arange(n_m)
        extra = {
            column: np.concatenate(
                [sectors[column][level][:, self.present[level]] for level in self.SLOT_LEVELS],
                axis=1,
            ).ravel()
            for column in data
        }
        self.slot_position = position
        self.sector_member = {key: m for m, key in enumerate(keys)}
        self.sector_base = base
        metro = (employment or {}).get(year)
        if metro is not None:
            total = self.cell((territory.level, territory.code), year)
            split = {
                "establishments": [
                    metro["metro_ess_establishments"],
                    data["establishments"][total] - metro["metro_ess_establishments"],
                ],
                "employees": [
                    metro["metro_ess_employees"],
                    data["employees"][total] - metro["metro_ess_employees"],
                ],
                "top_employees": [
                    metro["metro_ess_top_employees"],
                    metro["other_ess_top_employees"],
                ],
            }
            for j, key in enumerate(("metro", "other")):
                self.metro_cells[key] = size + len(extra["employees"]) + j
            for column in data:
                pair = [float(v) for v in split[column]] if column in split else [0.0, 0.0]
                extra[column] = np.concatenate([extra[column], pair])
        return {c: np.concatenate([data[c], extra[c]]) for c in data}

    def _local_relations(
        self, territory: Territory, year: int, domains: bool = False
    ) -> rules.Relations:
        """Relations of the year's sectors: each member's total = its A21 sections, a section
        = its A38 groups, a group = its A88 divisions; or, with ``domains``, its total = its
        activity domains, a domain = its sectors and pieces, a split division = its pieces;
        a sector (domain, piece) of a sum of members = the sum of their sectors. Sectors are
        protected together with the siblings: a région's sector published beside all but one
        of its départements' would otherwise give the last one away by subtraction."""
        position, base = self.slot_position, self.sector_base
        relations = rules.Relations()
        totals = np.array([self.cell(key, year) for key in self.members])
        sums = self.static.sector_sums(set(position), domains)
        if not sums:
            return relations
        width = max(len(parts) for _, parts in sums)
        parts = np.full((len(sums), width), -1)
        for row, (_, group) in enumerate(sums):
            parts[row, : len(group)] = [position[p] for p in group]
        cells = np.where(parts[None, :, :] >= 0, base[:, None, None] + parts[None, :, :], -1)
        heads = np.array(
            [-1 if whole is None else position[whole] for whole, _ in sums], dtype=np.int64
        )
        wholes = np.where(heads[None, :] >= 0, base[:, None] + heads[None, :], totals[:, None])
        relations.add(wholes.ravel(), cells.reshape(len(base) * len(sums), width))
        offsets = np.array(
            [p for slot, p in position.items() if (slot[0] in ("domain", "piece")) == domains],
            dtype=np.int64,
        )
        for whole, parts in self._sums():
            relations.add(base[whole] + offsets, (base[parts][:, None] + offsets[None, :]).T)
        return relations

    def _national_cells(self, national: _NationalMasks, year: int) -> np.ndarray:
        """For each cell of the block, its cell in the national solution, or -1 (communes,
        EPCIs, the métropole split)."""
        slots = list(self.slot_position)
        sectors = np.full((len(self.members), len(slots)), -1, dtype=np.int64)
        for m, key in enumerate(self.members):
            if key in national.index:
                sectors[m] = national.sector_cells(key, year, slots)
        return np.concatenate(
            [
                national.grid_cells(self.members, self.years),
                sectors.ravel(),
                np.full(len(self.metro_cells), -1),
            ]
        )

    def _communes_masked(self, wh: Warehouse, territory: Territory, year: int) -> dict:
        """For an EPCI straddling départements: of its communes' cells (masked in their
        départements' blocks) that sum to each of its own cells (total, families and size
        classes of every year, sectors of the year), how many are masked; -1 for its cells
        that are not such sums (métropole split)."""
        counts = {measure: np.full(len(self.data["establishments"]), -1) for measure in MEASURES}
        for measure in MEASURES:
            counts[measure][: self.grid_size] = 0
            counts[measure][self.sector_base[0] : self.sector_base[0] + len(self.slot_position)] = 0
        slots = list(self.slot_position)
        by_departement: dict[str, list[str]] = {}
        for commune in self.static.epci_communes.get(territory.code, []):
            by_departement.setdefault(commune.departement_code, []).append(commune.code)
        for departement, communes in sorted(by_departement.items()):
            block = self.static.commune_block(wh, departement, year)
            for code in communes:
                key = ("commune", code)
                grid = block.cell(key, self.years[0]) + np.arange(self.grid_size)
                sectors = np.array([block.sector_cell(key, slot) for slot in slots], dtype=int)
                for measure in MEASURES:
                    counts[measure][: self.grid_size] += block.masks[measure][grid]
                    counts[measure][self.sector_base[0] + np.arange(len(slots))] += block.masks[
                        measure
                    ][sectors]
        return counts

    def _solve(
        self,
        wh: Warehouse,
        territory: Territory,
        year: int,
        grid_masks: dict[str, np.ndarray] | None,
    ) -> dict[str, np.ndarray]:
        """Three layers: the totals, families and size classes of every year first, then the
        local year's sectors and métropole split with those masks fixed, then its activity
        domains with every other mask fixed. The first layer does
        not depend on the local year, so a cell shown in one year's portrait is masked alike in
        every other year's. Cells of the national solution are published on other pages: they
        are masked only when nothing else protects a relation.

        An EPCI straddling départements is the sum of communes protected elsewhere: a cell of
        it with exactly one masked commune is masked (or the commune would be recovered by
        subtraction), and one with none is masked only as a last resort (it would be recovered
        by addition). Its relations mirror its communes', so that resort is not needed."""
        national_masks = self.static.national_masks(wh)
        national = self._national_cells(national_masks, year)
        known = national >= 0
        communes_masked = (
            self._communes_masked(wh, territory, year) if territory.level == "epci" else None
        )
        seeds, frozen = {}, {}
        for measure in MEASURES:
            seeds[measure] = np.zeros(len(national), bool)
            seeds[measure][known] = national_masks.masks[measure][national[known]]
            frozen[measure] = known.copy()
            if communes_masked is not None:
                seeds[measure] |= communes_masked[measure] == 1
                frozen[measure] |= communes_masked[measure] == 0
        if grid_masks is None:
            grid = _solve(self.data, self._grid_relations(), seeds, frozen=frozen)
            grid_masks = {measure: grid[measure][: self.grid_size] for measure in MEASURES}
        else:
            grid = seeds
            for measure in MEASURES:
                grid[measure][: self.grid_size] |= grid_masks[measure]
        self.grid_masks = grid_masks  # the first layer, for the block of another year
        for measure in MEASURES:
            frozen[measure][: self.grid_size] = True
        metro = rules.Relations()
        if self.metro_cells:
            metro.add(
                [self.cell((territory.level, territory.code), year)],
                [[self.metro_cells["metro"], self.metro_cells["other"]]],
            )
        sectors = self._local_relations(territory, year)
        local = _solve(self.data, sectors, grid, metro, frozen=frozen)
        # Last, the activity domains, with every other cell fixed (``free_slots``): a sector's
        # mask is the same with or without them, unless no domain cell can protect a relation.
        domains = self._local_relations(territory, year, domains=True)
        free = np.zeros(len(self.data["employees"]), bool)
        slots = [p for slot, p in self.slot_position.items() if slot in self.static.free_slots]
        free[(self.sector_base[:, None] + np.array(slots, dtype=np.int64)).ravel()] = True
        for measure in MEASURES:
            frozen[measure] |= ~free
        return _solve(self.data, _merged(sectors, domains), local, metro, frozen=frozen)

    def get(self, measure: str, cell: int) -> tuple[float, bool]:
        return float(self.data[measure][cell]), bool(self.masks[measure][cell])

    def sector_cell(self, key: tuple[str, str], slot: tuple[str, int]) -> int:
        """The cell of a sector (``(level, index)``) of a sibling or of the parent."""
        return int(self.sector_base[self.sector_member[key]] + self.slot_position[slot])

    def sectors_of(self, key: tuple[str, str], column: str) -> dict[str, np.ndarray]:
        """A sibling's (or the parent's) unmasked sector values by level (A21, A38, A88)."""
        return {
            level: grid[self.sector_member[key]]
            for level, grid in self.member_sectors[column].items()
        }
