"""Support structures: the embedded directory, distances against hand-computed Lambert-93,
a structure added or opened moves exactly the right communes, population and ESS employees
beyond 20, 30 and 45 km, coverage by EPCI, statistical secrecy."""

from datetime import date

import numpy as np
import pandas as pd
import pytest
from distance_helpers import communes, mainland, nearest_km, open_structures
from pyproj import Geod

from observatory import support

NAMED = {  # the structures and poles our documents name, with their commune
    "Réalis": {"34172", "31555"},
    "Catalis": {"31555"},
    "Alter'Incub": {"34172"},
    "CRESS Occitanie": {"34172", "31555"},
    "Pôle Sud": {"26281"},
    "Pôle Culture et Coopération": {"42218"},
    "RéFlex": {"38185"},
    "L'Atelier 26": {"69266"},
    "AG2I": {"01053"},
    "Saint-Pierre-en-Faucigny": {"74250"},
    "Pôle ressources du Roannais": {"42187"},
    "Pôle territorial Saône Vallée": {"01427"},
}


def points_of(frame: pd.DataFrame) -> pd.DataFrame:
    """Communes or structures as support.nearest expects them (zone and metric coordinates)."""
    frame = frame.copy()
    frame["zone"] = frame["departement_code"].map(support.zone_of)
    frame["x"], frame["y"] = support.project(frame["lon"], frame["lat"], frame["zone"])
    return frame


def structure(structure_id: str, commune: pd.Series) -> dict:
    return dict(
        structure_id=structure_id,
        departement_code=commune["departement_code"],
        lon=commune["lon"],
        lat=commune["lat"],
    )


def test_the_named_structures_are_embedded_as_real_entries_in_their_communes(wh):
    rows = wh.sql(
        "SELECT name, structure_type, commune_code, synthetic, source, opening_date "
        "FROM support_structures WHERE NOT synthetic"
    )
    for name, places in NAMED.items():
        found = rows[rows["name"].str.contains(name, regex=False)]
        assert set(found["commune_code"]) == places, name
        assert found["source"].str.len().min() > 10, name  # a document is named
    assert len(rows) == 14 and not rows["synthetic"].any()
    assert set(
        rows.loc[
            rows["name"].str.startswith(("Pôle", "RéFlex", "AG2I", "L'Atelier", "Plateforme")),
            "structure_type",
        ]
    ) == {"ptce"}
    realis = rows[rows["name"].str.startswith("Réalis")].set_index("commune_code")
    assert realis.loc["34172", "opening_date"].year == 2013
    assert realis.loc["31555", "opening_date"].year == 2020
    demo = wh.sql(
        "SELECT count(*) AS n, bool_and(source LIKE 'Données de démonstration%') AS "
        "labelled FROM support_structures WHERE synthetic"
    ).iloc[0]
    assert demo["n"] > 100 and demo["labelled"]


def test_lambert93_projection_matches_the_hand_computed_one():
    # Montpellier, Toulouse, Brest, Strasbourg.
    reference = communes().loc[["34172", "31555", "29019", "67482"]]
    x, y = support.project(reference["lon"], reference["lat"], ["metropole"] * 4)
    assert np.allclose(x, reference["x"], atol=0.01) and np.allclose(y, reference["y"], atol=0.01)
    # Montpellier is about 196 km from Toulouse as the crow flies; Lambert-93 keeps it within 0.1 %.
    geodesic = (
        Geod(ellps="GRS80").inv(
            *reference.loc["34172", ["lon", "lat"]], *reference.loc["31555", ["lon", "lat"]]
        )[2]
        / 1000
    )
    planar = (
        np.hypot(
            *(
                reference.loc["34172", ["x", "y"]].to_numpy(float)
                - reference.loc["31555", ["x", "y"]].to_numpy(float)
            )
        )
        / 1000
    )
    assert 190 < geodesic < 200 and planar == pytest.approx(geodesic, rel=1e-3)


def test_distance_between_two_communes_equals_the_hand_computed_one():
    all_communes = communes()
    toulouse, montpellier = all_communes.loc["31555"], all_communes.loc["34172"]
    found = support.nearest(
        points_of(all_communes.loc[["34172"]]), points_of(pd.DataFrame([structure("T", toulouse)]))
    )
    expected = np.hypot(montpellier["x"] - toulouse["x"], montpellier["y"] - toulouse["y"]) / 1000
    assert found.loc["34172", "distance_km"] == pytest.approx(expected, abs=1e-5)
    assert found.loc["34172", "structure_id"] == "T"


