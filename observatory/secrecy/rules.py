"""Statistical secrecy (INSEE rules), applied in one place on the way out of the library.

Primary secrecy masks a cell that counts fewer than 3 establishments (1 or 2: an empty cell is
not secret), or where the largest establishment makes more than 85 % of the value. Secondary
secrecy then masks more cells until, in every additive relation (a total and its parts: row,
column or parent totals), no masked cell is alone: a lone masked cell could be recovered by
subtracting the published ones from the total. Masked cells carry ``secret = True`` and are
shown as « s ».

Each measure (establishments, employees, FTE, wages) is protected on its own. The count rule
masks every measure of a cell; the dominance rule applies to employees, FTE and wages (the
largest establishment's establishment count is always 1).

Turning secrecy off (``secrecy=False``) is for private work only and warns every time.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from observatory.errors import SecrecyWarning

MARK = "s"
MIN_ESTABLISHMENTS = 3
DOMINANCE = 0.85
OFF_WARNING = (
    "Secret statistique désactivé : ces chiffres ne doivent pas être publiés ni diffusés "
    "(usage interne uniquement)."
)


def warn_if_disabled(secrecy: bool) -> None:
    """The visible warning of the opt-out (``secrecy=False``)."""
    if not secrecy:
        warnings.warn(OFF_WARNING, SecrecyWarning, stacklevel=3)


def primary(establishments, value=None, top=None) -> np.ndarray:
    """Cells under primary secrecy: 1 or 2 establishments, or the largest one above 85 %."""
    n = np.asarray(establishments, dtype=float)
    masked = (n > 0) & (n < MIN_ESTABLISHMENTS)
    if value is not None and top is not None:
        v = np.asarray(value, dtype=float)
        t = np.asarray(top, dtype=float)
        with np.errstate(invalid="ignore"):
            masked |= (v > 0) & (t > DOMINANCE * v)
    return masked


@dataclass
class Relations:
    """Additive relations between cells: each one a total cell and its parts (cell indices)."""

    relation: list[np.ndarray] = field(default_factory=list)
    cell: list[np.ndarray] = field(default_factory=list)
    is_total: list[np.ndarray] = field(default_factory=list)
    count: int = 0

    def add(self, totals, parts) -> None:
        """Relations ``totals[i] = sum(parts[i])``; ``parts`` is a 2-D array, ``-1`` for none."""
        totals = np.asarray(totals, dtype=np.int64).ravel()
        parts = np.asarray(parts, dtype=np.int64).reshape(len(totals), -1)
        ids = self.count + np.arange(len(totals))
        keep = parts >= 0
        self.relation += [ids, np.broadcast_to(ids[:, None], parts.shape)[keep]]
        self.cell += [totals, parts[keep]]
        self.is_total += [np.ones(len(totals), bool), np.zeros(int(keep.sum()), bool)]
        self.count += len(totals)
        self._arrays = self._grouped = None

    def arrays(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(relation, cell, is_total) of every membership, as flat arrays."""
        if getattr(self, "_arrays", None) is None:
            if not self.relation:
                empty = np.zeros(0, np.int64)
                return empty, empty, np.zeros(0, bool)
            self._arrays = (
                np.concatenate(self.relation),
                np.concatenate(self.cell),
                np.concatenate(self.is_total),
            )
        return self._arrays

    def grouped(self) -> tuple[_Groups, _Groups]:
        """The memberships grouped by relation and by cell (built once, shared by measures)."""
        if getattr(self, "_grouped", None) is None:
            rel, cell, _ = self.arrays()
            self._grouped = (_Groups(rel, self.count), _Groups(cell, int(cell.max()) + 1))
        return self._grouped


class _Groups:
    """Memberships grouped by a key (relation or cell): the positions of each key's ones."""

    def __init__(self, keys: np.ndarray, size: int):
        self.order = np.argsort(keys, kind="stable")
        self.starts = np.zeros(size + 1, np.int64)
        np.cumsum(np.bincount(keys, minlength=size), out=self.starts[1:])

    def members(self, keys: np.ndarray) -> np.ndarray:
        """Positions (in the flat arrays) of the memberships of ``keys`` (at least one)."""
        lengths = self.starts[keys + 1] - self.starts[keys]
        ends = np.cumsum(lengths)
        return self.order[
            np.repeat(self.starts[keys] - ends + lengths, lengths) + np.arange(ends[-1])
        ]


def secondary(values, masked, relations: Relations, frozen=None) -> np.ndarray:
    """Extend ``masked`` until no relation has exactly one masked cell.

    A relation with a lone masked cell gets one more: a non-zero published part (preferring
    one that also fixes other such relations, then the smallest), else its total, else a zero
    part, else a ``frozen`` cell (one published elsewhere, masked only when nothing else
    protects the relation). Masks only grow, so the loop ends.
    """
    values = np.abs(np.asarray(values, dtype=float))
    masked = np.asarray(masked, dtype=bool).copy()
    rel, cell, is_total = relations.arrays()
    if not len(rel):
        return masked
    by_relation, by_cell = relations.grouped()
    masked_in = np.bincount(rel[masked[cell]], minlength=relations.count)
    while True:
        lone = np.flatnonzero(masked_in == 1)
        if not len(lone):
            return masked
        candidates = by_relation.members(lone)
        candidates = candidates[~masked[cell[candidates]]]
        r, c, t = rel[candidates], cell[candidates], is_total[candidates]
        v = values[c]
        rank = np.where(t, 1, np.where(v > 0, 0, 2))
        if frozen is not None:
            rank[frozen[c]] = 3
        shared = np.bincount(c, minlength=len(masked))[c]  # lone relations a cell would fix
        order = np.lexsort((c, v, -shared, rank, r))
        r_sorted = r[order]
        first = order[np.r_[True, r_sorted[1:] != r_sorted[:-1]]]
        chosen = np.unique(c[first])
        masked[chosen] = True
        masked_in += np.bincount(rel[by_cell.members(chosen)], minlength=relations.count)


def recoverable(values, masked, relations: Relations) -> np.ndarray:
    """Masked cells an attacker recovers by repeated subtraction (should be none)."""
    values = np.asarray(values, dtype=float)
    known = ~np.asarray(masked, dtype=bool)
    rel, cell, _ = relations.arrays()
    while True:
        unknown = np.bincount(rel, weights=~known[cell], minlength=relations.count)
        solvable = np.flatnonzero(unknown == 1)
        if not len(solvable):
            return np.flatnonzero(np.asarray(masked) & known)
        known[cell[np.isin(rel, solvable)]] = True


def mask_output(frame: pd.DataFrame, secrecy: bool = True) -> pd.DataFrame:
    """Blank the value of secret rows (``secret`` column) unless secrecy is turned off."""
    warn_if_disabled(secrecy)
    if not secrecy:
        return frame.assign(secret=False)
    frame = frame.copy()
    frame.loc[frame["secret"], "value"] = np.nan
    return frame
