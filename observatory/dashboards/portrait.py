"""Portrait de territoire: any région, département, EPCI or commune, chosen with a search-as-you-
type selector or through the URL (``?territoire=34``), compared with a reference territory."""

from __future__ import annotations

from collections import OrderedDict
from dataclasses import dataclass, field
from functools import partial
from urllib.parse import urlencode

import ipywidgets as w

from observatory import indicators, settings
from observatory.dashboards import common, view_store
from observatory.views import blocks, html, key_figures, maps, messages, territory_view
from observatory.views.html import esc

PARAMETERS = ("territoire", "niveau", "annee", "reference")
# Views (territory, year, reference) whose outputs a page keeps to show them again at once.
VIEWS_KEPT = 6


@dataclass
class Request:
    """The validated portrait request and the friendly messages about what was refused."""

    territory: indicators.Territory
    year: int | None
    reference: indicators.Territory | None
    messages: list[str] = field(default_factory=list)


def parse(wh, values: dict[str, str | None], messages: list[str] | None = None) -> Request:
    """Validate ``territoire`` / ``niveau`` / ``annee`` / ``reference`` against the warehouse;
    anything unknown falls back to the default (région setting, latest year, parent) with a
    French message."""
    messages = list(messages or [])
    default = indicators.resolve(wh, settings.DEFAULT_REGION, "region")
    territory = default
    if values.get("territoire") or values.get("niveau"):
        try:
            territory = common.resolve_territory(wh, values.get("territoire"), values.get("niveau"))
        except indicators.TerritoryError as exc:
            messages.append(
                f"Territoire demandé non trouvé ({exc}). Voici le portrait par "
                f"défaut ({default.name}) : choisissez un autre territoire dans la liste."
            )
    year = None
    try:
        year = common.resolve_year(wh, values.get("annee"))
    except indicators.YearError as exc:
        messages.append(f"Année demandée non disponible ({exc}) : dernière année affichée.")
    reference = None
    try:
        reference = common.resolve_reference(wh, values.get("reference"))
    except indicators.TerritoryError as exc:
        messages.append(f"Territoire de référence non trouvé ({exc}) : territoire parent utilisé.")
    return Request(territory, year, reference, messages)


def share_link(
    territory: indicators.Territory, year: int, reference: indicators.Territory | None
) -> str:
    """Query string of a link opening this very portrait."""
    params = {"territoire": territory.code}
    if territory.level in ("region", "france"):
        params["niveau"] = territory.level
    params["annee"] = year
    if reference is not None:
        params["reference"] = f"{reference.level}:{reference.code}"
    return "?" + urlencode(params)


def reference_options(
    wh, territory: indicators.Territory, extra: indicators.Territory | None = None
) -> list[tuple[str, str]]:
    """Choices of reference territory: the parent (default), the région, France, or the one
    asked for in the URL."""
    options = [("Territoire parent (par défaut)", "parent")]
    candidates = []
    if territory.departement_code and territory.level in ("epci", "commune"):
        candidates.append(indicators.resolve(wh, territory.departement_code, "departement"))
    if territory.region_code and territory.level != "region":
        candidates.append(indicators.resolve(wh, territory.region_code, "region"))
    if territory.level != "france":
        candidates.append(indicators.resolve(wh, "FR", "france"))
    if extra is not None:
        candidates.append(extra)
    for t in candidates:
        key = f"{t.level}:{t.code}"
        if key not in [v for _, v in options]:
            options.append((t.label, key))
    return options


def header_html(
    territory: indicators.Territory,
    reference: indicators.Territory | None,
    year: int,
    frame,
    link: str,
    summary: str = "",
) -> str:
    """Title, reference territory, link to this portrait, key messages (``summary``), key
    figures and the page's table of contents."""
    ref = reference.label if reference else "aucun"
    parent = indicators.parent_of(common.warehouse(), territory)
    return (
        f"<h2 class='obs-title'>{esc(territory.label)}, {year}</h2>"
        f"<p>Territoire de référence : {esc(ref)}. "
        f"<a class='obs-permalink' href='{esc(link)}'>Lien vers ce portrait</a></p>"
        + summary
        + key_figures.key_figures_html(frame, territory, parent)
        + blocks.navigation_html(territory_view.view_links(frame, territory))
    )


