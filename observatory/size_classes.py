"""Establishment size classes (salaried posts at 31 December), as INSEE publishes them."""

from __future__ import annotations

import numpy as np
import pandas as pd

# (code, French label, smallest number of employees), in display order.
SIZE_CLASSES: list[tuple[str, str, int]] = [
    ("0-9", "Moins de 10 salariés", 0),
    ("10-49", "10 à 49 salariés", 10),
    ("50-249", "50 à 249 salariés", 50),
    ("250+", "250 salariés ou plus", 250),
]

SIZE_CLASS_CODES = [code for code, _, _ in SIZE_CLASSES]


def size_class_of(employees) -> np.ndarray:
    """The size class code of each number of employees (an estimate may be fractional)."""
    bounds = np.array([low for _, _, low in SIZE_CLASSES[1:]], dtype=float)
    index = np.searchsorted(bounds, np.asarray(employees, dtype=float), side="right")
    return np.array(SIZE_CLASS_CODES, dtype=object)[index]


def size_classes_frame() -> pd.DataFrame:
    """The size class dimension (size_class, label, min_employees, sort_order)."""
    return pd.DataFrame([
        {"size_class": code, "label": label, "min_employees": low, "sort_order": i + 1}
        for i, (code, label, low) in enumerate(SIZE_CLASSES)])
