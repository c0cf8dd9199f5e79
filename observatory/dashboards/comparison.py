"""Comparaison: several territories side by side, in a sortable table and charts."""

from __future__ import annotations

from urllib.parse import urlencode

import ipywidgets as w
import pandas as pd
import plotly.graph_objects as go

from observatory import indicators, search, settings
from observatory.dashboards import blocks, common

PARAMETERS = ("territoires", "annee")
MAX_TERRITORIES = 30
# Columns of the comparison: indicator, French heading, download column.
COLUMNS = [
    ("ess_employees", "Postes salariés de l'ESS", "postes_salaries_ess"),
    ("ess_establishments", "Établissements employeurs de l'ESS", "etablissements_employeurs_ess"),
    ("ess_share_employees", "Part de l'ESS dans l'emploi salarié", "part_ess_emploi_salarie_pct"),
    ("density_employees", "Postes de l'ESS pour 1 000 habitants", "postes_ess_pour_1000_habitants"),
    (
        "employees_average_growth",
        "Croissance annuelle moyenne des postes",
        "croissance_annuelle_moyenne_pct",
    ),
]
THEMES = ("key_figures", "density", "trends")


def parse_codes(wh, text: str | None) -> tuple[list[indicators.Territory], list[str]]:
    """Territories of ``territoires=34,31,region:76`` (bare codes follow the portrait's rules),
    and a French message for each one not found."""
    found, messages = [], []
    for item in [t for t in (text or "").split(",") if t.strip()][:MAX_TERRITORIES]:
        level, sep, code = item.strip().partition(":")
        try:
            found.append(
                common.resolve_territory(wh, code if sep else level, level if sep else None)
            )
        except indicators.TerritoryError as exc:
            messages.append(f"Territoire « {item.strip()} » non trouvé ({exc}) : il est ignoré.")
    return list(dict.fromkeys(found)), messages


def default_territories(wh) -> list[indicators.Territory]:
    """The départements of the default région."""
    region = indicators.resolve(wh, settings.DEFAULT_REGION, "region")
    return blocks.children(wh, region, "departement")


def comparison_table(
    territories: list[indicators.Territory], year: int | None
) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    """(values, displays, secret flags): one row per territory, one column per indicator."""
    values, displays, secret = [], [], []
    for t in territories:
        frame = common.compute(t.level, t.code, year, THEMES)
        rows = [common.row(frame, code) for code, _, _ in COLUMNS]
        values.append([r["value"] for r in rows])
        displays.append([r["display"] for r in rows])
        secret.append([bool(r["secret"]) for r in rows])
    index = pd.Index([t.label for t in territories], name="Territoire")
    names = [code for code, _, _ in COLUMNS]
    return (
        pd.DataFrame(values, index=index, columns=names),
        pd.DataFrame(displays, index=index, columns=names),
        pd.DataFrame(secret, index=index, columns=names),
    )


def sort_order(values: pd.DataFrame, column: str, ascending: bool) -> list[str]:
    """Territory labels sorted on a column (names without their article: « Le Havre » among
    the H); masked or missing values last."""
    if column == "name":
        return sorted(values.index, key=search.search_key, reverse=not ascending)
    return values[column].sort_values(ascending=ascending, na_position="last").index.tolist()


def comparison_block(
    values, displays, secret, order: list[str], column: str, year: int, source: str
) -> blocks.Block:
    """Bar chart of one indicator across the territories, with the whole table."""
    code, heading = column, dict((c, h) for c, h, _ in COLUMNS)[column]
    visible = [t for t in order if not secret.loc[t, code] and pd.notna(values.loc[t, code])]
    fig = go.Figure(
        go.Bar(
            y=visible,
            x=values.loc[visible, code],
            orientation="h",
            text=displays.loc[visible, code],
            textposition="outside",
            cliponaxis=False,
            marker_color=common.PALETTE[0],
            hovertemplate="%{y} : %{text}<extra></extra>",
        )
    )
    percent = code in ("ess_share_employees", "employees_average_growth")
    fig.update_layout(
        title=f"{heading}, {year}",
        yaxis=dict(autorange="reversed", title=None, automargin=True),
        xaxis=dict(
            title=heading,
            ticksuffix="\u202f%" if percent else "",
            tickformat=",~r",
            gridcolor="#e5e5e5",
            automargin=True,
        ),
    )
    common.french_layout(fig, height=max(280, 70 + 30 * len(visible)))
    table = displays.loc[order].rename(columns={c: h for c, h, _ in COLUMNS}).reset_index()
    raw = values.loc[order].astype(object).where(~secret.loc[order], "s")
    download = (
        raw.rename(columns={c: d for c, _, d in COLUMNS})
        .reset_index()
        .rename(columns={"Territoire": "territoire"})
    )
    masked = [t for t in order if secret.loc[t, code]]
    ranked = values.loc[visible, code].sort_values(ascending=False)
    alt = f"{heading} de {len(order)} territoires."
    if len(ranked):
        alt += (
            f" Le plus élevé : {ranked.index[0]} ({displays.loc[ranked.index[0], code]}) ;"
            f" le plus faible : {ranked.index[-1]} ({displays.loc[ranked.index[-1], code]})."
        )
    if masked:
        alt += f" Couvert(s) par le secret statistique : {', '.join(masked)}."
    defs = [indicators.REGISTRY[c].definition for c, _, _ in COLUMNS]
    return blocks.Block(
        "comparaison",
        "Territoires comparés",
        fig,
        alt,
        table,
        download,
        common.source_html(source, year, defs, secret=bool(secret.any().any())),
    )


