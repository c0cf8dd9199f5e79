"""Key messages: a portrait's main figures said in three to five French sentences, as a CRESS
« Panorama » or an Insee Analyses page opens, for the printable note and the top of the portrait.

    >>> key_messages(frame, lozere, reference=occitanie, parent=occitanie)
    ["En Lozère, plus d'un salarié sur quatre travaille dans l'ESS (26,2 % des postes
      salariés) : 1er rang des 100 départements, 1er sur 13 en Occitanie.", ...]

The sentences come from the secrecy-applied frame of :func:`observatory.indicators.compute`:
a masked or missing figure is never said, its sentence is left out. Numbers are the frame's own
French displays or :mod:`observatory.formatting`'s. Territories are named with their article
and preposition (« en Lozère », « dans l'Aude », « du Gard », « d'Occitanie »), from a table
for départements and régions and a generic form for EPCI and communes.
"""

from __future__ import annotations

import math
import re
import unicodedata
from dataclasses import dataclass

import pandas as pd

from observatory import formatting, indicators, settings
from observatory.views import frames
from observatory.views.html import esc

# Article and preposition of every département and région (« la » + « en »: la Lozère, en
# Lozère; « le » + « dans »: le Gard, dans le Gard; « » + « à »: Paris, à Paris...).
DEPARTEMENT_FORMS = {
    ("l'", "dans"): "01 02 03 07 09 10 11 12 27 34 36 38 60 61 89 91",
    ("les", "dans"): "04 05 06 08 13 22 40 64 65 66 78 79 88 92",
    ("le", "dans"): "14 15 18 25 29 30 32 39 41 45 46 47 56 59 62 63 67 68 69 81 82 83 84 90 94 95",
    ("la", "en"): "16 17 19 21 23 24 26 2A 2B 31 33 42 43 44 48 51 52 53 55 57 58 70 72 73 74 "
    "76 80 85 86 87 93 971 972 973",
    ("la", "dans"): "50",  # dans la Manche (« en Manche » reads as the sea)
    ("", "en"): "28 35 37 49 54 71 77",  # en Eure-et-Loir, d'Eure-et-Loir
    ("", "à"): "75 974 976",  # à Paris, à La Réunion, à Mayotte
}
REGION_FORMS = {
    ("la", "en"): "01 02 03 28 53 75 94",
    ("", "à"): "04 06",
    ("", "en"): "11 27 76 84 93",  # en Occitanie, d'Occitanie
    ("le", "en"): "24",  # en Centre-Val de Loire, du Centre-Val de Loire
    ("le", "dans"): "44",
    ("les", "dans"): "32 52",
}
FORMS = {
    level: {code: form for form, codes in table.items() for code in codes.split()}
    for level, table in (("departement", DEPARTEMENT_FORMS), ("region", REGION_FORMS))
}
NUMBER_WORDS = {
    2: "deux",
    3: "trois",
    4: "quatre",
    5: "cinq",
    6: "six",
    7: "sept",
    8: "huit",
    9: "neuf",
    10: "dix",
    11: "onze",
    12: "douze",
    13: "treize",
    14: "quatorze",
    15: "quinze",
    16: "seize",
    17: "dix-sept",
    18: "dix-huit",
    19: "dix-neuf",
    20: "vingt",
}
PLURALS = {
    "region": "régions",
    "departement": "départements",
    "epci": "EPCI",
    "commune": "communes",
}
NO_MESSAGE = (
    "Les chiffres publiables de ce territoire ne permettent pas de message clé (secret "
    "statistique ou données non disponibles)."
)


@dataclass(frozen=True)
class Place:
    """How a sentence names a territory."""

    of: str  # « de la Lozère », « du Gard », « d'Occitanie », « de la commune de Mende »
    at: str  # « en Lozère », « dans le Gard », « à Paris », « dans la commune de Mende »


def place(territory: indicators.Territory) -> Place:
    """The territory's name after « de » and after its preposition of place. Départements
    and régions from the table above; EPCI and communes in a generic form, right whatever
    their name (« la Communauté de communes … », « l'EPCI … », « la commune de … »)."""
    if territory.level == "france":
        return Place("de la France", "en France")
    name = territory.name
    if territory.level in FORMS:
        article, preposition = FORMS[territory.level][territory.code]
    elif territory.level == "epci" and re.match(r"(Communauté|Métropole)\b", name):
        article, preposition = "la", "dans"
    elif territory.level == "epci":
        name, article, preposition = f"EPCI {name}", "l'", "dans"
    else:
        name, article, preposition = f"commune {_of(name)}", "la", "dans"
    named = f"{article}{name}" if article == "l'" else f"{article} {name}".strip()
    return Place(_of(named), f"en {name}" if preposition == "en" else f"{preposition} {named}")


