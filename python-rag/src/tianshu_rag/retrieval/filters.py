"""Metadata filters, checked here and passed to SQL only as bound parameters, never as SQL text.

Two kinds: a caller's {key: value} equality conditions (`metadata @> %s`, one jsonb
parameter), and conditions: comparisons (eq, ne, gt, gte, lt, lte, in, nin) of one top-level
key with a value, combined by and/or to any depth up to MAX_DEPTH. A condition becomes a SQL
fragment built from fixed text (the operator picks it from a table) with every key and value
a named parameter; keys are also checked, so a bad one is refused by name rather than
matching nothing."""
from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from itertools import count

from psycopg import sql
from psycopg.types.json import Jsonb

from ..errors import InvalidArgument

MAX_KEYS = 16
MAX_KEY_CHARS = 128
MAX_VALUE_CHARS = 1024
# Bounds on a condition, so that one request cannot make a query of unbounded size.
MAX_DEPTH = 8
MAX_COMPARISONS = 64
MAX_LIST_VALUES = 100

EQ, NE, GT, GTE, LT, LTE, IN, NIN = "eq", "ne", "gt", "gte", "lt", "lte", "in", "nin"
AND, OR = "and", "or"
RANGES = (GT, GTE, LT, LTE)
OPERATORS = (EQ, NE, *RANGES, IN, NIN)


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
        checked[key] = _scalar(value)
    return checked


@dataclass(frozen=True)
class Comparison:
    operator: str
    key: str
    value: object  # str, int, float or bool; a tuple of str/int/float for in and nin


@dataclass(frozen=True)
class Compound:
    operator: str
    conditions: tuple[Condition, ...]


Condition = Comparison | Compound


def checked_condition(condition: Condition, field: str = "options.metadata_condition") -> Condition:
    """The condition with its numbers normalized, or InvalidArgument naming the first bad part
    (its field path, e.g. options.metadata_condition.compound.conditions[1].comparison.key)."""
    comparisons = count(1)
    return _check(condition, field, 1, comparisons)


def _check(condition: Condition, field: str, depth: int, comparisons) -> Condition:
    if depth > MAX_DEPTH:
        raise InvalidArgument(field, f"conditions nest at most {MAX_DEPTH} levels deep")
    if isinstance(condition, Compound):
        field = f"{field}.compound"
        if condition.operator not in (AND, OR):
            raise InvalidArgument(f"{field}.operator", "must be and or or")
        if not condition.conditions:
            raise InvalidArgument(f"{field}.conditions", "must hold at least one condition")
        return Compound(condition.operator, tuple(
            _check(c, f"{field}.conditions[{i}]", depth + 1, comparisons) for i, c in enumerate(condition.conditions)))
    field = f"{field}.comparison"
    if next(comparisons) > MAX_COMPARISONS:
        raise InvalidArgument(field, f"at most {MAX_COMPARISONS} comparisons in one condition")
    if condition.operator not in OPERATORS:
        raise InvalidArgument(f"{field}.operator", f"must be one of {', '.join(OPERATORS)}")
    if not condition.key or len(condition.key) > MAX_KEY_CHARS:
        raise InvalidArgument(f"{field}.key", f"must have 1 to {MAX_KEY_CHARS} characters")
    return Comparison(condition.operator, condition.key, _checked_value(condition.operator, condition.value,
                                                                         f"{field}.value"))


def _checked_value(operator: str, value: object, field: str) -> object:
    if operator in (IN, NIN):
        if not isinstance(value, Sequence) or isinstance(value, str) or not value:
            raise InvalidArgument(field, f"{operator} needs a non-empty list of strings and numbers")
        if len(value) > MAX_LIST_VALUES:
            raise InvalidArgument(field, f"at most {MAX_LIST_VALUES} values, got {len(value)}")
        return tuple(_listed(v, f"{field}[{i}]") for i, v in enumerate(value))
    if isinstance(value, bool):
        if operator in RANGES:
            raise InvalidArgument(field, f"{operator} compares numbers or strings, not a bool")
        return value
    if isinstance(value, (int, float)):
        return _scalar(value)
    if isinstance(value, str):
        return _string(value, field)
    raise InvalidArgument(field, f"{operator} needs a string, number or bool, got {_kind(value)}")


def _listed(value: object, field: str) -> object:
    if isinstance(value, bool) or not isinstance(value, (str, int, float)):
        raise InvalidArgument(field, f"list values are strings or numbers, got {_kind(value)}")
    return _string(value, field) if isinstance(value, str) else _scalar(value)


def _string(value: str, field: str) -> str:
    if len(value) > MAX_VALUE_CHARS:
        raise InvalidArgument(field, f"values have at most {MAX_VALUE_CHARS} characters")
    return value


def _scalar(value):
    if isinstance(value, float) and value.is_integer():
        return int(value)  # google.protobuf.Struct and Value carry every number as a double
    return value


def _kind(value: object) -> str:
    return "null" if value is None else "a list" if isinstance(value, (list, tuple)) else \
        "an object" if isinstance(value, Mapping) else type(value).__name__


@dataclass(frozen=True)
class Where:
    """A condition as SQL: a fragment with named placeholders, and their values."""
    clause: sql.Composable
    params: dict


MATCH_ALL = Where(sql.SQL("TRUE"), {})

# Range and list comparisons as SQL/JSON path predicates on the key's value ($v is the bound
# value): they are false for a value of another type (a string is never greater than a
# number) instead of failing the query, and compare numbers by value and strings by code
# point. A document without the key gives NULL, made false by coalesce.
_PATHS = {GT: "$ ? (@ > $v)", GTE: "$ ? (@ >= $v)", LT: "$ ? (@ < $v)", LTE: "$ ? (@ <= $v)",
          IN: "$ ? (@ == $v[*])", NIN: "$ ? (@ == $v[*])"}


def condition_sql(condition: Condition | None, prefix: str = "w") -> Where:
    """The SQL of a checked condition over the column `metadata`; placeholder names start with
    prefix (keep it apart from the query's own parameters)."""
    if condition is None:
        return MATCH_ALL
    params: dict = {}
    names = count()

    def bind(value) -> sql.Placeholder:
        name = f"{prefix}{next(names)}"
        params[name] = value
        return sql.Placeholder(name)

    def build(c: Condition) -> sql.Composable:
        if isinstance(c, Compound):
            joiner = sql.SQL(" AND " if c.operator == AND else " OR ")
            return sql.SQL("({})").format(joiner.join(build(inner) for inner in c.conditions))
        if c.operator in (EQ, NE):
            # Containment can use the GIN index on metadata; NOT of it matches a missing key.
            contains = sql.SQL("metadata @> {}").format(bind(Jsonb({c.key: c.value})))
            return contains if c.operator == EQ else sql.SQL("NOT ({})").format(contains)
        value = list(c.value) if c.operator in (IN, NIN) else c.value
        matches = sql.SQL("coalesce(jsonb_path_exists(metadata -> {}::text, {}::jsonpath, {}), false)").format(
            bind(c.key), sql.Literal(_PATHS[c.operator]), bind(Jsonb({"v": value})))
        return sql.SQL("NOT {}").format(matches) if c.operator == NIN else matches

    return Where(build(condition), params)