class PortraitPage:
    """The widgets of the portrait page and their updates."""

    def __init__(self, wh, request: Request):
        self.wh = wh
        self.territory, self.year = request.territory, request.year
        self.reference = request.reference
        self.generation = 0
        self._kept: OrderedDict[tuple, dict[int, list[dict]]] = OrderedDict()  # views shown lately
        years = indicators.years(wh) or [indicators.resolve_year(wh, None)]
        self.search = common.TerritorySearch(
            self.index,
            self._chosen,
            value=self.territory.label,
            placeholder="Nom ou code : Hérault, 34, Montpellier…",
            description="Territoire :",
            layout=w.Layout(width="34em"),
            style={"description_width": "initial"},
        )
        self.year_select = w.Dropdown(
            options=[(str(y), y) for y in reversed(years)],
            value=self.year or indicators.resolve_year(wh, None),
            description="Année :",
        )
        self.reference_select = w.Dropdown(
            description="Comparer à :",
            style={"description_width": "initial"},
            layout=w.Layout(width="30em"),
        )
        self.header = w.Output()
        self.charts = [
            w.Output() for _ in range(territory_view.MAX_BLOCKS)
        ]  # one per block at most
        self.maps = w.Output()
        self.address = w.Output(layout=w.Layout(display="none"))
        self._set_reference_options()
        self.year_select.observe(self._changed, "value")
        self.reference_select.observe(self._changed, "value")
        self.widget = w.VBox(
            [
                self.search.widget,
                w.HBox(
                    [self.year_select, self.reference_select],
                    layout=w.Layout(flex_flow="row wrap"),
                ),
                self.header,
                *self.charts,
                self.maps,
                self.address,
            ]
        )

    @property
    def index(self) -> common.TerritoryIndex:
        return common.territory_index()

    def _set_reference_options(self) -> None:
        options = reference_options(self.wh, self.territory, self.reference)
        value = f"{self.reference.level}:{self.reference.code}" if self.reference else "parent"
        self._quiet = True
        self.reference_select.options = options
        self.reference_select.value = value if value in [v for _, v in options] else "parent"
        self._quiet = False

    def _chosen(self, label: str) -> None:
        """A territory chosen in the search box (its label, checked against the territories)."""
        level, code = self.index.by_label[label]
        self.territory = indicators.resolve(self.wh, code, level)
        self.reference = None
        self._set_reference_options()
        self.update()

    def _changed(self, change) -> None:
        if getattr(self, "_quiet", False):
            return
        self.year = self.year_select.value
        ref = self.reference_select.value
        self.reference = (
            None
            if ref == "parent"
            else indicators.resolve(self.wh, ref.split(":", 1)[1], ref.split(":", 1)[0])
        )
        self.update()

    def update(self) -> None:
        """Show the key figures and the first chart at once; the other charts, the map of the
        territories inside and the page address follow, one at a time. A view seen lately
        (``VIEWS_KEPT``) is shown again from what it showed, without computing anything: a
        browser flipping between two years costs the kernel almost nothing."""
        self.generation += 1
        generation, territory = self.generation, self.territory
        key = self.view_key()
        if self._show_kept(key) or self._show_stored(key, generation):
            return
        frame, ref = territory_view.view_frame(self.wh, territory, self.year, self.reference)
        year, territory_slug = key[2], blocks.slug(territory)
        steps = territory_view.block_steps(self.wh, territory, frame, ref)
        link = share_link(territory, year, self.reference)
        summary = messages.section_html(self.wh, frame, territory, ref, heading="h3")
        self._fill(
            key,
            self.header,
            [html.html_output(header_html(territory, ref, year, frame, link, summary))],
        )
        if steps:
            self._show(
                key, self.charts[0], lambda: blocks.block_outputs(steps[0](), territory_slug)
            )
        else:
            self._fill(key, self.charts[0], [])
        # A year without ESS facts has no map of them.
        levels = maps.CHILDREN.get(territory.level, ())[:1] if frame.attrs["facts"] else ()
        pending = [html.html_output(common.PENDING_HTML)]
        for i, output in enumerate(self.charts[1:], start=1):
            if i < len(steps):
                common.set_outputs(output, pending)
            else:
                self._fill(key, output, [])
        if levels:
            common.set_outputs(self.maps, pending)
        else:
            self._fill(key, self.maps, [])
        later = [
            partial(
                self._show,
                key,
                output,
                lambda step=step: blocks.block_outputs(step(), territory_slug),
            )
            for output, step in zip(self.charts[1:], steps[1:])
        ]
        for level in levels:
            later += maps.map_prefetch(self.wh, territory, level, year)
            later.append(
                partial(
                    self._show,
                    key,
                    self.maps,
                    lambda level=level: blocks.block_outputs(
                        maps.map_block(self.wh, territory, level, year), territory_slug
                    ),
                )
            )
        later.append(lambda: self._fill(key, self.address, [common.address_output(link)]))
        common.in_background(later, lambda: self.generation == generation)

    def view_key(self) -> tuple:
        """(level, code, year, reference) of the view the page shows now."""
        reference = (self.reference.level, self.reference.code) if self.reference else None
        year = indicators.resolve_year(self.wh, self.year)
        return (self.territory.level, self.territory.code, year, reference)

    def _show_stored(self, key, generation: int) -> bool:
        """In a visitor's kernel, show the view ``key`` from the views stored ahead of
        visitors (:mod:`observatory.dashboards.views`), if it is there: the key figures and
        the first chart at once, the other widgets one at a time, as when computed."""
        store = view_store.kernel_store() if common.served_by_voila() else None
        stored = store.load(key) if store is not None else None
        if stored is None or len(stored) != len(self._outputs):
            return False
        pairs = list(zip(self._outputs, stored))
        for widget, outputs in pairs[:2]:
            self._fill(key, widget, outputs)
        pending = [html.html_output(common.PENDING_HTML)]
        for widget, outputs in pairs[2:]:
            if outputs and widget is not self.address:
                common.set_outputs(widget, pending)
        later = [partial(self._fill, key, widget, outputs) for widget, outputs in pairs[2:]]
        common.in_background(later, lambda: self.generation == generation)
        return True

    def kept_outputs(self, key) -> list[list[dict]] | None:
        """The outputs of each widget for the view ``key`` once shown whole, or None."""
        kept = self._kept.get(key)
        if kept is None or len(kept) < len(self._outputs):
            return None
        return [list(kept[id(widget)]) for widget in self._outputs]

    @property
    def _outputs(self) -> list:
        """The widgets a view fills."""
        return [self.header, *self.charts, self.maps, self.address]

    def _show_kept(self, key) -> bool:
        """Show the view ``key`` as it was last shown, if it was shown whole and lately."""
        kept = self._kept.get(key)
        if kept is None or len(kept) < len(self._outputs):
            self._kept[key] = {}
            while len(self._kept) > VIEWS_KEPT:
                self._kept.popitem(last=False)
            return False
        self._kept.move_to_end(key)
        for widget in self._outputs:
            common.set_outputs(widget, kept[id(widget)])
        return True

    def _fill(self, key, widget, outputs: list[dict]) -> None:
        """``widget`` shows ``outputs``, kept for the view ``key``."""
        common.set_outputs(widget, outputs)
        if key in self._kept:
            self._kept[key][id(widget)] = outputs

    def _show(self, key, widget, make_outputs) -> None:
        """``common.show`` kept for the view ``key``; a failure is not kept, so that the view
        is computed again the next time."""
        outputs = common.show(widget, make_outputs)
        if outputs is None:
            self._kept.pop(key, None)
        elif key in self._kept:
            self._kept[key][id(widget)] = outputs