def _of(named: str) -> str:
    """« de » before a name: « de la Lozère », « du Gard », « des Landes », « d'Occitanie »,
    « de La Réunion »."""
    if named.startswith("le "):
        return "du " + named[3:]
    if named.startswith("les "):
        return "des " + named[4:]
    return ("d'" if _starts_with_vowel(named) else "de ") + named


def _starts_with_vowel(text: str) -> bool:
    first = unicodedata.normalize("NFD", text[:1])[:1].lower()
    return first in "aeiouy"


def capitalised(text: str) -> str:
    """First letter in capitals, accent kept: « à Paris » → « À Paris »."""
    return text[:1].upper() + text[1:]


def ordinal(rank: int) -> str:
    """« 1er », « 2e », « 1 253e »."""
    return "1er" if rank == 1 else f"{formatting.number(rank)}e"


def counted(value: float, singular: str, plural: str) -> str:
    """A count and its noun, singular below 2 as in French: « 1 poste », « 1,5 point »,
    « 214 000 postes »."""
    decimals = 0 if float(value).is_integer() else 1
    return f"{formatting.number(value, decimals)} {singular if abs(value) < 2 else plural}"


def one_in(share: float) -> tuple[str, str]:
    """Subject and verb saying a share of salaried jobs: (« Plus d'un salarié sur quatre »,
    « travaille ») for 26,2 %, (« Près d'un salarié sur huit », « travaille ») for 12,1 % (« près
    de » within 5 % of the fraction); below one in twenty, the percentage (« 3,2 % des
    salariés », « travaillent »)."""
    if share <= 0:
        return "Aucun salarié", "ne travaille"
    fewer, more = math.floor(100 / share), math.ceil(100 / share)  # 1/fewer ≥ share ≥ 1/more
    for n in (fewer, more):
        if n in NUMBER_WORDS and formatting.percent(share) == formatting.percent(100 / n):
            return f"Un salarié sur {NUMBER_WORDS[n]}", "travaille"
    if fewer in NUMBER_WORDS and 100 / fewer - share <= 0.05 * 100 / fewer:
        return f"Près d'un salarié sur {NUMBER_WORDS[fewer]}", "travaille"
    if more in NUMBER_WORDS:
        return f"Plus d'un salarié sur {NUMBER_WORDS[more]}", "travaille"
    return f"{formatting.percent(share)} des salariés", "travaillent"


# ---------------------------------------------------------------------------------------------
# The sentences


def key_messages(
    frame: pd.DataFrame,
    territory: indicators.Territory,
    reference: indicators.Territory | None = None,
    parent: indicators.Territory | None = None,
) -> list[str]:
    """The key messages of a territory's indicators (``frame``, secrecy applied), compared
    with ``reference`` (the territory of the frame's comparison rows) and ranked within
    ``parent`` (its région for a département, its département for an EPCI or a commune)."""
    here = place(territory)
    year = int(frame.attrs["year"])
    sentences = []
    share = _shown(frame, "ess_share_employees")
    if share is not None:
        subject, verb = one_in(share["value"])
        ranks = _ranks(frame, territory, parent)
        said = "" if subject[0].isdigit() else f" ({share['display']} des postes salariés)"
        sentences.append(
            f"{capitalised(here.at)}, {_lower_first(subject)} {verb} dans l'ESS{said}"
            + (f" : {ranks}." if ranks else ".")
        )
        gap = _shown(frame, "gap_ess_share_employees")
        ref_share = _shown(frame, "reference_ess_share_employees")
        if (
            reference is not None
            and reference.name != territory.name  # La Réunion in La Réunion
            and gap is not None
            and ref_share is not None
        ):
            sentences.append(_comparison(gap["value"], place(reference), ref_share["display"]))
    employees = _shown(frame, "ess_employees")
    establishments = _shown(frame, "ess_establishments")
    if employees is not None and establishments is not None and employees["value"] > 0:
        sentence = (
            f"L'ESS {here.of} compte "
            f"{_count(employees, 'poste salarié', 'postes salariés')} dans "
            f"{_count(establishments, 'établissement employeur', 'établissements employeurs')}"
        )
        change = _shown(frame, "employees_annual_change", str(year))
        if change is not None and not change["series_break"]:
            sentence += " ; " + _change(change["value"], year - 1)
        sentences.append(sentence + ".")
    family = _leading(frame, "family_employees", None, employees)
    if family is not None:
        share_of_ess = _shown(frame, "family_share_employees", family["category"])
        sentences.append(
            f"Première famille de l'ESS, les {_lower_first(family['category_label'])} "
            f"rassemblent {_count(family, 'poste salarié', 'postes salariés')}"
            + (
                f", soit {share_of_ess['display']} de ceux de l'ESS."
                if share_of_ess is not None
                else "."
            )
        )
    sector = _leading(frame, "sector_employees", "section A21", employees)
    if sector is not None:
        within = _shown(frame, "sector_ess_share", sector["category"])
        sentences.append(
            f"Premier secteur de l'ESS par l'emploi : {_lower_first(sector['category_label'])}, "
            f"avec {_count(sector, 'poste salarié', 'postes salariés')}"
            + (
                f" ; l'ESS y occupe {within['display']} des postes salariés du secteur."
                if within is not None
                else "."
            )
        )
    return sentences


