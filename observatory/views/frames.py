"""The indicators a view shows, kept per warehouse, and how a view reads them: one row, a value
or « s »."""

from __future__ import annotations

import weakref
from collections import OrderedDict

import numpy as np
import pandas as pd

from observatory import indicators, secrecy

MAX_FRAMES = 2048  # frames kept per warehouse (a visitor's kernel, the static site's kernel)
# Warehouse → its frames by (level, code, year, themes, reference), the last used last; a
# warehouse closed and dropped takes its frames with it.
_FRAMES: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()


def compute(
    wh,
    level: str,
    code: str,
    year: int | None,
    themes: tuple[str, ...],
    reference: tuple[str, str] | None = None,
) -> pd.DataFrame:
    """Indicators of a territory of ``wh`` (secrecy applied by :mod:`observatory.indicators`),
    kept for the next views of the same warehouse.

    ``attrs`` keep the territory, year and secrecy flag; each indicator's metadata is in
    ``indicators.REGISTRY`` (pandas deep-copies ``attrs`` in every operation, which made the
    pages several times slower)."""
    kept = _FRAMES.setdefault(wh, OrderedDict())
    key = (level, code, year, tuple(themes), reference)
    if key not in kept:
        ref = indicators.resolve(wh, reference[1], reference[0]) if reference else None
        frame = indicators.compute(wh, level, code, year, themes=list(themes), reference=ref)
        frame.attrs = {k: v for k, v in frame.attrs.items() if k != "indicators"}
        kept[key] = frame
        while len(kept) > MAX_FRAMES:
            kept.popitem(last=False)
    kept.move_to_end(key)
    return kept[key].copy()


def row(frame: pd.DataFrame, indicator: str, category: str | None = None) -> pd.Series | None:
    """The row of one indicator (and category), or ``None``. Matches positions on the key
    columns only: filtering the whole frame for each card and bar took most of a redraw."""
    hits = np.flatnonzero(frame["indicator"].to_numpy() == indicator)
    if category is not None:
        hits = hits[frame["category"].to_numpy()[hits] == category]
    return frame.iloc[hits[0]] if len(hits) else None


def value_or_mark(row: pd.Series):
    """What a download carries: the value, or « s » for a masked one."""
    return secrecy.MARK if row["secret"] else (None if pd.isna(row["value"]) else row["value"])
