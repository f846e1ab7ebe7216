"""SQL helpers. PyMySQL 1.2 no longer expands sequences, so IN lists get one placeholder per value."""
from __future__ import annotations


def in_list(values) -> tuple[str, list]:
    """('(%s,%s)', [a, b]) for `column IN ...`; never empty (an empty list matches nothing)."""
    values = list(values)
    if not values:
        return "(NULL)", []
    return "(" + ",".join(["%s"] * len(values)) + ")", values
