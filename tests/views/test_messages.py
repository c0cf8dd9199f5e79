"""Key messages: correct French (articles, elision, plural, ranks) for every département and
région, figures checked against the warehouse, and nothing masked ever said."""

from __future__ import annotations

import re
import warnings

import pandas as pd
import pytest
from conftest import ROOT

from observatory import indicators, secrecy, settings
from observatory.dashboards import common
from observatory.dashboards import portrait as portrait_page
from observatory.formatting import number, percent
from observatory.views import messages, territory_view


def territory(level: str, code: str, name: str) -> indicators.Territory:
    return indicators.Territory(level, code, name, None, None, None, None, None)


def frame_of(wh, level: str, code: str) -> pd.DataFrame:
    return indicators.compute(wh, level, code, None, themes=list(territory_view.THEMES))


def said(wh, level: str, code: str) -> list[str]:
    place = indicators.resolve(wh, code, level)
    parent = indicators.parent_of(wh, place)
    return messages.key_messages(frame_of(wh, level, code), place, parent, parent)


# ---------------------------------------------------------------------------------------------
# Naming territories


def test_every_departement_and_region_has_an_article_and_a_preposition_that_fit_its_name():
    for level, file in (("departement", "departements"), ("region", "regions")):
        names = pd.read_parquet(ROOT / "data" / "reference" / f"{file}.parquet")
        names = dict(zip(names["code"], names["name"]))
        assert set(messages.FORMS[level]) == set(names), level
        for code, (article, preposition) in messages.FORMS[level].items():
            name = names[code]
            first = re.split(r"[- ]", name)[0]
            if article == "l'":
                assert name[0] in "AEIOUYÉÈÎH", name
            elif article in ("la", "le"):
                assert name[0] not in "AEIOUYÉÈÎ", name
            elif article == "les":
                assert first[-1] in "sx", name  # les Landes, les Deux-Sèvres
            if preposition == "en":
                assert article in ("la", "", "le"), name


@pytest.mark.parametrize(
    "level, code, name, of, at",
    [
        ("departement", "34", "Hérault", "de l'Hérault", "dans l'Hérault"),
        ("departement", "30", "Gard", "du Gard", "dans le Gard"),
        (
            "departement",
            "66",
            "Pyrénées-Orientales",
            "des Pyrénées-Orientales",
            "dans les Pyrénées-Orientales",
        ),
        ("departement", "48", "Lozère", "de la Lozère", "en Lozère"),
        ("departement", "11", "Aude", "de l'Aude", "dans l'Aude"),
        ("departement", "974", "La Réunion", "de La Réunion", "à La Réunion"),
        ("departement", "976", "Mayotte", "de Mayotte", "à Mayotte"),
        ("departement", "75", "Paris", "de Paris", "à Paris"),
        ("departement", "28", "Eure-et-Loir", "d'Eure-et-Loir", "en Eure-et-Loir"),
        ("departement", "50", "Manche", "de la Manche", "dans la Manche"),
        (
            "departement",
            "90",
            "Territoire de Belfort",
            "du Territoire de Belfort",
            "dans le Territoire de Belfort",
        ),
        ("departement", "2A", "Corse-du-Sud", "de la Corse-du-Sud", "en Corse-du-Sud"),
        ("departement", "31", "Haute-Garonne", "de la Haute-Garonne", "en Haute-Garonne"),
        ("region", "76", "Occitanie", "d'Occitanie", "en Occitanie"),
        ("region", "11", "Île-de-France", "d'Île-de-France", "en Île-de-France"),
        (
            "region",
            "84",
            "Auvergne-Rhône-Alpes",
            "d'Auvergne-Rhône-Alpes",
            "en Auvergne-Rhône-Alpes",
        ),
        ("region", "24", "Centre-Val de Loire", "du Centre-Val de Loire", "en Centre-Val de Loire"),
        ("region", "44", "Grand Est", "du Grand Est", "dans le Grand Est"),
        ("region", "32", "Hauts-de-France", "des Hauts-de-France", "dans les Hauts-de-France"),
        ("region", "04", "La Réunion", "de La Réunion", "à La Réunion"),
        (
            "region",
            "27",
            "Bourgogne-Franche-Comté",
            "de Bourgogne-Franche-Comté",
            "en Bourgogne-Franche-Comté",
        ),
        ("france", "FR", "France", "de la France", "en France"),
        (
            "epci",
            "200069193",
            "Communauté de communes de la Dombes",
            "de la Communauté de communes de la Dombes",
            "dans la Communauté de communes de la Dombes",
        ),
        (
            "epci",
            "243400017",
            "Montpellier Méditerranée Métropole",
            "de l'EPCI Montpellier Méditerranée Métropole",
            "dans l'EPCI Montpellier Méditerranée Métropole",
        ),
        ("commune", "34003", "Agde", "de la commune d'Agde", "dans la commune d'Agde"),
        ("commune", "48095", "Mende", "de la commune de Mende", "dans la commune de Mende"),
    ],
)
def test_territories_are_named_with_their_article_and_preposition(level, code, name, of, at):
    assert messages.place(territory(level, code, name)) == messages.Place(of, at)


