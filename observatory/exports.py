"""Every file the observatory hands out, in one convention, each carrying its context: the
dashboards' and static pages' downloads, ``observatory portrait --output``, the static site's
portrait tables and the notebooks' exports.

    >>> table = exports.Table(frame, "Les familles de l'ESS", territory="Hérault", year=2022,
    ...                       source="INSEE, Flores", definitions=[...], demo=True)
    >>> exports.write(table, "familles.xlsx")       # or .csv; to_csv / to_xlsx give bytes

Context: the title, territory, year, source, definitions and notes (« s » for secrecy), and on
demo data the label « Données de démonstration … à ne pas citer », first of all.

CSV, French convention (what a French spreadsheet opens as numbers): UTF-8 with a byte-order
mark, « ; » between fields, decimal comma, no thousands separator, CRLF line ends. The context
comes first, one line each starting with « # »; then the header row and the rows. Read it back
with :func:`read_csv`, or ``pandas.read_csv(path, sep=";", decimal=",", comment="#")``.

XLSX: sheet « Données » opens with the same context, then the table: numbers are numbers,
formatted to read as in France (``# ##0``, ``12,1 %``); sheet « Définitions »: each column with
its definition, then the source and the notes. Both take any table whose masked cells already
read « s » (secrecy applied upstream): nothing here computes or unmasks a figure.

Charts: :func:`stamp` writes the source and, on demo data, the label under a chart's title, so
that they show on screen and in the PNG the chart's camera button downloads.
"""

from __future__ import annotations

import csv
import io
import math
import re
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path

import pandas as pd

from observatory import formatting, secrecy, settings

DEMO_LINE = (
    f"{settings.DEMO_LABEL} : chiffres synthétiques calibrés sur des données publiées, "
    "à ne pas citer ni diffuser comme des chiffres réels."
)
PRODUCER = "Observatoire régional de l'ESS"
WARNING = "Avertissement"  # the name of the demonstration label's line
SHEET = "Données"
DEFINITIONS_SHEET = "Définitions"
XLSX_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


@dataclass(frozen=True)
class Column:
    """How a column is exported: its French heading, its kind (``text``, ``integer``,
    ``decimal`` with ``decimals``, ``percent`` in per cent, ``signed`` a change in per cent
    with its sign, ``euros``, ``number``: whole numbers as integers, others with ``decimals``)
    and what it holds, for the « Définitions » sheet."""

    heading: str
    kind: str = "text"
    decimals: int = 0
    definition: str = ""


def _percent(heading: str) -> Column:
    return Column(f"{heading} (%)", "percent", 1)