def test_a_structure_added_moves_exactly_the_communes_closer_to_it():
    everything = communes()
    occitanie = everything[everywhere_in("76", everything)]
    before = [structure(i, everything.loc[c]) for i, c in (("MTP", "34172"), ("TLS", "31555"))]
    rodez = structure("RODEZ", everything.loc["12202"])
    points = points_of(occitanie)
    old = support.nearest(points, points_of(pd.DataFrame(before)))
    new = support.nearest(points, points_of(pd.DataFrame([*before, rodez])))
    # By hand: distance to the two first structures, then to Rodez.
    hand_old = nearest_km(occitanie, everything.loc[["34172", "31555"]])
    hand_rodez = nearest_km(occitanie, everything.loc[["12202"]])
    assert np.allclose(old["distance_km"], hand_old, atol=1e-5)
    moved = sorted(new.index[new["distance_km"] < old["distance_km"] - 1e-9])
    assert moved == sorted(occitanie.index[hand_rodez < hand_old])
    assert 100 < len(moved) < len(occitanie)  # some communes move, not all
    assert (new.loc[moved, "structure_id"] == "RODEZ").all()
    assert np.allclose(
        new.loc[moved, "distance_km"], pd.Series(hand_rodez, occitanie.index).loc[moved], atol=1e-5
    )
    unchanged = new.index.difference(list(moved))
    assert (new.loc[unchanged, "distance_km"] == old.loc[unchanged, "distance_km"]).all()


def everywhere_in(region: str, frame: pd.DataFrame) -> pd.Series:
    return frame["region_code"] == region


def test_no_distance_crosses_the_sea():
    everything = communes()
    # Ajaccio, Saint-Denis (La Réunion), Montpellier.
    sample = everything.loc[["2A004", "97411", "34172"]]
    mainland_only = points_of(pd.DataFrame([structure("NICE", everything.loc["06088"])]))
    found = support.nearest(points_of(sample), mainland_only)
    assert found["distance_km"].isna().tolist() == [True, True, False]
    # In Réunion, distances are measured in its own projection (UTM 40S): close to the geodesic.
    saint_pierre = structure("SP", everything.loc["97416"])
    found = support.nearest(
        points_of(everything.loc[["97411"]]), points_of(pd.DataFrame([saint_pierre]))
    )
    geodesic = (
        Geod(ellps="GRS80").inv(
            *everything.loc["97411", ["lon", "lat"]], *everything.loc["97416", ["lon", "lat"]]
        )[2]
        / 1000
    )
    assert found.loc["97411", "distance_km"] == pytest.approx(geodesic, rel=2e-3)


def test_a_structure_opening_moves_the_communes_nearer_to_it(wh):
    """Réalis opened in Toulouse in 2020: between 2019 and 2021 the nearest pépinière of the
    communes nearer to Toulouse than to any other changes, as computed by hand."""
    before = support.access(wh, "76", "pepiniere", as_of=date(2019, 6, 1)).communes
    after = support.access(wh, "76", "pepiniere", as_of=date(2021, 6, 1)).communes
    occitanie = communes().loc[after.index]
    hand = {}
    for day in ("2019-06-01", "2021-06-01"):
        pepinieres = mainland(open_structures(wh, day))
        hand[day] = pepinieres[pepinieres["structure_type"] == "pepiniere"]
    hand_before = nearest_km(occitanie, hand["2019-06-01"])
    hand_after = nearest_km(occitanie, hand["2021-06-01"])
    assert np.allclose(before["distance_km"], hand_before, atol=1e-5)
    assert np.allclose(after["distance_km"], hand_after, atol=1e-5)
    moved = set(after.index[after["distance_km"] < before["distance_km"] - 1e-9])
    assert moved == set(occitanie.index[hand_after < hand_before - 1e-9])
    others = hand["2021-06-01"][hand["2021-06-01"]["commune_code"] != "31555"]
    toulouse = occitanie.loc[["31555"]]
    nearer_toulouse = set(
        occitanie.index[
            nearest_km(occitanie, communes().loc[["31555"]]) < nearest_km(occitanie, others)
        ]
    )
    assert "31555" in nearer_toulouse and nearer_toulouse <= moved
    assert (after.loc[sorted(nearer_toulouse), "structure_id"] == "OCC-REALIS-TOULOUSE").all()
    assert after.loc["31555", "distance_km"] == pytest.approx(0, abs=1e-6)
    assert before.loc["31555", "distance_km"] == pytest.approx(
        nearest_km(toulouse, hand["2019-06-01"])[0], abs=1e-5
    )


