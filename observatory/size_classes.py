"""Establishment size classes (salaried posts at 31 December), as INSEE publishes them."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import numpy as np

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
    import numpy as np  # here only: the build's code lists need the table, not numpy

    bounds = np.array([low for _, _, low in SIZE_CLASSES[1:]], dtype=float)
    index = np.searchsorted(bounds, np.asarray(employees, dtype=float), side="right")
    return np.array(SIZE_CLASS_CODES, dtype=object)[index]
