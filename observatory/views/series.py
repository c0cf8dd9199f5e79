"""The blocks of a view over the years and beside other territories: trends of employment,
métropoles and other communes, figures published by others (INSEE, Urssaf, the CRESS)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import plotly.graph_objects as go

from observatory import formatting, indicators, published, secrecy
from observatory.views import charts, frames, html
from observatory.views.blocks import ESTIMATE, SHARE_LABEL, Block, estimated
from observatory.views.html import esc

# Published shares and counts, most telling first (what the comparison sets side by side).
PUBLISHED_COUNTS = (
    "insee_ess_share_employees",
    "cress_ess_share_employees",
    "cress_employees",
    "urssaf_average_employees",
    "cress_establishments",
    "urssaf_establishments",
)
# Published figures in cards and chart, most telling first.
HEADLINES = (*PUBLISHED_COUNTS, "urssaf_wage_bill", "cress_gross_wages", "cress_fte")
# The family breakdown of an observatory indicator a published family figure is set beside.
FAMILY_COUNTERPARTS = {
    "ess_establishments": "family_establishments",
    "ess_employees": "family_employees",
    "ess_fte": "family_fte",
    "ess_gross_wages": "family_gross_wages",
}


# ---------------------------------------------------------------------------------------------
# Trends and métropoles


def trends(series: list[tuple[indicators.Territory, pd.DataFrame]]) -> Block:
    """ESS employees over the years, base 100 in the first year, for each territory."""
    fig = go.Figure()
    columns: dict[str, list] = {}
    raw: dict[str, list] = {}
    years = None
    masked = False
    for i, (territory, frame) in enumerate(series):
        rows = frame[frame["indicator"] == "employees_index"].sort_values("year")
        years = rows["year"].tolist()
        columns[territory.label] = rows["display"].tolist()
        raw[territory.label] = [frames.value_or_mark(r) for _, r in rows.iterrows()]
        masked |= bool(rows["secret"].any())
        fig.add_trace(
            go.Scatter(
                x=rows["year"],
                y=rows["value"].where(~rows["secret"]),
                name=territory.label,
                mode="lines+markers",
                line=dict(color=charts.PALETTE[i], dash=charts.DASHES[i], width=3),
                marker=dict(symbol=charts.SYMBOLS[i], size=9),
                text=rows["display"],
                hovertemplate=f"{esc(territory.label)}<br>%{{x}} : %{{text}}<extra></extra>",
            )
        )
    first = years[0]
    frame = series[0][1]
    clap_flores = not estimated(frame)  # SIRENE's stocks make one series
    if clap_flores:
        fig.add_vline(x=2015.5, line_dash="dot", line_color="#555")
        fig.add_annotation(
            x=2015.5,
            y=1,
            yref="paper",
            text="rupture de série Clap / Flores",
            showarrow=False,
            xanchor="left",
            yanchor="top",
            font=dict(size=12),
        )
    fig.update_layout(
        title=f"Postes salariés de l'ESS{ESTIMATE if not clap_flores else ''}, indice base 100 "
        f"en {first}",
        xaxis=dict(title=None, tickformat="d", nticks=10, gridcolor="#e5e5e5", automargin=True),
        yaxis=dict(
            title="Indice",
            gridcolor="#e5e5e5",
            automargin=True,
            range=index_range([t.y for t in fig.data]),
        ),
        legend=dict(orientation="h", yanchor="top", y=-0.12, x=0),
    )
    charts.french_layout(fig, height=420)
    table = pd.DataFrame({"Année": years, **columns})
    download = pd.DataFrame({"annee": years, **raw})
    last = {label: values[-1] for label, values in columns.items()}
    alt = (
        f"Évolution des postes salariés de l'ESS de {first} à {years[-1]} (base 100 en "
        f"{first}) : "
        + "; ".join(f"{k} : {v} en {years[-1]}" for k, v in last.items())
        + (
            ". Les évolutions qui franchissent 2015-2016 (passage de Clap à Flores) ne sont "
            "pas comparables."
            if clap_flores
            else "."
        )
    )
    source = html.source_html(
        frame["source"].iloc[0],
        int(frame.attrs["year"]),
        [
            indicators.REGISTRY["employees_index"].definition,
            "La série Clap (jusqu'en 2015) et la série Flores (depuis 2016) ne sont pas comparables."
            if clap_flores
            else "",
        ],
        secret=masked,
    )
    return Block("evolution", "L'évolution de l'emploi de l'ESS", fig, alt, table, download, source)


INDEX_SPAN = 10  # an index chart spans at least 100 ± 10: a small change looks small


def index_range(series) -> list[float]:
    """The y range of an index chart: its values, and at least 90 to 110 around base 100."""
    values = [float(v) for ys in series for v in ys if v is not None and not pd.isna(v)]
    low, high = min(values, default=100.0), max(values, default=100.0)
    pad = 0.08 * (high - low)
    return [min(100 - INDEX_SPAN, low - pad), max(100 + INDEX_SPAN, high + pad)]


METRO_ROWS = (
    ("ess_share_employees", "Ensemble du territoire"),
    ("ess_share_metropoles", "Communes des métropoles"),
    ("ess_share_outside_metropoles", "Autres communes"),
)


def metropolitan(series: list[tuple[indicators.Territory, pd.DataFrame]]) -> Block:
    """ESS share of salaried employment inside and outside métropoles, for each territory."""
    fig = go.Figure()
    columns, raw, masked = {}, {}, False
    for i, (territory, frame) in enumerate(series):
        rows = [frames.row(frame, code) for code, _ in METRO_ROWS]
        # Not computed (a territory without any commune data, such as Mayotte): « n.d. ».
        rows = [
            pd.Series(dict(display="n.d.", value=np.nan, secret=False)) if r is None else r
            for r in rows
        ]
        columns[territory.label] = [r["display"] for r in rows]
        raw[territory.label] = [frames.value_or_mark(r) for r in rows]
        masked |= any(r["secret"] for r in rows)
        shown = [
            (lb, r)
            for (_, lb), r in zip(METRO_ROWS, rows)
            if not r["secret"] and pd.notna(r["value"])
        ]
        fig.add_trace(
            go.Bar(
                y=[lb for lb, _ in shown],
                x=[r["value"] for _, r in shown],
                orientation="h",
                name=territory.label,
                text=[r["display"] for _, r in shown],
                textposition="outside",
                marker=dict(color=charts.PALETTE[i], pattern_shape=["", "/", "."][i % 3]),
                cliponaxis=False,
                hovertemplate=f"{esc(territory.label)}<br>%{{y}} : %{{text}}<extra></extra>",
            )
        )
    fig.update_layout(
        title=SHARE_LABEL + " dans et hors des métropoles",
        barmode="group",
        yaxis=dict(autorange="reversed", title=None, automargin=True),
        xaxis=dict(
            ticksuffix="\u202f%",
            automargin=True,
            gridcolor="#e5e5e5",
            nticks=6,
            range=[0, 1.25 * max([v for t in fig.data for v in t.x] or [1])],
        ),
        legend=dict(orientation="h", yanchor="top", y=-0.1, x=0),
    )
    charts.french_layout(fig, height=400)
    labels = [lb for _, lb in METRO_ROWS]
    table = pd.DataFrame({"Périmètre": labels, **columns})
    download = pd.DataFrame({"perimetre": labels, **raw})
    alt = (
        " ; ".join(
            f"{k} : " + ", ".join(f"{lb.lower()} {v}" for lb, v in zip(labels, vals))
            for k, vals in columns.items()
        )
        + "."
    )
    frame = series[0][1]
    notes = [
        n
        for n in frame.loc[
            frame["indicator"].isin(["ess_share_metropoles", "ess_share_outside_metropoles"]),
            "note",
        ].dropna()
    ]
    source = html.source_html(
        frame["source"].iloc[0],
        int(frame.attrs["year"]),
        [
            indicators.REGISTRY["ess_share_metropoles"].definition,
            *[n.capitalize() + "." for n in notes],
        ],
        secret=masked,
    )
    return Block(
        "metropoles", "Métropoles et autres territoires", fig, alt, table, download, source
    )


# ---------------------------------------------------------------------------------------------
# Figures published by others (INSEE, Urssaf, the CRESS)

PUBLISHED_NOTE = (
    "« s » : valeur couverte par le secret statistique (par l'éditeur, ou par l'observatoire "
    "pour les chiffres de la CRESS : moins de 3 établissements, ou secret induit) ; « n.d. » : "
    "valeur non disponible (marqueur de l'éditeur : non disponible, non déterminé, non "
    "significatif, néant ou cellule vide)."
)


def published_rows(frame: pd.DataFrame) -> pd.DataFrame:
    """The published figures of a frame (those of its territory, every year), without the
    indicators no loaded file gives."""
    rows = frame[(frame["theme"] == "published") & (frame["note"] != indicators.NOT_LOADED)]
    return rows


def _beside(frame: pd.DataFrame, row: pd.Series) -> str:
    """The observatory's own figure for a published one of the frame's year (its whole ESS or
    a family), as displayed; empty when there is none to set beside it."""
    own = published.COUNTERPARTS.get(row["indicator"])
    if own is None or row["year"] != int(frame.attrs["year"]) or not frame.attrs.get("facts"):
        return ""
    if pd.isna(row["breakdown"]):
        match = frames.row(frame, own)
    elif row["breakdown"] == "famille" and own in FAMILY_COUNTERPARTS:
        match = frames.row(frame, FAMILY_COUNTERPARTS[own], row["category"])
    else:
        return ""
    return "" if match is None else match["display"]


def published_block(frame: pd.DataFrame, territory: indicators.Territory) -> Block | None:
    """The ESS as INSEE, Urssaf or the CRESS publish it for the territory, every year, each
    figure with its source, beside the observatory's own figure of the same year (labelled,
    never added); None when no loaded file gives any."""
    rows = published_rows(frame)
    if rows.empty:
        return None
    year = int(frame.attrs["year"])
    own_label = (
        f"Estimation d'après SIRENE, {year}" if estimated(frame) else f"Observatoire, {year}"
    )
    rows = rows.assign(champ=rows["category_label"].fillna("Ensemble de l'ESS"))
    breakdown = rows["breakdown"].fillna("")
    latest = rows.groupby("indicator")["year"].transform("max")
    # The table: the ESS and its families every year, its sectors in the latest year; the
    # download: every figure (each family by sector too).
    by_sector = ~breakdown.isin(["", "famille"])
    sector_alone = by_sector & ~breakdown.str.startswith("famille")
    shown = rows[~by_sector | (sector_alone & (rows["year"] == latest))]
    beside = [_beside(frame, r) for _, r in shown.iterrows()]
    table = pd.DataFrame(
        {
            "Champ": shown["champ"].tolist(),
            "Chiffre publié": shown["label"].tolist(),
            "Année": shown["year"].astype(str).tolist(),
            "Valeur publiée": shown["display"].tolist(),
            own_label: beside,
            "Source": shown["source"].tolist(),
        }
    )
    if not any(beside):
        table = table.drop(columns=own_label)
    download = pd.DataFrame(
        {
            "indicateur": rows["indicator"].tolist(),
            "libelle": rows["label"].tolist(),
            "champ": rows["champ"].tolist(),
            "annee": rows["year"].tolist(),
            "valeur": [
                frames.value_or_mark(r) if r["available"] else "n.d." for _, r in rows.iterrows()
            ],
            "unite": rows["unit"].tolist(),
            "source": rows["source"].tolist(),
        }
    )
    figure, alt = _published_chart(frame, rows, territory)
    masked = bool(rows["secret"].any())
    sources = list(dict.fromkeys(rows["source"]))
    definitions = [indicators.REGISTRY[c].definition for c in dict.fromkeys(rows["indicator"])]
    text = (
        f"Sources : {esc(' ; '.join(sources))}. "
        + " ".join(esc(d) for d in definitions)
        + " Chiffres montrés tels que publiés, à côté de ceux de l'observatoire, jamais ajoutés "
        "à eux."
        + (
            " Le détail par famille et par secteur est dans le téléchargement."
            if len(shown) < len(rows)
            else ""
        )
        + " "
        + esc(PUBLISHED_NOTE)
    )
    if masked:
        alt += " Certains chiffres sont couverts par le secret statistique."
    return Block(
        "chiffres-publies",
        "Les chiffres publiés",
        figure,
        alt,
        table,
        download,
        f'<p class="obs-source">{text}</p>',
    )


def _published_chart(
    frame: pd.DataFrame, rows: pd.DataFrame, territory: indicators.Territory
) -> tuple[go.Figure | None, str]:
    """The most telling published indicator over the years (one with a value in the
    portrait's year first), for the ESS and each family given, with the observatory's own
    figure of the portrait's year beside it; and its text alternative. No chart without any
    value to draw."""
    drawn = rows[rows["value"].notna()]
    this_year = set(drawn.loc[drawn["year"] == int(frame.attrs["year"]), "indicator"])
    candidates = [c for c in HEADLINES if c in this_year] + [
        c for c in HEADLINES if c in set(drawn["indicator"])
    ]
    code = candidates[0] if candidates else None
    if code is None:
        return None, "Aucun chiffre publié n'a de valeur à tracer (secret ou non disponible)."
    meta = indicators.REGISTRY[code]
    data = rows[
        (rows["indicator"] == code) & (rows["breakdown"].isna() | (rows["breakdown"] == "famille"))
    ]
    percent = meta.fmt == "percent"
    fig = go.Figure()
    described = []
    for i, (champ, group) in enumerate(data.groupby("champ", sort=False)):
        group = group.sort_values("year")
        visible = group["value"].where(~group["secret"])
        fig.add_trace(
            go.Scatter(
                x=group["year"],
                y=visible,
                name=champ,
                mode="lines+markers",
                line=dict(
                    color=charts.PALETTE[i % len(charts.PALETTE)],
                    dash=charts.DASHES[i % 4],
                    width=3,
                ),
                marker=dict(symbol=charts.SYMBOLS[i % 4], size=9),
                text=group["display"],
                hovertemplate=f"{esc(champ)}<br>%{{x}} : %{{text}}<extra></extra>",
            )
        )
        last = group.iloc[-1]
        described.append(f"{champ} : {last['display']} en {last['year']}")
    own = (
        _beside(frame, data[data["breakdown"].isna()].iloc[0])
        if data["breakdown"].isna().any()
        else ""
    )
    year = int(frame.attrs["year"])
    if own and own not in (secrecy.MARK, "n.d.", formatting.MISSING):
        counterpart = frames.row(frame, published.COUNTERPARTS[code])
        label = "Estimation d'après SIRENE" if estimated(frame) else "Observatoire"
        fig.add_trace(
            go.Scatter(
                x=[year],
                y=[counterpart["value"]],
                name=f"{label} ({counterpart['label']})",
                mode="markers",
                marker=dict(symbol="x", size=13, color=charts.PALETTE[5]),
                text=[own],
                hovertemplate=f"{label}<br>%{{x}} : %{{text}}<extra></extra>",
            )
        )
        described.append(f"{label[0].lower()}{label[1:]} pour {year} : {own}")
    fig.update_layout(
        title=f"{meta.label}, {territory.label}",
        xaxis=dict(title=None, tickformat="d", nticks=10, gridcolor="#e5e5e5", automargin=True),
        yaxis=dict(
            title=meta.unit,
            ticksuffix="\u202f%" if percent else "",
            gridcolor="#e5e5e5",
            rangemode="tozero",
            automargin=True,
            tickformat=",~r",
        ),
        legend=dict(orientation="h", yanchor="top", y=-0.12, x=0),
    )
    charts.french_layout(fig, height=420)
    return fig, f"{meta.label} : " + " ; ".join(described) + "."