@pytest.mark.parametrize(
    "share, subject, verb",
    [
        (26.18, "Plus d'un salarié sur quatre", "travaille"),
        (12.1, "Près d'un salarié sur huit", "travaille"),  # 12,5 % is within 5 %
        (11.73, "Plus d'un salarié sur neuf", "travaille"),  # 12,5 % is 6 % away
        (25.0, "Un salarié sur quatre", "travaille"),
        (25.04, "Un salarié sur quatre", "travaille"),  # « 25,0 % » either way
        (50.0, "Un salarié sur deux", "travaille"),
        (61.0, "Plus d'un salarié sur deux", "travaille"),
        (42.0, "Plus d'un salarié sur trois", "travaille"),  # not « près d'un sur deux »
        (4.9, "Près d'un salarié sur vingt", "travaille"),
        (4.6, "4,6\u202f% des salariés", "travaillent"),
        (0.0, "Aucun salarié", "ne travaille"),
    ],
)
def test_a_share_is_said_as_one_in_n_with_its_verb_agreeing(share, subject, verb):
    assert messages.one_in(share) == (subject, verb)


def test_counts_agree_in_number_and_ranks_are_french_ordinals():
    assert messages.counted(1, "point", "points") == "1 point"
    assert messages.counted(1.5, "point", "points") == "1,5 point"
    assert messages.counted(0.8, "point", "points") == "0,8 point"
    assert messages.counted(2, "point", "points") == "2 points"
    assert messages.counted(214000, "poste", "postes") == "214\u202f000 postes"
    assert [messages.ordinal(r) for r in (1, 2, 13, 1253)] == ["1er", "2e", "13e", "1\u202f253e"]


# ---------------------------------------------------------------------------------------------
# Sentences from the demo warehouse


def ranks(wh, year: int, code: str, region: str) -> tuple[int, int, int, int]:
    """Rank of a département's ESS share in France and in its région, and the counts, from the
    warehouse's key figures (not from the indicators)."""
    shares = wh.key_figures("departement", year=year).dropna(subset=["ess_share_pct"])
    regions = wh.territories("departement").set_index("code")["region_code"]
    shares["region"] = shares["code"].map(regions)
    mine = shares.set_index("code").at[code, "ess_share_pct"]
    inside = shares[shares["region"] == region]
    return (
        1 + int((shares["ess_share_pct"] > mine).sum()),
        len(shares),
        1 + int((inside["ess_share_pct"] > mine).sum()),
        len(inside),
    )