# The download columns of the dashboards' blocks, by the name the blocks give them.
COLUMNS = {
    "famille": Column("Famille"),
    "etablissements_employeurs": Column("Établissements employeurs", "integer"),
    "etablissements_employeurs_ess": Column("Établissements employeurs de l'ESS", "integer"),
    "postes_salaries": Column("Postes salariés", "integer"),
    "postes_salaries_ess": Column("Postes salariés de l'ESS", "integer"),
    "part_emploi_ess_pct": _percent("Part dans l'emploi de l'ESS"),
    "section_naf": Column("Section NAF"),
    "domaine": Column("Domaine d'activité"),
    "codes_naf": Column("Codes NAF"),
    "libelle": Column("Libellé"),
    "part_ess_emploi_secteur_pct": _percent("Part de l'ESS dans l'emploi du secteur"),
    "part_ess_emploi_salarie_pct": _percent("Part de l'ESS dans l'emploi salarié"),
    "taille": Column("Taille (postes salariés)"),
    "taille_moyenne": Column("Taille moyenne (postes par établissement)", "decimal", 1),
    "part_etablissements_pct": _percent("Part des établissements"),
    "annee": Column("Année"),
    "perimetre": Column("Périmètre"),
    "code": Column("Code"),
    "territoire": Column("Territoire"),
    "classe": Column("Classe de la carte"),
    "indicateur": Column("Indicateur"),
    "champ": Column("Champ"),
    "valeur": Column("Valeur", "decimal", 2),
    "unite": Column("Unité"),
    "source": Column("Source"),
    "postes_ess_pour_1000_habitants": Column("Postes de l'ESS pour 1 000 habitants", "decimal", 1),
    "croissance_annuelle_moyenne_pct": _percent("Croissance annuelle moyenne des postes"),
    # Accompagnement
    "epci": Column("EPCI"),
    "structures": Column("Structures", "integer"),
    "structures_region": Column("Structures dans la région", "integer"),
    "distance_moyenne_km": Column("Distance moyenne (km)", "decimal", 1),
    "distance_maximale_km": Column("Distance maximale (km)", "decimal", 1),
    "distance_km_plus_de": Column("Distance (plus de … km)", "integer"),
    "identifiant": Column("Identifiant"),
    "nom": Column("Nom"),
    "type": Column("Type"),
    "code_commune": Column("Code de la commune"),
    "commune": Column("Commune"),
    "phases": Column("Phases"),
    "ouverture": Column("Ouverture"),
    "demonstration": Column("Structure de démonstration"),
    "communes": Column("Communes", "integer"),
    "habitants": Column("Habitants", "integer"),
    "part_population_pct": _percent("Part de la population"),
    "part_postes_ess_pct": _percent("Part des postes de l'ESS"),
    "critere": Column("Critère"),
    "rang": Column("Rang", "integer"),
    **{
        f"part_population_plus_{km}_km_pct": _percent(f"Population à plus de {km} km")
        for km in (20, 30, 45)
    },
    # Suivi du plan
    "axe": Column("Axe"),
    "intitule": Column("Intitulé"),
    "a_venir": Column("À venir", "integer"),
    "en_cours": Column("En cours", "integer"),
    "realisee": Column("Réalisées", "integer"),
    "reportee": Column("Reportées", "integer"),
    "abandonnee": Column("Abandonnées", "integer"),
    "action": Column("Action"),
    "valeur_initiale": Column("Valeur initiale", "decimal", 2),
    "cible": Column("Cible", "decimal", 2),
    "realise": Column("Réalisé", "decimal", 2),
    "date_mesure": Column("Date de mesure"),
    "avancement_pct": _percent("Avancement"),
    "departement": Column("Département"),
    "evenements": Column("Événements", "integer"),
    "pilote": Column("Pilote"),
    "niveau": Column("Niveau"),
    "statut": Column("Statut"),
    "date_debut": Column("Début"),
    "date_fin": Column("Fin"),
    "budget_eur": Column("Budget (euros)", "integer"),
}


@dataclass
class Table:
    """A table to hand out, with its context. ``data``'s masked cells already read « s »;
    its columns are exported under the headings of ``columns`` (by default ``COLUMNS``), any
    other column under its own name."""

    data: pd.DataFrame
    title: str
    territory: str = ""
    year: int | str | None = None
    source: str = ""
    definitions: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    demo: bool = False
    columns: dict[str, Column] = field(default_factory=lambda: COLUMNS)
    sheet: str = SHEET  # the XLSX sheet of the table
    glossary: pd.DataFrame | None = None  # the « Définitions » sheet (default: the columns')

    def context(self) -> list[tuple[str, str]]:
        """(name, text) of each line of context, the demonstration label first."""
        lines = [(WARNING, DEMO_LINE)] if self.demo else []
        lines.append(("Titre", self.title))
        if self.territory:
            lines.append(("Territoire", self.territory))
        if self.year not in (None, ""):
            lines.append(("Année", str(self.year)))
        if self.source:
            lines.append(("Source", self.source))
        lines += [("Définition", d) for d in self.definitions if d]
        lines += [("Note", n) for n in self.notes if n]
        lines.append(("Produit par", f"{PRODUCER}, le {formatting.long_date(date.today())}"))
        return lines

    def column(self, name) -> Column:
        """How column ``name`` is exported (an unknown one: its own name, numbers as they
        come, to two decimals at most)."""
        known = self.columns.get(name)
        if known is not None:
            return known
        values = [v for v in self.data[name] if _is_number(v)]
        whole = all(float(v).is_integer() for v in values)
        return Column(str(name), "integer" if values and whole else "decimal", 0 if whole else 2)

    def headings(self) -> list[str]:
        return [self.column(name).heading for name in self.data.columns]


