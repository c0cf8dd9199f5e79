"""The blocks of a territory's view (key figures, map, families, sectors, trends, métropoles,
published figures): each a chart with its text alternative, data table, downloads, source and
definitions.

Figures come from :mod:`observatory.indicators`, where secrecy is applied: a masked value is
NaN with ``secret`` set, shown as « s » in tables and kept out of charts and downloads.
"""

from __future__ import annotations

import fcntl
import hashlib
import html
import json
import math
import os
import re
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from contextlib import suppress
from dataclasses import dataclass
from functools import lru_cache, partial
from pathlib import Path

import numpy as np
import pandas as pd
import plotly.graph_objects as go

from observatory import (
    exports,
    formatting,
    fsutil,
    indicators,
    messages,
    published,
    secrecy,
    settings,
)
from observatory.dashboards import common
from observatory.dashboards.common import esc

THEMES = (
    "key_figures",
    "families",
    "sectors",
    "domains",
    "size",
    "trends",
    "rankings",
    "comparison",
    "metropolitan",
    "published",
)
SHARE_LABEL = "Part de l'ESS dans l'emploi salarié"
ESTIMATE = " (estimation)"  # after a figure estimated from SIRENE's staff bands
# Published figures in cards and chart, most telling first.
HEADLINES = (
    "insee_ess_share_employees",
    "cress_ess_share_employees",
    "cress_employees",
    "urssaf_average_employees",
    "cress_establishments",
    "urssaf_establishments",
    "urssaf_wage_bill",
    "cress_gross_wages",
    "cress_fte",
)
# The family breakdown of an observatory indicator a published family figure is set beside.
FAMILY_COUNTERPARTS = {
    "ess_establishments": "family_establishments",
    "ess_employees": "family_employees",
    "ess_fte": "family_fte",
    "ess_gross_wages": "family_gross_wages",
}
# Map of the territories inside a territory: level → possible child levels.
CHILDREN = {"france": ("region",), "region": ("departement", "epci"), "departement": ("epci",)}
CHILD_LABELS = {"region": "région", "departement": "département", "epci": "EPCI"}
CHILD_PLURALS = {"region": "régions", "departement": "départements", "epci": "EPCI"}
CHILD_HEADINGS = {"region": "Région", "departement": "Département", "epci": "EPCI"}


@dataclass
class Block:
    """One chart of a view and everything around it."""

    slug: str
    title: str
    figure: go.Figure | None
    alt: str  # text alternative of the chart
    table: pd.DataFrame  # display strings, « s » for masked values
    download: pd.DataFrame  # raw values, « s » for masked values
    source: str  # HTML: source, vintage, definitions
    place: str = ""  # the territory (or territories) shown, for the block's files
    year: int | None = None
    demo: bool = False
    empty: str = ""  # the one sentence shown instead, when there is nothing to show


def finish(block: Block, place: str, year: int | None, demo: bool) -> Block:
    """The block told what it shows (territory, year, demo data or not): its chart then says
    its source, or the demonstration label, under its title (and in its PNG)."""
    block.place, block.year, block.demo = place, year, demo
    if block.figure is not None and not block.empty and not drawn(block.figure):
        block.empty = NOTHING_TO_SHOW.format(place=place, year=year) if year else NOTHING_AT_ALL
    if block.figure is not None and block.figure.layout.meta != STAMPED:
        exports.stamp(block.figure, _source_parts(block.source)[0], year, demo)
        block.figure.layout.meta = STAMPED
    return block


STAMPED = "source"  # a chart's layout.meta once its source is drawn in
NOTHING_TO_SHOW = (
    "Rien à montrer ici pour {place} en {year} : aucun chiffre publiable (trop peu "
    "d'établissements de l'ESS, ou chiffres couverts par le secret statistique)."
)
NOTHING_AT_ALL = "Rien à montrer ici : aucun chiffre publiable."


def drawn(figure: go.Figure) -> bool:
    """True when some trace of the chart has a number to draw (a bar, a point, an area)."""
    for trace in figure.data:
        if "z" in trace and trace.z is not None:
            name = "z"
        elif "lat" in trace and trace.lat is not None:
            name = "lat"
        else:
            name = "x" if getattr(trace, "orientation", None) == "h" else "y"
        values = getattr(trace, name, None)
        for value in () if values is None else values:
            number = isinstance(value, (int, float, np.number)) and not isinstance(value, bool)
            if number and not math.isnan(float(value)):
                return True
    return False


def _source_parts(source: str) -> tuple[str, list[str]]:
    """(source, definitions) of a block's source paragraph."""
    if isinstance(source, common.SourceNote):
        return source.source, list(source.definitions)
    text = html.unescape(re.sub(r"<[^>]+>", " ", source))
    text = re.sub(r"\s+", " ", text).strip()
    text = re.sub(r"^Sources? : ", "", text)
    first, _, rest = text.partition(". ")
    return first.rstrip("."), [s if s.endswith(".") else s + "." for s in _sentences(rest)]


def _sentences(text: str) -> list[str]:
    return [s.strip() for s in re.split(r"(?<=\.) (?=[A-ZÀ-Ý«])", text) if s.strip()]


def export_table(block: Block) -> exports.Table:
    """The block's data as a file: its table, what it shows, source, definitions and label."""
    source, definitions = _source_parts(block.source)
    masked = bool((block.download.astype(str) == secrecy.MARK).to_numpy().any())
    secret = isinstance(block.source, common.SourceNote) and block.source.secret
    return exports.Table(
        block.download,
        block.title,
        territory=block.place,
        year=block.year,
        source=source,
        definitions=definitions,
        notes=[common.SECRET_NOTE] if masked and not secret else [],
        demo=block.demo,
    )


def block_outputs(block: Block, territory_slug: str) -> list[dict]:
    """The block as outputs: its title and chart (or the sentence saying there is nothing to
    show), then, folded until asked for, its description, source, table and files."""
    filename = f"{block.slug}-{territory_slug}"
    section = anchor(block.slug)
    head = (
        f'<section class="obs-block" id="{section}" aria-labelledby="{section}-titre">'
        f'<h2 id="{section}-titre">{esc(block.title)}</h2>'
    )
    if block.empty:
        return [common.html_output(head + f'<p class="obs-empty">{esc(block.empty)}</p></section>')]
    chart = block.figure is not None
    if not chart:  # a table alone: its description shows, the table is folded
        head += f'<p class="obs-alt">{esc(block.alt)}</p>'
    outputs = [common.html_output(head + "</section>")]
    if chart:
        outputs.append(common.figure_output(block.figure, filename))
    rows = len(block.table)
    summary = (
        "Description, données et téléchargements"
        if chart
        else f"Afficher le tableau ({formatting.number(rows)} ligne{'s' if rows > 1 else ''}) "
        "et le télécharger"
    )
    details = (
        f'<details class="obs-details"><summary>{summary}</summary>'
        + (f'<p class="obs-alt">Description du graphique : {esc(block.alt)}</p>' if chart else "")
        + block.source
        + common.table_html(
            block.table, f"Données du graphique : {block.title}" if chart else block.title
        )
        + common.downloads_html(export_table(block), filename, chart)
        + "</details>"
    )
    return [*outputs, common.html_output(details)]


