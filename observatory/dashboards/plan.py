"""Suivi du plan: the actions of the regional ESS plan by axis and status, progress of their
indicators against targets, events by département on a map, and the list of actions."""

from __future__ import annotations

from urllib.parse import urlencode

import numpy as np
import pandas as pd
import plotly.graph_objects as go
from babel.dates import format_date

from observatory import formatting, indicators, plan, reference, settings
from observatory.dashboards import common
from observatory.dashboards.support import OLD_WAREHOUSE
from observatory.views import blocks, charts, html, maps, messages
from observatory.views.html import esc
from observatory.views.support_map import MAP_LEGEND, hover, outlines

PARAMETERS = ("axe",)
PLAN_SOURCE = "Plan régional de l'ESS : ses axes, actions, indicateurs et événements"
# A count of actions with its status: « 1 réalisée », « 3 réalisées », « 5 à venir ».
STATUS_COUNTED = {
    "a_venir": ("à venir", "à venir"),
    "en_cours": ("en cours", "en cours"),
    "realisee": ("réalisée", "réalisées"),
    "reportee": ("reportée", "reportées"),
    "abandonnee": ("abandonnée", "abandonnées"),
}
NO_PLAN = "Aucun plan régional de l'ESS n'est encore publié sur ce site."
STATUS_PATTERNS = ["", "/", ".", "x", "-"]
NO_EVENT = "aucun événement"
LEGEND_SPACE = 70  # pixels under a chart for its legend (wrapping on a phone)


def month_year(value) -> str:
    """``2024-11-01`` → ``novembre 2024``; empty for a missing date."""
    if value is None or pd.isna(value):
        return ""
    return format_date(pd.Timestamp(value).date(), "MMMM y", locale=formatting.LOCALE)


def source_paragraph(wh, extra: list[str] | None = None) -> str:
    demo = plan_is_demo(wh)
    text = (
        f"Source : {PLAN_SOURCE}"
        + (f" ; exemple de plan ({settings.DEMO_LABEL}), à ne pas citer" if demo else "")
        + "."
    )
    return f'<p class="obs-source">{esc(" ".join([text, *(extra or [])]))}</p>'


def counted(n: int, singular: str, plural: str) -> str:
    """« 1 action », « 23 actions »."""
    return f"{formatting.number(n)} {singular if n < 2 else plural}"


def status_counted(status: str, n) -> str:
    """« 1 réalisée », « 3 réalisées », « 12 en cours »."""
    singular, plural = STATUS_COUNTED[status]
    return counted(int(n), singular, plural)


def with_unit(value, unit) -> str:
    """A measure with its unit, agreed in number: « 1 fabrique », « 4 fabriques », « 65 % »."""
    if pd.isna(value):
        return ""
    text = formatting.number(value, 0 if float(value).is_integer() else 1)
    if not unit or pd.isna(unit):
        return text
    if unit == "%":
        return f"{text}\u202f%"
    if abs(float(value)) < 2:
        first, _, rest = str(unit).partition(" ")
        if first.endswith("s") and len(first) > 2:
            unit = " ".join(filter(None, [first[:-1], rest]))
    return f"{text} {unit}"


def axis_label(code: str, title: str) -> str:
    return f"Axe {code} : {title}"


def parse_axis(wh, text: str | None) -> tuple[str | None, list[str]]:
    """The axis asked for in the URL (``None``: every axis), and a message if unknown."""
    if not text:
        return None, []
    codes = set(plan.axes(wh)["axis_code"])
    if text in codes:
        return text, []
    return None, [
        f"Axe « {text} » inconnu : tous les axes sont affichés (axes : "
        f"{', '.join(plan.axes(wh)['axis_code'])})."
    ]


# ---------------------------------------------------------------------------------------------
# Blocks


