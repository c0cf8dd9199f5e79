"""Statistical secrecy: primary rules, secondary masking, and attacks that must fail."""

import warnings
from collections import Counter

import numpy as np
import pandas as pd
import pytest
from domain_helpers import SPLIT, documented_domain
from tiny_warehouse import build_tiny

from observatory import indicators, open_warehouse, secrecy
from observatory.indicators.portrait import _Portrait
from observatory.indicators.static import _static
from observatory.secrecy.cells import _Block


@pytest.fixture(scope="module")
def tiny(tmp_path_factory):
    with open_warehouse(build_tiny(tmp_path_factory.mktemp("tiny") / "tiny.duckdb")) as wh:
        yield wh


def test_primary_rules_by_hand():
    #            establishments, value, largest
    cells = [
        (0, 0, 0),  # empty: published
        (1, 10, 10),  # one establishment
        (2, 30, 20),  # two establishments
        (3, 100, 85),  # 85 % exactly: published
        (3, 100, 86),  # largest above 85 %
        (12, 500, 40),
    ]  # ordinary cell
    n, value, top = np.array(cells).T
    assert secrecy.primary(n, value, top).tolist() == [False, True, True, False, True, False]
    assert secrecy.primary(n).tolist() == [False, True, True, False, False, False]


def table_relations(rows: int, columns: int) -> secrecy.Relations:
    """A table with row totals, column totals and a grand total; cell (i, j) = i * (c+1) + j,
    the totals being the last row and column."""
    width = columns + 1
    relations = secrecy.Relations()
    grid = np.arange((rows + 1) * width).reshape(rows + 1, width)
    relations.add(grid[:rows, columns], grid[:rows, :columns])  # row totals
    relations.add(grid[rows, :], grid[:rows, :].T)  # column totals (and grand)
    return relations


def attack(values, masked, relations) -> set[int]:
    """An attacker who, again and again, subtracts published cells from a total."""
    rel, cell, is_total = relations.arrays()
    known = dict((i, v) for i, v in enumerate(values) if not masked[i])
    recovered = set()
    progress = True
    while progress:
        progress = False
        for r in range(relations.count):
            members = cell[rel == r]
            totals = members[is_total[rel == r]]
            unknown = [m for m in members if m not in known]
            if len(unknown) != 1:
                continue
            (x,) = unknown
            parts = [m for m in members if m not in totals]
            if x in totals:
                known[x] = sum(known[m] for m in parts)
            else:
                known[x] = known[totals[0]] - sum(known[m] for m in parts if m != x)
            recovered.add(int(x))
            progress = True
    return recovered


# A 3 × 3 table of employees with its totals; cell (1, 1) has 2 establishments.
VALUES = np.array(
    [[40, 25, 60, 125], [12, 7, 30, 49], [50, 18, 90, 158], [102, 50, 180, 332]], dtype=float
).ravel()
COUNTS = np.array(
    [[9, 5, 12, 26], [4, 2, 6, 12], [11, 6, 20, 37], [24, 13, 38, 75]], dtype=float
).ravel()


def test_a_lone_primary_cell_is_recovered_without_secondary_masking():
    relations = table_relations(3, 3)
    first = secrecy.primary(COUNTS)
    assert np.flatnonzero(first).tolist() == [5]  # cell (1, 1)
    assert attack(VALUES, first, relations) == {5}
    assert VALUES[5] == VALUES[7] - VALUES[4] - VALUES[6]  # 49 - 12 - 30 = 7


def test_secondary_masking_by_hand_and_the_attack_fails():
    relations = table_relations(3, 3)
    masked = secrecy.secondary(VALUES, secrecy.primary(COUNTS), relations)
    # Row 1 gives up its smallest other cell (12, column 0); column 1 its smallest (18, row 2);
    # then row 2 and column 0 each hold one masked cell: the smallest of the others goes too.
    expected = {5, 4, 9, 8}
    assert set(np.flatnonzero(masked)) == expected
    assert attack(VALUES, masked, relations) == set()
    assert secrecy.recoverable(VALUES, masked, relations).size == 0