def estimated(frame: pd.DataFrame) -> bool:
    """True when the frame's ESS figures are estimates from SIRENE (labelled so)."""
    return bool(frame.attrs.get("estimate"))


def slug(territory: indicators.Territory) -> str:
    return f"{territory.level}-{territory.code}".lower()


# ---------------------------------------------------------------------------------------------
# Key figures


def rank_note(
    row: pd.Series, territory: indicators.Territory, parent: indicators.Territory | None
) -> str | None:
    """« rang : 13e sur 100 départements en France », « rang : 1er sur 13 en Occitanie »; None
    for a masked rank or a scope of one territory (nothing to rank)."""
    if row["secret"] or pd.isna(row["value"]):
        return None
    size = re.search(r"sur ([\d\s\u202f\u00a0]+)", str(row["note"]))
    total = int(re.sub(r"\D", "", size.group(1))) if size else 0
    if total < 2:
        return None
    plural = messages.PLURALS[territory.level]
    if row["category"] == "france":
        scope = f"{plural} en France"
    elif parent is not None and row["category"] == parent.code:
        scope = messages.place(parent).at
    else:
        scope = f"{plural} ({row['category_label']})"
    return f"rang : {messages.ordinal(int(row['value']))} sur {formatting.number(total)} {scope}"


def key_figures(
    frame: pd.DataFrame,
    territory: indicators.Territory,
    parent: indicators.Territory | None = None,
) -> list[tuple[str, str, str]]:
    """Cards: ESS employees and establishments with change and rank (within France and
    within ``parent``), ESS share with the reference territory's."""
    row = lambda code, cat=None: common.row(frame, code, cat)  # noqa: E731
    year = int(frame.attrs["year"])
    suffix = ESTIMATE if estimated(frame) else ""
    if not frame.attrs.get("facts", True):  # a year without ESS facts: n.d. and why
        titles = ("Postes salariés de l'ESS", "Établissements employeurs de l'ESS", SHARE_LABEL)
        codes = ("ess_employees", "ess_establishments", "ess_share_employees")
        return [
            (title, row(code)["display"], row(code)["note"]) for title, code in zip(titles, codes)
        ] + published_cards(frame)
    cards = []
    for code, change, title in (
        ("ess_employees", "employees_annual_change", "Postes salariés de l'ESS" + suffix),
        (
            "ess_establishments",
            "establishments_annual_change",
            "Établissements employeurs de l'ESS",
        ),
    ):
        notes = []
        evolution = row(change, str(year))
        if evolution is not None:
            notes.append(
                f"évolution {evolution['category_label']} : {evolution['display']}"
                + (" (rupture de série)" if evolution["series_break"] else "")
            )
        if code == "ess_employees":
            notes += _ranks(frame, "rank_ess_employees", territory, parent)
        cards.append((title, row(code)["display"], " · ".join(notes)))
    share = row("ess_share_employees")
    notes = []
    ref = row("reference_ess_share_employees")
    if ref is not None:
        gap = row("gap_ess_share_employees")
        notes.append(f"{ref['category_label']} : {ref['display']} (écart {gap['display']})")
    notes += _ranks(frame, "rank_ess_share_employees", territory, parent)
    cards.append((SHARE_LABEL + suffix, share["display"], " · ".join(notes)))
    return cards + work_cards(frame) + published_cards(frame)


# The cards beside the share of all salaried employment: the share of private employment, the
# FTE, the wage bill and the average wage (« n.d. » with its reason where the source lacks them).
WORK_CARDS = (
    ("ess_share_private_employees", "Part de l'ESS dans l'emploi salarié privé"),
    ("ess_fte", "Équivalents temps plein (ETP) de l'ESS"),
    ("ess_gross_wages", "Masse salariale brute de l'ESS"),
    ("ess_average_wage_fte", "Salaire brut annuel moyen par ETP"),
)


def work_cards(frame: pd.DataFrame) -> list[tuple[str, str, str]]:
    """Cards of the ESS share of private employment, its FTE, wage bill and average wage."""
    suffix = ESTIMATE if estimated(frame) else ""
    cards = []
    for code, title in WORK_CARDS:
        row = common.row(frame, code)
        if row is None:
            continue
        note = row["note"] if isinstance(row["note"], str) else ""
        if code == "ess_share_private_employees":
            title += suffix
            note = "dénominateur : postes salariés du privé (ESS et privé hors ESS)"
            france = common.row(frame, "compared_ess_share_private_employees", "FR")
            if france is not None:
                note += f" · France : {france['display']}"
        cards.append((title, row["display"], note))
    return cards


def _ranks(frame, indicator, territory, parent) -> list[str]:
    rows = frame[frame["indicator"] == indicator]
    return [n for _, r in rows.iterrows() if (n := rank_note(r, territory, parent))]


def published_cards(frame: pd.DataFrame) -> list[tuple[str, str, str]]:
    """Cards of the ESS as others publish it for the portrait's year (beside, never added to,
    the observatory's own): one per published indicator giving the whole ESS that year."""
    rows = published_rows(frame)
    whole = rows[rows["category"].isna() & (rows["year"] == int(frame.attrs["year"]))]
    return [
        (r["label"], r["display"], r["source"])
        for code in HEADLINES
        for _, r in whole[whole["indicator"] == code].iterrows()
    ]


def key_figures_html(
    frame: pd.DataFrame,
    territory: indicators.Territory,
    parent: indicators.Territory | None = None,
) -> str:
    year = frame.attrs["year"]
    cards = key_figures(frame, territory, parent)
    html = common.cards_html(cards, f"Chiffres clés, {territory.label}, {year}")
    if any(value == secrecy.MARK for _, value, _ in cards):
        html += f'<p class="obs-source">{esc(common.SECRET_NOTE)}</p>'
    if published_cards(frame):
        html += (
            "<p class='obs-source'>Les chiffres publiés par d'autres (INSEE, Urssaf, CRESS) sont "
            "montrés avec leur source, à côté de ceux de l'observatoire, jamais ajoutés à eux.</p>"
        )
    return html + common.source_html(
        frame["source"].iloc[0],
        year,
        [
            indicators.REGISTRY[code].definition
            for code in (
                "ess_employees",
                "ess_share_employees",
                "ess_share_private_employees",
                "ess_fte",
                "ess_average_wage_fte",
            )
        ],
    )


# ---------------------------------------------------------------------------------------------
# Families and sectors


def _bar(data: pd.DataFrame, x: str, y: str, text: str, title: str, x_title: str) -> go.Figure:
    """Horizontal bars, each labelled above it and with its value (``x_title``: the unit of
    the values, in the bars' tooltips)."""
    fig = go.Figure(
        go.Bar(
            x=data[x],
            y=data[y],
            orientation="h",
            text=data[text],
            marker_color=common.PALETTE[0],
            hovertemplate=f"%{{y}} : %{{text}} ({esc(x_title)})<extra></extra>",
        )
    )
    fig.update_layout(title=title)
    return common.label_bars(fig, float(data[x].max()) if len(data) else 1.0)