def cards(wh, axis: str | None) -> list[tuple[str, str, str]]:
    actions = plan.actions(wh, axis)
    done = int((actions["status"] == "realisee").sum())
    running = int((actions["status"] == "en_cours").sum())
    budget = actions["budget_eur"].dropna()
    progress = plan.progress(wh, axis)
    reached = int((progress["progress_pct"] >= 100).sum())
    events = int(plan.events_by_departement(wh)["events"].sum())
    return [
        (
            "Actions",
            formatting.number(len(actions)),
            f"{status_counted('realisee', done)}, {status_counted('en_cours', running)}",
        ),
        (
            "Indicateurs à la cible",
            f"{formatting.number(reached)} sur {formatting.number(len(progress))}",
            counted(
                int(progress["progress_pct"].notna().sum()),
                "indicateur mesuré",
                "indicateurs mesurés",
            ),
        ),
        (
            "Budget connu",
            formatting.euros(budget.sum()),
            f"pour {counted(len(budget), 'action', 'actions')} sur {formatting.number(len(actions))}",
        ),
        ("Événements", formatting.number(events), "tous axes confondus"),
    ]


def status_block(wh, axis: str | None) -> blocks.Block:
    """Actions by axis and status: stacked bars, one colour and pattern per status."""
    counts = plan.status_counts(wh, axis)
    labels = [axis_label(c, t) for c, t in zip(counts["axis_code"], counts["title"])]
    fig = go.Figure()
    for i, (status, label) in enumerate(plan.STATUSES.items()):
        fig.add_trace(
            go.Bar(
                y=labels,
                x=counts[status],
                name=label,
                orientation="h",
                marker=dict(color=charts.PALETTE[i], pattern_shape=STATUS_PATTERNS[i]),
                text=[formatting.number(v) if v else "" for v in counts[status]],
                hovertemplate=f"%{{y}}<br>{hover(label)} : %{{x}}<extra></extra>",
            )
        )
    fig.update_layout(title="Actions du plan par axe et par statut", barmode="stack")
    charts.label_bars(fig, float(counts[list(plan.STATUSES)].sum(axis=1).max() or 1))
    # The statuses' legend under the bars, where it covers none of them.
    fig.update_traces(textposition="inside", insidetextanchor="middle")
    fig.update_layout(
        legend=dict(orientation="h", yanchor="top", y=-0.02, x=0, traceorder="normal"),
        height=fig.layout.height + LEGEND_SPACE,
        margin=dict(b=20 + LEGEND_SPACE),
    )
    table = pd.DataFrame(
        {
            "Axe": labels,
            **{
                label: [formatting.number(v) for v in counts[s]]
                for s, label in plan.STATUSES.items()
            },
            "Total": [formatting.number(v) for v in counts[list(plan.STATUSES)].sum(axis=1)],
        }
    )
    download = pd.DataFrame(
        {
            "axe": counts["axis_code"],
            "intitule": counts["title"],
            **{s: counts[s] for s in plan.STATUSES},
        }
    )
    totals = counts[list(plan.STATUSES)].sum()
    alt = (
        f"{counted(int(totals.sum()), 'action', 'actions')} : "
        + ", ".join(status_counted(s, totals[s]) for s in plan.STATUSES)
        + ". "
        + " ; ".join(
            f"{lb} : {counted(int(n), 'action', 'actions')}"
            for lb, n in zip(labels, counts[list(plan.STATUSES)].sum(axis=1))
        )
        + "."
    )
    return blocks.Block(
        "actions-statut",
        "Les actions par axe et par statut",
        fig,
        alt,
        table,
        download,
        source_paragraph(wh),
    )


