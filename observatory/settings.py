"""Paths and settings of the observatory, in one place.

Every path can be overridden by an environment variable so that tests, the scheduled
refresh and a deployment can point the package somewhere else.
"""

from __future__ import annotations

import os
from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parents[1]
DATA_DIR = PROJECT_ROOT / "data"
REFERENCE_DIR = Path(os.environ.get("OBSERVATORY_REFERENCE_DIR", DATA_DIR / "reference"))
DASHBOARDS_DIR = PROJECT_ROOT / "dashboards"
NOTEBOOKS_DIR = PROJECT_ROOT / "notebooks"

DEFAULT_DB_PATH = DATA_DIR / "observatory.duckdb"
DEFAULT_RAW_DIR = DATA_DIR / "raw"
DEFAULT_SITE_DIR = PROJECT_ROOT / "site"
PORTRAIT_NOTEBOOK = NOTEBOOKS_DIR / "02-portrait-territoire.ipynb"

# Région shown by default in dashboards: Occitanie.
DEFAULT_REGION = os.environ.get("OBSERVATORY_REGION", "76")

# One Jupyter kernel name used by every notebook, dashboard and papermill run.
KERNEL_NAME = "observatory"
# The same kernel as served by `observatory serve`: without the debugger, which visitors cannot
# use and which took 0,5 s of each kernel's start (Jupyter reads it first, through JUPYTER_PATH).
SERVED_KERNELS_PATH = PROJECT_ROOT / "deploy" / "jupyter"

VOILA_HOST = "127.0.0.1"
VOILA_PORT = 8866

DEMO_LABEL = "Données de démonstration"

# Headless Chromium printing the notes to PDF: Debian's package (`make chromium`).
DEFAULT_CHROMIUM = Path("/usr/bin/chromium")


def db_path() -> Path:
    """Path of the warehouse file: ``$OBSERVATORY_DB`` or ``data/observatory.duckdb``."""
    return Path(os.environ.get("OBSERVATORY_DB", DEFAULT_DB_PATH)).expanduser()


def raw_dir() -> Path:
    """Drop zone of raw files, ``<source>/<vintage>/<file>``: ``$OBSERVATORY_RAW`` or ``data/raw``."""
    return Path(os.environ.get("OBSERVATORY_RAW", DEFAULT_RAW_DIR)).expanduser()


def site_dir() -> Path:
    """Static site written by ``observatory refresh``: ``$OBSERVATORY_SITE`` or ``site``."""
    return Path(os.environ.get("OBSERVATORY_SITE", DEFAULT_SITE_DIR)).expanduser()


def chromium_path() -> Path:
    """Chromium that prints the notes: ``$OBSERVATORY_CHROMIUM`` or Debian's ``/usr/bin/chromium``."""
    return Path(os.environ.get("OBSERVATORY_CHROMIUM", DEFAULT_CHROMIUM)).expanduser()