def _category_rows(frame: pd.DataFrame, kind: str) -> list[dict]:
    """Employees, employer establishments and share of the ESS's employees of each category
    of ``kind`` (``family``, ``domain``), in the frame's order."""
    rows = []
    for category in dict.fromkeys(frame.loc[frame["indicator"] == f"{kind}_employees", "category"]):
        emp = common.row(frame, f"{kind}_employees", category)
        est = common.row(frame, f"{kind}_establishments", category)
        share = common.row(frame, f"{kind}_share_employees", category)
        rows.append(dict(label=emp["category_label"], emp=emp, est=est, share=share))
    return rows


def _employees_bars(
    rows: list[dict], y: str, title: str, suffix: str
) -> tuple[go.Figure, str, list[str]]:
    """Bars of the employees of each row of :func:`_category_rows` that is neither masked nor
    empty (with its share), the chart's text alternative, and the labels of the masked rows."""
    shown = [r for r in rows if not r["emp"]["secret"] and r["emp"]["value"] > 0]
    data = pd.DataFrame(
        {
            y: [r["label"] for r in shown],
            "postes": [r["emp"]["value"] for r in shown],
            "texte": [f"{r['emp']['display']} ({r['share']['display']})" for r in shown],
        }
    )
    masked = [r["label"] for r in rows if r["emp"]["secret"]]
    fig = _bar(data, "postes", y, "texte", title, "Postes salariés" + suffix)
    alt = (
        "; ".join(
            f"{r['label']} : {r['emp']['display']} postes ({r['share']['display']})" for r in shown
        )
        + "."
        if shown
        else "Aucune valeur publiable."
    )
    if masked:
        alt += f" Couvert par le secret statistique : {', '.join(masked)}."
    return fig, alt, masked


def families(frame: pd.DataFrame, territory: indicators.Territory) -> Block:
    """ESS employees by family (associations, coopératives…)."""
    year = int(frame.attrs["year"])
    rows = _category_rows(frame, "family")
    suffix = ESTIMATE if estimated(frame) else ""
    table = pd.DataFrame(
        {
            "Famille": [r["label"] for r in rows],
            "Établissements employeurs": [r["est"]["display"] for r in rows],
            "Postes salariés" + suffix: [r["emp"]["display"] for r in rows],
            "Part dans l'emploi de l'ESS": [r["share"]["display"] for r in rows],
        }
    )
    download = pd.DataFrame(
        {
            "famille": [r["label"] for r in rows],
            "etablissements_employeurs": [common.value_or_mark(r["est"]) for r in rows],
            "postes_salaries": [common.value_or_mark(r["emp"]) for r in rows],
            "part_emploi_ess_pct": [common.value_or_mark(r["share"]) for r in rows],
        }
    )
    fig, alt, masked = _employees_bars(
        rows,
        "famille",
        f"Postes salariés de l'ESS{suffix} par famille, {territory.label}, {year}",
        suffix,
    )
    source = common.source_html(
        frame["source"].iloc[0],
        year,
        [
            indicators.REGISTRY["family_employees"].definition,
            indicators.REGISTRY["family_share_employees"].definition,
        ],
        secret=bool(masked),
    )
    return Block("familles", "Les familles de l'ESS", fig, alt, table, download, source)


def sectors(frame: pd.DataFrame, territory: indicators.Territory) -> Block:
    """ESS share of salaried employment within each NAF section (A21)."""
    year = int(frame.attrs["year"])
    emp = frame[(frame["indicator"] == "sector_employees") & (frame["breakdown"] == "section A21")]
    share = frame[
        (frame["indicator"] == "sector_ess_share") & (frame["breakdown"] == "section A21")
    ].set_index("category")
    emp = emp[(emp["value"] > 0) | emp["secret"]].set_index("category")
    share = share.loc[emp.index]
    order = share["value"].fillna(-1).sort_values(ascending=False).index
    emp, share = emp.loc[order], share.loc[order]
    labels = [f"{c} – {lb}" for c, lb in zip(emp.index, emp["category_label"])]
    table = pd.DataFrame(
        {
            "Secteur (section NAF)": labels,
            "Postes salariés de l'ESS": emp["display"].tolist(),
            "Part de l'ESS dans l'emploi du secteur": share["display"].tolist(),
        }
    )
    download = pd.DataFrame(
        {
            "section_naf": emp.index,
            "libelle": emp["category_label"].tolist(),
            "postes_salaries_ess": [common.value_or_mark(r) for _, r in emp.iterrows()],
            "part_ess_emploi_secteur_pct": [common.value_or_mark(r) for _, r in share.iterrows()],
        }
    )
    visible = ~share["secret"].to_numpy() & share["value"].notna().to_numpy()
    data = pd.DataFrame(
        {
            "secteur": np.array(labels)[visible],
            "part": share["value"].to_numpy()[visible],
            "texte": share["display"].to_numpy()[visible],
        }
    )
    masked = [lb for lb, v in zip(labels, visible) if not v]
    title = f"Part de l'ESS dans l'emploi salarié de chaque secteur, {territory.label}, {year}"
    fig = _bar(data, "part", "secteur", "texte", title, "Part de l'ESS")
    alt = (
        "Secteurs où l'ESS pèse le plus dans l'emploi salarié : "
        + "; ".join(f"{s} : {t}" for s, t in zip(data["secteur"][:5], data["texte"][:5]))
        + "."
        if len(data)
        else "Aucune valeur publiable."
    )
    if masked:
        alt += f" {_counted(len(masked), 'secteur couvert', 'secteurs couverts')} par le secret statistique."
    source = common.source_html(
        frame["source"].iloc[0],
        year,
        [indicators.REGISTRY["sector_ess_share"].definition],
        secret=bool(masked),
    )
    return Block("secteurs", "Les secteurs d'activité", fig, alt, table, download, source)


def domains(frame: pd.DataFrame, territory: indicators.Territory) -> Block:
    """ESS employees by activity domain (groups of NAF sous-classes, with their codes)."""
    year = int(frame.attrs["year"])
    rows = _category_rows(frame, "domain")
    for r in rows:
        r["naf"] = str(r["emp"]["note"]).removeprefix("codes NAF : ")
    # Largest first, masked ones last in the documented order (their size is not said).
    rows.sort(key=lambda r: -r["emp"]["value"] if not r["emp"]["secret"] else np.inf)
    suffix = ESTIMATE if estimated(frame) else ""
    table = pd.DataFrame(
        {
            "Domaine d'activité": [r["label"] for r in rows],
            "Codes NAF": [r["naf"] for r in rows],
            "Établissements employeurs": [r["est"]["display"] for r in rows],
            "Postes salariés" + suffix: [r["emp"]["display"] for r in rows],
            "Part dans l'emploi de l'ESS": [r["share"]["display"] for r in rows],
        }
    )
    download = pd.DataFrame(
        {
            "domaine": [r["label"] for r in rows],
            "codes_naf": [r["naf"] for r in rows],
            "etablissements_employeurs": [common.value_or_mark(r["est"]) for r in rows],
            "postes_salaries": [common.value_or_mark(r["emp"]) for r in rows],
            "part_emploi_ess_pct": [common.value_or_mark(r["share"]) for r in rows],
        }
    )
    fig, alt, masked = _employees_bars(
        rows,
        "domaine",
        f"Postes salariés de l'ESS{suffix} par domaine d'activité, {territory.label}, {year}",
        suffix,
    )
    source = common.source_html(
        frame["source"].iloc[0],
        year,
        [
            indicators.REGISTRY["domain_employees"].definition,
            "Chaque domaine regroupe les sous-classes NAF dont les codes sont donnés dans le "
            "tableau ; « Associations non classées ailleurs » : sous-classe 94.99Z (autres "
            "organisations fonctionnant par adhésion volontaire).",
            indicators.REGISTRY["domain_share_employees"].definition,
        ],
        secret=bool(masked),
    )
    return Block("domaines", "Les domaines d'activité de l'ESS", fig, alt, table, download, source)