def progress_block(wh, axis: str | None) -> blocks.Block:
    """Each indicator's latest measure against its target (100 % = target reached)."""
    data = plan.progress(wh, axis)
    names = [f"{a} – {i}" for a, i in zip(data["action_code"], data["indicator"])]
    measured = data["progress_pct"].notna().to_numpy()
    shown = data[measured]
    fig = go.Figure(
        go.Bar(
            x=shown["progress_pct"],
            y=np.array(names)[measured],
            orientation="h",
            marker=dict(
                color=[
                    charts.PALETTE[2] if v >= 100 else charts.PALETTE[0]
                    for v in shown["progress_pct"]
                ]
            ),
            text=[formatting.percent(v, 0) for v in shown["progress_pct"]],
            hovertemplate="%{y} : %{text} de la cible<extra></extra>",
        )
    )
    top = max(120.0, float(shown["progress_pct"].max() * 1.15) if len(shown) else 120.0)
    low = min(0.0, float(shown["progress_pct"].min()) if len(shown) else 0.0)
    fig.update_layout(title="Avancement des indicateurs vers leur cible")
    charts.label_bars(fig, top / 1.2, low)
    fig.add_vline(x=100, line_dash="dash", line_color="#000000")
    fig.add_annotation(
        x=100,
        y=1,
        yref="paper",
        text="cible",
        showarrow=False,
        xanchor="left",
        yanchor="bottom",
        font=dict(size=12),
    )

    value = with_unit
    table = pd.DataFrame(
        {
            "Action et indicateur": names,
            "Valeur initiale": [value(v, u) for v, u in zip(data["baseline"], data["unit"])],
            "Cible": [value(v, u) for v, u in zip(data["target"], data["unit"])],
            "Réalisé": [
                value(v, u) or "non mesuré" for v, u in zip(data["achieved"], data["unit"])
            ],
            "Date de mesure": [
                formatting.long_date(d) if pd.notna(d) else "" for d in data["measured_on"]
            ],
            "Avancement": [
                formatting.percent(v, 0) if pd.notna(v) else "non mesuré"
                for v in data["progress_pct"]
            ],
        }
    )
    download = pd.DataFrame(
        {
            "action": data["action_code"],
            "indicateur": data["indicator"],
            "unite": data["unit"],
            "valeur_initiale": data["baseline"],
            "cible": data["target"],
            "realise": data["achieved"],
            "date_mesure": [
                d.date().isoformat() if pd.notna(d) else ""
                for d in pd.to_datetime(data["measured_on"])
            ],
            "avancement_pct": data["progress_pct"].round(1),
        }
    )
    reached = int((shown["progress_pct"] >= 100).sum())
    alt = (
        f"{counted(len(data), 'indicateur', 'indicateurs')}, "
        f"{counted(len(shown), 'mesuré', 'mesurés')}, {formatting.number(reached)} à la cible "
        "ou au-delà. "
        + " ; ".join(
            f"{n} : {formatting.percent(v, 0)}"
            for n, v in zip(np.array(names)[measured], shown["progress_pct"])
        )
        + "."
    )
    return blocks.Block(
        "avancement",
        "L'avancement vers les cibles",
        fig,
        alt,
        table,
        download,
        source_paragraph(
            wh,
            [
                "Avancement = (réalisé − valeur initiale) / (cible − valeur "
                "initiale), dernière mesure de chaque indicateur ; une cible peut "
                "être une baisse."
            ],
        ),
    )


def plan_region(wh) -> str:
    """The région of the plan: that of its région-level actions or events, else that of most
    of its events, else the région setting."""
    found = wh.sql(
        "SELECT territory_code AS code, count(*) AS n FROM (SELECT territory_level, territory_code "
        "FROM plan_actions UNION ALL SELECT territory_level, territory_code FROM plan_events) "
        "WHERE territory_level = 'region' GROUP BY ALL ORDER BY n DESC, code LIMIT 1"
    )
    if len(found):
        return found["code"].iloc[0]
    events = plan.events_by_departement(wh).dropna(subset=["region_code"])
    if len(events):
        return events.groupby("region_code")["events"].sum().idxmax()
    return settings.DEFAULT_REGION


def event_classes(counts: pd.Series) -> pd.Series:
    """Class labels of event counts (natural breaks, at most 4 classes), « aucun » apart."""
    labels = pd.Series(NO_EVENT, index=counts.index)
    some = counts[counts > 0]
    if some.empty:
        return labels
    labels[some.index] = maps.natural_classes(some, 4, formatting.number)
    return labels


