"""A territory's portrait, shown by the portrait notebook (``notebooks/02-portrait-territoire``).

The same calls serve two uses: in JupyterLab the charts are interactive plotly outputs; when
the refresh publishes the static site (``publication=True``) each chart is written as HTML
that draws itself with the plotly.js each page carries, and the map is drawn with plain shapes
(:mod:`observatory.views.flat_map`), so pages work offline, from disk, alone, and in print.

    >>> portrait = Portrait.load("34")            # Hérault, latest year, compared with Occitanie
    >>> portrait.show_header(); portrait.show_key_figures(); portrait.show_blocks()
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from pathlib import Path

from observatory import formatting, indicators, settings
from observatory.dashboards import common
from observatory.views import (
    blocks,
    charts,
    flat_map,
    html,
    key_figures,
    maps,
    messages,
    territory_view,
)
from observatory.views.html import esc
from observatory.warehouse import Warehouse

# Child level mapped in a portrait: a région by département, a département by EPCI.
MAP_LEVEL = {"france": "region", "region": "departement", "departement": "epci"}
_WAREHOUSES: dict[Path, Warehouse] = {}  # this kernel's connections, by warehouse file


def warehouse(path: Path | str | None = None) -> Warehouse:
    """The kernel's read-only warehouse at ``path`` (default: the configured one), opened once
    per kernel and file: the static site runs every portrait of a worker through one kernel,
    where a warehouse opened per portrait would rebuild the engine's per-warehouse cache each
    time."""
    path = Path(path or settings.db_path()).resolve()
    if path not in _WAREHOUSES:
        _WAREHOUSES[path] = Warehouse(path, threads=1)
    return _WAREHOUSES[path]


def figure_html(figure, filename: str) -> str:
    """A chart as an HTML fragment drawn by the page's plotly.js (no CDN, no embedded copy)."""
    return figure.to_html(
        full_html=False,
        include_plotlyjs=False,
        div_id=filename,
        config=charts.plotly_config(filename),
    )


@dataclass
class Portrait:
    """Everything shown in a territory's portrait for one year."""

    wh: Warehouse
    view: territory_view.View
    demo: bool
    publication: bool = False
    _blocks: list | None = field(default=None, init=False, repr=False)  # made once

    @classmethod
    def load(
        cls,
        territoire: str,
        niveau: str | None = None,
        annee: int | None = None,
        reference: str | None = None,
        publication: bool = False,
        wh: Warehouse | None = None,
    ) -> Portrait:
        """The portrait of ``territoire`` (codes as in ``observatory portrait``), compared with
        ``reference`` (default: its parent territory, and France), from ``wh`` (default: the
        kernel's warehouse, :func:`warehouse`)."""
        wh = wh if wh is not None else warehouse()
        territory = indicators.resolve(wh, str(territoire), niveau)
        ref = None if reference in (None, "", "parent") else common.resolve_reference(wh, reference)
        view = territory_view.territory_view(wh, territory, int(annee) if annee else None, ref)
        return cls(wh, view, wh.is_demo(), publication)

    @property
    def territory(self) -> indicators.Territory:
        return self.view.territory

    @property
    def slug(self) -> str:
        return blocks.slug(self.territory)

    def header_html(self) -> str:
        """Title, demo banner, the date the figures were produced and the key messages."""
        parent = (
            f" · comparé à {esc(self.view.reference.label)} et à la France"
            if self.view.reference is not None
            else ""
        )
        return (
            html.STYLE
            + (html.banner_html() if self.demo else "")
            + f"<h1>L'ESS : {esc(self.territory.label)}, {self.view.year}</h1>"
            + f"<p class='obs-source'>Portrait produit le {formatting.long_date(date.today())}"
            + f"{parent}.</p>"
            + messages.section_html(self.wh, self.view.frame, self.territory, self.view.reference)
        )

    def blocks(self) -> list[blocks.Block]:
        """The map (when the territory has smaller territories), then the charts."""
        if self._blocks is None:
            self._blocks = self._make_blocks()
        return list(self._blocks)

    def _make_blocks(self) -> list[blocks.Block]:
        wh = self.wh
        level = MAP_LEVEL.get(self.territory.level)
        # Some départements hold no EPCI of their own (Paris and its inner ring belong to the
        # Métropole du Grand Paris, counted in Paris): no map then.
        # No map in a year without ESS facts.
        drawn = (
            [maps.map_block(wh, self.territory, level, self.view.year, self._map_drawing)]
            if level and self.view.frame.attrs["facts"] and maps.children(wh, self.territory, level)
            else []
        )
        return drawn + self.view.blocks

    @property
    def _map_drawing(self):
        """The dashboards' map in JupyterLab; for the static site, a map of plain shapes that
        draws from disk and prints (:mod:`observatory.views.flat_map`)."""
        return flat_map.share_map if self.publication else maps.share_map

    def note_html(self) -> str:
        """The printable note of this portrait (:mod:`observatory.publish.note`)."""
        from observatory.publish import note

        return note.note_html(self)

    # -- display in a notebook -------------------------------------------------------------

    def show_header(self) -> None:
        _display_html(self.header_html())

    def show_key_figures(self) -> None:
        """The key figures, ranked within the territory's parent, and the page's contents."""
        parent = indicators.parent_of(self.wh, self.territory)
        _display_html(
            key_figures.key_figures_html(self.view.frame, self.territory, parent)
            + blocks.navigation_html(
                [
                    (blocks.anchor(b.slug), "La carte" if b.slug.startswith("carte") else b.title)
                    for b in self.blocks()
                ]
            )
        )

    def show_note(self) -> None:
        """The printable note's page as an output: the refresh, which runs the notebook, asks
        the kernel for it after the notebook's own cells, and prints it to PDF."""
        _display_html(self.note_html())

    def show_blocks(self) -> None:
        from IPython.display import display

        for block in self.blocks():
            outputs = blocks.block_outputs(block, self.slug)
            for output in outputs:
                if self.publication and "application/vnd.plotly.v1+json" in output["data"]:
                    _display_html(figure_html(block.figure, f"{block.slug}-{self.slug}"))
                else:
                    display(output["data"], raw=True)


def _display_html(text: str) -> None:
    from IPython.display import HTML, display

    display(HTML(text))
