"""Statistical secrecy (INSEE rules): the rules (:mod:`.rules`), the cells and masks a portrait
protects together (:mod:`.cells`, :mod:`.masks`). Applied in one place on the way out of
:mod:`observatory.indicators`."""

from observatory.secrecy.rules import (
    DOMINANCE,
    MARK,
    MIN_ESTABLISHMENTS,
    OFF_WARNING,
    Relations,
    SecrecyWarning,
    mask_output,
    primary,
    recoverable,
    secondary,
    warn_if_disabled,
)

__all__ = [
    "DOMINANCE",
    "MARK",
    "MIN_ESTABLISHMENTS",
    "OFF_WARNING",
    "Relations",
    "SecrecyWarning",
    "mask_output",
    "primary",
    "recoverable",
    "secondary",
    "warn_if_disabled",
]