def events_block(wh) -> blocks.Block:
    """Events by département of the plan's région, on a map."""
    region = plan_region(wh)
    deps = reference.departements()
    deps = deps[deps["region_code"] == region].set_index("code")
    shapes = outlines("departement", deps.index)
    events = plan.events_by_departement(wh)
    counts = events.dropna(subset=["departement_code"]).set_index("departement_code")["events"]
    counts = counts.reindex(deps.index).fillna(0).astype(int)
    classes = event_classes(counts)
    region_wide = int(events.loc[events["departement_code"].isna(), "events"].sum())
    ordered = [
        NO_EVENT,
        *list(dict.fromkeys(classes[counts.sort_values().index][counts.sort_values() > 0])),
    ]
    colours = (
        [charts.SECRET_COLOUR, *charts.CLASS_COLOURS[-(len(ordered) - 1) :]]
        if len(ordered) > 1
        else [charts.SECRET_COLOUR]
    )
    name = wh.sql(
        "SELECT name FROM territories WHERE level = 'region' AND code = $c", dict(c=region)
    )["name"]
    region_name = name.iloc[0] if len(name) else region
    data = pd.DataFrame({"code": classes.index, "classe": classes.to_numpy()})
    data["survol"] = [
        f"<b>{hover(deps.loc[c, 'name'])}</b><br>"
        + counted(int(counts[c]), "événement", "événements")
        for c in data["code"]
    ]
    fig = maps.choropleth(
        data,
        {label: colour for label, colour in zip(ordered, colours) if (classes == label).any()},
        maps.features(shapes),
        (["survol"], "%{customdata[0]}<extra></extra>"),
        f"Événements par département, {region_name}",
        shapes.total_bounds,
        height=600,
        margin=dict(l=0, r=0, t=60, b=0),
        legend=dict(MAP_LEGEND, title=dict(text="Nombre d'événements", side="top")),
    )
    table = pd.DataFrame(
        {
            "Département": [f"{deps.loc[c, 'name']} ({c})" for c in counts.index],
            "Événements": [formatting.number(v) for v in counts],
            "Classe de la carte": classes.tolist(),
        }
    )
    download = pd.DataFrame(
        {
            "code": counts.index,
            "departement": deps.loc[counts.index, "name"],
            "evenements": counts.to_numpy(),
            "classe": classes.tolist(),
        }
    )
    top = counts.sort_values(ascending=False)
    alt = (
        f"{counted(int(counts.sum()), 'événement', 'événements')} dans les "
        f"{len(counts)} départements {messages.place(indicators.resolve(wh, region, 'region')).of}"
        + (
            f", plus {formatting.number(region_wide)} à l'échelle de la région"
            if region_wide
            else ""
        )
        + ". Les plus nombreux : "
        + "; ".join(
            f"{deps.loc[c, 'name']} : {formatting.number(v)}" for c, v in top.head(3).items()
        )
        + "."
    )
    return blocks.Block(
        "evenements",
        "Les événements par territoire",
        fig,
        alt,
        table,
        download,
        source_paragraph(
            wh, ["Un événement communal ou intercommunal compte dans son département."]
        ),
    )


def actions_block(wh, axis: str | None) -> blocks.Block:
    """The list of actions (table only)."""
    data = plan.actions(wh, axis)
    territory = [
        ("" if pd.isna(lv) else f"{n} ({plan.LEVELS[lv]} {c})")
        for lv, c, n in zip(data["territory_level"], data["territory_code"], data["territory_name"])
    ]
    table = pd.DataFrame(
        {
            "Action": [f"{c} – {t}" for c, t in zip(data["action_code"], data["title"])],
            "Axe": data["axis_code"],
            "Pilote": data["lead_partner"].fillna(""),
            "Territoire": territory,
            "Statut": data["status"].map(plan.STATUSES),
            "Début": [month_year(d) for d in data["start_date"]],
            "Fin": [month_year(d) for d in data["end_date"]],
            "Budget": [
                formatting.euros(v) if pd.notna(v) else "non renseigné" for v in data["budget_eur"]
            ],
        }
    )
    download = pd.DataFrame(
        {
            "action": data["action_code"],
            "axe": data["axis_code"],
            "intitule": data["title"],
            "pilote": data["lead_partner"],
            "niveau": data["territory_level"],
            "territoire": data["territory_code"],
            "statut": data["status"],
            "date_debut": [
                d.date().isoformat() if pd.notna(d) else ""
                for d in pd.to_datetime(data["start_date"])
            ],
            "date_fin": [
                d.date().isoformat() if pd.notna(d) else ""
                for d in pd.to_datetime(data["end_date"])
            ],
            "budget_eur": data["budget_eur"],
        }
    )
    alt = counted(len(data), "action", "actions") + (f" de l'axe {axis}" if axis else "") + "."
    return blocks.Block(
        "actions", "La liste des actions", None, alt, table, download, source_paragraph(wh)
    )


