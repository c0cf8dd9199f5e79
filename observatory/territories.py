"""Which territory an analyst means: the one parser of the analyst's entry points
(:mod:`observatory.api`, :mod:`observatory.analysis`, ``Warehouse.key_figures``,
``indicators.compute``).

Every form is accepted: a code as text or as a number (``34``, ``"2A"``, ``1`` for the Ain,
zero-padded), a level written with or without its accent (« département », « departement »,
« Région »), an explicit ``"niveau:code"`` (``"region:76"``, ``"departement:76"``), a name with
or without its article, accents or capitals (:mod:`observatory.search`). A bare code borne by a
région and by a département (« 76 »: région Occitanie, département Seine-Maritime) is refused
with both choices named: write ``"region:76"`` or ``"departement:76"``, or pass ``level=``.
An unknown territory is refused with the closest names or codes.

    >>> from observatory import open_warehouse, territories
    >>> wh = open_warehouse()
    >>> territories.parse(wh, "departement:76").name
    'Seine-Maritime'
    >>> territories.parse(wh, 1, level="département").code
    '01'
"""

from __future__ import annotations

import difflib
from typing import TYPE_CHECKING

from observatory import search
from observatory.errors import TerritoryError

LEVELS = ("france", "region", "departement", "epci", "commune")

if TYPE_CHECKING:
    from observatory.indicators.definitions import Territory
    from observatory.warehouse import Warehouse

# How a level may be written (after search.normalise): the warehouse's names and their French.
LEVEL_WORDS = {
    **{level: level for level in LEVELS},
    "pays": "france",
    "regions": "region",
    "departements": "departement",
    "dep": "departement",
    "intercommunalite": "epci",
    "communes": "commune",
}
LEVEL_TITLES = {
    "france": "France",
    "region": "région",
    "departement": "département",
    "epci": "EPCI",
    "commune": "commune",
}
# Codes padded with zeros when given as numbers or too short: 1 → « 01 », 1001 → « 01001 ».
CODE_WIDTH = {"region": 2, "departement": 2, "commune": 5, "epci": 9}


def level_name(level: str | None) -> str | None:
    """The warehouse's name of a level written by a user: « Département », « departement »
    → ``departement``; ``None`` stays ``None``."""
    if level is None:
        return None
    found = LEVEL_WORDS.get(search.normalise(level).replace(" ", ""))
    if found is None:
        close = difflib.get_close_matches(search.normalise(level), list(LEVEL_TITLES), n=1)
        hint = f" ; vouliez-vous dire « {LEVEL_TITLES[close[0]]} » ?" if close else ""
        raise TerritoryError(
            f"niveau « {level} » inconnu : France, région, département, EPCI ou commune{hint}"
        )
    return found


def code_text(code: str | int | None, level: str | None = None) -> str | None:
    """A code as the warehouse writes it: text, stripped, upper case for France, régions and
    départements, digits zero-padded to the level's width (``1`` → ``01``; for a commune
    ``1001`` → ``01001``; two digits when the level is not known)."""
    if code is None:
        return None
    if isinstance(code, bool) or not isinstance(code, str | int):
        raise TerritoryError(f"code de territoire « {code} » illisible : un texte ou un nombre")
    text = str(code).strip()
    width = CODE_WIDTH.get(level or "", 2)
    if text.isdigit() and len(text) < width:
        text = text.zfill(width)
    return text.upper() if level in ("france", "region", "departement") else text


def parse(wh: Warehouse, territory, level: str | None = None) -> Territory:
    """The territory an analyst means (see the module's documentation).

    Parameters
    ----------
    wh : Warehouse
        The warehouse whose territories are searched.
    territory : str, int or Territory
        A code (``34``, ``"2A"``, ``"01001"``), ``"niveau:code"`` (``"region:76"``), a name
        (« Hérault », « la rochelle ») or a territory already parsed.
    level : str, optional
        The level of ``territory`` (« région », ``"departement"``…); guessed when omitted.

    Returns
    -------
    indicators.Territory

    Raises
    ------
    TerritoryError
        A bare code of both a région and a département, an unknown level or territory (with
        the closest matches), or an empty text.

    Examples
    --------
    >>> parse(wh, "region:76").name
    'Occitanie'
    """
    from observatory.indicators.definitions import Territory

    if isinstance(territory, Territory):
        return territory
    level = level_name(level)
    if isinstance(territory, str) and ":" in territory and level is None:
        written, _, territory = territory.partition(":")
        level = level_name(written)
    code = code_text(territory, level)
    if not code and level != "france":
        raise TerritoryError("aucun territoire indiqué")
    if level is None:
        _refuse_ambiguous(wh, code)
    try:
        return resolve(wh, code, level)
    except TerritoryError as exc:
        close = suggestions(wh, code, level)
        hint = f" ; vouliez-vous dire : {', '.join(close)} ?" if close else ""
        raise TerritoryError(f"{exc}{hint}") from None


def parse_many(wh: Warehouse, territories) -> list[Territory]:
    """Several territories: a list (codes, names, numbers, territories) or a text separated by
    commas (``"region:76,34,FR"``), each read by :func:`parse`."""
    if isinstance(territories, str):
        territories = [item for item in territories.split(",") if item.strip()]
    elif not isinstance(territories, list | tuple | set):
        territories = [territories]
    found = [parse(wh, item) for item in territories]
    if not found:
        raise TerritoryError("aucun territoire indiqué")
    return found


