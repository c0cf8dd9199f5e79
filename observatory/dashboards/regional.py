"""Vue régionale: key figures of a région with change and rank, map of the ESS share by
département or EPCI, families, sectors, trends and métropoles, compared with France."""

from __future__ import annotations

from observatory import indicators, settings
from observatory.dashboards import blocks, common
from observatory.dashboards.common import esc

MAP_LEVELS = [("Départements", "departement"), ("EPCI", "epci")]


class RegionalPage:
    """The widgets of the regional overview and their updates."""

    def __init__(self, wh, region: str, year: int | None):
        import ipywidgets as w

        self.wh = wh
        regions = wh.territories("region").sort_values("name")
        years = wh.years()
        self.region_select = w.Dropdown(options=list(zip(regions["name"], regions["code"])),
                                        value=region, description="Région :")
        self.year_select = w.Dropdown(options=[(str(y), y) for y in reversed(years)],
                                      value=year or years[-1], description="Année :")
        self.map_level = w.ToggleButtons(options=MAP_LEVELS, value="departement",
                                         description="Carte par :",
                                         tooltips=["Carte par département", "Carte par EPCI"])
        self.content = w.Output()
        self.map_output = w.Output()
        self.rest = w.Output()
        for widget in (self.region_select, self.year_select):
            widget.observe(lambda _: self.update(), "value")
        self.map_level.observe(lambda _: self.update_map(), "value")
        self.widget = w.VBox([w.HBox([self.region_select, self.year_select]), self.content,
                              self.map_level, self.map_output, self.rest])

    @property
    def region(self) -> indicators.Territory:
        return indicators.resolve(self.wh, self.region_select.value, "region")

    def update(self) -> None:
        region = self.region
        view = blocks.territory_view(self.wh, region, self.year_select.value,
                                     indicators.resolve(self.wh, "FR", "france"))
        common.set_outputs(self.content, [common.html_output(
            f"<h1>L'ESS en {esc(region.name)} ({view.year})</h1>"
            + blocks.key_figures_html(view.frame, region))])
        self.update_map()
        common.set_outputs(self.rest, [output for block in view.blocks
                                       for output in blocks.block_outputs(block,
                                                                          blocks.slug(region))])

    def update_map(self) -> None:
        if self.map_level.value == "epci":
            common.set_outputs(self.map_output, [common.html_output(
                "<p class='obs-alt' role='status'>Calcul de la carte par EPCI…</p>")])
        year = common.resolve_year(self.wh, self.year_select.value)
        block = blocks.map_block(self.wh, self.region, self.map_level.value, year)
        common.set_outputs(self.map_output, blocks.block_outputs(block, blocks.slug(self.region)))


def render(region: str | None = None, year: int | None = None) -> None:
    """Display the regional overview (région: the ``OBSERVATORY_REGION`` setting by default)."""
    from IPython.display import HTML, display

    wh = common.warehouse()
    region = region or settings.DEFAULT_REGION
    if common.preheating():  # warm the default view, EPCI map included, before any visitor
        territory = indicators.resolve(wh, region, "region")
        blocks.territory_view(wh, territory, year, indicators.resolve(wh, "FR", "france"))
        for level in ("departement", "epci"):
            blocks.map_table(wh, territory, level, common.resolve_year(wh, year))
    common.wait_for_request()
    head = common.STYLE + (common.banner_html() if wh.is_demo() else "")
    display(HTML(head))
    page = RegionalPage(wh, region, year)
    display(page.widget)
    page.update()