class ComparisonPage:
    """Widgets: add territories (search as you type), remove them, sort, pick the chart."""

    def __init__(self, wh, territories: list[indicators.Territory], year: int | None):
        self.wh, self.index = wh, common.territory_index()
        self.territories = territories
        years = indicators.years(wh) or [indicators.resolve_year(wh, None)]
        self.adder = w.Combobox(
            placeholder="Nom ou code : Hérault, 34, Montpellier…",
            options=self.index.search(""),
            ensure_option=False,
            description="Ajouter :",
            layout=w.Layout(width="30em"),
        )
        self.adder.add_class("obs-territory")
        self.add_button = w.Button(description="Ajouter", tooltip="Ajouter ce territoire")
        self.chosen = w.SelectMultiple(
            description="Comparés :", rows=6, layout=w.Layout(width="30em")
        )
        self.remove_button = w.Button(description="Retirer la sélection")
        self.year_select = w.Dropdown(
            options=[(str(y), y) for y in reversed(years)],
            value=year or indicators.resolve_year(wh, None),
            description="Année :",
        )
        self.sort_select = w.Dropdown(
            options=[("Nom", "name")] + [(h, c) for c, h, _ in COLUMNS],
            value="ess_share_employees",
            description="Trier par :",
        )
        self.order = w.ToggleButtons(
            options=[("décroissant", False), ("croissant", True)],
            value=False,
            description="Ordre :",
        )
        self.status = w.HTML()
        self.content = w.Output()
        self.address = w.Output(layout=w.Layout(display="none"))
        self.adder.observe(self._typed, "value")
        self.add_button.on_click(lambda _: self._add(self.adder.value))
        self.remove_button.on_click(lambda _: self._remove())
        for widget in (self.year_select, self.sort_select, self.order):
            widget.observe(lambda _: self.update(), "value")
        self.widget = w.VBox(
            [
                w.HBox([self.adder, self.add_button], layout=w.Layout(flex_flow="row wrap")),
                w.HBox([self.chosen, self.remove_button], layout=w.Layout(flex_flow="row wrap")),
                w.HBox(
                    [self.year_select, self.sort_select, self.order],
                    layout=w.Layout(flex_flow="row wrap"),
                ),
                self.status,
                self.content,
                self.address,
            ]
        )

    def _typed(self, change) -> None:
        text = change["new"] or ""
        if text in self.index.by_label:
            self._add(text)
            return
        self.adder.options = self.index.search(text)

    def _add(self, label: str) -> None:
        if label not in self.index.by_label:
            self.status.value = common.message_html(
                [f"Choisissez un territoire dans la liste (« {label} » n'en est pas un)."]
            )
            return
        level, code = self.index.by_label[label]
        territory = indicators.resolve(self.wh, code, level)
        if territory not in self.territories and len(self.territories) < MAX_TERRITORIES:
            self.territories.append(territory)
        self.status.value = ""
        self.adder.value = ""
        self.update()

    def _remove(self) -> None:
        self.territories = [t for t in self.territories if t.label not in self.chosen.value]
        self.update()

    def update(self) -> None:
        self.chosen.options = [t.label for t in self.territories]
        if not self.territories:
            common.set_outputs(
                self.content,
                [common.html_output(common.message_html(["Ajoutez au moins un territoire."]))],
            )
            return
        year = common.resolve_year(self.wh, self.year_select.value)
        values, displays, secret = comparison_table(self.territories, year)
        order = sort_order(values, self.sort_select.value, self.order.value)
        chart = (
            self.sort_select.value if self.sort_select.value != "name" else "ess_share_employees"
        )
        first = self.territories[0]
        source = common.compute(first.level, first.code, year, THEMES)["source"].iloc[0]
        block = comparison_block(values, displays, secret, order, chart, year, source)
        common.set_outputs(
            self.content, blocks.block_outputs(block, f"{len(order)}-territoires-{year}")
        )
        common.set_outputs(
            self.address, [common.address_output(share_link(self.territories, year))]
        )


def share_link(territories: list[indicators.Territory], year: int) -> str:
    """Query string of a link opening this very comparison."""
    codes = ",".join(
        t.code if t.level in ("departement", "epci", "commune") else f"{t.level}:{t.code}"
        for t in territories
    )
    return "?" + urlencode({"territoires": codes, "annee": year}, safe=",:")


def warm_up(wh) -> None:
    """Work done by a preheated kernel before any visitor: the default comparison's chart."""
    values, displays, secret = comparison_table(default_territories(wh), None)
    order = sort_order(values, "ess_share_employees", False)
    block = comparison_block(
        values,
        displays,
        secret,
        order,
        "ess_share_employees",
        indicators.resolve_year(wh, None),
        "",
    )
    blocks.block_outputs(block, "territoires")


@common.page
def build(territoires: str | None = None, annee=None) -> common.Shown:
    """The comparison page (``territoires``: codes separated by commas)."""
    wh = common.warehouse()
    common.territory_index()
    if common.preheating():  # work done now is free for the visitor
        warm_up(wh)
    common.wait_for_request()
    params = common.query_parameters(PARAMETERS)
    text = territoires or params.values.get("territoires")
    territories, messages = parse_codes(wh, text)
    messages = params.messages + messages
    if not territories:
        territories = default_territories(wh)
    year = None
    try:
        year = common.resolve_year(wh, annee or params.values.get("annee"))
    except indicators.YearError as exc:
        messages.append(f"Année demandée non disponible ({exc}) : dernière année affichée.")
    head = common.STYLE + (common.banner_html() if wh.is_demo() else "")
    return common.Shown(
        head
        + "<h1>Comparaison de territoires</h1>"
        + common.message_html(messages)
        + "<p>Ajoutez des territoires avec la recherche, triez le tableau et le graphique par "
        "indicateur.</p>",
        ComparisonPage(wh, territories, year),
    )