def test_masked_cells_are_not_determined_by_any_linear_combination():
    relations = table_relations(3, 3)
    masked = secrecy.secondary(VALUES, secrecy.primary(COUNTS), relations)
    rel, cell, is_total = relations.arrays()
    equations = np.zeros((relations.count, len(VALUES)))
    equations[rel, cell] = np.where(is_total, -1.0, 1.0)
    unknown = equations[:, masked]
    rank = np.linalg.matrix_rank(unknown)
    for i in range(unknown.shape[1]):  # x_i is determined iff e_i lies in the row space
        target = np.zeros(unknown.shape[1])
        target[i] = 1.0
        assert np.linalg.matrix_rank(np.vstack([unknown, target])) > rank


def test_a_part_equal_to_its_total_takes_the_total_with_it():
    relations = secrecy.Relations()
    relations.add([0], [[1, 2, 3]])  # total 0 = 1 + 2 + 3, with 2 and 3 empty
    masked = secrecy.secondary([30, 30, 0, 0], [False, True, False, False], relations)
    assert masked.tolist() == [True, True, False, False]


def cube_relations(shape: tuple[int, ...]) -> secrecy.Relations:
    """A table of ``shape`` with margins along every axis (the last index of an axis being
    the total of the others): every line of the table is a relation."""
    grid = np.arange(np.prod([n + 1 for n in shape])).reshape([n + 1 for n in shape])
    relations = secrecy.Relations()
    for axis in range(len(shape)):
        lines = np.moveaxis(grid, axis, -1).reshape(-1, shape[axis] + 1)
        relations.add(lines[:, -1], lines[:, :-1])
    return relations


def reference_secondary(values, masked, relations, frozen) -> list[bool]:
    """The documented rule in plain Python, one relation at a time: while a relation holds a
    lone masked cell, it gives up a published non-zero part, else its total, else a zero part,
    else a frozen cell; among those, the one that fixes most lone relations, then the smallest,
    then the first."""
    rel, cell, is_total = relations.arrays()
    members: dict[int, list[tuple[int, bool]]] = {}
    for r, c, t in zip(rel.tolist(), cell.tolist(), is_total.tolist()):
        members.setdefault(r, []).append((c, t))
    masked, values = [bool(m) for m in masked], [abs(v) for v in values]
    while True:
        lone = [r for r, m in members.items() if sum(masked[c] for c, _ in m) == 1]
        if not lone:
            return masked
        open_cells = {r: [(c, t) for c, t in members[r] if not masked[c]] for r in lone}
        fixes = Counter(c for r in lone for c, _ in open_cells[r])

        def preference(member, fixes=fixes):
            c, total = member
            rank = 3 if frozen[c] else 1 if total else 0 if values[c] > 0 else 2
            return rank, -fixes[c], values[c], c

        for c in {min(open_cells[r], key=preference)[0] for r in lone}:
            masked[c] = True


@pytest.mark.parametrize("seed", range(6))
def test_secondary_masking_follows_the_documented_rule_on_random_tables(seed):
    rng = np.random.default_rng(seed)
    shape = tuple(int(n) for n in rng.integers(2, 7, size=3))
    relations = cube_relations(shape)
    size = int(np.prod([n + 1 for n in shape]))
    counts = rng.choice([0, 0, 1, 2, 3, 5, 12], size=size)
    values = counts * rng.integers(1, 40, size=size)
    frozen = rng.random(size) < 0.1
    first = secrecy.primary(counts)
    masked = secrecy.secondary(values, first, relations, frozen)
    assert masked.tolist() == reference_secondary(values, first, relations, frozen)
    assert masked[first].all() and masked.sum() > first.sum()
    assert secrecy.recoverable(values, masked, relations).size == 0


def test_tiny_warehouse_secondary_masks_by_hand(tiny):
    # Lozère's associations: 55 of 60 employees in one establishment → secret. Lozère's
    # coopératives go with them (family total), then Hérault's associations (région total)
    # and Hérault's coopératives (Hérault's family total).
    for code in ("34", "48"):
        frame = indicators.compute(tiny, "departement", code, 2016)
        families = frame[frame["indicator"] == "family_employees"].set_index("category")
        assert families.loc[["ASSO", "COOP"], "secret"].all(), code
        assert (families.loc[["ASSO", "COOP"], "display"] == "s").all()
        assert families.loc[["ASSO", "COOP"], "value"].isna().all()
        assert not families.loc[["MUT", "FOND"], "secret"].any()
        key = frame[frame["indicator"] == "ess_employees"].iloc[0]
        assert not key["secret"]  # département totals stay published
    counts = indicators.compute(tiny, "departement", "48", 2016)
    assert not counts[counts["indicator"] == "family_establishments"]["secret"].any()


