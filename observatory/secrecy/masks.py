"""The cells the secrecy rules protect: the measures of a cell, the parent of each level, and
the solving of primary then secondary secrecy over a set of cells."""

from __future__ import annotations

import numpy as np

from observatory.secrecy import rules

MEASURES = ("establishments", "employees", "fte", "gross_wages")
TOPS = {"employees": "top_employees", "fte": "top_fte", "gross_wages": "top_wages"}
# What the secrecy rules need of a cell, aggregated from ess_by_territory: each measure's sum and
# the largest establishment's value.
CELL_MEASURES = ", ".join(
    [f"sum({m})::DOUBLE AS {m}" for m in MEASURES]
    + [f"max({t})::DOUBLE AS {t}" for t in TOPS.values()]
)
# The fine unit (A88 division within an activity domain, ``_Static.fine``) of a row.
FINE_INDEX = "list_position($fine, a88_code || '|' || domain_code) - 1"
# The same read row by row (a missing value as 0), for sums and maxima taken in numpy.
RAW_MEASURES = ", ".join(f"coalesce({c}, 0)::DOUBLE AS {c}" for c in (*MEASURES, *TOPS.values()))
# « France de province »: France less Île-de-France (région 11), beside France in comparisons.
IDF = "11"
PROVINCE = ("province", "FRP")
# Parent used for secondary secrecy and rankings: level → (parent level, column of territories).
PARENT = {
    "region": ("france", None),
    "departement": ("region", "region_code"),
    "epci": ("departement", "departement_code"),
    "commune": ("departement", "departement_code"),
}


def _solve(
    data: dict[str, np.ndarray],
    relations: rules.Relations,
    seeds: dict[str, np.ndarray] | None = None,
    extra: rules.Relations | None = None,
    frozen: dict[str, np.ndarray] | None = None,
) -> dict[str, np.ndarray]:
    """Primary then secondary secrecy of every measure (``seeds``: cells already masked;
    ``extra``: relations of the establishments and employees only; ``frozen``: cells masked
    only as a last resort, by measure)."""
    masks = {}
    n = data["establishments"]
    count_rule = rules.primary(n)
    merged = _merged(relations, extra) if extra is not None and extra.count else relations
    for measure in MEASURES:
        values = data[measure]
        first = count_rule.copy()
        if measure in TOPS:
            first |= rules.primary(n, values, data[TOPS[measure]])
        if seeds is not None:
            first |= seeds[measure]
        measure_relations = merged if measure in ("employees", "establishments") else relations
        masks[measure] = rules.secondary(
            values, first, measure_relations, None if frozen is None else frozen[measure]
        )
    return masks


def _accumulate(
    data: dict[str, np.ndarray], cells: np.ndarray, rows: dict[str, np.ndarray]
) -> None:
    """Add the rows' measures into their cells of ``data`` (the largest establishment's values:
    kept if larger)."""
    for name, target in data.items():
        accumulate = np.maximum.at if name in TOPS.values() else np.add.at
        accumulate(target, cells, rows[name])


def _merged(a: rules.Relations, b: rules.Relations) -> rules.Relations:
    rel, cell, total = b.arrays()
    return rules.Relations(
        [*a.relation, rel + a.count], [*a.cell, cell], [*a.is_total, total], a.count + b.count
    )
