"""Checks of the committed reference files against values known by hand."""

from __future__ import annotations

import pytest
import shapely

from observatory import reference, settings

OCCITANIE = {"09", "11", "12", "30", "31", "32", "34", "46", "48", "65", "66", "81", "82"}


@pytest.fixture(scope="module")
def communes():
    return reference.communes()


@pytest.fixture(scope="module")
def departements():
    return reference.departements()


@pytest.fixture(scope="module")
def epcis():
    return reference.epcis()


def test_regions():
    regions = reference.regions()
    assert len(regions) == 18
    assert {"11", "76", "84", "94", "01", "02", "03", "04", "06"} <= set(regions["code"])
    assert regions.set_index("code").loc["76", "name"] == "Occitanie"


def test_departements(departements):
    assert len(departements) == 101
    codes = set(departements["code"])
    assert {"01", "2A", "2B", "971", "972", "973", "974", "976"} <= codes
    assert "20" not in codes
    occitanie = departements.loc[departements["region_code"] == "76", "code"]
    assert set(occitanie) == OCCITANIE


def test_epcis(epcis):
    assert 1200 <= len(epcis) <= 1300
    assert epcis["code"].str.fullmatch(r"\d{9}").all()
    assert epcis["code"].is_unique
    assert set(epcis["epci_type"]) == {"CC", "CA", "CU", "ME"}


def test_communes(communes, departements):
    assert 34_800 <= len(communes) <= 35_100
    assert communes["code"].is_unique
    assert communes["code"].str.len().eq(5).all()
    assert {"01001", "2A004", "2B033", "97101", "97411"} <= set(communes["code"])
    region_of = departements.set_index("code")["region_code"]
    assert communes["departement_code"].isin(region_of.index).all()
    assert communes["region_code"].eq(communes["departement_code"].map(region_of)).all()
    assert (communes.geom_type == "Point").all()


def test_population(communes, departements):
    total = communes["population"].sum()
    assert abs(total - 68_000_000) / 68_000_000 < 0.03
    assert departements["population"].sum() == total
    assert communes.set_index("code").loc["75056", "population"] > 2_000_000


def test_montpellier(communes, epcis):
    montpellier = communes.set_index("code").loc["34172"]
    assert montpellier["name"] == "Montpellier"
    assert montpellier["departement_code"] == "34"
    assert montpellier["region_code"] == "76"
    epci = epcis.set_index("code").loc[montpellier["epci_code"]]
    assert epci["epci_type"] == "ME"
    assert epci["departement_code"] == "34"


def test_communes_without_epci(communes):
    # Island communes outside any EPCI (Bréhat, Sein, Ouessant, Yeu).
    assert set(communes.loc[communes["epci_code"].isna(), "code"]) == {
        "22016",
        "29083",
        "29155",
        "85113",
    }


def test_aliases():
    aliases = reference.commune_aliases().set_index("code")
    paris = [f"751{n:02d}" for n in range(1, 21)]
    lyon = [f"6938{n}" for n in range(1, 10)]
    marseille = [f"132{n:02d}" for n in range(1, 17)]
    assert (aliases.loc[paris, "commune_code"] == "75056").all()
    assert (aliases.loc[lyon, "commune_code"] == "69123").all()
    assert (aliases.loc[marseille, "commune_code"] == "13055").all()
    assert (aliases.loc[paris + lyon + marseille, "kind"] == "ARM").all()
    assert aliases["commune_code"].isin(reference.communes()["code"]).all()


@pytest.mark.parametrize(
    "code, name",
    [
        ("17300", "La Rochelle"),
        ("76351", "Le Havre"),
        ("43157", "Le Puy-en-Velay"),
        ("48034", "La Canourgue"),
        ("94038", "L'Haÿ-les-Roses"),
        ("34172", "Montpellier"),
    ],
)
def test_commune_names_carry_their_article(communes, code, name):
    assert communes.set_index("code").loc[code, "name"] == name


def test_alias_names_carry_their_article():
    names = reference.commune_aliases().set_index("code")["name"]
    assert names["50128"] == "Le Chefresne"  # commune déléguée of Percy-en-Normandie
    assert names["49117"] == "La Daguenière"  # commune déléguée of Loire-Authion


def test_former_codes_lead_to_their_current_commune(communes):
    history = reference.commune_history().set_index("code")["commune_code"]
    assert len(history) == 4240 and history.index.is_unique
    assert history["71131"] == "71566"  # Ciel, in Verdun-Ciel since 2025
    # Hainneville merged into Équeurdreville-Hainneville (1965), itself merged into
    # Cherbourg-en-Cotentin (2016).
    assert history["50226"] == "50129"
    assert history["14011"] == "14581"  # Aurseulles changed its code
    # La Neuville-Garnier is a commune déléguée of Les Hauts-Talican today, although the
    # history of Beaumont-les-Nonains (60054), split from it, still lists it.
    assert history["60455"] == "60694"
    current = set(communes["code"])
    assert history.isin(current).all() and not history.index.isin(current).any()
    aliases = reference.commune_aliases().set_index("code")["commune_code"]
    shared = aliases.index.intersection(history.index)
    assert len(shared) == 1992 and (history[shared] == aliases[shared]).all()