def test_secrecy_reaches_derived_indicators(tiny):
    frame = indicators.compute(tiny, "commune", "34003", 2016)  # one establishment
    for indicator in (
        "ess_employees",
        "ess_share_employees",
        "density_employees",
        "average_size",
        "employees_index",
        "rank_ess_employees",
    ):
        rows = frame[(frame["indicator"] == indicator) & (frame["year"] == 2016)]
        assert rows["secret"].all() and (rows["display"] == "s").all(), indicator


def test_turning_secrecy_off_warns_and_shows_everything(tiny):
    with pytest.warns(secrecy.SecrecyWarning, match="ne doivent pas être publiés"):
        frame = indicators.compute(tiny, "commune", "34003", 2016, secrecy=False)
    assert frame.attrs["secrecy"] is False
    assert frame[frame["indicator"] == "ess_employees"]["value"].iloc[0] == 30
    assert not frame["secret"].any()


def test_secrecy_on_emits_no_warning(tiny):
    with warnings.catch_warnings():
        warnings.simplefilter("error", secrecy.SecrecyWarning)
        indicators.compute(tiny, "departement", "34", 2016)


def test_no_commune_of_lozere_recoverable_from_the_departement_total(wh):
    """On the demo warehouse: the masked communes of Lozère cannot be recovered by
    subtracting the published communes from the département's or an EPCI's total."""
    year = wh.years()[-1]
    communes = wh.territories("commune", departement="48")
    shown = {}
    for code in communes["code"]:
        frame = indicators.compute(wh, "commune", code, year, themes=["key_figures"])
        shown[code] = frame[frame["indicator"] == "ess_employees"]["value"].iloc[0]
    masked = {code for code, value in shown.items() if np.isnan(value)}
    assert masked, "Lozère's small communes should need secrecy"
    departement = indicators.compute(wh, "departement", "48", year, themes=["key_figures"])
    assert not departement[departement["indicator"] == "ess_employees"]["secret"].any()
    assert len(masked) != 1
    inside = wh.sql(
        "SELECT code FROM territory_communes WHERE level = 'epci' GROUP BY code "
        "HAVING bool_and(commune_code IN (SELECT code FROM territories "
        "WHERE departement_code = '48'))"
    )["code"]
    for epci in inside:
        members = set(communes[communes["epci_code"] == epci]["code"])
        assert len(members & masked) != 1, epci


