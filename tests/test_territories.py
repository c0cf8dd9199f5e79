"""One territory parser for the analyst's entry points: numbers, accents, explicit levels, the
ambiguous bare « 76 », close matches (issue 24, item 3 and 4)."""

import pytest

from observatory import indicators, territories
from observatory.territories import TerritoryError


@pytest.mark.parametrize(
    ("given", "level", "expected"),
    [
        (48, None, ("departement", "48")),
        ("48", "département", ("departement", "48")),
        (1, "departement", ("departement", "01")),
        ("2a", None, ("departement", "2A")),
        ("region:76", None, ("region", "76")),
        ("Région:76", None, ("region", "76")),
        ("departement:76", None, ("departement", "76")),
        (76, "region", ("region", "76")),
        (1001, "commune", ("commune", "01001")),
        ("la canourgue", None, ("commune", "48034")),
        ("FR", None, ("france", "FR")),
    ],
)
def test_every_written_form_reaches_its_territory(wh, given, level, expected):
    found = territories.parse(wh, given, level)
    assert (found.level, found.code) == expected


def test_a_bare_code_of_a_region_and_a_departement_names_both(wh):
    for given in ("76", 76):
        with pytest.raises(TerritoryError) as caught:
            territories.parse(wh, given)
        message = str(caught.value)
        assert "Occitanie" in message and "Seine-Maritime" in message
        assert "region:76" in message and "departement:76" in message


def test_a_misspelt_name_gets_close_matches_in_french(wh):
    with pytest.raises(TerritoryError, match=r"vouliez-vous dire : .*Hérault \(département 34\)"):
        territories.parse(wh, "Herautl", "departement")
    with pytest.raises(TerritoryError, match="niveau « canton » inconnu"):
        territories.parse(wh, "34", "canton")


def test_parse_many_takes_lists_and_texts(wh):
    listed = territories.parse_many(wh, ["34", 31, "region:76"])
    assert [(t.level, t.code) for t in listed] == [
        ("departement", "34"),
        ("departement", "31"),
        ("region", "76"),
    ]
    assert territories.parse_many(wh, "34, 31") == listed[:2]


def test_indicator_entry_points_take_numbers_accents_and_one_theme(wh):
    """compute(wh, "departement", 48) raised AttributeError 'strip'; themes="families" was
    read letter by letter."""
    by_number = indicators.compute(wh, "département", 48, 2022, themes=("key_figures",))
    by_text = indicators.compute(wh, "departement", "48", 2022, themes=("key_figures",))
    assert by_number["value"].equals(by_text["value"]) and by_number["name"].iloc[0] == "Lozère"
    families = indicators.compute(wh, "departement", "48", 2022, themes="families")
    assert set(families["theme"]) == {"families"}
    with pytest.raises(ValueError, match="thème\\(s\\) inconnu\\(s\\) : familles"):
        indicators.compute(wh, "departement", "48", 2022, themes="familles")