@pytest.mark.parametrize(
    "loader",
    [reference.regions, reference.departements, reference.epcis, reference.commune_polygons],
)
def test_polygons(loader):
    layer = loader()
    assert layer.crs.to_epsg() == 4326
    assert (layer.geom_type == "MultiPolygon").all()
    assert layer.is_valid.all()
    assert not layer.is_empty.any()
    assert layer["code"].map(type).eq(str).all()


def test_commune_polygons_cover_france_without_gap_or_overlap(communes, departements):
    polygons = reference.commune_polygons()
    restored = {"15031", "15035", "15047", "15171"}  # no outline (data/reference/README.md)
    assert polygons["code"].is_unique
    assert set(polygons["code"]) == set(communes["code"]) - restored
    # A coverage: neighbours share their borders exactly, nothing overlaps.
    assert shapely.coverage_is_valid(polygons.geometry.to_numpy())
    # No gap between neighbours: the communes of each département together have the holes of
    # the département (its enclaves) and no other.
    by_departement = polygons.merge(communes[["code", "departement_code"]], on="code")
    departement = departements.set_index("code").geometry
    for code, members in by_departement.groupby("departement_code"):
        union = shapely.coverage_union_all(members.geometry.to_numpy())
        assert holes(union) == holes(departement[code]), code
    size = (settings.REFERENCE_DIR / "commune_polygons.parquet").stat().st_size
    assert size <= 15e6


def holes(geometry) -> int:
    return sum(len(part.interiors) for part in shapely.get_parts(geometry))


def test_loaders_return_copies():
    first = reference.communes()
    first["name"] = "x"
    assert reference.communes()["name"].ne("x").all()


def test_naf():
    naf = reference.naf()
    assert len(naf) == 732
    assert naf["naf_code"].is_unique
    assert 85 <= naf["a88_code"].nunique() <= 90
    assert naf["a38_code"].nunique() == 38
    assert naf["a21_code"].nunique() == 21
    row = naf.set_index("naf_code").loc["88.99B"]
    assert (row["class_code"], row["group_code"]) == ("88.99", "88.9")
    assert (row["a88_code"], row["a38_code"], row["a21_code"]) == ("88", "QB", "Q")
    assert row["a21_label"] == "Santé humaine et action sociale"
    assert naf.set_index("naf_code").loc["01.11Z", "a38_code"] == "AZ"
    assert naf.set_index("naf_code").loc["62.01Z", "a38_code"] == "JC"
    assert naf["a88_code"].map(type).eq(str).all()


def insee_naf_workbook(real_data):
    """INSEE's official NAF rév. 2 workbook: code → full label, at every level."""
    import pandas as pd

    frame = pd.read_excel(
        real_data / "nomenclatures" / "int_courts_naf_rev_2.xls", dtype=str, engine="xlrd"
    )
    codes, labels = frame.iloc[:, 1].str.strip(), frame.iloc[:, 2].str.strip()
    return dict(zip(codes[codes.notna()], labels[codes.notna()]))


def test_naf_subclasses_and_labels_are_insee_official_ones(real_data):
    official = insee_naf_workbook(real_data)
    subclasses = {code: label for code, label in official.items() if len(code) == 6}
    naf = reference.naf().set_index("naf_code")
    assert set(naf.index) == set(subclasses)  # the 732 sous-classes, none more, none less
    differing = [c for c, label in subclasses.items() if naf.loc[c, "naf_label"] != label]
    assert differing == []
    divisions = {code for code in official if len(code) == 2 and code.isdigit()}
    assert set(naf["a88_code"]) == divisions


def test_a88_divisions_agree_with_the_a17_table(real_data):
    import pandas as pd

    a17 = pd.read_csv(real_data / "nomenclatures" / "a17_a88t.csv", dtype=str)
    assert set(a17["A88"]) == set(reference.naf()["a88_code"])


def test_legal_categories_of_the_ess_families_exist_in_insee_list(real_data):
    from observatory.sirene_codes import LEGAL_CATEGORIES

    lines = (real_data / "nomenclatures" / "categories-juridiques_ColinMaudry.tsv").read_text(
        encoding="utf-8"
    )
    insee = {line.split("£")[0] for line in lines.splitlines() if line}
    level_three = {code for code in insee if len(code) == 4}
    assert len(level_three) > 200
    unknown = sorted(code for code, _, _ in LEGAL_CATEGORIES if code not in level_three)
    assert unknown == []