def _recovered(wh, pages: dict, parents: dict) -> list:
    """What an attacker holding ``pages`` ((level, code) → portrait) solves from every relation
    they publish: a territory's total is the sum of its families, of its size classes, of its
    sections and of its activity domains, a section the sum of its A38, an A38 the sum of its
    divisions, a domain the sum of its divisions as documented (« non classés » and « autres »
    together with division 94), each parent page of ``parents`` the sum of its children pages
    (every measure, family, size class, sector and domain), France the sum of « France de
    province » and Île-de-France, a compared territory's figure its own page's; and every ratio
    published beside its terms (a share and its count, an average wage and its FTE and wage
    bill). Returns the masked cells solved."""
    known = {}
    for page, frame in pages.items():
        for row in frame.itertuples():
            # No category: NaN in a column of strings (pandas 3), None otherwise.
            category = row.category if isinstance(row.category, str) else ""
            known[(page, row.indicator, category)] = not row.secret
    sectors = wh.sql("SELECT DISTINCT a21_code, a38_code, a88_code FROM sectors")
    divisions: dict[str, list] = {}  # domain → its whole divisions
    for a88 in sectors["a88_code"].unique():
        if a88 != SPLIT:
            divisions.setdefault(documented_domain(a88), []).append(a88)
    levels = [sectors[level].unique() for level in ("a21_code", "a38_code", "a88_code")]
    nested = [  # a section is the sum of its A38, an A38 the sum of its divisions
        (code, group[lower].unique())
        for upper, lower in (("a21_code", "a38_code"), ("a38_code", "a88_code"))
        for code, group in sectors.groupby(upper)
    ]
    by_indicator: dict[tuple, list] = {}  # (page, indicator) → its cells, in the pages' order
    by_page: dict[tuple, list] = {}  # page → its cells
    for key in known:
        by_indicator.setdefault(key[:2], []).append(key)
        by_page.setdefault(key[0], []).append(key)
    relations = []
    for page in pages:
        for measure in ("establishments", "employees", "fte", "gross_wages"):
            total = (page, f"ess_{measure}", "")
            family, sector = f"family_{measure}", f"sector_{measure}"
            relations.append([total, *by_indicator.get((page, family), [])])
            relations.append([total, *by_indicator.get((page, f"size_{measure}"), [])])
            domain = f"domain_{measure}"
            relations.append([total, *by_indicator.get((page, domain), [])])
            for name, parts in divisions.items():
                cells = [(page, sector, c) for c in parts]
                if name == "autres":  # with « non classés » and the whole division 94
                    cells += [(page, domain, "non_classes"), (page, sector, SPLIT)]
                relations.append([(page, domain, name), *cells])
            for codes in levels:
                relations.append([total, *[(page, sector, c) for c in codes]])
            for code, parts in nested:
                relations.append([(page, sector, code), *[(page, sector, c) for c in parts]])
            relations.append(  # what the comparison shows: France = province + Île-de-France
                [
                    (page, f"compared_ess_{measure}", "FR"),
                    (page, f"compared_ess_{measure}", "FRP"),
                    (("region", "11"), f"ess_{measure}", ""),
                ]
            )
            for other in pages:  # the reference (the parent) is its own page's figure
                if other[0] != {"departement": "region"}.get(page[0], "departement"):
                    continue
                relations.append(
                    [(page, f"compared_ess_{measure}", other[1]), (other, f"ess_{measure}", "")]
                )
        # Ratios: any two of a ratio and its terms give the third (the denominators of the
        # shares, total and private employment, are published).
        relations.append([(page, "ess_share_employees", ""), (page, "ess_employees", "")])
        relations.append([(page, "ess_share_private_employees", ""), (page, "ess_employees", "")])
        relations.append(
            [
                (page, "ess_average_wage_fte", ""),
                (page, "ess_fte", ""),
                (page, "ess_gross_wages", ""),
            ]
        )
        for key in by_indicator.get((page, "domain_share_employees"), []):
            relations.append([key, (page, "domain_employees", key[2]), (page, "ess_employees", "")])
        for key in by_indicator.get((page, "compared_average_wage_fte"), []):
            relations.append(
                [
                    key,
                    (page, "compared_ess_fte", key[2]),
                    (page, "compared_ess_gross_wages", key[2]),
                ]
            )
        for key in by_indicator.get((page, "compared_ess_share_employees"), []):
            relations.append([key, (page, "compared_ess_employees", key[2])])
    for parent, children in parents.items():
        for page, indicator, category in by_page.get(parent, []):
            if (
                indicator.startswith(("ess_", "family_", "sector_", "size_", "domain_"))
                and indicator.split("_")[-1] in ("establishments", "employees", "fte", "wages")
                and indicator not in ("domain_share_employees", "ess_average_wage_fte")
            ):
                relations.append(
                    [
                        (page, indicator, category),
                        *[(child, indicator, category) for child in children],
                    ]
                )
    relations = [
        [cell for cell in cells if cell in known] for cells in relations if cells[0] in known
    ]
    relations = [cells for cells in relations if len(cells) > 1]
    solved = []
    while True:
        lone = [cells for cells in relations if sum(not known[c] for c in cells) == 1]
        if not lone:
            return solved
        for cells in lone:
            cell = next(c for c in cells if not known[c])
            known[cell] = True
            solved.append(cell)