def _is_number(value) -> bool:
    return (
        isinstance(value, (int, float))
        and not isinstance(value, bool)
        and not (isinstance(value, float) and math.isnan(value))
    )


ROUNDED_KINDS = ("decimal", "percent", "signed", "euros", "number")


def _rounded(value, column: Column):
    """A number rounded as its column shows it; anything else as it is (« s », text, empty)."""
    if not _is_number(value):
        return None if value is None or (isinstance(value, float) and math.isnan(value)) else value
    if column.kind in ("integer", "number") and float(value).is_integer():
        return int(value)
    decimals = column.decimals if column.kind in ROUNDED_KINDS else 2
    rounded = round(float(value), decimals)
    return int(rounded) if rounded.is_integer() and column.kind == "integer" else rounded


def _csv_number(value) -> str:
    """A number as a French spreadsheet reads it: decimal comma, no thousands separator."""
    if isinstance(value, int):
        return str(value)
    text = f"{value:.10f}".rstrip("0").rstrip(".")
    return text.replace(".", ",") if text not in ("-0", "") else "0"


def rows(table: Table) -> list[list]:
    """The table's cells, numbers rounded as exported, empty cells as None."""
    columns = [table.column(name) for name in table.data.columns]
    return [
        [_rounded(value, column) for value, column in zip(record, columns)]
        for record in table.data.itertuples(index=False, name=None)
    ]


# ---------------------------------------------------------------------------------------------
# CSV


def to_csv(table: Table) -> bytes:
    """The table as a French CSV file (see the module's docstring)."""
    out = io.StringIO()
    for name, text in table.context():
        out.write(f"# {name} : {_one_line(text)}\r\n")
    writer = csv.writer(out, delimiter=";", lineterminator="\r\n")
    writer.writerow(table.headings())
    for record in rows(table):
        writer.writerow(
            ["" if v is None else (_csv_number(v) if _is_number(v) else v) for v in record]
        )
    return ("\ufeff" + out.getvalue()).encode("utf-8")


def _one_line(text: str) -> str:
    return re.sub(r"\s*[\r\n]+\s*", " ", str(text)).strip()


def read_csv(source, raw: bool = False) -> tuple[list[str], pd.DataFrame]:
    """(context lines, table) of a CSV written by :func:`to_csv` (a path or its bytes): numbers
    as numbers, « s » and text as text; ``raw``: every cell as its text."""
    data = Path(source).read_bytes() if isinstance(source, (str, Path)) else bytes(source)
    text = data.decode("utf-8-sig")
    lines = text.split("\r\n") if "\r\n" in text else text.split("\n")
    context = []
    while lines and lines[0].startswith("#"):
        context.append(lines.pop(0)[1:].strip())
    body = io.StringIO("\n".join(lines))
    if raw:
        frame = pd.read_csv(body, sep=";", dtype=str, keep_default_na=False)
    else:
        frame = pd.read_csv(body, sep=";", dtype=str, keep_default_na=False).map(parsed)
    return context, frame


def parsed(text: str):
    """A CSV cell back: a French number as int or float, an empty cell as None, else text."""
    if not isinstance(text, str) or text == "":
        return None
    if re.fullmatch(r"-?\d+", text):
        return int(text)
    if re.fullmatch(r"-?\d+,\d+", text):
        return float(text.replace(",", "."))
    return text


# ---------------------------------------------------------------------------------------------
# XLSX


def number_format(column: Column, value) -> str | None:
    """The Excel format of a number of a column (Excel shows « 214 000 » and « 12,1 % » with
    French settings: its format codes are written with « , » and « . » whatever the locale)."""
    places = 0 if column.kind == "number" and float(value).is_integer() else column.decimals
    decimals = "." + "0" * places if places else ""
    if column.kind == "percent":
        return f'#,##0{decimals}" %"'
    if column.kind == "signed":
        return f'+#,##0{decimals}" %";-#,##0{decimals}" %";0{decimals}" %"'
    if column.kind == "euros":
        return f'#,##0{decimals}" €"'
    if column.kind in ("integer", "decimal", "number"):
        return f"#,##0{decimals}"
    return None


