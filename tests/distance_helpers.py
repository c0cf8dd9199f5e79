"""Distances computed by hand, independently of observatory.support: Lambert-93 from IGN's
formulas (conformal conic projection on GRS80) and brute-force nearest structures in numpy."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd

from observatory import reference

A = 6378137.0
F = 1 / 298.257222101
E = math.sqrt(2 * F - F * F)
PHI1, PHI2, PHI0, LAMBDA0 = (math.radians(v) for v in (44.0, 49.0, 46.5, 3.0))
X0, Y0 = 700000.0, 6600000.0


def _m(phi):
    return np.cos(phi) / np.sqrt(1 - (E * np.sin(phi)) ** 2)


def _t(phi):
    return np.tan(np.pi / 4 - phi / 2) / ((1 - E * np.sin(phi)) / (1 + E * np.sin(phi))) ** (E / 2)


N = (math.log(_m(PHI1)) - math.log(_m(PHI2))) / (math.log(_t(PHI1)) - math.log(_t(PHI2)))
RHO_F = A * _m(PHI1) / (N * _t(PHI1) ** N)


def lambert93(lon, lat) -> tuple[np.ndarray, np.ndarray]:
    """Lambert-93 coordinates (metres) of WGS 84 longitudes and latitudes (IGN, NTG_71)."""
    lam, phi = np.radians(np.asarray(lon, float)), np.radians(np.asarray(lat, float))
    rho = RHO_F * _t(phi) ** N
    rho0 = RHO_F * _t(PHI0) ** N
    theta = N * (lam - LAMBDA0)
    return X0 + rho * np.sin(theta), Y0 + rho0 - rho * np.cos(theta)


def communes() -> pd.DataFrame:
    """Reference communes with their hand-computed Lambert-93 coordinates, indexed by code."""
    geo = reference.communes()
    frame = pd.DataFrame(geo.drop(columns="geometry"))
    frame["lon"], frame["lat"] = geo.geometry.x.to_numpy(), geo.geometry.y.to_numpy()
    frame["x"], frame["y"] = lambert93(frame["lon"], frame["lat"])
    frame["population"] = frame["population"].fillna(0).astype(float)
    return frame.set_index("code", drop=False)


def mainland(frame: pd.DataFrame, column: str = "departement_code") -> pd.DataFrame:
    """Rows of mainland France (no Corsica, no overseas)."""
    return frame[~frame[column].isin(["2A", "2B"]) & (frame[column].str.len() == 2)]


def nearest_km(points: pd.DataFrame, structures: pd.DataFrame) -> np.ndarray:
    """Distance (km) from each point to the nearest structure, by brute force."""
    dx = points["x"].to_numpy()[:, None] - structures["x"].to_numpy()[None, :]
    dy = points["y"].to_numpy()[:, None] - structures["y"].to_numpy()[None, :]
    return np.sqrt(dx * dx + dy * dy).min(axis=1) / 1000


def open_structures(wh, as_of: str = "today") -> pd.DataFrame:
    """Open structures of the warehouse at their commune's point (hand Lambert-93)."""
    frame = wh.sql(
        "SELECT structure_id, structure_type, commune_code, latitude, longitude, "
        "phase_emergence, phase_creation, phase_post_creation, "
        "phase_changement_echelle FROM support_structures "
        "WHERE (opening_date IS NULL OR opening_date <= $d::DATE) "
        "AND (closing_date IS NULL OR closing_date > $d::DATE)",
        dict(d=pd.Timestamp(as_of).date().isoformat()),
    )
    points = communes().loc[frame["commune_code"]]
    frame["departement_code"] = points["departement_code"].to_numpy()
    lon = frame["longitude"].fillna(pd.Series(points["lon"].to_numpy(), frame.index))
    lat = frame["latitude"].fillna(pd.Series(points["lat"].to_numpy(), frame.index))
    frame["x"], frame["y"] = lambert93(lon, lat)
    return frame
