"""Accessible HTML of every view: style, demonstration banner, cards, sources, tables and
downloads (data: URIs, nothing stored on a server)."""

from __future__ import annotations

import base64
import html

import pandas as pd

from observatory import exports, indicators, settings
from observatory.views.style import MESSAGE_CSS

SECRET_NOTE = (
    "« s » : valeur couverte par le secret statistique (moins de 3 établissements, ou "
    "un établissement représentant plus de 85 % du total, ou secret induit) ; elle "
    "n'apparaît ni dans les graphiques ni dans les téléchargements."
)


def html_output(text: str) -> dict:
    """HTML as an output."""
    return {
        "output_type": "display_data",
        "metadata": {},
        "data": {"text/html": text, "text/plain": ""},
    }


STYLE = (
    """<style>
.obs-page{max-width:1200px;font-family:Arial,sans-serif;color:#1a1a1a}
.obs-demo-banner{background:#fff3cd;border:2px solid #8a6d00;color:#3d3000;padding:.6em 1em;
 font-weight:bold;margin-bottom:1em}
"""
    + MESSAGE_CSS
    + """
.obs-key-figures{display:flex;gap:1em;flex-wrap:wrap;margin:1em 0}
.obs-card{border:1px solid #575d6d;border-radius:6px;padding:.8em 1.2em;min-width:14em;flex:1}
.obs-card-label{font-size:.95em}.obs-card-value{font-size:2em;font-weight:bold}
.obs-card-note{font-size:.85em;color:#333}
.obs-block{margin:1.5em 0 .5em 0;border-top:1px solid #ccc;padding-top:.5em}
.obs-block h2{font-size:1.3em;margin:.3em 0}
.obs-alt{font-style:italic;color:#333}
.obs-empty{color:#333;margin:.5em 0 1.5em}
.obs-table{border-collapse:collapse;margin-top:.5em}.obs-table caption{text-align:left;font-weight:bold}
.obs-table th,.obs-table td{border:1px solid #ccc;padding:.3em .6em}.obs-table td{text-align:right}
.obs-table th[scope=row]{text-align:left;font-weight:normal}
.obs-source{font-size:.85em;color:#333;margin-top:.5em}
.obs-downloads a{margin-right:1em}
.obs-details{margin:.3em 0 1.5em}
.obs-details summary{cursor:pointer;color:#00325a;text-decoration:underline;padding:.3em 0}
.obs-toc ul{list-style:none;padding:0;margin:.5em 0 1em;display:flex;flex-wrap:wrap;gap:.3em 1.2em}
.obs-messages ul{padding-left:1.2em}
.jp-Cell-outputArea>.jp-OutputArea-child:has(>.jp-RenderedPlotly){display:none}
.widget-hbox{flex-wrap:wrap}
.widget-inline-hbox,.widget-select-multiple,.widget-toggle-buttons{max-width:calc(100% - 2 * var(--jp-widgets-margin, 2px))}
.widget-inline-hbox select,.widget-inline-hbox input{min-width:0}
.obs-suggestions{display:flex;flex-wrap:wrap;gap:.2em .4em;max-width:100%}
@media (max-width:600px){
 .obs-card{min-width:0;flex-basis:100%}
 .obs-table,.obs-table caption,.obs-table tbody,.obs-table tr,.obs-table th,.obs-table td{display:block}
 .obs-table thead{position:absolute;width:1px;height:1px;overflow:hidden;clip-path:inset(50%)}
 .obs-table tr{border-top:1px solid #ccc;padding:.3em 0}
 .obs-table th,.obs-table td{border:none;text-align:left;padding:.1em 0;overflow-wrap:anywhere}
 .obs-table th[scope=row]{font-weight:bold}
 .obs-table td::before{content:attr(data-label) " : "}
 .widget-inline-hbox .widget-label{width:auto;min-width:0}
}
</style>"""
)


def esc(value) -> str:
    return html.escape(str(value))


