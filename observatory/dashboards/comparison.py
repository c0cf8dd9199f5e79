"""Comparaison: several territories side by side, in a sortable table and charts."""

from __future__ import annotations

from urllib.parse import urlencode

import ipywidgets as w
import pandas as pd
import plotly.graph_objects as go

from observatory import indicators, search, settings
from observatory.dashboards import common
from observatory.views import blocks, charts, frames, html, maps, series
from observatory.views.html import esc

PARAMETERS = ("territoires", "annee")
MAX_TERRITORIES = 30
# Columns of the comparison: indicator, French heading, download column.
COLUMNS = [
    ("ess_employees", "Postes salariés de l'ESS", "postes_salaries_ess"),
    ("ess_establishments", "Établissements employeurs de l'ESS", "etablissements_employeurs_ess"),
    ("ess_share_employees", "Part de l'ESS dans l'emploi salarié", "part_ess_emploi_salarie_pct"),
    (
        "ess_share_private_employees",
        "Part de l'ESS dans l'emploi salarié privé",
        "part_ess_emploi_salarie_prive_pct",
    ),
    ("density_employees", "Postes de l'ESS pour 1 000 habitants", "postes_ess_pour_1000_habitants"),
    ("ess_fte", "Équivalents temps plein de l'ESS", "etp_ess"),
    (
        "ess_average_wage_fte",
        "Rémunération brute annuelle par ETP dans l'ESS",
        "remuneration_brute_par_etp_ess_euros",
    ),
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
    return maps.children(wh, region, "departement")


# Published figures compared when the year has no figures of the observatory's own (a
# warehouse of published figures alone): the ESS as INSEE, the CRESS or Urssaf publish it.
PUBLISHED_COLUMNS = [
    (code, indicators.REGISTRY[code].label, code) for code in series.PUBLISHED_COUNTS
]
NOTHING = (
    "Ni l'observatoire ni les chiffres publiés chargés ne donnent de chiffre de l'ESS pour ces "
    "territoires en {year} : il n'y a rien à comparer. Choisissez une autre année."
)


def comparison_table(
    territories: list[indicators.Territory], year: int | None, columns=None
) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    """(values, displays, secret flags): one row per territory, one column per indicator
    (``columns``: ``COLUMNS`` by default, or ``PUBLISHED_COLUMNS``)."""
    columns = COLUMNS if columns is None else columns
    published = all(indicators.REGISTRY[code].theme == "published" for code, _, _ in columns)
    themes = ("published",) if published else THEMES
    values, displays, secret = [], [], []
    for t in territories:
        frame = common.compute(t.level, t.code, year, themes)
        rows = [_row(frame, code) for code, _, _ in columns]
        values.append([r["value"] if r is not None else float("nan") for r in rows])
        displays.append([r["display"] if r is not None else "n.d." for r in rows])
        secret.append([bool(r["secret"]) if r is not None else False for r in rows])
    index = pd.Index([t.label for t in territories], name="Territoire")
    names = [code for code, _, _ in columns]
    return (
        pd.DataFrame(values, index=index, columns=names),
        pd.DataFrame(displays, index=index, columns=names),
        pd.DataFrame(secret, index=index, columns=names),
    )


def _row(frame: pd.DataFrame, code: str) -> pd.Series | None:
    """The figure of the whole ESS for the frame's year (a published one: of that year)."""
    if indicators.REGISTRY[code].theme != "published":
        return frames.row(frame, code)
    rows = frame[
        (frame["indicator"] == code)
        & frame["category"].isna()
        & (frame["year"] == int(frame.attrs["year"]))
    ]
    return rows.iloc[0] if len(rows) else None


def growth_heading(territories: list[indicators.Territory], year: int | None) -> str:
    """The growth column's heading, with its period: « Croissance annuelle moyenne des postes,
    2014 à 2022 »."""
    heading = dict((c, h) for c, h, _ in COLUMNS)["employees_average_growth"]
    if not territories:
        return heading
    first = territories[0]
    row = frames.row(
        common.compute(first.level, first.code, year, THEMES), "employees_average_growth"
    )
    if row is None or pd.isna(row["category_label"]):
        return heading
    return f"{heading}, {row['category_label']}"


def sort_order(values: pd.DataFrame, column: str, ascending: bool) -> list[str]:
    """Territory labels sorted on a column (names without their article: « Le Havre » among
    the H); masked or missing values last."""
    if column == "name":
        return sorted(values.index, key=search.search_key, reverse=not ascending)
    return values[column].sort_values(ascending=ascending, na_position="last").index.tolist()


def comparison_block(
    values,
    displays,
    secret,
    order: list[str],
    column: str,
    year: int,
    source: str,
    columns=None,
) -> blocks.Block:
    """Bar chart of one indicator across the territories, with the whole table (``columns``:
    code, heading and download name of each column; ``COLUMNS`` by default)."""
    columns = COLUMNS if columns is None else columns
    code, heading = column, dict((c, h) for c, h, _ in columns)[column]
    visible = [t for t in order if not secret.loc[t, code] and pd.notna(values.loc[t, code])]
    fig = go.Figure(
        go.Bar(
            y=visible,
            x=values.loc[visible, code],
            orientation="h",
            text=displays.loc[visible, code],
            marker_color=charts.PALETTE[0],
            hovertemplate="%{y} : %{text}<extra></extra>",
        )
    )
    fig.update_layout(title=f"{heading}, {year}")
    shown = values.loc[visible, code]
    charts.label_bars(
        fig,
        float(shown.max()) if len(shown) else 1.0,
        float(min(0, shown.min())) if len(shown) else 0.0,
    )
    table = displays.loc[order].rename(columns={c: h for c, h, _ in columns}).reset_index()
    raw = values.loc[order].astype(object).where(~secret.loc[order], "s")
    download = (
        raw.rename(columns={c: d for c, _, d in columns})
        .reset_index()
        .rename(columns={"Territoire": "territoire"})
    )
    masked = [t for t in order if secret.loc[t, code]]
    ranked = values.loc[visible, code].sort_values(ascending=False)
    alt = f"{heading} : {len(order)} territoire{'s' if len(order) > 1 else ''}."
    if len(ranked):
        alt += (
            f" Le plus élevé : {ranked.index[0]} ({displays.loc[ranked.index[0], code]}) ;"
            f" le plus faible : {ranked.index[-1]} ({displays.loc[ranked.index[-1], code]})."
        )
    if masked:
        alt += f" Couvert{'s' if len(masked) > 1 else ''} par le secret statistique : {', '.join(masked)}."
    defs = [indicators.REGISTRY[c].definition for c, _, _ in columns]
    return blocks.Block(
        "comparaison",
        "Territoires comparés",
        fig,
        alt,
        table,
        download,
        html.source_html(source, year, defs, secret=bool(secret.any().any())),
    )


class ComparisonPage:
    """Widgets: add territories (search as you type), remove them, sort, pick the chart."""

    def __init__(self, wh, territories: list[indicators.Territory], year: int | None):
        self.wh, self.index = wh, common.territory_index()
        self.territories = territories
        years = indicators.years(wh) or [indicators.resolve_year(wh, None)]
        self.adder = common.TerritorySearch(
            self.index,
            self._add,
            placeholder="Nom ou code : Hérault, 34, Montpellier…",
            description="Ajouter :",
            layout=w.Layout(width="30em"),
        )
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
        self.add_button.on_click(lambda _: self._add_typed())
        self.remove_button.on_click(lambda _: self._remove())
        for widget in (self.year_select, self.sort_select, self.order):
            widget.observe(lambda _: self.update(), "value")
        self.widget = w.VBox(
            [
                w.HBox([self.adder.widget, self.add_button], layout=w.Layout(flex_flow="row wrap")),
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

    def _add_typed(self) -> None:
        """« Ajouter »: the territory typed (its label, or the best match of what was typed);
        a word only when nothing matches, nothing at all for an empty box."""
        text = self.adder.value.strip()
        if not text:
            return
        matches = [text] if text in self.index.by_label else self.index.search(text)
        if not matches:
            self.status.value = common.message_html(
                [f"Aucun territoire ne correspond à « {text[: common.MAX_PARAM]} »."]
            )
            return
        self._add(matches[0])

    def _add(self, label: str) -> None:
        level, code = self.index.by_label[label]
        territory = indicators.resolve(self.wh, code, level)
        if territory not in self.territories and len(self.territories) < MAX_TERRITORIES:
            self.territories.append(territory)
        self.status.value = ""
        self.adder.set_value("")
        self.update()

    def _remove(self) -> None:
        self.territories = [t for t in self.territories if t.label not in self.chosen.value]
        self.update()

    def update(self) -> None:
        self.chosen.options = [t.label for t in self.territories]
        if not self.territories:
            common.set_outputs(
                self.content,
                [html.html_output(common.message_html(["Ajoutez au moins un territoire."]))],
            )
            return
        year = common.resolve_year(self.wh, self.year_select.value)
        common.set_outputs(
            self.content,
            outputs(self.wh, self.territories, year, self.sort_select.value, self.order.value),
        )
        common.set_outputs(
            self.address, [common.address_output(share_link(self.territories, year))]
        )


def columns_for(wh, territories: list[indicators.Territory], year: int):
    """The columns compared: the observatory's own figures (the growth with its period), or,
    for a year without them, the published figures some territory has; None for nothing."""
    if indicators.has_facts(wh, year):
        growth = growth_heading(territories, year)
        return [(c, growth if c == "employees_average_growth" else h, d) for c, h, d in COLUMNS]
    values, _, _ = comparison_table(territories, year, PUBLISHED_COLUMNS)
    known = [column for column in PUBLISHED_COLUMNS if values[column[0]].notna().any()]
    return known or None


def outputs(wh, territories, year: int, sort: str, ascending: bool) -> list[dict]:
    """The comparison as outputs: its summary, chart and table, or the sentence saying why
    nothing can be compared."""
    columns = columns_for(wh, territories, year)
    if columns is None:
        return [html.html_output(f"<p class='obs-empty'>{esc(NOTHING.format(year=year))}</p>")]
    values, displays, secret = comparison_table(territories, year, columns)
    # A column the year's source does not give (FTE and wages: not in SIRENE) says nothing.
    columns = [c for c in columns if values[c[0]].notna().any() or secret[c[0]].any()]
    values, displays, secret = (t[[c for c, _, _ in columns]] for t in (values, displays, secret))
    codes = [c for c, _, _ in columns]
    sort = sort if sort in codes or sort == "name" else codes[0]
    order = sort_order(values, sort, ascending)
    chart = (
        sort
        if sort != "name"
        else codes[0]
        if "ess_share_employees" not in codes
        else "ess_share_employees"
    )
    first = territories[0]
    frame = common.compute(first.level, first.code, year, THEMES)
    own = not all(indicators.REGISTRY[code].theme == "published" for code in codes)
    source = frame["source"].iloc[0] if own else ""
    block = comparison_block(values, displays, secret, order, chart, year, source, columns)
    block = blocks.finish(block, places(territories), year, wh.is_demo())
    summary = summary_sentence(
        values, displays, secret, chart, dict((c, h) for c, h, _ in columns)[chart]
    )
    head = html.html_output(f"<p class='obs-summary'>{esc(summary)}</p>" if summary else "")
    return [head, *blocks.block_outputs(block, f"{len(order)}-territoires-{year}")]


def places(territories: list[indicators.Territory]) -> str:
    """The territories compared, for the files: their names, or their number when many."""
    if len(territories) <= 5:
        return ", ".join(t.label for t in territories)
    return f"{len(territories)} territoires"


def summary_sentence(values, displays, secret, code: str, heading: str) -> str:
    """« Part de l'ESS dans l'emploi salarié : valeur la plus élevée, Lozère (26,2 %) ; la plus
    faible, Haute-Garonne (8,1 %). », on the figures published."""
    shown = values[code][~secret[code] & values[code].notna()].sort_values(ascending=False)
    if len(shown) < 2:
        return ""
    high, low = shown.index[0], shown.index[-1]
    return (
        f"{heading} : valeur la plus élevée, {high} ({displays.loc[high, code]}) ; la plus faible, "
        f"{low} ({displays.loc[low, code]})."
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
    head = html.STYLE + (html.banner_html() if wh.is_demo() else "")
    return common.Shown(
        head
        + "<h1>Comparaison de territoires</h1>"
        + common.message_html(messages)
        + "<p>Ajoutez des territoires avec la recherche, triez le tableau et le graphique par "
        "indicateur.</p>",
        ComparisonPage(wh, territories, year),
    )
