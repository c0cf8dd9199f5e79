"""The portrait of a territory: every indicator, secrecy applied, written as JSON, CSV or XLSX.

    >>> from observatory import open_warehouse, portrait
    >>> wh = open_warehouse()
    >>> frame = portrait.portrait(wh, "34", year=2022)        # Hérault
    >>> portrait.write(frame, "herault.xlsx")

Codes follow the command line's rules: a bare code of 2 or 3 characters is a département,
5 characters a commune, 9 digits an EPCI; régions and France need ``level``.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import TextIO

import numpy as np
import pandas as pd

from observatory import exports, indicators, secrecy, settings
from observatory.errors import OutputFormatError
from observatory.warehouse import Warehouse

FORMATS = ("json", "csv", "xlsx")
# Output columns, in French: what a reader of the file sees.
HEADERS = {
    "theme": "theme",
    "indicator": "indicateur",
    "label": "libelle",
    "level": "niveau",
    "code": "code",
    "name": "territoire",
    "year": "annee",
    "breakdown": "ventilation",
    "category": "categorie",
    "category_label": "libelle_categorie",
    "value": "valeur",
    "unit": "unite",
    "display": "affichage",
    "secret": "secret",
    "available": "disponible",
    "series_break": "rupture_de_serie",
    "note": "note",
    "source": "source",
}


def parse_reference(wh: Warehouse, text: str | None) -> indicators.Territory | None:
    """The comparison territory: ``parent`` (default), ``FR``, ``region:76``, or a bare code."""
    if text is None or text.strip().lower() == "parent":
        return None
    level, sep, code = text.strip().partition(":")
    if sep:
        return indicators.resolve(wh, code, level.lower())
    return indicators.resolve(wh, text)


def portrait(
    wh: Warehouse,
    code: str | None,
    level: str | None = None,
    year: int | None = None,
    reference: str | None = None,
    secrecy: bool = True,
) -> pd.DataFrame:
    """Every indicator of a territory for a year, secrecy applied (see :mod:`indicators`)."""
    territory = indicators.resolve(wh, code, level)
    return indicators.compute(
        wh,
        territory.level,
        territory.code,
        year,
        reference=parse_reference(wh, reference),
        secrecy=secrecy,
    )


def table(frame: pd.DataFrame) -> pd.DataFrame:
    """The portrait as published: French headers, masked values as « s »."""
    values = frame["value"].astype(object).where(frame["value"].notna(), None)
    values[frame["secret"].to_numpy()] = secrecy.MARK
    out = frame.assign(value=values)[list(HEADERS)].rename(columns=HEADERS)
    return out.astype({"secret": bool, "disponible": bool, "rupture_de_serie": bool})


def to_json(frame: pd.DataFrame) -> dict:
    """The portrait as a JSON-ready document (territory, year, secrecy, rows)."""
    rows = table(frame).replace({np.nan: None}).to_dict(orient="records")
    first = frame.iloc[0] if len(frame) else None
    return {
        "territoire": frame.attrs.get("territory"),
        "niveau": None if first is None else first["level"],
        "code": None if first is None else first["code"],
        "annee": frame.attrs.get("year"),
        "secret_statistique": "appliqué"
        if frame.attrs.get("secrecy", True)
        else "désactivé (usage interne, ne pas diffuser)",
        "avertissement": settings.DEMO_LABEL
        if any(str(s).startswith(settings.DEMO_LABEL) for s in frame["source"])
        else None,
        "indicateurs": rows,
    }


def output_format(path: Path | str) -> str:
    suffix = Path(path).suffix.lower().lstrip(".")
    if suffix not in FORMATS:
        raise OutputFormatError(
            f"format de sortie « .{suffix} » non pris en charge : .json, .csv ou .xlsx"
        )
    return suffix


# Headings of the columns in a CSV or XLSX file, and how their cells are written.
HEADINGS = {
    "theme": "Thème",
    "indicateur": "Code de l'indicateur",
    "libelle": "Indicateur",
    "niveau": "Niveau",
    "code": "Code du territoire",
    "territoire": "Territoire",
    "annee": "Année",
    "ventilation": "Ventilation",
    "categorie": "Code de la catégorie",
    "libelle_categorie": "Catégorie",
    "valeur": "Valeur",
    "unite": "Unité",
    "affichage": "Valeur affichée",
    "secret": "Secret statistique",
    "disponible": "Disponible",
    "rupture_de_serie": "Rupture de série",
    "note": "Note",
    "source": "Source",
}
FLAGS = ("secret", "disponible", "rupture_de_serie")  # written « oui » or « non »
THEME_LABELS = {
    "key_figures": "chiffres clés",
    "families": "familles",
    "sectors": "secteurs",
    "trends": "évolutions",
    "rankings": "classements",
    "comparison": "comparaison",
    "density": "densité",
    "size": "taille des établissements",
    "metropolitan": "métropoles",
    "workforce": "effectifs",
    "published": "chiffres publiés",
}


def export_table(frame: pd.DataFrame) -> exports.Table:
    """The portrait as a file: its table under French headings, with its context (territory,
    year, sources, demo label) and the indicators' definitions."""
    data = table(frame)
    data["theme"] = data["theme"].map(lambda t: THEME_LABELS.get(t, t))
    for flag in FLAGS:
        data[flag] = data[flag].map({True: "oui", False: "non"})
    first = frame.iloc[0] if len(frame) else None
    territory = (
        indicators.Territory(first["level"], first["code"], first["name"], *[None] * 5).label
        if first is not None
        else ""
    )
    columns = {key: exports.Column(heading) for key, heading in HEADINGS.items()}
    columns["valeur"] = exports.Column("Valeur", "number", 2)
    sources = list(dict.fromkeys(s for s in frame["source"].dropna() if s))
    return exports.Table(
        data,
        "Portrait de territoire : tous les indicateurs",
        territory=territory,
        year=frame.attrs.get("year"),
        source=" ; ".join(sources),
        notes=[
            "« s » : valeur couverte par le secret statistique ; « n.d. » : non disponible.",
            "Secret statistique appliqué."
            if frame.attrs.get("secrecy", True)
            else "Secret statistique désactivé : usage interne, ne pas diffuser.",
        ],
        demo=any(str(s).startswith(settings.DEMO_LABEL) for s in frame["source"]),
        columns=columns,
        sheet="Portrait",
        glossary=definitions(frame),
    )