def test_no_cell_of_any_region_or_departement_recoverable_across_portraits(wh):
    """Every région's and département's portrait of the demo's last year, in the hands of one
    attacker (a région is the sum of its départements): no masked cell is solved."""
    year = wh.years()[-1]
    themes = ["key_figures", "families", "sectors", "domains", "size", "comparison"]
    departements = wh.territories("departement")
    pages = {
        ("region", code): indicators.compute(wh, "region", code, year, themes=themes)
        for code in wh.territories("region")["code"]
    }
    pages.update(
        {
            ("departement", code): indicators.compute(wh, "departement", code, year, themes=themes)
            for code in departements["code"]
        }
    )
    assert sum(frame["secret"].sum() for frame in pages.values()) > 100  # secrecy has work
    parents = {
        ("region", region): [
            ("departement", c)
            for c in departements.loc[departements["region_code"] == region, "code"]
        ]
        for region in departements["region_code"]
    }
    assert _recovered(wh, pages, parents) == []


def test_no_cell_of_any_commune_of_a_departement_recoverable_across_portraits(wh):
    """Every commune of Lozère, its EPCIs lying wholly inside it and the département itself:
    no masked cell is solved (the département and each such EPCI are the sums of their
    communes). Commune portraits share one block per département: the same masks on every
    commune's page."""
    year = wh.years()[-1]
    themes = ["key_figures", "families", "sectors", "domains", "size", "comparison"]
    communes = wh.territories("commune", departement="48")
    # Every commune at once: the frames of one compute each (test_indicators), faster.
    places = [indicators.resolve(wh, code, "commune") for code in communes["code"]]
    pages = {
        ("commune", code): frame.reset_index(drop=True)
        for code, frame in indicators.compute_many(wh, places, [year], themes=themes).groupby(
            "code", sort=False
        )
    }
    assert len(pages) == len(communes)
    assert sum(frame["secret"].sum() for frame in pages.values()) > 100
    pages[("departement", "48")] = indicators.compute(wh, "departement", "48", year, themes=themes)
    parents = {("departement", "48"): [("commune", c) for c in communes["code"]]}
    inside = wh.sql(
        "SELECT code FROM territory_communes WHERE level = 'epci' GROUP BY code "
        "HAVING bool_and(commune_code IN (SELECT code FROM territories "
        "WHERE departement_code = '48'))"
    )["code"]
    for epci in inside:
        pages[("epci", epci)] = indicators.compute(wh, "epci", epci, year, themes=themes)
        parents[("epci", epci)] = [
            ("commune", c) for c in communes.loc[communes["epci_code"] == epci, "code"]
        ]
    assert _recovered(wh, pages, parents) == []


def test_blocks_above_the_communes_keep_the_national_masks(wh):
    """France, the régions and the départements are protected together once (the national
    solution); each one's own block (with its siblings, its parent and its métropole split)
    must not mask any of their cells further: a portrait's comparison reads its reference's
    mask from the national solution, and a figure must be masked alike on every page. Every
    measure, total, family, size class and sector, in a CLAP and a Flores year."""
    static = _static(wh)
    national = static.national_masks(wh)
    masked = 0
    for year in (wh.years()[0], wh.years()[-1]):
        for level, code in national.index:
            if (level, code) == indicators.PROVINCE:  # no portrait, no block
                continue
            block = _Portrait(wh, indicators.resolve(wh, code, level), year, None, None).block
            grid = national.grid_cells(block.members, block.years)
            slots = list(block.slot_position)
            sectors = [
                (block.sector_cell(key, slot), cell)
                for key in block.members
                for slot, cell in zip(slots, national.sector_cells(key, year, slots))
            ]
            own, shared = (np.array(cells) for cells in zip(*sectors))
            for measure in ("establishments", "employees", "fte", "gross_wages"):
                kept = block.masks[measure]
                assert (kept[: block.grid_size] == national.masks[measure][grid]).all(), (
                    level,
                    code,
                    year,
                    measure,
                )
                assert (kept[own] == national.masks[measure][shared]).all(), (
                    level,
                    code,
                    year,
                    measure,
                )
                masked += int(kept[: block.grid_size].sum())
    assert masked > 100  # families and size classes of some départements are masked


