"""The blocks of a territory's view, each a chart with its text alternative, data table,
downloads, source and definitions: what a block is and how a page shows it, then the families,
sectors, domains, sizes and the comparison with France.

Figures come from :mod:`observatory.indicators`, where secrecy is applied: a masked value is
NaN with ``secret`` set, shown as « s » in tables and kept out of charts and downloads.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from html import unescape

import numpy as np
import pandas as pd
import plotly.graph_objects as go

from observatory import exports, formatting, indicators, secrecy
from observatory.views import charts, frames, html
from observatory.views.html import esc

SHARE_LABEL = "Part de l'ESS dans l'emploi salarié"
ESTIMATE = " (estimation)"  # after a figure estimated from SIRENE's staff bands


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
    if isinstance(source, html.SourceNote):
        return source.source, list(source.definitions)
    text = unescape(re.sub(r"<[^>]+>", " ", source))
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
    secret = isinstance(block.source, html.SourceNote) and block.source.secret
    return exports.Table(
        block.download,
        block.title,
        territory=block.place,
        year=block.year,
        source=source,
        definitions=definitions,
        notes=[html.SECRET_NOTE] if masked and not secret else [],
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
        return [html.html_output(head + f'<p class="obs-empty">{esc(block.empty)}</p></section>')]
    chart = block.figure is not None
    if not chart:  # a table alone: its description shows, the table is folded
        head += f'<p class="obs-alt">{esc(block.alt)}</p>'
    outputs = [html.html_output(head + "</section>")]
    if chart:
        outputs.append(charts.figure_output(block.figure, filename))
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
        + html.table_html(
            block.table, f"Données du graphique : {block.title}" if chart else block.title
        )
        + html.downloads_html(export_table(block), filename, chart)
        + "</details>"
    )
    return [*outputs, html.html_output(details)]


def estimated(frame: pd.DataFrame) -> bool:
    """True when the frame's ESS figures are estimates from SIRENE (labelled so)."""
    return bool(frame.attrs.get("estimate"))


def slug(territory: indicators.Territory) -> str:
    return f"{territory.level}-{territory.code}".lower()


def counted(count: int, singular: str, plural: str) -> str:
    """« 1 département », « 3 départements », « 2 EPCI »."""
    return f"{formatting.number(count)} {singular if count < 2 else plural}"


def anchor(slug: str) -> str:
    """The id of a block's section in its page (one for a map, whatever its level)."""
    return "bloc-carte" if slug.startswith("carte") else f"bloc-{slug}"


def navigation_html(links: list[tuple[str, str]]) -> str:
    """The page's table of contents: (anchor, title) of its parts, in page order."""
    items = "".join(f'<li><a href="#{esc(a)}">{esc(t)}</a></li>' for a, t in links)
    return f'<nav class="obs-toc" aria-label="Sur cette page"><ul>{items}</ul></nav>'


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
            marker_color=charts.PALETTE[0],
            hovertemplate=f"%{{y}} : %{{text}} ({esc(x_title)})<extra></extra>",
        )
    )
    fig.update_layout(title=title)
    return charts.label_bars(fig, float(data[x].max()) if len(data) else 1.0)


def _category_rows(frame: pd.DataFrame, kind: str) -> list[dict]:
    """Employees, employer establishments and share of the ESS's employees of each category
    of ``kind`` (``family``, ``domain``), in the frame's order."""
    rows = []
    for category in dict.fromkeys(frame.loc[frame["indicator"] == f"{kind}_employees", "category"]):
        emp = frames.row(frame, f"{kind}_employees", category)
        est = frames.row(frame, f"{kind}_establishments", category)
        share = frames.row(frame, f"{kind}_share_employees", category)
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
            "etablissements_employeurs": [frames.value_or_mark(r["est"]) for r in rows],
            "postes_salaries": [frames.value_or_mark(r["emp"]) for r in rows],
            "part_emploi_ess_pct": [frames.value_or_mark(r["share"]) for r in rows],
        }
    )
    fig, alt, masked = _employees_bars(
        rows,
        "famille",
        f"Postes salariés de l'ESS{suffix} par famille, {territory.label}, {year}",
        suffix,
    )
    source = html.source_html(
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
            "postes_salaries_ess": [frames.value_or_mark(r) for _, r in emp.iterrows()],
            "part_ess_emploi_secteur_pct": [frames.value_or_mark(r) for _, r in share.iterrows()],
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
        alt += f" {counted(len(masked), 'secteur couvert', 'secteurs couverts')} par le secret statistique."
    source = html.source_html(
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
            "etablissements_employeurs": [frames.value_or_mark(r["est"]) for r in rows],
            "postes_salaries": [frames.value_or_mark(r["emp"]) for r in rows],
            "part_emploi_ess_pct": [frames.value_or_mark(r["share"]) for r in rows],
        }
    )
    fig, alt, masked = _employees_bars(
        rows,
        "domaine",
        f"Postes salariés de l'ESS{suffix} par domaine d'activité, {territory.label}, {year}",
        suffix,
    )
    source = html.source_html(
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
    columns = {territory.label: [frames.row(frame, own) for own, _, _ in COMPARED_ROWS]}
    compared = frame[frame["indicator"] == "compared_ess_employees"]
    for code, label in zip(compared["category"], compared["category_label"]):
        columns[label] = [frames.row(frame, other, code) for _, other, _ in COMPARED_ROWS]
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
                k: [None if r is None else frames.value_or_mark(r) for r in v]
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
                    color=charts.PALETTE[i % len(charts.PALETTE)],
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
    charts.french_layout(fig, height=380)
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
    source = html.source_html(
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
    average = frames.row(frame, "average_size")
    rows = frame[frame["indicator"] == "size_establishments"]
    definitions = [
        indicators.REGISTRY["size_establishments"].definition,
        indicators.REGISTRY["average_size"].definition,
    ]
    title = "La taille des établissements"
    if not rows["available"].all():
        note = rows["note"].iloc[0]
        table = pd.DataFrame({"Taille moyenne (postes par établissement)": [average["display"]]})
        download = pd.DataFrame({"taille_moyenne": [frames.value_or_mark(average)]})
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
            html.source_html(frame["source"].iloc[0], year, definitions),
        )
    classes = list(rows["category"])
    est = [frames.row(frame, "size_establishments", c) for c in classes]
    emp = [frames.row(frame, "size_employees", c) for c in classes]
    share = [frames.row(frame, "size_share_establishments", c) for c in classes]
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
            "etablissements_employeurs": [frames.value_or_mark(r) for r in est],
            "part_etablissements_pct": [frames.value_or_mark(r) for r in share],
            "postes_salaries": [frames.value_or_mark(r) for r in emp],
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
    source = html.source_html(frame["source"].iloc[0], year, definitions, secret=bool(masked))
    return Block("tailles", title, fig, alt, table, download, source)