def plan_is_demo(wh) -> bool:
    """True when the plan is the demonstration's example."""
    return bool(wh.sql("SELECT coalesce(bool_or(synthetic), false) AS d FROM plan_axes")["d"][0])


# The page's blocks: anchor (slug) and title in the table of contents.
BLOCKS = [
    ("actions-statut", "Les actions par statut"),
    ("avancement", "L'avancement vers les cibles"),
    ("evenements", "Les événements"),
    ("actions", "La liste des actions"),
]


def summary_sentence(wh, axis: str | None) -> str:
    """« 23 actions : 3 réalisées, 12 en cours ; 3 indicateurs sur 22 ont atteint leur cible. »"""
    actions = plan.actions(wh, axis)
    progress = plan.progress(wh, axis)
    reached = int((progress["progress_pct"] >= 100).sum())
    return (
        f"{counted(len(actions), 'action', 'actions')} : "
        f"{status_counted('realisee', (actions['status'] == 'realisee').sum())}, "
        f"{status_counted('en_cours', (actions['status'] == 'en_cours').sum())} ; "
        f"{formatting.number(reached)} indicateur{'s' if reached > 1 else ''} sur "
        f"{formatting.number(len(progress))} "
        f"{'ont' if reached > 1 else 'a'} atteint leur cible."
    )


def view_outputs(wh, axis: str | None) -> list[dict]:
    """Everything below the axis filter, as outputs."""
    title = (
        "Tous les axes"
        if axis is None
        else axis_label(axis, plan.axes(wh).set_index("axis_code").loc[axis, "title"])
    )
    region = plan_region(wh)
    place = indicators.resolve(wh, region, "region").name if region else ""
    outputs = [
        html.html_output(
            f"<h2 class='obs-title'>{esc(title)}</h2>"
            + f"<p class='obs-summary'>{esc(summary_sentence(wh, axis))}</p>"
            + html.cards_html(cards(wh, axis), "Chiffres clés du plan")
            + blocks.navigation_html([(blocks.anchor(slug), name) for slug, name in BLOCKS])
        )
    ]
    slug = "plan" if axis is None else f"plan-axe-{axis}"
    demo = plan_is_demo(wh)
    for block in (
        status_block(wh, axis),
        progress_block(wh, axis),
        events_block(wh),
        actions_block(wh, axis),
    ):
        outputs += blocks.block_outputs(blocks.finish(block, place, None, demo), slug)
    return outputs


class PlanPage:
    """The axis filter and its updates; the page address follows the axis."""

    def __init__(self, wh, axis: str | None):
        import ipywidgets as w

        self.wh = wh
        options = [("Tous les axes", "")] + [
            (axis_label(c, t), c)
            for c, t in zip(plan.axes(wh)["axis_code"], plan.axes(wh)["title"])
        ]
        self.axis_select = w.Dropdown(
            options=options, value=axis or "", description="Axe :", layout=w.Layout(width="48em")
        )
        self.content = w.Output()
        self.address = w.Output(layout=w.Layout(display="none"))
        self.axis_select.observe(lambda _: self.update(), "value")
        self.widget = w.VBox([self.axis_select, self.content, self.address])

    def update(self) -> None:
        axis = self.axis_select.value or None
        common.set_outputs(self.content, view_outputs(self.wh, axis))
        link = "?" + urlencode({"axe": axis}) if axis else "?"
        common.set_outputs(self.address, [common.address_output(link)])


@common.page
def build(axe: str | None = None) -> common.Shown:
    """The plan's page; the argument (for papermill) overrides the URL parameter."""
    wh = common.warehouse()
    common.wait_for_request()
    params = common.query_parameters(PARAMETERS)
    head = html.STYLE + (html.banner_html() if wh.is_demo() else "")
    head += "<h1>Suivi du plan régional de l'ESS</h1>"
    if not wh.has_table("plan_axes"):
        return common.Shown(head + common.message_html([OLD_WAREHOUSE]))
    if plan.axes(wh).empty:
        return common.Shown(head + common.message_html([*params.messages, NO_PLAN]))
    axis, messages = parse_axis(wh, axe if axe is not None else params.values.get("axe"))
    return common.Shown(head + common.message_html(params.messages + messages), PlanPage(wh, axis))
