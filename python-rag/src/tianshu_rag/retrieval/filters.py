"""Metadata filters: a caller's {key: value} equality conditions, checked here and passed to
SQL only as one bound jsonb parameter (`metadata @> %s`), never as SQL text."""
from __future__ import annotations

from collections.abc import Mapping

from ..errors import InvalidArgument

MAX_KEYS = 16
MAX_KEY_CHARS = 128
MAX_VALUE_CHARS = 1024


def equality_filter(conditions: Mapping[str, object], field: str = "options.metadata_filter") -> dict:
    """Returns the jsonb containment object for `metadata @> filter`: every key must be
    present in a document's metadata with exactly the given scalar value."""
    if len(conditions) > MAX_KEYS:
        raise InvalidArgument(field, f"at most {MAX_KEYS} conditions, got {len(conditions)}")
    checked = {}
    for key, value in conditions.items():
        if not key or len(key) > MAX_KEY_CHARS:
            raise InvalidArgument(field, f"keys must have 1 to {MAX_KEY_CHARS} characters")
        if not isinstance(value, (str, bool, int, float)) or value is None:
            raise InvalidArgument(f"{field}.{key}", "only string, number and bool values can be "
                                                    f"matched, got {type(value).__name__}")
        if isinstance(value, str) and len(value) > MAX_VALUE_CHARS:
            raise InvalidArgument(f"{field}.{key}", f"values have at most {MAX_VALUE_CHARS} characters")
        if isinstance(value, float) and value.is_integer():
            value = int(value)  # google.protobuf.Struct carries every number as a double
        checked[key] = value
    return checked