def banner_html() -> str:
    """The banner shown on every view built from demo data."""
    return (
        f'<div class="obs-demo-banner" role="note">{settings.DEMO_LABEL} : chiffres '
        "synthétiques calibrés sur des données publiées (INSEE, Clap 2014), à ne pas citer.</div>"
    )


def cards_html(cards: list[tuple[str, str, str]], label: str) -> str:
    """Key figure cards (label, value, note): each figure is text, not colour."""
    items = "".join(
        f'<div class="obs-card" role="group" aria-label="{esc(title)}">'
        f'<div class="obs-card-label">{esc(title)}</div>'
        f'<div class="obs-card-value">{esc(value)}</div>'
        f'<div class="obs-card-note">{esc(note)}</div></div>'
        for title, value, note in cards
    )
    return f'<section class="obs-key-figures" aria-label="{esc(label)}">{items}</section>'


class SourceNote(str):
    """A block's source paragraph (HTML) that remembers its parts, for the block's files."""

    source: str = ""
    year: int | None = None
    definitions: tuple[str, ...] = ()
    secret: bool = False


def source_html(source: str, year: int, definitions: list[str], secret: bool = False) -> SourceNote:
    """Source, vintage and definitions under a chart (and the secrecy note when needed); the
    Clap or Flores series of the year unless the figures are SIRENE estimates."""
    insee_series = not indicators.is_estimate(source) and source != indicators.NO_SOURCE
    series = f" (série {'Clap' if year <= 2015 else 'Flores'})" if insee_series else ""
    text = f"Source : {esc(source)} ; millésime {year}{series}. " + " ".join(
        esc(d) for d in definitions
    )
    if secret:
        text += " " + esc(SECRET_NOTE)
    note = SourceNote(f'<p class="obs-source">{text}</p>')
    note.source, note.year = f"{source} ; millésime {year}{series}", year
    note.definitions, note.secret = tuple(d for d in definitions if d), secret
    return note


def table_html(
    table: pd.DataFrame, caption: str, sort_column: str | None = None, ascending: bool = True
) -> str:
    """A data table of display strings; the first column heads each row."""
    head = "".join(
        f"<th scope='col'{_aria_sort(c, sort_column, ascending)}>{esc(c)}</th>"
        for c in table.columns
    )
    labels = [esc(c) for c in table.columns[1:]]
    body = "".join(
        "<tr>"
        + f"<th scope='row'>{esc(r[0])}</th>"
        + "".join(f"<td data-label='{lb}'>{esc(v)}</td>" for lb, v in zip(labels, r[1:]))
        + "</tr>"
        for r in table.itertuples(index=False)
    )
    return (
        f'<table class="obs-table"><caption>{esc(caption)}</caption><thead><tr>{head}</tr>'
        f"</thead><tbody>{body}</tbody></table>"
    )


def _aria_sort(column, sort_column, ascending) -> str:
    if column != sort_column:
        return ""
    return f" aria-sort='{'ascending' if ascending else 'descending'}'"


def downloads_html(table: exports.Table, filename: str, chart: bool = True) -> str:
    """Links downloading the table as CSV and XLSX with its context (:mod:`observatory.exports`;
    data: URIs, nothing stored on the server), and where to get the chart as PNG."""
    csv_uri = "data:text/csv;charset=utf-8;base64," + base64.b64encode(
        exports.to_csv(table)
    ).decode("ascii")
    xlsx_uri = f"data:{exports.XLSX_TYPE};base64," + base64.b64encode(
        exports.to_xlsx(table)
    ).decode("ascii")
    png = " ; le graphique : icône d'appareil photo au-dessus de lui (PNG)" if chart else ""
    return (
        f'<p class="obs-downloads">Télécharger le tableau avec sa source : '
        f'<a class="obs-csv" download="{esc(filename)}.csv" href="{csv_uri}">CSV</a> '
        f'<a class="obs-xlsx" download="{esc(filename)}.xlsx" href="{xlsx_uri}">XLSX</a>'
        f"{png}.</p>"
    )