def messages_html(sentences: list[str], demo: bool, heading: str = "h2") -> str:
    """The key messages as a list under a heading (``heading``: its tag), which says « Données
    de démonstration » on demo data: the label goes wherever the sentences go."""
    label = f" ({settings.DEMO_LABEL})" if demo else ""
    items = "".join(f"<li>{esc(s)}</li>" for s in sentences) or f"<li>{esc(NO_MESSAGE)}</li>"
    return (
        f'<section class="obs-messages" aria-label="L\'essentiel">'
        f"<{heading}>L'essentiel{esc(label)}</{heading}><ul>{items}</ul></section>"
    )


def _shown(frame: pd.DataFrame, indicator: str, category: str | None = None) -> pd.Series | None:
    """The row of a published figure, or ``None`` when it is masked, missing or unavailable
    (categories are unique across breakdowns: section « Q », A38 « QA », division « 86 »)."""
    row = frames.row(frame, indicator, category)
    if row is None or row["secret"] or not row["available"] or pd.isna(row["value"]):
        return None
    return row


def _count(row: pd.Series, singular: str, plural: str) -> str:
    return f"{row['display']} {singular if row['value'] < 2 else plural}"


def _lower_first(label: str) -> str:
    return label[:1].lower() + label[1:]


def _ranks(
    frame: pd.DataFrame, territory: indicators.Territory, parent: indicators.Territory | None
) -> str:
    """« 1er rang des 100 départements, 1er sur 13 en Occitanie » (the scopes published)."""
    parts = []
    for row in frame[frame["indicator"] == "rank_ess_share_employees"].itertuples():
        if row.secret or pd.isna(row.value):
            continue
        size = re.search(r"sur ([\d\s]+)", str(row.note))
        total = int(re.sub(r"\s", "", size.group(1))) if size else None
        if not total or total < 2:
            continue
        if row.category == "france":
            parts.append(
                f"{ordinal(int(row.value))} rang des {formatting.number(total)} "
                f"{PLURALS[territory.level]}"
            )
        elif parent is not None and row.category == parent.code:
            parts.append(
                f"{ordinal(int(row.value))} sur {formatting.number(total)} {place(parent).at}"
            )
    return ", ".join(parts)


def _comparison(gap: float, reference: Place, reference_share: str) -> str:
    """« C'est 14,5 points de plus qu'en Occitanie (11,7 %). »"""
    than = reference.at
    than = f"qu'{than}" if _starts_with_vowel(than) else f"que {than}"
    points = round(abs(gap), 1)
    if points == 0:
        return f"C'est autant {than} ({reference_share})."
    more = "de plus" if gap > 0 else "de moins"
    return f"C'est {counted(points, 'point', 'points')} {more} {than} ({reference_share})."


def _change(change: float, previous: int) -> str:
    """« ses postes ont augmenté de 0,8 % depuis 2021 » (or « diminué », or « sont restés
    stables »)."""
    shown = formatting.percent(abs(change))
    if shown == formatting.percent(0):
        return f"ses postes sont restés stables depuis {previous}"
    verb = "augmenté" if change > 0 else "diminué"
    return f"ses postes ont {verb} de {shown} depuis {previous}"


def _leading(
    frame: pd.DataFrame, indicator: str, breakdown: str | None, total: pd.Series | None
) -> pd.Series | None:
    """The category with the most employees, when the published figures prove it first: the
    masked categories together (the total less the published ones) weigh less than it."""
    rows = frame[frame["indicator"] == indicator]
    if breakdown is not None:
        rows = rows[rows["breakdown"] == breakdown]
    shown = rows[~rows["secret"] & rows["value"].notna()].sort_values("value", ascending=False)
    if shown.empty or shown["value"].iloc[0] <= 0:
        return None
    first = shown.iloc[0]
    if len(shown) > 1 and shown["value"].iloc[1] == first["value"]:
        return None  # a tie: no first
    hidden = len(rows) > len(shown)
    if hidden and (total is None or total["value"] - shown["value"].sum() >= first["value"]):
        return None
    return first


def section_html(
    wh,
    frame: pd.DataFrame,
    territory: indicators.Territory,
    reference: indicators.Territory | None,
    heading: str = "h2",
) -> str:
    """The key messages of a portrait, as shown above its key figures on the dashboard, the
    static page and the note: ranked within the territory's parent, labelled on demo data."""
    parent = indicators.parent_of(wh, territory)
    sentences = key_messages(frame, territory, reference, parent)
    return messages_html(sentences, wh.is_demo(), heading)
