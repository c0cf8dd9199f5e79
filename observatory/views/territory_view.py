"""A territory's view: its indicators beside its reference's and France's, and its blocks in
page order, each built when called."""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

import pandas as pd

from observatory import indicators, settings
from observatory.views import frames
from observatory.views.blocks import (
    Block,
    anchor,
    comparison,
    domains,
    families,
    finish,
    sectors,
    sizes,
)
from observatory.views.maps import CHILDREN
from observatory.views.series import metropolitan, published_block, published_rows, trends

THEMES = (
    "key_figures",
    "families",
    "sectors",
    "domains",
    "size",
    "trends",
    "rankings",
    "comparison",
    "metropolitan",
    "published",
)


# ---------------------------------------------------------------------------------------------
# A territory's view


@dataclass
class View:
    """Everything shown for one territory, year and reference."""

    territory: indicators.Territory
    reference: indicators.Territory | None
    year: int
    frame: pd.DataFrame
    blocks: list[Block]


def view_frame(
    wh, territory: indicators.Territory, year: int | None, ref: indicators.Territory | None = None
) -> tuple[pd.DataFrame, indicators.Territory | None]:
    """The indicators of a territory compared with ``ref``, and the reference shown (default:
    its parent)."""
    ref_key = (ref.level, ref.code) if ref else None
    frame = frames.compute(wh, territory.level, territory.code, year, THEMES, ref_key)
    return frame, ref or indicators.parent_of(wh, territory)


def comparison_series(
    wh, territory: indicators.Territory, frame: pd.DataFrame, ref: indicators.Territory | None
) -> list[tuple[indicators.Territory, pd.DataFrame]]:
    """The territory's indicators with its reference's and France's, for trends and métropoles."""
    year = int(frame.attrs["year"])
    series = [(territory, frame)]
    others = [ref] if ref else []
    if territory.level != "france" and (ref is None or ref.level != "france"):
        others.append(indicators.resolve(wh, "FR", "france"))
    for other in others:
        series.append(
            (
                other,
                frames.compute(
                    wh, other.level, other.code, year, ("key_figures", "trends", "metropolitan")
                ),
            )
        )
    return series


MAX_BLOCKS = 8  # blocks of a view at most: the seven built on ESS facts, the published figures


@dataclass
class Step:
    """A block of a view, built when called; its anchor and title are known before."""

    slug: str
    title: str
    make: object  # () -> Block

    def __call__(self) -> Block:
        return self.make()


# The blocks of a territory's view: anchor, title (as in the page's navigation).
VIEW_BLOCKS = {
    "familles": "Les familles de l'ESS",
    "secteurs": "Les secteurs d'activité",
    "domaines": "Les domaines d'activité de l'ESS",
    "tailles": "La taille des établissements",
    "evolution": "L'évolution de l'emploi de l'ESS",
    "metropoles": "Métropoles et autres territoires",
    "comparaison": "Comparaison avec la France et la France de province",
    "chiffres-publies": "Les chiffres publiés",
}


def is_demo(frame: pd.DataFrame) -> bool:
    """True when the frame's figures are demonstration ones."""
    return bool(frame["source"].astype(str).str.startswith(settings.DEMO_LABEL).any())


def block_steps(
    wh, territory: indicators.Territory, frame: pd.DataFrame, ref: indicators.Territory | None
) -> list[Step]:
    """The blocks of a view in page order (families, sectors, domains, sizes, trends,
    métropoles, the comparison with France and « France de province », then the published
    figures), each built when called, so that a page can show the first one
    before building the others. A year without ESS facts has only the published figures;
    a territory without published figures, only the others."""
    series = lru_cache(maxsize=1)(lambda: comparison_series(wh, territory, frame, ref))
    makers = {}
    if frame.attrs.get("facts", True):
        makers.update(
            familles=lambda: families(frame, territory),
            secteurs=lambda: sectors(frame, territory),
            domaines=lambda: domains(frame, territory),
            tailles=lambda: sizes(frame, territory),
            evolution=lambda: trends(series()),
            metropoles=lambda: metropolitan(series()),
            comparaison=lambda: comparison(frame, territory),
        )
    if not published_rows(frame).empty:
        makers["chiffres-publies"] = lambda: published_block(frame, territory)
    year, demo = int(frame.attrs["year"]), is_demo(frame)
    return [
        Step(slug, VIEW_BLOCKS[slug], lambda make=make: finish(make(), territory.label, year, demo))
        for slug, make in makers.items()
    ]


def view_links(
    frame: pd.DataFrame, territory: indicators.Territory, map_first: bool = False
) -> list[tuple[str, str]]:
    """(anchor, title) of the blocks a view of ``frame`` shows, in page order (the map first
    or last), as :func:`block_steps` and the pages make them."""
    facts = frame.attrs.get("facts", True)
    slugs = [s for s in VIEW_BLOCKS if s != "chiffres-publies"] if facts else []
    if not published_rows(frame).empty:
        slugs.append("chiffres-publies")
    links = [(anchor(s), VIEW_BLOCKS[s]) for s in slugs]
    if territory.level in CHILDREN and frame.attrs.get("facts", True):
        links.insert(0 if map_first else len(links), (anchor("carte"), "La carte"))
    return links


def territory_view(
    wh, territory: indicators.Territory, year: int | None, ref: indicators.Territory | None = None
) -> View:
    """Key figures and the blocks of a territory, compared with ``ref`` (default: its parent)
    and France."""
    frame, ref = view_frame(wh, territory, year, ref)
    blocks = [step() for step in block_steps(wh, territory, frame, ref)]
    return View(territory, ref, int(frame.attrs["year"]), frame, blocks)
