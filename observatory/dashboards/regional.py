"""Vue régionale: key figures of a région with change and rank, map of the ESS share by
département or EPCI, families, sectors, trends and métropoles, compared with France."""

from __future__ import annotations

from functools import partial
from urllib.parse import urlencode

import ipywidgets as w

from observatory import indicators, settings
from observatory.dashboards import common
from observatory.views import blocks, html, key_figures, maps, messages, territory_view
from observatory.views.html import esc

PARAMETERS = ("region", "annee")
MAP_LEVELS = [("Départements", "departement"), ("EPCI", "epci")]


class RegionalPage:
    """The widgets of the regional overview and their updates."""

    def __init__(self, wh, region: str, year: int | None):
        self.wh = wh
        self.generation = 0
        regions = wh.territories("region").sort_values("name")
        years = indicators.years(wh) or [indicators.resolve_year(wh, None)]
        self.region_select = w.Dropdown(
            options=list(zip(regions["name"], regions["code"])),
            value=region,
            description="Région :",
        )
        self.year_select = w.Dropdown(
            options=[(str(y), y) for y in reversed(years)],
            value=year or indicators.resolve_year(wh, None),
            description="Année :",
        )
        self.map_level = w.ToggleButtons(
            options=MAP_LEVELS,
            value="departement",
            description="Carte par :",
            tooltips=["Carte par département", "Carte par EPCI"],
        )
        self.content = w.Output()
        self.map_output = w.Output()
        self.charts = [
            w.Output() for _ in range(territory_view.MAX_BLOCKS)
        ]  # one per block at most
        self.address = w.Output(layout=w.Layout(display="none"))
        for widget in (self.region_select, self.year_select):
            widget.observe(lambda _: self.update(), "value")
        self.map_level.observe(lambda _: self.update_map(), "value")
        self.widget = w.VBox(
            [
                w.HBox(
                    [self.region_select, self.year_select], layout=w.Layout(flex_flow="row wrap")
                ),
                self.content,
                self.map_level,
                self.map_output,
                *self.charts,
                self.address,
            ]
        )

    @property
    def region(self) -> indicators.Territory:
        return indicators.resolve(self.wh, self.region_select.value, "region")

    def update(self) -> None:
        """Key figures at once; the map, the other charts and the page address follow."""
        self.generation += 1
        generation, region = self.generation, self.region
        france = indicators.resolve(self.wh, "FR", "france")
        frame, ref = territory_view.view_frame(self.wh, region, self.year_select.value, france)
        year = int(frame.attrs["year"])
        common.set_outputs(
            self.content,
            [
                html.html_output(
                    f"<h1>L'ESS {esc(messages.place(region).at)} ({year})</h1>"
                    + messages.section_html(self.wh, frame, region, france, heading="h2")
                    + key_figures.key_figures_html(frame, region, france)
                    + blocks.navigation_html(
                        territory_view.view_links(frame, region, map_first=True)
                    )
                )
            ],
        )
        steps = territory_view.block_steps(self.wh, region, frame, ref)
        facts = frame.attrs["facts"]  # a year without ESS facts has no map of them
        pending = [html.html_output(common.PENDING_HTML)]
        common.set_outputs(self.map_output, pending if facts else [])
        for i, output in enumerate(self.charts):
            common.set_outputs(output, pending if i < len(steps) else [])
        drawing = [*maps.map_prefetch(self.wh, region, self.map_level.value, year), self._draw_map]
        later = (drawing if facts else []) + [
            partial(
                common.show,
                output,
                lambda step=step: blocks.block_outputs(step(), blocks.slug(region)),
            )
            for output, step in zip(self.charts, steps)
        ]
        query = "?" + urlencode({"region": region.code, "annee": year})
        later.append(lambda: common.set_outputs(self.address, [common.address_output(query)]))
        common.in_background(later, lambda: self.generation == generation)

    def update_map(self) -> None:
        year = common.resolve_year(self.wh, self.year_select.value)
        if not indicators.has_facts(self.wh, year):
            return
        common.set_outputs(self.map_output, [html.html_output(common.PENDING_HTML)])
        common.in_background(
            [*maps.map_prefetch(self.wh, self.region, self.map_level.value, year), self._draw_map]
        )

    def _draw_map(self) -> None:
        """The map of the région at the level chosen when it is drawn."""
        region, level = self.region, self.map_level.value
        year = common.resolve_year(self.wh, self.year_select.value)
        common.show(
            self.map_output,
            lambda: blocks.block_outputs(
                maps.map_block(self.wh, region, level, year), blocks.slug(region)
            ),
        )


def warm_up(wh, region: str) -> None:
    """Work done by a preheated kernel before any visitor: the default view and its map by
    département (the map by EPCI, about 160 territories, is computed when asked for: a pool
    refilled during a rush competes with the visitors)."""
    territory = indicators.resolve(wh, region, "region")
    view = territory_view.territory_view(
        wh, territory, None, indicators.resolve(wh, "FR", "france")
    )
    drawn = (
        [maps.map_block(wh, territory, "departement", view.year)]
        if view.frame.attrs["facts"]
        else []
    )
    for block in [*view.blocks, *drawn]:
        blocks.block_outputs(block, blocks.slug(territory))
    maps.warm_maps()


@common.page
def build(region: str | None = None, year: int | None = None) -> common.Shown:
    """The regional overview (région: the ``OBSERVATORY_REGION`` setting by default,
    or ``?region=76&annee=2022`` in the address)."""
    wh = common.warehouse()
    if common.preheating():  # work done now is free for the visitor
        warm_up(wh, region or settings.DEFAULT_REGION)
    common.wait_for_request()
    params = common.query_parameters(PARAMETERS)
    messages = params.messages
    region = region or params.values.get("region") or settings.DEFAULT_REGION
    try:
        region = indicators.resolve(wh, region, "region").code
    except indicators.TerritoryError as exc:
        messages.append(f"Région demandée non trouvée ({exc}) : région par défaut affichée.")
        region = settings.DEFAULT_REGION
    try:
        year = common.resolve_year(wh, year or params.values.get("annee"))
    except indicators.YearError as exc:
        messages.append(f"Année demandée non disponible ({exc}) : dernière année affichée.")
        year = None
    head = html.STYLE + (html.banner_html() if wh.is_demo() else "")
    return common.Shown(head + common.message_html(messages), RegionalPage(wh, region, year))