def test_a_reference_figure_is_the_references_own(wh):
    """The comparison shows the reference's ESS employees as its own portrait does."""

    def pick(frame, name):
        return frame.loc[frame["indicator"] == name, ["value", "secret"]].iloc[0].tolist()

    year = wh.years()[-1]
    france = indicators.resolve(wh, "FR", "france")
    for level in ("region", "departement"):
        for code in wh.territories(level)["code"]:
            shown = indicators.compute(
                wh,
                "france",
                "FR",
                year,
                themes=["comparison"],
                reference=indicators.resolve(wh, code, level),
            )
            own = indicators.compute(
                wh, level, code, year, themes=["key_figures"], reference=france
            )
            assert pick(shown, "reference_ess_employees") == pick(own, "ess_employees"), code


def test_a_commune_figure_is_masked_alike_in_every_years_portrait(wh):
    """A commune's total, families and size classes of a year appear in that year's portrait
    and in the trends of every later one: masked in one, masked in all (otherwise the year's
    own portrait, whose sectors add relations, gives a cell away beside another year's).
    Nord, where the sectors' relations made the masks of a year depend on the portrait's."""
    static = _static(wh)
    years = static.years
    blocks = {year: static.commune_block(wh, "59", year) for year in years}
    for measure in ("establishments", "employees", "fte", "gross_wages"):
        for year in years:
            own = blocks[year]
            cells = [own.cell(key, year, kind) for key in own.members for kind in range(own.KINDS)]
            reference = own.masks[measure][cells]
            assert reference.sum() > 100  # secrecy has work in Nord
            for other in years:
                shown = blocks[other].masks[measure][cells]
                assert (shown == reference).all(), (
                    measure,
                    year,
                    other,
                    int((shown != reference).sum()),
                )


@pytest.mark.parametrize("epci", ["244400552", "245701404"])
def test_no_cell_of_an_epci_straddling_departements_or_its_communes_recoverable(wh, epci):
    """An EPCI straddling two départements is the sum of communes protected in their own
    départements' blocks. Its portrait and all of its communes' portraits: no masked cell is
    solved, by subtraction (the EPCI's figure less the published communes) or by addition."""
    year = wh.years()[-1]
    themes = ["key_figures", "families", "sectors", "domains", "size", "comparison"]
    communes = wh.sql(
        "SELECT commune_code FROM territory_communes WHERE level = 'epci' AND code = $epci",
        dict(epci=epci),
    )["commune_code"]
    departements = wh.sql(
        "SELECT DISTINCT departement_code FROM territories "
        "WHERE level = 'commune' AND list_contains($c, code)",
        dict(c=communes.tolist()),
    )
    assert len(departements) > 1
    pages = {
        ("commune", code): indicators.compute(wh, "commune", code, year, themes=themes)
        for code in communes
    }
    pages[("epci", epci)] = indicators.compute(wh, "epci", epci, year, themes=themes)
    assert sum(frame["secret"].sum() for frame in pages.values()) > 10
    parents = {("epci", epci): [("commune", code) for code in communes]}
    assert _recovered(wh, pages, parents) == []


def test_commune_masks_stored_at_build_are_the_ones_solved_on_demand(wh, warehouse_path):
    """The build stores every département's commune masks for every year; a commune portrait
    that reads them is the one that solves them on first use (after an ingest)."""
    stored = wh.sql("SELECT departement_code, year FROM commune_masks")
    assert set(zip(stored["departement_code"], stored["year"])) == {
        (code, year) for code in wh.territories("departement")["code"] for year in wh.years()
    }
    static = _static(wh)
    years = static.years
    for departement in ("48", "2A", "971", "34", "59"):
        for year in (years[0], years[-1]):
            solved = _Block(
                wh, static.children[("commune", departement)][0], static, local_year=year
            )
            kept = static.commune_masks(wh.connection, departement, year)
            for measure in indicators.MEASURES:
                assert (kept[measure] == solved.masks[measure]).all(), (departement, year, measure)
            assert solved.masks["employees"].any()
    with open_warehouse(warehouse_path) as unstored:
        _static(unstored).stored_masks = False  # as after an ingest
        for code in ("48095", "34172", "59350", "2A004"):
            pd.testing.assert_frame_equal(
                indicators.compute(wh, "commune", code, years[-1]),
                indicators.compute(unstored, "commune", code, years[-1]),
            )