def definitions(frame: pd.DataFrame) -> pd.DataFrame:
    """Every indicator with its definition, unit and source as in the portrait (demo, SIRENE
    estimate, published file)."""
    shown = frame.groupby("indicator", sort=False)["source"].agg(
        lambda sources: " ; ".join(dict.fromkeys(sources))
    )
    catalogue = indicators.catalogue()
    catalogue["source"] = catalogue["code"].map(shown).fillna(catalogue["source"])
    return catalogue.drop(columns="fmt").rename(
        columns={
            "code": "indicateur",
            "theme": "theme",
            "label": "libelle",
            "definition": "definition",
            "unit": "unite",
            "source": "source",
        }
    )


def read_table(path: Path | str, text: bool = False) -> pd.DataFrame:
    """A portrait written as CSV or XLSX, back under the columns of :func:`table`: numbers,
    « s », booleans and theme codes; with ``text``, every cell as text, as in a CSV of
    :func:`table` (``"True"``, ``"12.5"``, ``""``)."""
    path = Path(path)
    if path.suffix.lower() == ".xlsx":
        _, data = exports.read_xlsx(path)
    else:  # every cell as text (codes keep their zeros), then the values as numbers
        _, data = exports.read_csv(path, raw=True)
        data = data.astype(object).map(lambda v: v if isinstance(v, str) and v else None)
        data["Valeur"] = data["Valeur"].map(exports.parsed)
    data = data.rename(columns={heading: key for key, heading in HEADINGS.items()})
    themes = {label: code for code, label in THEME_LABELS.items()}
    data["theme"] = data["theme"].map(lambda t: themes.get(t, t))
    for flag in FLAGS:
        data[flag] = data[flag].map({"oui": True, "non": False})
    for key in ("code", "categorie", "annee"):
        data[key] = data[key].map(lambda v: None if v is None or v != v else str(v))
    if text:
        data = data.map(lambda v: "" if v is None or (isinstance(v, float) and v != v) else str(v))
    return data


def write(
    frame: pd.DataFrame, path: Path | str | None = None, stdout: TextIO | None = None
) -> None:
    """Write the portrait to ``path`` (format from its extension: JSON, or CSV and XLSX with
    their context, :mod:`observatory.exports`) or as JSON to stdout."""
    if path is None:
        json.dump(to_json(frame), stdout or sys.stdout, ensure_ascii=False, indent=2)
        (stdout or sys.stdout).write("\n")
        return
    path = Path(path)
    kind = output_format(path)
    if kind == "json":
        path.write_text(
            json.dumps(to_json(frame), ensure_ascii=False, indent=2) + "\n", encoding="utf-8"
        )
    else:
        exports.write(export_table(frame), path)


def read_published(site_dir: Path) -> pd.DataFrame:
    """Every portrait table of the site, one row per published cell, every value as text, with
    its ``page`` (``departement/34``): what the secrecy audit reads
    (:func:`observatory.secrecy.audit.audit_site`)."""
    frames = [
        read_table(path, text=True).assign(page=str(path.relative_to(site_dir).with_suffix("")))
        for path in sorted(site_dir.glob("*/*.csv"))
    ]
    return pd.concat(frames, ignore_index=True) if frames else pd.DataFrame()