# Rows of the comparison: (indicator of the territory, of the territories compared, label).
COMPARED_ROWS = (
    ("ess_establishments", "compared_ess_establishments", "Établissements employeurs de l'ESS"),
    ("ess_employees", "compared_ess_employees", "Postes salariés de l'ESS"),
    ("ess_share_employees", "compared_ess_share_employees", SHARE_LABEL),
    (
        "ess_share_private_employees",
        "compared_ess_share_private_employees",
        "Part de l'ESS dans l'emploi salarié privé",
    ),
    ("ess_fte", "compared_ess_fte", "Équivalents temps plein (ETP) de l'ESS"),
    ("ess_gross_wages", "compared_ess_gross_wages", "Masse salariale brute de l'ESS"),
    ("ess_average_wage_fte", "compared_average_wage_fte", "Salaire brut annuel moyen par ETP"),
)


def comparison_columns(frame: pd.DataFrame, territory: indicators.Territory) -> dict:
    """Label → (code, rows of ``COMPARED_ROWS``) for the territory, then its reference, France
    and « France de province » (France less Île-de-France)."""
    columns = {territory.label: [common.row(frame, own) for own, _, _ in COMPARED_ROWS]}
    compared = frame[frame["indicator"] == "compared_ess_employees"]
    for code, label in zip(compared["category"], compared["category_label"]):
        columns[label] = [common.row(frame, other, code) for _, other, _ in COMPARED_ROWS]
    return columns


def comparison(frame: pd.DataFrame, territory: indicators.Territory) -> Block:
    """The territory's key figures beside its reference's, France's and « France de province »'s:
    ESS shares of all and of private salaried employment, FTE, wage bill, average wage."""
    year = int(frame.attrs["year"])
    columns = comparison_columns(frame, territory)
    labels = [label for _, _, label in COMPARED_ROWS]
    table = pd.DataFrame(
        {
            "Indicateur": labels,
            **{k: ["n.d." if r is None else r["display"] for r in v] for k, v in columns.items()},
        }
    )
    download = pd.DataFrame(
        {
            "indicateur": labels,
            **{
                k: [None if r is None else common.value_or_mark(r) for r in v]
                for k, v in columns.items()
            },
        }
    )
    fig = go.Figure()
    shares = (2, 3)  # the two shares: comparable from one territory to the next
    for i, (label, rows) in enumerate(columns.items()):
        points = [
            (labels[j], rows[j])
            for j in shares
            if rows[j] is not None and not rows[j]["secret"] and pd.notna(rows[j]["value"])
        ]
        fig.add_trace(
            go.Bar(
                y=[name for name, _ in points],
                x=[r["value"] for _, r in points],
                orientation="h",
                name=label,
                text=[r["display"] for _, r in points],
                textposition="outside",
                marker=dict(
                    color=common.PALETTE[i % len(common.PALETTE)],
                    pattern_shape=["", "/", ".", "x"][i % 4],
                ),
                cliponaxis=False,
                hovertemplate=f"{esc(label)}<br>%{{y}} : %{{text}}<extra></extra>",
            )
        )
    fig.update_layout(
        title=f"Part de l'ESS dans l'emploi salarié, {year} : comparaison",
        barmode="group",
        yaxis=dict(autorange="reversed", title=None, automargin=True),
        xaxis=dict(
            title="Part de l'ESS (%)", ticksuffix="\u202f%", automargin=True, gridcolor="#e5e5e5"
        ),
        legend=dict(orientation="h", yanchor="top", y=-0.18, x=0),
    )
    common.french_layout(fig, height=380)
    masked = any(r is not None and r["secret"] for rows in columns.values() for r in rows)
    alt = (
        " ; ".join(
            f"{label} : part de l'ESS {rows[2]['display'] if rows[2] is not None else 'n.d.'} "
            f"de l'emploi salarié, {rows[3]['display'] if rows[3] is not None else 'n.d.'} "
            "de l'emploi privé"
            for label, rows in columns.items()
        )
        + "."
    )
    source = common.source_html(
        frame["source"].iloc[0],
        year,
        [
            indicators.REGISTRY["ess_share_private_employees"].definition,
            indicators.REGISTRY["ess_average_wage_fte"].definition,
            f"{indicators.PROVINCE_LABEL} : la France entière moins la région Île-de-France.",
        ],
        secret=masked,
    )
    return Block(
        "comparaison",
        "Comparaison avec la France et la France de province",
        fig,
        alt,
        table,
        download,
        source,
    )


