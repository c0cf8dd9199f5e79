"""Portrait de territoire: any région, département, EPCI or commune, chosen with a search-as-you-
type selector or through the URL (``?territoire=34``), compared with a reference territory."""

from __future__ import annotations

from dataclasses import dataclass, field
from urllib.parse import urlencode

from observatory import indicators, settings
from observatory.dashboards import blocks, common
from observatory.dashboards.common import esc

PARAMETERS = ("territoire", "niveau", "annee", "reference")


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
            territory = common.resolve_territory(wh, values.get("territoire"),
                                                 values.get("niveau"))
        except indicators.TerritoryError as exc:
            messages.append(f"Territoire demandé non trouvé ({exc}). Voici le portrait par "
                            f"défaut ({default.name}) : choisissez un autre territoire dans la liste.")
    year = None
    try:
        year = common.resolve_year(wh, values.get("annee"))
    except indicators.YearError as exc:
        messages.append(f"Année demandée non disponible ({exc}) : dernière année affichée.")
    reference = None
    try:
        reference = common.resolve_reference(wh, values.get("reference"))
    except indicators.TerritoryError as exc:
        messages.append(f"Territoire de référence non trouvé ({exc}) : territoire parent "
                        "utilisé.")
    return Request(territory, year, reference, messages)


def share_link(territory: indicators.Territory, year: int,
               reference: indicators.Territory | None) -> str:
    """Query string of a link opening this very portrait."""
    params = {"territoire": territory.code}
    if territory.level in ("region", "france"):
        params["niveau"] = territory.level
    params["annee"] = year
    if reference is not None:
        params["reference"] = f"{reference.level}:{reference.code}"
    return "?" + urlencode(params)


def reference_options(wh, territory: indicators.Territory,
                      extra: indicators.Territory | None = None) -> list[tuple[str, str]]:
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


def header_html(view: blocks.View) -> str:
    t = view.territory
    ref = view.reference.label if view.reference else "aucun"
    link = share_link(t, view.year, None if view.reference is None else view.reference)
    return (f"<h2 class='obs-title'>{esc(t.label)}, {view.year}</h2>"
            f"<p>Territoire de référence : {esc(ref)}. "
            f"<a class='obs-permalink' href='{esc(link)}'>Lien vers ce portrait</a></p>"
            + blocks.key_figures_html(view.frame, t))


class PortraitPage:
    """The widgets of the portrait page and their updates."""

    def __init__(self, wh, request: Request):
        import ipywidgets as w

        self.wh, self.index = wh, common.territory_index()
        self.territory, self.year = request.territory, request.year
        self.reference = request.reference
        years = wh.years()
        self.selector = w.Combobox(
            value=self.index.label(self.territory.level, self.territory.code),
            options=self.index.search(self.territory.name), ensure_option=False,
            placeholder="Nom ou code : Hérault, 34, Montpellier…",
            description="Territoire :", layout=w.Layout(width="34em"),
            style={"description_width": "initial"})
        self.selector.add_class("obs-territory")
        self.year_select = w.Dropdown(options=[(str(y), y) for y in reversed(years)],
                                      value=self.year or years[-1], description="Année :")
        self.reference_select = w.Dropdown(description="Comparer à :",
                                           style={"description_width": "initial"},
                                           layout=w.Layout(width="30em"))
        self.status = w.HTML()
        self.content = w.Output()
        self.maps = w.Output()
        self._set_reference_options()
        self.selector.observe(self._typed, "value")
        self.year_select.observe(self._changed, "value")
        self.reference_select.observe(self._changed, "value")
        self.widget = w.VBox([
            w.HBox([self.selector, self.year_select, self.reference_select],
                   layout=w.Layout(flex_flow="row wrap")),
            self.status, self.content, self.maps])

    def _set_reference_options(self) -> None:
        options = reference_options(self.wh, self.territory, self.reference)
        value = f"{self.reference.level}:{self.reference.code}" if self.reference else "parent"
        self._quiet = True
        self.reference_select.options = options
        self.reference_select.value = value if value in [v for _, v in options] else "parent"
        self._quiet = False

    def _typed(self, change) -> None:
        """Search as you type; a label from the list (validated against the territory table)
        selects its territory."""
        text = change["new"] or ""
        if text in self.index.by_label:
            level, code = self.index.by_label[text]
            self.territory = indicators.resolve(self.wh, code, level)
            self.reference = None
            self._set_reference_options()
            self.status.value = ""
            self.update()
            return
        matches = self.index.search(text)
        self.selector.options = matches
        self.status.value = ("" if matches or not text.strip() else
                             common.message_html([f"Aucun territoire ne correspond à « {text} »."]))

    def _changed(self, change) -> None:
        if getattr(self, "_quiet", False):
            return
        self.year = self.year_select.value
        ref = self.reference_select.value
        self.reference = (None if ref == "parent" else
                          indicators.resolve(self.wh, ref.split(":", 1)[1], ref.split(":", 1)[0]))
        self.update()

    def update(self) -> None:
        """Redraw the key figures and charts, then the map of the territories inside."""
        view = blocks.territory_view(self.wh, self.territory, self.year, self.reference)
        territory_slug = blocks.slug(self.territory)
        outputs = [common.html_output(header_html(view))]
        for block in view.blocks:
            outputs += blocks.block_outputs(block, territory_slug)
        common.set_outputs(self.content, outputs)
        common.set_outputs(self.maps, [
            output for level in blocks.CHILDREN.get(self.territory.level, ())[:1]
            for output in blocks.block_outputs(
                blocks.map_block(self.wh, self.territory, level, view.year), territory_slug)])


def render(territoire: str | None = None, niveau: str | None = None, annee=None,
           reference: str | None = None) -> None:
    """Display the portrait page; arguments (for papermill) override the URL parameters."""
    from IPython.display import HTML, display

    wh = common.warehouse()
    common.territory_index()
    if common.preheating():  # warm the default portrait while no visitor waits
        blocks.territory_view(wh, indicators.resolve(wh, settings.DEFAULT_REGION, "region"),
                              None)
    common.wait_for_request()
    params = common.query_parameters(PARAMETERS)
    given = dict(territoire=territoire, niveau=niveau, annee=annee, reference=reference)
    values = {**params.values, **{k: str(v) for k, v in given.items() if v is not None}}
    request = parse(wh, values, params.messages)
    head = common.STYLE + (common.banner_html() if wh.is_demo() else "")
    display(HTML(head + "<h1>Portrait de territoire</h1>"
                 + common.message_html(request.messages)))
    page = PortraitPage(wh, request)
    display(page.widget)
    page.update()