def to_xlsx(table: Table) -> bytes:
    """The table as an Excel workbook (see the module's docstring)."""
    from openpyxl import Workbook
    from openpyxl.styles import Alignment, Font, PatternFill
    from openpyxl.utils import get_column_letter

    book = Workbook()
    sheet = book.active
    sheet.title = table.sheet
    bold = Font(bold=True)
    wrap = Alignment(wrap_text=True, vertical="top")
    for name, text in table.context():
        sheet.append([name, text])
        row = sheet.max_row
        sheet.cell(row, 1).font = bold
        if name == "Titre":
            sheet.cell(row, 2).font = Font(bold=True, size=13)
        if name == WARNING:
            for cell in sheet[row][:2]:
                cell.font = Font(bold=True, color="3D3000")
                cell.fill = PatternFill("solid", fgColor="FFF3CD")
    sheet.append([])
    header_row = sheet.max_row + 1
    sheet.append(table.headings())
    for cell in sheet[header_row]:
        cell.font = bold
        cell.alignment = Alignment(wrap_text=True, vertical="bottom")
    columns = [table.column(name) for name in table.data.columns]
    for record in rows(table):
        sheet.append(record)
    for index, column in enumerate(columns, start=1):
        letter = get_column_letter(index)
        for (cell,) in sheet.iter_rows(
            min_row=header_row + 1, min_col=index, max_col=index, max_row=sheet.max_row
        ):
            if _is_number(cell.value) and (fmt := number_format(column, cell.value)):
                cell.number_format = fmt
            elif cell.value == secrecy.MARK:
                cell.alignment = Alignment(horizontal="right")
        width = max([len(column.heading)] + [len(str(v)) for v in table.data.iloc[:, index - 1]])
        sheet.column_dimensions[letter].width = min(60, max(10, width + 2))
    sheet.column_dimensions["A"].width = max(sheet.column_dimensions["A"].width, 16)
    sheet.freeze_panes = sheet.cell(header_row + 1, 1)
    for row in sheet.iter_rows(max_row=header_row - 2):
        row[1].alignment = Alignment(wrap_text=False, vertical="top")

    definitions = book.create_sheet(DEFINITIONS_SHEET)
    glossary = table.glossary if table.glossary is not None else _glossary(table)
    definitions.append([str(c) for c in glossary.columns])
    for cell in definitions[1]:
        cell.font = bold
    for record in glossary.itertuples(index=False, name=None):
        definitions.append(["" if v is None or v != v else v for v in record])
    for index, name in enumerate(glossary.columns, start=1):
        longest = max([len(str(name))] + [len(str(v)) for v in glossary[name]])
        definitions.column_dimensions[get_column_letter(index)].width = min(
            90, max(12, longest + 2)
        )
    for row in definitions.iter_rows(min_row=2):
        for cell in row:
            cell.alignment = wrap
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()


def _glossary(table: Table) -> pd.DataFrame:
    """The « Définitions » sheet of a table: what each column holds, then the definitions and
    the source of its figures."""
    rows = [
        (heading, _column_definition(name, table))
        for name, heading in zip(table.data.columns, table.headings())
    ]
    rows += [("Définition", d) for d in table.definitions if d]
    rows += [("Note", n) for n in table.notes if n]
    if table.source:
        rows.append(("Source", table.source))
    if table.demo:
        rows.insert(0, (WARNING, DEMO_LINE))
    return pd.DataFrame(rows, columns=["Colonne", "Définition"])


def _column_definition(name, table: Table) -> str:
    """What a column holds: its unit, and « s » where secrecy masks a value."""
    column = table.column(name)
    unit = {
        "percent": "En pour cent.",
        "signed": "En pour cent.",
        "euros": "En euros.",
    }.get(column.kind, "")
    if column.heading.endswith("(km)"):
        unit = "En kilomètres, à vol d'oiseau."
    masked = bool((table.data[name].astype(str) == secrecy.MARK).any())
    parts = [
        column.definition or unit,
        "« s » : valeur couverte par le secret statistique." if masked else "",
    ]
    return " ".join(p for p in parts if p) or "Voir les définitions ci-dessous."