def test_lozere_says_its_share_rank_comparison_size_change_family_and_sector(wh):
    year = wh.years()[-1]
    figures = wh.key_figures("departement", "48", year).iloc[0]
    occitanie = wh.key_figures("region", "76", year).iloc[0]
    before = wh.key_figures("departement", "48", year - 1).iloc[0]
    national, of_france, regional, of_region = ranks(wh, year, "48", "76")
    family = wh.sql(
        "SELECT family_code AS family, sum(employees) AS employees FROM ess_by_territory "
        "WHERE level = 'departement' AND code = '48' AND year = $year GROUP BY 1 ORDER BY 2 DESC",
        dict(year=year),
    )
    assert family["family"].iloc[0] == "ASSO" and figures["ess_share_pct"] > 25
    gap = figures["ess_share_pct"] - occitanie["ess_share_pct"]
    change = 100 * (figures["ess_employees"] / before["ess_employees"] - 1)
    sentences = said(wh, "departement", "48")
    assert sentences[:4] == [
        f"En Lozère, plus d'un salarié sur quatre travaille dans l'ESS "
        f"({percent(figures['ess_share_pct'])} des postes salariés) : "
        f"{messages.ordinal(national)} rang des {of_france} départements, "
        f"{messages.ordinal(regional)} sur {of_region} en Occitanie.",
        f"C'est {number(gap, 1)} points de plus qu'en Occitanie "
        f"({percent(occitanie['ess_share_pct'])}).",
        f"L'ESS de la Lozère compte {number(figures['ess_employees'])} postes salariés dans "
        f"{number(figures['ess_establishments'])} établissements employeurs ; ses postes ont "
        f"{'augmenté' if change > 0 else 'diminué'} de {percent(abs(change))} depuis {year - 1}.",
        f"Première famille de l'ESS, les associations rassemblent "
        f"{number(family['employees'].iloc[0])} postes salariés, soit "
        f"{percent(100 * family['employees'].iloc[0] / figures['ess_employees'])} de ceux de "
        "l'ESS.",
    ]
    assert sentences[4].startswith("Premier secteur de l'ESS par l'emploi : ")
    assert (national, regional) == (1, 1)  # the demo is calibrated on Clap 2014: Lozère first


def test_the_last_departement_says_its_rank_and_a_percentage_below_one_in_twenty(wh):
    year = wh.years()[-1]
    shares = wh.key_figures("departement", year=year).dropna(subset=["ess_share_pct"])
    last = shares.sort_values("ess_share_pct").iloc[0]
    region = wh.territories("departement").set_index("code").at[last["code"], "region_code"]
    national, of_france, regional, of_region = ranks(wh, year, last["code"], region)
    assert national == of_france and regional == of_region  # last, and last in its région
    first = said(wh, "departement", last["code"])[0]
    assert f"{messages.ordinal(of_france)} rang des {of_france} départements" in first
    assert f"{messages.ordinal(of_region)} sur {of_region} " in first
    assert first.count(percent(last["ess_share_pct"])) == 1  # « 4,6 % des salariés… » once


def test_every_region_and_departement_says_three_to_five_sentences_in_good_french(wh):
    wrong = re.compile(
        r"\bde (le|les|[AEIOUYÉÈÎaeiouyéèî])|\bà (le|les) |\bque (en|à) |\b(en|dans) (en|dans)\b"
        r"|\ben (la|le|les|l')|\bs\b|\bnan\b|–| {2}"
    )
    counts = {}
    for level in ("region", "departement"):
        for code in wh.territories(level)["code"]:
            sentences = said(wh, level, code)
            counts[(level, code)] = len(sentences)
            for sentence in sentences:
                assert sentence[0].isupper() and sentence.endswith("."), sentence
                assert not wrong.search(sentence), sentence
    assert {k for k, n in counts.items() if not 3 <= n <= 5} == {
        ("departement", "976"),
        ("region", "06"),
    }  # Mayotte: no ESS figure in the demo


def test_mayotte_has_no_message_and_says_why(wh):
    assert said(wh, "departement", "976") == []
    html = messages.messages_html([], demo=False)
    assert messages.NO_MESSAGE in html


