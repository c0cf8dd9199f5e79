"""Accompagnement: where the support structures are and how far the communes of a région are
from them. Map of the structures over the distance by EPCI, filters by type and phase,
population and ESS employees beyond 20, 30 and 45 km (métropoles and the rest), distance by
type and phase, the least-served EPCIs and the directory."""

from __future__ import annotations

from dataclasses import dataclass, field
from urllib.parse import urlencode

from observatory import settings, support
from observatory.dashboards import common
from observatory.views import blocks, html
from observatory.views.support_blocks import BLOCKS, KINDS, block_makers, header_html
from observatory.views.support_map import outlines

PARAMETERS = ("region", "type", "phase")


OLD_WAREHOUSE = (
    "Cette page n'est pas encore disponible : les données de l'accompagnement et du plan "
    "régional seront publiées à la prochaine mise à jour de l'observatoire."
)


@dataclass
class Request:
    """The validated page request and the friendly messages about what was refused."""

    region: str
    structure_type: str | None
    phase: str | None
    messages: list[str] = field(default_factory=list)


def parse(wh, values: dict[str, str | None], messages: list[str] | None = None) -> Request:
    """Validate ``region`` / ``type`` / ``phase``; anything unknown falls back to the default
    (région setting, every type, every phase) with a French message."""
    messages = list(messages or [])
    regions = wh.territories("region")
    region = settings.DEFAULT_REGION
    given = values.get("region")
    if given:
        names = {support.key(n): c for n, c in zip(regions["name"], regions["code"])}
        found = given if given in set(regions["code"]) else names.get(support.key(given))
        if found:
            region = found
        else:
            messages.append(f"Région « {given} » non trouvée : la région par défaut est affichée.")
    choices = {}
    for name, codes, synonyms, unknown in (
        ("type", support.TYPES, support.TYPE_SYNONYMS, "Type « {} » inconnu"),
        ("phase", support.PHASES, support.PHASE_SYNONYMS, "Phase « {} » inconnue"),
    ):
        text = values.get(name)
        choices[name] = support.code_of(text, codes, synonyms) if text else None
        if text and choices[name] is None:
            messages.append(
                unknown.format(text) + " : toutes les structures sont prises en compte "
                f"(valeurs possibles : {', '.join(label.lower() for label in codes.values())})."
            )
    return Request(region, choices["type"], choices["phase"], messages)


def share_link(region: str, structure_type: str | None, phase: str | None) -> str:
    """Query string of a link opening the page with these filters."""
    params = {"region": region}
    params.update({k: v for k, v in (("type", structure_type), ("phase", phase)) if v})
    return "?" + urlencode(params)


# ---------------------------------------------------------------------------------------------
# Page


class SupportPage:
    """The filters of the page and their updates: the title, key figures and map at once, the
    other blocks one at a time after; the page address follows the filters."""

    def __init__(self, wh, request: Request):
        import ipywidgets as w

        self.wh = wh
        self.generation = 0
        regions = wh.territories("region").sort_values("name")
        self.region_select = w.Dropdown(
            options=list(zip(regions["name"], regions["code"])),
            value=request.region,
            description="Région :",
        )
        self.type_select = w.Dropdown(
            options=[("Tous les types", "")] + [(lb, c) for c, lb in support.TYPES.items()],
            value=request.structure_type or "",
            description="Type :",
            layout=w.Layout(width="32em"),
        )
        self.phase_select = w.Dropdown(
            options=[("Toutes les phases", "")] + [(lb, c) for c, lb in support.PHASES.items()],
            value=request.phase or "",
            description="Phase :",
        )
        self.header = w.Output()
        self.outputs = [w.Output() for _ in BLOCKS]
        self.address = w.Output(layout=w.Layout(display="none"))
        self._kinds_region = None  # the région whose block by type and phase is shown
        for widget in (self.region_select, self.type_select, self.phase_select):
            widget.observe(lambda _: self.update(), "value")
        self.widget = w.VBox(
            [
                w.HBox(
                    [self.region_select, self.type_select, self.phase_select],
                    layout=w.Layout(flex_flow="row wrap"),
                ),
                self.header,
                *self.outputs,
                self.address,
            ]
        )

    def update(self) -> None:
        self.generation += 1
        generation = self.generation
        region = self.region_select.value
        structure_type, phase = self.type_select.value or None, self.phase_select.value or None
        access = support.access(self.wh, region, structure_type, phase)
        slug = f"region-{region}"
        makers = block_makers(self.wh, access)
        common.set_outputs(self.header, [html.html_output(header_html(self.wh, access))])
        common.show(self.outputs[0], lambda: blocks.block_outputs(makers[0](), slug))
        pending = [html.html_output(common.PENDING_HTML)]
        later = []
        for index, (output, make) in enumerate(zip(self.outputs, makers)):
            if index == 0 or (index == KINDS and self._kinds_region == region):
                continue  # the map is shown; by type and phase: the same whatever the filters
            common.set_outputs(output, pending)
            later.append(lambda output=output, make=make: self._show(output, make, slug))
        later.append(lambda: setattr(self, "_kinds_region", region))
        link = share_link(region, structure_type, phase)
        later.append(lambda: common.set_outputs(self.address, [common.address_output(link)]))
        common.in_background(later, lambda: self.generation == generation)

    @staticmethod
    def _show(output, make, slug: str) -> None:
        common.show(output, lambda: blocks.block_outputs(make(), slug))


@common.page
def build(
    region: str | None = None, type_structure: str | None = None, phase: str | None = None
) -> common.Shown:
    """The support structures' page; arguments (for papermill) override the URL parameters."""
    wh = common.warehouse()
    ready = wh.has_table("support_structures")
    if ready and common.preheating():  # the default view's distances, before any visitor
        access = support.access(wh, region or settings.DEFAULT_REGION)
        support.distances_by_kind(wh, access.region)
        outlines("epci", access.epcis["code"])
        header_html(wh, access)  # the indicators' dimensions, read once per kernel
    common.wait_for_request()
    params = common.query_parameters(PARAMETERS)
    given = dict(region=region, type=type_structure, phase=phase)
    values = {**params.values, **{k: str(v) for k, v in given.items() if v is not None}}
    head = (
        html.STYLE
        + (html.banner_html() if wh.is_demo() else "")
        + "<h1>Accompagnement de l'ESS dans les territoires</h1>"
    )
    if not ready:
        return common.Shown(head + common.message_html([OLD_WAREHOUSE]))
    request = parse(wh, values, params.messages)
    return common.Shown(head + common.message_html(request.messages), SupportPage(wh, request))
