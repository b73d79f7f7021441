"""Result objects as plain, JSON-ready dicts: :func:`plain`.

Each ``as_dict`` names the attributes its JSON carries, in order, once: an
allow-list, so a field added to a class for the archive's own use never
reaches JSON (or a page) by itself.
"""

from __future__ import annotations

from functools import lru_cache
from typing import Any

__all__ = ["plain"]


@lru_cache(maxsize=64)
def _names(names: str) -> tuple[str, ...]:
    return tuple(names.split())


def plain(obj: object, names: str, **values: Any) -> dict[str, Any]:
    """``{name: obj.name}`` for the space-separated ``names``, in that order (the order of
    the JSON keys); a name given in ``values`` takes that value instead (a date as text,
    a nested object as its own dict)."""
    keys = _names(names)
    unknown = values.keys() - set(keys)
    if unknown:
        raise TypeError(f"values for names not listed: {sorted(unknown)}")
    return {key: values[key] if key in values else getattr(obj, key) for key in keys}