def test_nothing_masked_is_said_for_the_communes_of_lozere(wh):
    """Communes whose share is masked: no share, no rank, no comparison, and none of the
    unmasked figures of their masked cells appears in a sentence."""
    checked = 0
    for code in wh.territories("commune", departement="48")["code"]:
        frame = indicators.compute(wh, "commune", code, None, themes=list(territory_view.THEMES))
        if not frame.set_index("indicator").at["ess_share_employees", "secret"]:
            continue
        place = indicators.resolve(wh, code, "commune")
        parent = indicators.parent_of(wh, place)
        text = " ".join(messages.key_messages(frame, place, parent, parent))
        assert "travaille" not in text and "rang" not in text and "C'est" not in text
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", secrecy.SecrecyWarning)
            truth = indicators.compute(
                wh, "commune", code, None, themes=list(territory_view.THEMES), secrecy=False
            )
        masked = frame["secret"].to_numpy() & truth["value"].notna().to_numpy()
        published = set(frame.loc[~frame["secret"], "display"])  # equal figures said elsewhere
        for display in set(truth.loc[masked, "display"]) - published:
            assert not re.search(rf"(?<![\d,\u202f]){re.escape(display)}(?![\d,\u202f])", text), (
                code,
                display,
                text,
            )
        checked += 1
        if checked == 12:
            break
    assert checked == 12


def test_a_first_family_or_sector_is_claimed_only_when_the_published_figures_prove_it(wh):
    frame = frame_of(wh, "departement", "48")
    place = indicators.resolve(wh, "48")
    families = frame["indicator"] == "family_employees"

    def claims(edited: pd.DataFrame) -> bool:
        return any(s.startswith("Première famille") for s in messages.key_messages(edited, place))

    assert claims(frame)
    masked_first = frame.copy()
    masked_first.loc[families & (frame["category"] == "ASSO"), ["value", "secret"]] = [None, True]
    assert not claims(masked_first)  # the hidden 4 000 could be anyone's: no « première »
    tie = frame.copy()
    top = frame.loc[families & (frame["category"] == "ASSO"), "value"].iloc[0]
    tie.loc[families & (frame["category"] == "COOP"), "value"] = top
    assert not claims(tie)
    no_total = frame.copy()
    no_total.loc[no_total["indicator"] == "ess_employees", ["value", "secret"]] = [None, True]
    assert not claims(no_total)  # a family masked and no total to bound it


def test_a_comparison_agrees_in_number_and_a_territory_is_not_compared_with_itself(wh):
    herault = said(wh, "departement", "34")
    gap = [s for s in herault if s.startswith("C'est ")]
    assert len(gap) == 1 and re.match(
        r"C'est (0|1),\d point de (plus|moins) qu'en Occitanie", gap[0]
    )
    assert not [s for s in said(wh, "departement", "974") if s.startswith("C'est")]


def test_the_demo_label_goes_with_the_sentences(wh):
    html = messages.section_html(
        wh, frame_of(wh, "departement", "48"), indicators.resolve(wh, "48"), None
    )
    assert settings.DEMO_LABEL in html and "En Lozère, plus d" in html
    assert settings.DEMO_LABEL not in messages.messages_html(["Une phrase."], demo=False)


def test_the_portrait_dashboard_shows_the_messages_above_its_key_figures(warehouse_path):
    mp = pytest.MonkeyPatch()
    mp.setenv("OBSERVATORY_DB", str(warehouse_path))
    for cached in (common.warehouse, common.territory_index):
        cached.cache_clear()
    try:
        wh = common.warehouse()
        page = portrait_page.PortraitPage(wh, portrait_page.parse(wh, {"territoire": "34"}))
        page.update()
        header = page.header.outputs[0]["data"]["text/html"]
    finally:
        common.warehouse().close()
        for cached in (common.warehouse, common.territory_index):
            cached.cache_clear()
        mp.undo()
    assert header.index("Dans l&#x27;Hérault, plus d&#x27;un salarié") < header.index(
        "obs-key-figures"
    )
    assert settings.DEMO_LABEL in header
