"""The regional ESS plan: the example plan of the demo (7 axes, labelled), progress against
targets and events, checked against the CSV files read independently with pandas."""

import pandas as pd
import pytest

from observatory import plan
from observatory.dashboards import plan as page


def demo(name: str) -> pd.DataFrame:
    return pd.read_csv(
        plan.DEMO_DIR / f"plan_{name}.csv", sep=";", dtype=str, keep_default_na=False
    )


def test_the_demo_carries_an_example_plan_with_seven_axes_labelled_as_demo(wh):
    axes = plan.axes(wh)
    assert axes["axis_code"].tolist() == [str(i) for i in range(1, 8)]
    assert axes["synthetic"].all()
    for table in ("plan_actions", "plan_indicators", "plan_events"):
        assert wh.sql(f"SELECT bool_and(synthetic) AS s FROM {table}")["s"][0], table
    sources = wh.sources().set_index("source")
    assert sources.loc["plan:demonstration", "synthetic"]
    assert "Données de démonstration" in page.source_paragraph(wh)


def test_status_counts_by_axis_match_the_csv(wh):
    actions = demo("actions")
    expected = pd.crosstab(actions["axe"], actions["statut"])
    counts = plan.status_counts(wh).set_index("axis_code")
    for axis, row in expected.iterrows():
        for status, n in row.items():
            assert counts.loc[axis, status] == n, (axis, status)
    assert counts[list(plan.STATUSES)].to_numpy().sum() == len(actions) == 23


def test_progress_uses_the_latest_measure_against_the_target(wh):
    rows = demo("indicateurs")
    for column in ("valeur_initiale", "cible", "realise"):
        rows[column] = pd.to_numeric(rows[column].replace("", None))
    measured = rows.dropna(subset=["realise"]).sort_values("date_mesure")
    latest = measured.groupby(["action", "indicateur"]).last()
    expected = (
        100
        * (latest["realise"] - latest["valeur_initiale"])
        / (latest["cible"] - latest["valeur_initiale"])
    )
    got = plan.progress(wh).set_index(["action_code", "indicator"])["progress_pct"]
    assert len(got) == rows.groupby(["action", "indicateur"]).ngroups
    for key, value in expected.items():
        assert got.loc[key] == pytest.approx(value), key
    # Élèves sensibilisés: two measures, the latest (3 900 of 6 000) counts.
    assert got.loc[("1.2", "Élèves sensibilisés")] == pytest.approx(65.0)
    # A decreasing target: 24 % → 15 %, now 21 %: a third of the way.
    assert got.loc[
        ("5.1", "Part de la population à plus de 30 km d'une structure")
    ] == pytest.approx(100 / 3)
    assert (
        got.loc[("1.3", "Personnes touchées par la campagne")]
        != got.loc[("1.3", "Personnes touchées par la campagne")]
    )  # not measured yet: NaN


def test_the_mois_de_l_ess_counts_200_events_in_the_13_departements(wh):
    events = wh.sql(
        "SELECT departement_code, events FROM plan_events_by_departement "
        "WHERE event_type = 'Mois de l''ESS' AND year = 2023"
    )
    assert events["events"].sum() == 200 and events["departement_code"].nunique() == 13
    by_dep = plan.events_by_departement(wh).set_index("departement_code")
    rows = demo("evenements")
    rows["nombre"] = rows["nombre"].astype(int)
    assert by_dep.loc["31", "events"] == 38  # Mois de l'ESS in Haute-Garonne
    assert by_dep.loc["46", "events"] == 8 + 1  # the Lot, and the PTCE meeting in Figeac
    assert plan.events_by_departement(wh)["events"].sum() == rows["nombre"].sum()


def test_plan_rows_are_validated_with_reasons():
    actions = pd.DataFrame(
        {
            "line": [2, 3, 4, 5, 6, 7],
            "action": ["A", "B", "C", "D", "E", "A"],
            "axe": ["1"] * 6,
            "intitule": ["x"] * 6,
            "statut": ["en cours", "peut-être", "réalisée", "à venir", "Réalisée", "en_cours"],
            "niveau": ["departement", "", "commune", "epci", "", ""],
            "territoire": ["34", "", "99999", "200067361", "", ""],
            "date_debut": ["2024-01", "", "", "2025", "", ""],
            "date_fin": ["2025-12", "", "", "2024", "", ""],
            "budget_eur": ["1 500", "", "", "", "-3", ""],
        }
    )
    accepted, problems = plan.validate("actions", actions)
    assert accepted["action_code"].tolist() == ["A"]
    assert accepted["budget_eur"].tolist() == [1500.0]
    assert accepted["territory_code"].tolist() == ["34"]
    reasons = problems.set_index("line")
    assert reasons.loc[3, "column"] == "statut" and reasons.loc[3, "reason"].startswith(
        "statut inconnu"
    )
    assert reasons.loc[4, "column"] == "territoire"
    assert reasons.loc[5, "reason"] == "date de fin antérieure à la date de début"
    assert (reasons.loc[6, "column"], reasons.loc[6, "reason"]) == ("budget_eur", "valeur négative")
    assert reasons.loc[7, "reason"] == "clé en double (déjà à la ligne 2)"


def test_plan_dashboard_logic(wh):
    cards = {title: (value, note) for title, value, note in page.cards(wh, None)}
    assert cards["Actions"] == ("23", "3 réalisées, 12 en cours")
    assert cards["Événements"][0] == "206"
    assert page.parse_axis(wh, "5") == ("5", [])
    axis, messages = page.parse_axis(wh, "12")
    assert axis is None and "Axe « 12 » inconnu" in messages[0]
    assert page.plan_region(wh) == "76"
    assert page.month_year(pd.Timestamp("2023-11-01")) == "novembre 2023"
    counts = pd.Series(
        {"09": 10, "11": 13, "12": 0, "30": 18, "31": 38, "34": 36, "46": 9, "66": 15}
    )
    classes = page.event_classes(counts)
    assert classes["12"] == page.NO_EVENT
    assert classes[["31", "34"]].tolist() == ["36 à 38", "36 à 38"]
    assert classes[["46", "09", "30"]].tolist() == ["9 à 10", "9 à 10", "18"]


def test_the_events_map_draws_each_departement_once_in_its_class(wh):
    figure = page.events_block(wh).figure
    events = plan.events_by_departement(wh).dropna(subset=["departement_code"])
    counts = events.set_index("departement_code")["events"]
    occitanie = [
        "09", "11", "12", "30", "31", "32", "34", "46", "48", "65", "66", "81", "82",
    ]  # fmt: skip
    counts = counts.reindex(occitanie).fillna(0).astype(int)
    drawn = {code: trace.name for trace in figure.data for code in trace.locations}
    assert sorted(drawn) == occitanie  # each département once
    assert all((drawn[c] == page.NO_EVENT) == (counts[c] == 0) for c in occitanie)
    # Legend: « aucun » first in grey, then classes of more and more events, light to dark.
    names = [t.name for t in figure.data]
    lowest = [min(counts[c] for c in occitanie if drawn[c] == n) for n in names]
    assert lowest == sorted(lowest)
    assert figure.layout.title.text == "Événements par département, Occitanie"