def test_population_and_ess_employees_beyond_each_threshold(wh):
    access = support.access(wh, "76")
    everything = communes()
    occitanie = everything[everything["region_code"] == "76"]
    reachable = mainland(open_structures(wh))
    distance = pd.Series(nearest_km(occitanie, reachable), index=occitanie.index)
    year = wh.years()[-1]
    ess = wh.sql(
        "SELECT code, ess_employees FROM employment_by_territory WHERE level = 'commune' "
        "AND year = $y",
        dict(y=year),
    ).set_index("code")["ess_employees"]
    ess = ess.reindex(occitanie.index).fillna(0)
    metro = set(
        wh.sql(
            "SELECT code FROM territories WHERE level = 'commune' AND epci_type = 'ME' "
            "AND region_code = '76'"
        )["code"]
    )
    summary = access.summary.set_index(["scope", "threshold_km"])
    total_ess = wh.key_figures("region", "76", year)["ess_employees"].iloc[0]
    for km in (20, 30, 45):
        far = distance > km
        row = summary.loc[("ensemble", km)]
        assert row["population"] == occitanie.loc[far, "population"].sum()
        assert row["population_share"] == pytest.approx(
            100 * occitanie.loc[far, "population"].sum() / occitanie["population"].sum()
        )
        assert row["ess_employees"] == ess[far].sum()  # large enough: not secret
        assert row["ess_share"] == pytest.approx(100 * ess[far].sum() / total_ess)
        in_metro = occitanie.index.isin(metro)
        assert (
            summary.loc[("metropoles", km), "population"]
            == occitanie.loc[far & in_metro, "population"].sum()
        )
        assert (
            summary.loc[("autres", km), "population"]
            == occitanie.loc[far & ~in_metro, "population"].sum()
        )
    assert summary.loc[("ensemble", 20), "population"] > summary.loc[("ensemble", 45), "population"]


def test_small_ess_figures_beyond_a_threshold_are_masked():
    """1 or 2 establishments beyond 45 km: « s », and its partner in ensemble = métropoles +
    autres is masked too so that it cannot be recovered by subtraction."""
    frame = pd.DataFrame(
        {
            "distance_km": [5.0, 25.0, 50.0, 8.0, 12.0],
            "metropole": [True, False, False, True, False],
            "population": [1000.0, 500, 200, 800, 300],
            "ess_establishments": [40.0, 12, 1, 30, 9],
            "ess_employees": [400.0, 90, 7, 300, 60],
            "ess_top_employees": [30.0, 20, 7, 25, 10],
        }
    )
    summary = support.summary(frame, 2022).set_index(["scope", "threshold_km"])
    assert summary.loc[("autres", 45), "secret"] and np.isnan(
        summary.loc[("autres", 45), "ess_employees"]
    )
    assert summary.loc[("ensemble", 45), "secret"]  # else autres = ensemble − métropoles (0)
    assert not summary.loc[("autres", 20), "secret"]
    assert summary.loc[("autres", 20), "ess_employees"] == 97
    assert summary.loc[("autres", 45), "population"] == 200  # population is never secret


def test_epci_coverage_ranks_the_least_served_first(wh):
    access = support.access(wh, "76")
    everything = communes()
    occitanie = everything[everything["region_code"] == "76"].copy()
    occitanie["distance"] = nearest_km(occitanie, mainland(open_structures(wh)))
    expected = (
        occitanie.groupby("epci_code")
        .apply(lambda g: np.average(g["distance"], weights=g["population"]), include_groups=False)
        .sort_values(ascending=False)
    )
    got = access.epcis.set_index("code")["mean_km"]
    assert list(got.index[:10]) == list(expected.index[:10])
    assert np.allclose(got.loc[expected.index], expected, atol=1e-4)


def test_demo_structures_are_deterministic_and_cover_every_departement():
    frame = pd.DataFrame(communes().reset_index(drop=True))
    real = support.embedded()
    first, second = support.demo_structures(frame, real), support.demo_structures(frame, real)
    pd.testing.assert_frame_equal(first, second)
    dla = first[first["structure_type"] == "dla"]
    assert set(frame.loc[frame["code"].isin(dla["commune_code"]), "departement_code"]) == set(
        frame["departement_code"]
    )
    assert first["source"].str.startswith("Données de démonstration").all()
    occitanie = frame.loc[frame["code"].isin(first["commune_code"]), ["code", "region_code"]]
    in_76 = first[
        first["commune_code"].isin(occitanie.loc[occitanie["region_code"] == "76", "code"])
    ]
    # Occitanie has real incubators, pépinières and CRESS offices: no demo ones there.
    assert not set(in_76["structure_type"]) & {"incubateur", "pepiniere", "cress"}


def test_unknown_page_parameters_fall_back_with_a_french_message(wh):
    from observatory.dashboards import support as page

    request = page.parse(wh, {"region": "Occitanie", "type": "Pépinière", "phase": "couveuse"})
    assert (request.region, request.structure_type, request.phase) == ("76", "pepiniere", None)
    assert request.messages == [
        "Phase « couveuse » inconnue : toutes les structures sont prises "
        "en compte (valeurs possibles : émergence, création, "
        "post-création (0-3 ans), changement d'échelle)."
    ]
    request = page.parse(wh, {"region": "99"})
    assert request.region == "76" and "Région « 99 » non trouvée" in request.messages[0]