def read_xlsx(source, sheet: str | None = None) -> tuple[list[str], pd.DataFrame]:
    """(context lines, table) of a workbook written by :func:`to_xlsx` (a path or its bytes):
    the context of its first sheet (or ``sheet``) as « Name : text », then its table."""
    from openpyxl import load_workbook

    data = source if isinstance(source, (str, Path)) else io.BytesIO(bytes(source))
    book = load_workbook(data, read_only=True)
    rows = list((book[sheet] if sheet else book.worksheets[0]).iter_rows(values_only=True))
    book.close()
    blank = next(i for i, row in enumerate(rows) if not any(v is not None for v in row))
    context = [f"{row[0]} : {row[1]}" for row in rows[:blank]]
    header, *body = rows[blank + 1 :]
    width = len([h for h in header if h is not None])
    return context, pd.DataFrame([r[:width] for r in body], columns=list(header[:width]))


# ---------------------------------------------------------------------------------------------
# Files


FORMATS = {".csv": to_csv, ".xlsx": to_xlsx}


def write(table: Table, path: Path | str) -> Path:
    """Write ``table`` to ``path``, as CSV or XLSX after its extension."""
    path = Path(path)
    make = FORMATS.get(path.suffix.lower())
    if make is None:
        raise ValueError(f"format de sortie « {path.suffix} » non pris en charge : .csv ou .xlsx")
    path.write_bytes(make(table))
    return path


# ---------------------------------------------------------------------------------------------
# Charts

SUBTITLE_SIZE = 12
TITLE_SIZE = 16
TITLE_LINE, NOTE_LINE, TOP_PAD = 21, 16, 24
# plotly sets a title of several lines a line too high for its anchor: it is put that far down.
TITLE_OFFSET = 22  # pixels: a title's line, a source's, the rest
# Characters per line of a chart's title and subtitle: what a phone 390 pixels wide shows
# (the chart about 350 pixels wide) at their sizes.
TITLE_WIDTH = 40
SUBTITLE_WIDTH = 52


def wrap(text: str, width: int) -> str:
    """``text`` in lines of at most ``width`` characters, joined by plotly's ``<br>``."""
    lines: list[str] = []
    for word in str(text).split():
        if lines and len(lines[-1]) + 1 + len(word) <= width:
            lines[-1] += " " + word
        else:
            lines.append(word)
    return "<br>".join(lines)


def source_line(source: str, year: int | str | None, demo: bool) -> str:
    """What a chart says under its title: the demonstration label, or its source and year."""
    if demo:
        return f"{settings.DEMO_LABEL}, à ne pas citer" + (f" · {year}" if year else "")
    text = f"Source : {source}" if source else ""
    return text + (f" · {year}" if year and source else "")


def stamp(figure, source: str, year: int | str | None = None, demo: bool = False):
    """Write the chart's title in lines a phone shows whole and, under it, its source and year
    or the demonstration label: they show on screen and in the PNG downloaded with the chart's
    camera button. The top margin is made to fit them. Returns the figure (changed in place)."""
    title = re.sub(r"<br>|<sup>|</sup>", " ", figure.layout.title.text or "")
    title_lines = wrap(title, TITLE_WIDTH).split("<br>") if title.strip() else []
    note = source_line(source, year, demo)
    note_lines = wrap(note, SUBTITLE_WIDTH).split("<br>") if note else []
    colour = "#6b5300" if demo else "#333333"
    top = TOP_PAD + TITLE_LINE * len(title_lines) + NOTE_LINE * len(note_lines)
    styled = [
        f"<span style='font-size:{SUBTITLE_SIZE}px;color:{colour}'>"
        + (f"<b>{line}</b>" if demo else line)
        + "</span>"
        for line in note_lines
    ]
    figure.update_layout(
        title=dict(
            text="<br>".join(title_lines + styled),
            font=dict(size=TITLE_SIZE),
            x=0,
            xref="container",
            xanchor="left",
            y=1
            - TITLE_OFFSET / ((figure.layout.height or 450) + top - (figure.layout.margin.t or 0)),
            yref="container",
            yanchor="top",
            pad=dict(t=0, b=0, l=8),
            automargin=False,
        ),
        margin=dict(t=top),
        height=(figure.layout.height or 450) + top - (figure.layout.margin.t or 0),
    )
    return figure
