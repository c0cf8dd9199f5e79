"""The engine's entry points: every indicator of a territory and year (``compute``), one
indicator (``indicator``), and the commune masks stored at build."""

from __future__ import annotations

import zlib
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from observatory.indicators.batch import _Batch
from observatory.indicators.definitions import REGISTRY, THEMES, Territory
from observatory.indicators.portrait import _assemble, _Portrait
from observatory.indicators.static import _static
from observatory.indicators.years import resolve_year
from observatory.secrecy.cells import _Block
from observatory.secrecy.masks import MEASURES
from observatory.territories import resolve

if TYPE_CHECKING:
    from observatory.warehouse import Warehouse


def compute(
    wh: Warehouse,
    level: str | None,
    code: str | None,
    year: int | None = None,
    *,
    themes: list[str] | tuple[str, ...] | None = None,
    reference: Territory | None = None,
    start: int | None = None,
    secrecy: bool = True,
) -> pd.DataFrame:
    """Every indicator (or those of ``themes``) of a territory for a year, secrecy applied.

    ``reference`` (default: the parent territory) is the comparison territory; ``start`` the
    first year of the change-over-time indicators (default: the first year loaded).
    ``secrecy=False`` is for private work only and warns.
    """
    territory = resolve(wh, code, level)
    portrait = _Portrait(wh, territory, resolve_year(wh, year), reference, start)
    return portrait.frame(_themes(themes), secrecy)


def compute_many(
    wh: Warehouse,
    places: list[Territory],
    years: list[int | None],
    *,
    themes: list[str] | tuple[str, ...] | None = None,
    secrecy: bool = True,
) -> pd.DataFrame:
    """The rows of :func:`compute` of every territory of ``places`` for every year of ``years``
    in one frame, territory by territory then year by year, as one ``compute`` each would give
    them (the same portraits, blocks of cells and masks).

    Each level's inputs are read once for all its territories instead of once per territory,
    the years one after the other (a département's commune block serves all its communes),
    and the frame is assembled once. Demo warehouse, ``observatory.table`` of the 4 446
    communes of Occitanie (processor time, the machine being shared): ``ess_share_employees``
    36,3 s one ``compute`` each, 1,4 s at once; 8 indicators of 8 themes, 65,4 s and 22,9 s.
    """
    themes = _themes(themes)
    years = [resolve_year(wh, year) for year in years]
    batches = {
        level: _Batch(wh, level, [place.code for place in places if place.level == level])
        for level in dict.fromkeys(place.level for place in places)
    }
    parts = {}
    for y, year in enumerate(years):
        for p, place in enumerate(places):
            portrait = _Portrait(wh, place, year, None, None, batches[place.level])
            parts[(p, y)] = portrait.columns(themes)
    frame = _assemble([parts[key] for key in sorted(parts)], secrecy)
    frame.attrs = {
        "years": years,
        "secrecy": secrecy,
        "indicators": {code: vars(REGISTRY[code]) for code in dict.fromkeys(frame["indicator"])},
    }
    return frame


def _themes(themes) -> tuple[str, ...]:
    """The themes asked for (all by default), each checked."""
    themes = (themes,) if isinstance(themes, str) else themes
    unknown = set(themes or ()) - set(THEMES)
    if unknown:
        raise ValueError(
            f"thème(s) inconnu(s) : {', '.join(sorted(unknown))} ; thèmes : {', '.join(THEMES)}"
        )
    return tuple(themes or THEMES)


def indicator(
    wh: Warehouse,
    code: str,
    level: str | None,
    territory: str | None,
    year: int | None = None,
    **options,
) -> pd.DataFrame:
    """The rows of one indicator, with its metadata in ``df.attrs``."""
    if code not in REGISTRY:
        raise KeyError(f"unknown indicator {code!r}")
    frame = compute(wh, level, territory, year, themes=[REGISTRY[code].theme], **options)
    frame = frame[frame["indicator"] == code].reset_index(drop=True)
    frame.attrs = {**frame.attrs, **vars(REGISTRY[code])}
    return frame


def store_commune_masks(wh: Warehouse) -> int:
    """Solve the commune block of every département for every year and store its masks in
    ``commune_masks`` (a build's last step, ``wh`` over its writable connection): a commune
    portrait then reads them instead of solving them. Returns the number of blocks."""
    static = _static(wh)
    rows = []
    for level, departement in sorted(
        key for key in static.children if key[0] == "commune" and key[1] is not None
    ):
        grid_masks = None  # the first layer, solved with the first year's block
        for year in static.years:
            block = _Block(
                wh,
                static.children[(level, departement)][0],
                static,
                local_year=year,
                grid_masks=grid_masks,
            )
            grid_masks = block.grid_masks
            rows.append(
                (
                    departement,
                    year,
                    len(block.data["employees"]),
                    *(
                        zlib.compress(np.packbits(block.masks[measure]).tobytes(), 1)
                        for measure in MEASURES
                    ),
                )
            )
    if rows:  # none in a warehouse without figures
        wh.connection.executemany(
            f"INSERT INTO commune_masks VALUES ({', '.join('?' * (3 + len(MEASURES)))})", rows
        )
    return len(rows)