def sizes(frame: pd.DataFrame, territory: indicators.Territory) -> Block:
    """ESS establishments by size class (share of the establishments), with their employees and
    the average size."""
    year = int(frame.attrs["year"])
    average = common.row(frame, "average_size")
    rows = frame[frame["indicator"] == "size_establishments"]
    definitions = [
        indicators.REGISTRY["size_establishments"].definition,
        indicators.REGISTRY["average_size"].definition,
    ]
    title = "La taille des établissements"
    if not rows["available"].all():
        note = rows["note"].iloc[0]
        table = pd.DataFrame({"Taille moyenne (postes par établissement)": [average["display"]]})
        download = pd.DataFrame({"taille_moyenne": [common.value_or_mark(average)]})
        alt = (
            f"Taille moyenne des établissements de l'ESS : {average['display']} postes. "
            f"Répartition par taille {note}."
        )
        return Block(
            "tailles",
            title,
            None,
            alt,
            table,
            download,
            common.source_html(frame["source"].iloc[0], year, definitions),
        )
    classes = list(rows["category"])
    est = [common.row(frame, "size_establishments", c) for c in classes]
    emp = [common.row(frame, "size_employees", c) for c in classes]
    share = [common.row(frame, "size_share_establishments", c) for c in classes]
    labels = [r["category_label"] for r in est]
    table = pd.DataFrame(
        {
            "Taille (postes salariés)": labels,
            "Établissements employeurs": [r["display"] for r in est],
            "Part des établissements": [r["display"] for r in share],
            "Postes salariés": [r["display"] for r in emp],
        }
    )
    download = pd.DataFrame(
        {
            "taille": labels,
            "etablissements_employeurs": [common.value_or_mark(r) for r in est],
            "part_etablissements_pct": [common.value_or_mark(r) for r in share],
            "postes_salaries": [common.value_or_mark(r) for r in emp],
        }
    )
    shown = [
        (lb, e, s)
        for lb, e, s in zip(labels, est, share)
        if not s["secret"] and pd.notna(s["value"])
    ]
    data = pd.DataFrame(
        {
            "taille": [lb for lb, _, _ in shown],
            "part": [s["value"] for _, _, s in shown],
            "texte": [f"{s['display']} ({e['display']} établ.)" for _, e, s in shown],
        }
    )
    masked = [lb for lb, s in zip(labels, share) if s["secret"]]
    fig = _bar(
        data,
        "part",
        "taille",
        "texte",
        f"Établissements de l'ESS par taille, {territory.label}, {year}",
        "Part des établissements",
    )
    alt = (
        "Répartition des établissements de l'ESS par taille : "
        + "; ".join(f"{lb} : {t}" for lb, t in zip(data["taille"], data["texte"]))
        + f". Taille moyenne : {average['display']} postes par établissement."
    )
    if masked:
        alt += f" Couvert par le secret statistique : {', '.join(masked)}."
    source = common.source_html(frame["source"].iloc[0], year, definitions, secret=bool(masked))
    return Block("tailles", title, fig, alt, table, download, source)


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
        raw[territory.label] = [common.value_or_mark(r) for _, r in rows.iterrows()]
        masked |= bool(rows["secret"].any())
        fig.add_trace(
            go.Scatter(
                x=rows["year"],
                y=rows["value"].where(~rows["secret"]),
                name=territory.label,
                mode="lines+markers",
                line=dict(color=common.PALETTE[i], dash=common.DASHES[i], width=3),
                marker=dict(symbol=common.SYMBOLS[i], size=9),
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
    common.french_layout(fig, height=420)
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
    source = common.source_html(
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
        rows = [common.row(frame, code) for code, _ in METRO_ROWS]
        # Not computed (a territory without any commune data, such as Mayotte): « n.d. ».
        rows = [
            pd.Series(dict(display="n.d.", value=np.nan, secret=False)) if r is None else r
            for r in rows
        ]
        columns[territory.label] = [r["display"] for r in rows]
        raw[territory.label] = [common.value_or_mark(r) for r in rows]
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
                marker=dict(color=common.PALETTE[i], pattern_shape=["", "/", "."][i % 3]),
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
    common.french_layout(fig, height=400)
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
    source = common.source_html(
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
        match = common.row(frame, own)
    elif row["breakdown"] == "famille" and own in FAMILY_COUNTERPARTS:
        match = common.row(frame, FAMILY_COUNTERPARTS[own], row["category"])
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
                common.value_or_mark(r) if r["available"] else "n.d." for _, r in rows.iterrows()
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
                    color=common.PALETTE[i % len(common.PALETTE)],
                    dash=common.DASHES[i % 4],
                    width=3,
                ),
                marker=dict(symbol=common.SYMBOLS[i % 4], size=9),
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
        counterpart = common.row(frame, published.COUNTERPARTS[code])
        label = "Estimation d'après SIRENE" if estimated(frame) else "Observatoire"
        fig.add_trace(
            go.Scatter(
                x=[year],
                y=[counterpart["value"]],
                name=f"{label} ({counterpart['label']})",
                mode="markers",
                marker=dict(symbol="x", size=13, color=common.PALETTE[5]),
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
    common.french_layout(fig, height=420)
    return fig, f"{meta.label} : " + " ; ".join(described) + "."


# ---------------------------------------------------------------------------------------------
# Map of the territories inside a territory


def children(wh, territory: indicators.Territory, level: str) -> list[indicators.Territory]:
    """Territories of ``level`` inside ``territory`` (EPCIs by their main département), by
    département then code, EPCIs straddling départements last in theirs: the territories of
    one département share their secrecy cells, which are computed once for them."""
    scope = {
        "region": dict(region=territory.code),
        "departement": dict(departement=territory.code),
    }.get(territory.level, {})
    found = [indicators.resolve(wh, code, level) for code in wh.territories(level, **scope)["code"]]
    whole = indicators.whole_epcis(wh)
    return sorted(
        found,
        key=lambda t: (t.departement_code or "", t.level == "epci" and t.code not in whole, t.code),
    )


# Light shapes for the maps: simplified (tolerance in degrees) and rounded (decimals), so that
# a visitor's kernel reads a small GeoJSON instead of importing geopandas.
SHAPE_FILES = {"region": "regions", "departement": "departements", "epci": "epcis"}
SHAPE_TOLERANCE = {"region": 0.01, "departement": 0.005, "epci": 0.005}
SHAPE_DECIMALS = 3


@dataclass(frozen=True)
class Shapes:
    """Shapes of one level by code: bounding box and GeoJSON feature (kept as text, parsed
    only for the territories drawn, so that a kernel holds little memory)."""

    bounds: dict[str, tuple[float, float, float, float]]
    text: dict[str, str]

    def features(self, codes) -> list[dict]:
        return [common.compact(json.loads(self.text[code])) for code in codes]


def shapes_cache_dir() -> Path:
    """Where the light shapes are kept: ``$XDG_CACHE_HOME/observatory`` (or the temporary
    directory when that cannot be written)."""
    base = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "observatory"
    try:
        base.mkdir(parents=True, exist_ok=True)
        return base if os.access(base, os.W_OK) else Path(tempfile.gettempdir())
    except OSError:
        return Path(tempfile.gettempdir())


def _shapes_path(level: str) -> Path:
    """Cache file of a level, named after its reference file's path, size and date."""
    source = settings.REFERENCE_DIR / f"{SHAPE_FILES[level]}.parquet"
    stat = source.stat()
    key = hashlib.sha1(
        f"{source.resolve()}|{stat.st_size}|{stat.st_mtime_ns}|"
        f"{SHAPE_TOLERANCE[level]}|{SHAPE_DECIMALS}".encode()
    ).hexdigest()[:16]
    return shapes_cache_dir() / f"formes-{level}-{key}.tsv"


def write_shapes() -> None:
    """Write the light shapes of every level not in the cache yet: one line per territory,
    code, bounding box and GeoJSON feature (imports geopandas: run in its own process)."""
    import shapely

    from observatory import reference

    for level, name in SHAPE_FILES.items():
        path = _shapes_path(level)
        if path.is_file():
            continue
        frame = getattr(reference, name)()
        geometry = shapely.transform(
            frame.geometry.simplify(SHAPE_TOLERANCE[level]).values,
            lambda xy: np.round(xy, SHAPE_DECIMALS),
        )
        lines = [
            "\t".join(
                [
                    code,
                    json.dumps([float(v) for v in shapely.bounds(geom)]),
                    json.dumps(
                        {
                            "type": "Feature",
                            "id": code,
                            "geometry": json.loads(shapely.to_geojson(geom)),
                        },
                        separators=(",", ":"),
                    ),
                ]
            )
            for code, geom in zip(frame["code"], geometry)
            if not geom.is_empty
        ]
        fsutil.write_atomic(path, "\n".join(lines) + "\n")


@lru_cache(maxsize=8)
def light_shapes(level: str) -> Shapes:
    """The light shapes of ``region``, ``departement`` or ``epci``: made once per machine and
    reference version by a separate process (all levels at once), then read from the cache."""
    path = _shapes_path(level)
    if not path.is_file():
        with open(shapes_cache_dir() / "formes.lock", "w") as lock:  # one maker at a time
            fcntl.flock(lock, fcntl.LOCK_EX)
            if not path.is_file():
                subprocess.run(
                    [
                        sys.executable,
                        "-c",
                        "from observatory.dashboards.blocks import write_shapes; write_shapes()",
                    ],
                    check=True,
                    capture_output=True,
                    timeout=600,
                )
    bounds, text = {}, {}
    for line in path.read_text(encoding="utf-8").splitlines():
        code, box, feature = line.split("\t")
        bounds[code], text[code] = tuple(json.loads(box)), feature
    return Shapes(bounds, text)


def warm_maps() -> None:
    """Read the shapes of every level and build an empty map once, so that plotly's validators
    for maps are loaded before a visitor needs them."""
    for level in SHAPE_FILES:
        light_shapes(level)
    go.Figure(go.Choroplethmap()).update_layout(map=dict(style="white-bg")).to_json()


def fisher_jenks_bins(values: np.ndarray, k: int) -> np.ndarray:
    """Upper bounds of the ``k`` classes of ``values`` with the least within-class sum of
    squares (Fisher's exact optimisation, as in Jenks's natural breaks)."""
    x = np.sort(np.asarray(values, dtype=float))
    n = len(x)
    s1 = np.concatenate([[0.0], np.cumsum(x)])
    s2 = np.concatenate([[0.0], np.cumsum(x * x)])
    start, end = np.arange(n)[:, None], np.arange(n)[None, :]
    with np.errstate(divide="ignore", invalid="ignore"):
        # cost[a, b]: sum of squares of x[a..b] around its mean (infinite when a > b)
        cost = s2[end + 1] - s2[start] - (s1[end + 1] - s1[start]) ** 2 / (end - start + 1)
    cost[start > end] = np.inf
    best = cost[0]  # best[i]: least cost of x[0..i] in the classes placed so far
    firsts = []  # for each further class: where the last class starts, for every end i
    for _ in range(1, k):
        total = best[:-1, None] + cost[1:, :]
        first = np.argmin(total, axis=0)
        best = total[first, np.arange(n)]
        firsts.append(first + 1)
    bins, last = [], n - 1
    for first in reversed(firsts):
        bins.append(x[last])
        last = first[last] - 1
    bins.append(x[last])
    return np.array(bins[::-1])


def natural_classes(values: pd.Series, k: int, shown: Callable[[float], str]) -> pd.Series:
    """Class label of each value (at most ``k`` Fisher-Jenks classes), from the smallest to the
    largest value of the class as ``shown`` writes them, e.g. « 11,2 % à 13,9 % » (or « 27,9 % »
    for a class of one value). The one classifier of every map (dashboards, static pages,
    ``observatory.map``, the plan's events)."""
    k = max(1, min(k, values.nunique()))
    bins = fisher_jenks_bins(values.to_numpy(), k)
    classes = pd.Series(np.searchsorted(bins, values.to_numpy()), index=values.index)
    bounds = values.groupby(classes).agg(["min", "max"])
    labels = {
        c: shown(lo) if shown(lo) == shown(hi) else f"{shown(lo)} à {shown(hi)}"
        for c, (lo, hi) in bounds.iterrows()
    }
    return classes.map(labels)


def share_classes(shares: pd.Series, k: int = 5) -> pd.Series:
    """Class label of each share (:func:`natural_classes` in percent)."""
    return natural_classes(shares, k, formatting.percent)


SECRET_CLASS = "s : secret statistique"
MISSING_CLASS = "n.d. : non disponible"  # no salaried employment known (sparse SIRENE files)


def map_table(wh, territory: indicators.Territory, level: str, year: int) -> pd.DataFrame:
    """ESS employees and share of each child territory, secrecy applied, with its class.

    Kept on disk for every kernel of the machine (``map_cache``): the map of a région's 160
    EPCI took 3 s to compute in each visitor's kernel (13 s in the browser on a busy server)."""
    path = map_cache(territory, level, year)
    if path.is_file():
        try:
            return _read_map(path)
        except (OSError, ValueError, KeyError):
            pass  # half-written by a kernel killed meanwhile: computed again
    data = _map_table(wh, territory, level, year)
    _write_map(data, path)
    return data


MAP_COLUMNS = {
    "code": str,
    "name": str,
    "ess_employees": float,
    "ess_share_employees": float,
    "secret": bool,
    "employees_display": str,
    "share_display": str,
    "source": str,
    "classe": str,
}
# What the maps' figures depend on besides the warehouse: the code computing them.
MAP_CODE = ("indicators", "secrecy", "dashboards/blocks.py", "dashboards/common.py")
MAP_CACHE_DAYS = 7  # maps of older warehouses are removed after this many days


def map_cache(territory: indicators.Territory, level: str, year: int) -> Path:
    """Where a map's table is kept: named after the warehouse's contents (its sources, with
    their checksums and load times) and the code computing it, so that a new warehouse or a
    new version never reads an old map."""
    return shapes_cache_dir() / (
        f"carte-{_warehouse_key(common.warehouse())}-{territory.level}-{territory.code}-"
        f"{level}-{year}.json"
    )


@lru_cache(maxsize=4)
def _warehouse_key(wh) -> str:
    digest = hashlib.sha1(wh.sql("SELECT * FROM sources ORDER BY ALL").to_csv().encode())
    for name in MAP_CODE:
        code = Path(__file__).parents[1] / name
        for path in (
            sorted(code.rglob("*.py")) + sorted(code.rglob("*.toml")) if code.is_dir() else [code]
        ):
            digest.update(path.read_bytes())
    _remove_old_maps()
    return digest.hexdigest()[:16]


def _remove_old_maps() -> None:
    limit = time.time() - MAP_CACHE_DAYS * 86400
    for old in shapes_cache_dir().glob("carte-*.json"):
        with suppress(OSError):
            if old.stat().st_mtime < limit:
                old.unlink()


def _read_map(path: Path) -> pd.DataFrame:
    data = pd.DataFrame(json.loads(path.read_text(encoding="utf-8")), columns=list(MAP_COLUMNS))
    for column, kind in MAP_COLUMNS.items():
        data[column] = pd.to_numeric(data[column]) if kind is float else data[column].astype(kind)
    return data


def _write_map(data: pd.DataFrame, path: Path) -> None:
    records = data[list(MAP_COLUMNS)].to_json(orient="records", force_ascii=False)
    with suppress(OSError):  # a cache that cannot be written: computed again next time
        fsutil.write_atomic(path, records)


def _map_table(wh, territory: indicators.Territory, level: str, year: int) -> pd.DataFrame:
    rows = []
    for child in children(wh, territory, level):
        frame = common.compute(child.level, child.code, year, ("key_figures",))
        emp, share = common.row(frame, "ess_employees"), common.row(frame, "ess_share_employees")
        rows.append(dict(code=child.code, name=child.name, employees=emp, share=share))
    rows.sort(key=lambda r: r["code"])
    data = pd.DataFrame(
        {
            "code": [r["code"] for r in rows],
            "name": [r["name"] for r in rows],
            "ess_employees": [r["employees"]["value"] for r in rows],
            "ess_share_employees": [r["share"]["value"] for r in rows],
            "secret": [bool(r["share"]["secret"]) for r in rows],
            "employees_display": [r["employees"]["display"] for r in rows],
            "share_display": [r["share"]["display"] for r in rows],
            "source": frame["source"].iloc[0] if rows else "",
        }
    )
    visible = ~data["secret"] & data["ess_share_employees"].notna()
    data["classe"] = np.where(data["secret"], SECRET_CLASS, MISSING_CLASS)
    if visible.any():
        data.loc[visible, "classe"] = share_classes(data.loc[visible, "ess_share_employees"])
    return data


def fit_view(bounds) -> tuple[dict, float]:
    """Centre and MapLibre zoom (512-pixel tiles) fitting ``bounds`` (degrees: min x, min y,
    max x, max y) into about 800 × 460 pixels: the one view of every MapLibre map."""
    minx, miny, maxx, maxy = bounds
    mid = (miny + maxy) / 2
    stretch = 1 / math.cos(math.radians(mid))  # Web Mercator stretches latitudes
    fit_x = 800 * 360 / (512 * max(maxx - minx, 1e-6))
    fit_y = 460 * 360 / (512 * max((maxy - miny) * stretch, 1e-6))
    zoom = max(1.0, min(12.0, math.log2(min(fit_x, fit_y))))
    return {"lat": mid, "lon": (minx + maxx) / 2}, zoom


def share_map(data: pd.DataFrame, level: str, title: str) -> go.Figure:
    """Choropleth in classes, rendered without any tile server; masked areas in grey with « s »
    and no value in the tooltip. One trace per class, each carrying only its own shapes."""
    shapes = light_shapes(level)
    shown = [
        c for c in data["code"] if c in shapes.text and (level != "region" or c >= "11")
    ]  # régions: metropolitan France only
    visible = data[~data["classe"].isin([SECRET_CLASS, MISSING_CLASS])]
    order = sorted(
        visible["classe"].unique(),
        key=lambda c: visible.loc[visible["classe"] == c, "ess_share_employees"].min(),
    )
    colours = dict(
        zip(order, common.CLASS_COLOURS[-len(order) :] if len(order) < 5 else common.CLASS_COLOURS)
    )
    if (data["classe"] == SECRET_CLASS).any():
        order.append(SECRET_CLASS)
        colours[SECRET_CLASS] = common.SECRET_COLOUR
    if (data["classe"] == MISSING_CLASS).any():
        order.append(MISSING_CLASS)
        colours[MISSING_CLASS] = common.MISSING_COLOUR
    fig = go.Figure()
    for classe in order:
        rows = data[(data["classe"] == classe) & data["code"].isin(shown)]
        fig.add_trace(
            go.Choroplethmap(
                geojson={"type": "FeatureCollection", "features": shapes.features(rows["code"])},
                locations=rows["code"].tolist(),
                z=[1] * len(rows),
                name=classe,
                legendgroup=classe,
                colorscale=[[0, colours[classe]], [1, colours[classe]]],
                showscale=False,
                showlegend=True,
                marker=dict(line=dict(width=1, color="white")),
                customdata=rows[["name", "share_display", "employees_display"]].to_numpy().tolist(),
                hovertemplate="<b>%{customdata[0]}</b><br>Part de l'ESS : %{customdata[1]}<br>"
                "Postes salariés de l'ESS : %{customdata[2]}<extra></extra>",
            )
        )
    boxes = np.array([shapes.bounds[c] for c in shown]).reshape(-1, 4)
    minx, miny = boxes[:, :2].min(axis=0) if len(boxes) else (-5.0, 41.0)
    maxx, maxy = boxes[:, 2:].max(axis=0) if len(boxes) else (10.0, 51.0)
    fig.update_layout(
        title=title,
        separators=formatting.PLOTLY_SEPARATORS,
        template="none",
        height=600,
        margin=dict(l=0, r=0, t=50, b=0),
        font=dict(size=14, family="Arial, sans-serif"),
        map=dict(
            style="white-bg", **dict(zip(("center", "zoom"), fit_view((minx, miny, maxx, maxy))))
        ),
        legend=dict(
            title=dict(text=SHARE_LABEL, side="top"),
            orientation="h",
            yanchor="top",
            y=-0.02,
            xanchor="left",
            x=0,
        ),
    )
    return fig


def map_prefetch(wh, territory: indicators.Territory, level: str, year: int) -> list:
    """One step per territory of the map computing its figures (kept in the cache), so that a
    page can spread the work of a map between its answers to the browser; none when the
    map's table is on disk already."""
    if map_cache(territory, level, year).is_file():
        return []
    return [
        partial(common.compute, child.level, child.code, year, ("key_figures",))
        for child in children(wh, territory, level)
    ]


def map_block(wh, territory: indicators.Territory, level: str, year: int, draw=share_map) -> Block:
    """Map of the ESS share of the territories of ``level`` inside ``territory``, drawn by
    ``draw(data, level, title)`` (pages that travel use ``flat_map.share_map``)."""
    data = map_table(wh, territory, level, year)
    plural = CHILD_PLURALS[level]
    demo = str(data["source"].iloc[0]).startswith(settings.DEMO_LABEL) if len(data) else False
    heading = f"Carte par {CHILD_LABELS[level]}"
    if len(data) < 2:  # one territory (a région of one département): nothing to compare
        empty = Block(f"carte-{level}", heading, None, "", pd.DataFrame(), pd.DataFrame(), "")
        empty.empty = f"{messages.capitalised(messages.place(territory).at)}, " + (
            f"un seul {CHILD_LABELS[level]} : pas de carte à comparer."
            if len(data)
            else f"aucun {CHILD_LABELS[level]} à cartographier."
        )
        return finish(empty, territory.label, year, demo)
    title = f"{SHARE_LABEL} par {CHILD_LABELS[level]}, {territory.name}, {year}"
    fig = draw(data, level, title)
    data = data.sort_values("code")
    table = pd.DataFrame(
        {
            CHILD_HEADINGS[level]: [f"{n} ({c})" for n, c in zip(data["name"], data["code"])],
            "Postes salariés de l'ESS": data["employees_display"],
            SHARE_LABEL: data["share_display"],
            "Classe de la carte": data["classe"],
        }
    )
    download = pd.DataFrame(
        {
            "code": data["code"],
            "territoire": data["name"],
            "postes_salaries_ess": [
                secrecy.MARK if s else v for s, v in zip(data["secret"], data["ess_employees"])
            ],
            "part_ess_emploi_salarie_pct": [
                secrecy.MARK if s else v
                for s, v in zip(data["secret"], data["ess_share_employees"])
            ],
            "classe": data["classe"],
        }
    )
    visible = data[~data["secret"] & data["ess_share_employees"].notna()].sort_values(
        "ess_share_employees"
    )
    alt = f"Carte des {len(data)} {plural} en classes de part de l'ESS (méthode de Jenks). "
    if len(visible):
        low, high = visible.iloc[0], visible.iloc[-1]
        alt += (
            f"Part la plus faible : {low['name']} ({low['share_display']}) ; la plus forte : "
            f"{high['name']} ({high['share_display']})."
        )
    masked = int(data["secret"].sum())
    if masked:
        alt += (
            f" {_counted(masked, CHILD_LABELS[level], plural)} couvert"
            f"{'s' if masked > 1 else ''} par le secret statistique, en gris sur la carte."
        )
    missing = int((data["classe"] == MISSING_CLASS).sum())
    if missing:
        alt += (
            f" {_counted(missing, CHILD_LABELS[level], plural)} sans emploi salarié connu "
            "(n.d.), en gris clair."
        )
    source = common.source_html(
        data["source"].iloc[0],
        year,
        [
            indicators.REGISTRY["ess_share_employees"].definition,
            "Classes calculées par la méthode des seuils naturels de Jenks.",
            "Les EPCI sont rattachés à la région et au département où vit la plus grande partie "
            "de leur population."
            if level == "epci"
            else "",
        ],
        secret=bool(masked),
    )
    block = Block(f"carte-{level}", heading, fig, alt, table, download, source)
    return finish(block, territory.label, year, demo)


def _counted(count: int, singular: str, plural: str) -> str:
    """« 1 département », « 3 départements », « 2 EPCI »."""
    return f"{formatting.number(count)} {singular if count < 2 else plural}"


# ---------------------------------------------------------------------------------------------
# A territory's view


@dataclass
class View:
    """Everything shown for one territory, year and reference."""

    territory: indicators.Territory
    reference: indicators.Territory | None
    year: int
    frame: pd.DataFrame
    blocks: list[Block]


def view_frame(
    wh, territory: indicators.Territory, year: int | None, ref: indicators.Territory | None = None
) -> tuple[pd.DataFrame, indicators.Territory | None]:
    """The indicators of a territory compared with ``ref``, and the reference shown (default:
    its parent)."""
    ref_key = (ref.level, ref.code) if ref else None
    frame = common.compute(territory.level, territory.code, year, THEMES, ref_key)
    return frame, ref or indicators.parent_of(wh, territory)


def comparison_series(
    wh, territory: indicators.Territory, frame: pd.DataFrame, ref: indicators.Territory | None
) -> list[tuple[indicators.Territory, pd.DataFrame]]:
    """The territory's indicators with its reference's and France's, for trends and métropoles."""
    year = int(frame.attrs["year"])
    series = [(territory, frame)]
    others = [ref] if ref else []
    if territory.level != "france" and (ref is None or ref.level != "france"):
        others.append(indicators.resolve(wh, "FR", "france"))
    for other in others:
        series.append(
            (
                other,
                common.compute(
                    other.level, other.code, year, ("key_figures", "trends", "metropolitan")
                ),
            )
        )
    return series


MAX_BLOCKS = 8  # blocks of a view at most: the seven built on ESS facts, the published figures


@dataclass
class Step:
    """A block of a view, built when called; its anchor and title are known before."""

    slug: str
    title: str
    make: object  # () -> Block

    def __call__(self) -> Block:
        return self.make()


# The blocks of a territory's view: anchor, title (as in the page's navigation).
VIEW_BLOCKS = {
    "familles": "Les familles de l'ESS",
    "secteurs": "Les secteurs d'activité",
    "domaines": "Les domaines d'activité de l'ESS",
    "tailles": "La taille des établissements",
    "evolution": "L'évolution de l'emploi de l'ESS",
    "metropoles": "Métropoles et autres territoires",
    "comparaison": "Comparaison avec la France et la France de province",
    "chiffres-publies": "Les chiffres publiés",
}


def is_demo(frame: pd.DataFrame) -> bool:
    """True when the frame's figures are demonstration ones."""
    return bool(frame["source"].astype(str).str.startswith(settings.DEMO_LABEL).any())


def block_steps(
    wh, territory: indicators.Territory, frame: pd.DataFrame, ref: indicators.Territory | None
) -> list[Step]:
    """The blocks of a view in page order (families, sectors, domains, sizes, trends,
    métropoles, the comparison with France and « France de province », then the published
    figures), each built when called, so that a page can show the first one
    before building the others. A year without ESS facts has only the published figures;
    a territory without published figures, only the others."""
    series = lru_cache(maxsize=1)(lambda: comparison_series(wh, territory, frame, ref))
    makers = {}
    if frame.attrs.get("facts", True):
        makers.update(
            familles=lambda: families(frame, territory),
            secteurs=lambda: sectors(frame, territory),
            domaines=lambda: domains(frame, territory),
            tailles=lambda: sizes(frame, territory),
            evolution=lambda: trends(series()),
            metropoles=lambda: metropolitan(series()),
            comparaison=lambda: comparison(frame, territory),
        )
    if not published_rows(frame).empty:
        makers["chiffres-publies"] = lambda: published_block(frame, territory)
    year, demo = int(frame.attrs["year"]), is_demo(frame)
    return [
        Step(slug, VIEW_BLOCKS[slug], lambda make=make: finish(make(), territory.label, year, demo))
        for slug, make in makers.items()
    ]


def view_links(
    frame: pd.DataFrame, territory: indicators.Territory, map_first: bool = False
) -> list[tuple[str, str]]:
    """(anchor, title) of the blocks a view of ``frame`` shows, in page order (the map first
    or last), as :func:`block_steps` and the pages make them."""
    facts = frame.attrs.get("facts", True)
    slugs = [s for s in VIEW_BLOCKS if s != "chiffres-publies"] if facts else []
    if not published_rows(frame).empty:
        slugs.append("chiffres-publies")
    links = [(anchor(s), VIEW_BLOCKS[s]) for s in slugs]
    if territory.level in CHILDREN and frame.attrs.get("facts", True):
        links.insert(0 if map_first else len(links), (anchor("carte"), "La carte"))
    return links


def anchor(slug: str) -> str:
    """The id of a block's section in its page (one for a map, whatever its level)."""
    return "bloc-carte" if slug.startswith("carte") else f"bloc-{slug}"


def navigation_html(links: list[tuple[str, str]]) -> str:
    """The page's table of contents: (anchor, title) of its parts, in page order."""
    items = "".join(f'<li><a href="#{esc(a)}">{esc(t)}</a></li>' for a, t in links)
    return f'<nav class="obs-toc" aria-label="Sur cette page"><ul>{items}</ul></nav>'


def territory_view(
    wh, territory: indicators.Territory, year: int | None, ref: indicators.Territory | None = None
) -> View:
    """Key figures and the blocks of a territory, compared with ``ref`` (default: its parent)
    and France."""
    frame, ref = view_frame(wh, territory, year, ref)
    blocks = [step() for step in block_steps(wh, territory, frame, ref)]
    return View(territory, ref, int(frame.attrs["year"]), frame, blocks)