def warm_up(wh) -> None:
    """Work done by a preheated kernel before any visitor, what every portrait needs once: the
    territories and their search index, France's figures (every portrait compares with them),
    the first use of plotly and openpyxl (through the default portrait's charts) and the map
    shapes. Kept short: a pool refilled during a rush competes with the visitors.

    When the views of this warehouse are stored (:mod:`observatory.dashboards.views`), only the
    territories and their index: most visitors' views are then read, not computed, and the
    kernel stays about 90 MB smaller; the first view computed warms the rest."""
    region = indicators.resolve(wh, settings.DEFAULT_REGION, "region")
    common.territory_index()
    store = view_store.kernel_store()
    if store is not None and store.complete():
        return
    for block in territory_view.territory_view(wh, region, None).blocks:
        blocks.block_outputs(block, blocks.slug(region))
    maps.warm_maps()


@common.page
def build(
    territoire: str | None = None,
    niveau: str | None = None,
    annee=None,
    reference: str | None = None,
) -> common.Shown:
    """The portrait page; arguments (for papermill) override the URL parameters."""
    wh = common.warehouse()
    if common.preheating():  # work done now is free for the visitor
        warm_up(wh)
    common.wait_for_request()
    params = common.query_parameters(PARAMETERS)
    given = dict(territoire=territoire, niveau=niveau, annee=annee, reference=reference)
    values = {**params.values, **{k: str(v) for k, v in given.items() if v is not None}}
    request = parse(wh, values, params.messages)
    head = html.STYLE + (html.banner_html() if wh.is_demo() else "")
    return common.Shown(
        head + "<h1>Portrait de territoire</h1>" + common.message_html(request.messages),
        PortraitPage(wh, request),
    )