def _refuse_ambiguous(wh: Warehouse, code: str) -> None:
    """Refuse a bare code that is both a région's and a département's."""
    from observatory.indicators.static import _static

    known = _static(wh).territories
    region, departement = known.get(("region", code)), known.get(("departement", code))
    if region and departement:
        raise TerritoryError(
            f"« {code} » est ambigu : la région {region.name} (« region:{code} ») ou le "
            f"département {departement.name} (« departement:{code} ») ; écrivez l'une de ces "
            'deux formes, ou précisez level="region" ou level="departement"'
        )


def suggestions(wh: Warehouse, text: str, level: str | None = None, n: int = 3) -> list[str]:
    """The territories whose name or code is closest to ``text`` (« Hérault (département
    34) »), at ``level`` when given: the ones containing it first, then close spellings."""
    from observatory.indicators.static import _static

    named = _static(wh).search_index
    if level is not None:
        named = named[named["level"] == level]
    hits = search.find(named, text)
    keys = list(dict.fromkeys(hits["key"].head(n)))
    if len(keys) < n:
        close = difflib.get_close_matches(search.search_key(text), named["key"].unique(), n=n)
        keys += [key for key in close if key not in keys][: n - len(keys)]
    codes = difflib.get_close_matches(text, named["code"].tolist(), n=n, cutoff=0.8)
    picked = named[named["key"].isin(keys) | named["code"].isin(codes)].sort_values(
        ["order", "population"], ascending=[True, False]
    )
    known = _static(wh).territories
    return [known[(lv, c)].label for lv, c in picked[["level", "code"]].head(n).values]


def guess_level(code: str) -> str:
    """Level of a bare code: FR = France, 2–3 characters = département, 5 = commune,
    9 digits = EPCI; régions must be asked for explicitly."""
    code = code.strip()
    if code.upper() in ("FR", "FRANCE"):
        return "france"
    if len(code) in (2, 3):
        return "departement"
    if len(code) == 5:
        return "commune"
    if len(code) == 9 and code.isdigit():
        return "epci"
    raise TerritoryError(
        f"code de territoire « {code} » non reconnu : 2 ou 3 caractères pour un département, "
        "5 pour une commune, 9 chiffres pour un EPCI, ou --level region / --level france"
    )


def resolve(wh: Warehouse, code: str | None, level: str | None = None) -> Territory:
    """The territory named by ``code`` (and ``level``, guessed from the code when omitted), or
    by its name, with or without its article, accents or capitals (« La Canourgue »,
    « canourgue »): a name shared by several territories of the largest level it names
    is refused with their codes. Codes may be numbers (``48``) and levels carry their accent
    or not (« département »)."""
    level = level_name(level)
    code = code_text(code, level)
    try:
        return _resolve_code(wh, code, level)
    except TerritoryError:
        named = _resolve_name(wh, code, level) if code else None
        if named is None:
            raise
        return named


def _resolve_code(wh: Warehouse, code: str | None, level: str | None) -> Territory:
    from observatory.indicators.definitions import LEVEL_LABELS
    from observatory.indicators.static import _static

    if level is None:
        if not code:
            raise TerritoryError("aucun territoire indiqué")
        level = guess_level(code)
    if level == "france":
        code = "FR"
    elif not code:
        raise TerritoryError(f"code de {LEVEL_LABELS[level]} manquant")
    code = code.strip().upper() if level in ("france", "departement", "region") else code.strip()
    territory = _static(wh).territories.get((level, code))
    if territory is None:
        raise TerritoryError(f"{LEVEL_LABELS[level]} « {code} » introuvable dans l'entrepôt")
    return territory


def _resolve_name(wh: Warehouse, name: str, level: str | None) -> Territory | None:
    """The territory whose name is ``name`` (:func:`observatory.search.find`), at ``level``
    when given, else at the largest level bearing it; ``None`` when no name is equal."""
    from observatory.indicators.definitions import LEVEL_LABELS
    from observatory.indicators.static import _static

    named = _static(wh).search_index
    if level is not None:
        named = named[named["level"] == level]
    hits = search.find(named, name)
    hits = hits[hits["rank"] == 1]
    hits = hits[hits["order"] == hits["order"].min()]
    if len(hits) > 1:
        shown = ", ".join(
            f"{n} ({LEVEL_LABELS[lv]} {c})"
            for lv, c, n in hits[["level", "code", "name"]].head(5).values
        )
        more = "…" if len(hits) > 5 else ""
        raise TerritoryError(
            f"« {name.strip()} » désigne {len(hits)} territoires : {shown}{more} ; indiquez son code"
        )
    return _static(wh).territories[tuple(hits.iloc[0][["level", "code"]])] if len(hits) else None


def parent_of(wh: Warehouse, territory: Territory) -> Territory | None:
    """The parent used for comparisons: France for a région, the région for a département,
    the département for an EPCI or a commune."""
    from observatory.secrecy.masks import PARENT

    if territory.level == "france":
        return None
    level, column = PARENT[territory.level]
    code = "FR" if column is None else getattr(territory, column)
    return resolve(wh, code, level) if code else None
