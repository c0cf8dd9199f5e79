"""The blocks of the accompagnement page below its map: population far from support, the
least-served EPCIs, distances by type and phase, the directory; its header and its blocks in
page order."""

from __future__ import annotations

import numpy as np
import pandas as pd
import plotly.graph_objects as go

from observatory import formatting, secrecy, settings, support
from observatory.views import blocks, charts, html, messages
from observatory.views.html import esc
from observatory.views.support_map import (
    LEAST_SERVED,
    ess_source,
    hover,
    km,
    map_block,
    region_territory,
    selection_label,
    source_paragraph,
    structures_count,
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
            text=[km(v) for v in data["mean_km"][shown]],
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
            "Distance moyenne": [km(v) for v in data["mean_km"]],
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
        + (f"La plus grande : {far['label']} ({km(far['mean_km'])})." if far is not None else "")
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
            text=[km(v) for v in data["mean_km"]],
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
            "Distance moyenne": [km(v) for v in data["mean_km"]],
            "Distance maximale": [km(v) for v in data["max_km"]],
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
        + "; ".join(f"{n} : {km(v)}" for n, v in zip(names, data["mean_km"]))
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
