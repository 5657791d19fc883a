"""Checks what a recording holds against the types it must have, field by field, so that a bad line
is refused at start naming its field, never a 500 later (issue 17, fault 3).

The description is the event types themselves: the type hints of their fields (model/events.py),
with `Between` in an `Annotated` hint for a range (model/fields.py). An event added later is
checked as soon as it has hints. Every int must fit in 64 bits and every float be finite, unless a
range is given.
"""

from __future__ import annotations

import dataclasses
import functools
import math
import types
import typing
from collections.abc import Callable
from typing import Annotated, Any, Literal, NotRequired, Required, Union

from dashboard.model.fields import INT64, Between, Checked


class BadField(ValueError):
    """A value of the wrong type or out of its range. `deep`: its type was right, a part of it or
    its range was not (so a union reports that, not a list of types)."""

    def __init__(self, field: str, why: str, deep: bool = False) -> None:
        super().__init__(f"{field or 'the value'} {why}")
        self.field, self.why, self.deep = field, why, deep

    def under(self, place: str) -> BadField:
        """This error, found at `place` inside a container whose own type was right. Paths are
        made only on the way out of a failure: the checks that pass build none."""
        field = place if not self.field else self.field if not place else f"{place}.{self.field}"
        return BadField(field.replace(".[", "["), self.why, deep=True)


Check = Callable[[Any], None]


def check(value: object, hint: object, field: str = "") -> None:
    """BadField naming the dotted `field` path when `value` does not fit `hint`."""
    try:
        checker(hint)(value)
    except BadField as exc:
        raise (exc.under(field) if field else exc) from None


@functools.cache
def checker(hint: Any) -> Check:
    """The check of one type hint, made once per hint (a replay checks millions of values)."""
    origin, args = typing.get_origin(hint), typing.get_args(hint)
    if origin in (Required, NotRequired):
        return checker(args[0])
    if origin is Annotated:
        if any(isinstance(meta, Checked) for meta in args[1:]):
            return lambda value: None
        bounds = next((meta for meta in args[1:] if isinstance(meta, Between)), None)
        return _number(args[0], bounds) if bounds else checker(args[0])
    if hint in (Any, object):
        return lambda value: None
    if hint in (None, type(None)):
        return _plain(type(None), "null")
    if hint in (bool, str):
        return _plain(hint, describe(hint))
    if hint in (int, float):
        return _number(hint, INT64 if hint is int else None)
    if origin in (Union, types.UnionType):
        return _union(hint, [checker(arg) for arg in args])
    if origin is Literal:
        return _literal(args)
    if origin in (tuple, list) or hint in (tuple, list):
        return _sequence(args if origin is tuple else (*args, ...))
    if origin is dict or hint is dict:
        return _mapping(args)
    if typing.is_typeddict(hint):
        return _typeddict(hint)
    if dataclasses.is_dataclass(hint) or hasattr(hint, "_fields"):
        return _record(hint)
    raise TypeError(f"no check for the type {hint!r}")


def describe(hint: Any) -> str:
    """What a hint asks for, in a message's words."""
    origin, args = typing.get_origin(hint), typing.get_args(hint)
    if origin in (Required, NotRequired):
        return describe(args[0])
    if origin is Annotated:
        bounds = next((meta for meta in args[1:] if isinstance(meta, Between)), None)
        return describe(args[0]) + (_span(bounds) if bounds else "")
    if origin in (Union, types.UnionType):
        return " or ".join(describe(arg) for arg in args)
    if origin is Literal:
        return "one of " + ", ".join(repr(arg) for arg in args)
    words = {bool: "true or false", str: "a string", int: "an integer", float: "a number", type(None): "null"}
    if hint in words:
        return words[hint]
    if hint is None:
        return "null"
    return "a list" if origin in (tuple, list) or hint in (tuple, list) else "an object"


def shown(value: object) -> str:
    """A value as a message quotes it, cut short."""
    text = repr(value)
    return text if len(text) <= 40 else text[:37] + "..."


def _span(bounds: Between) -> str:
    """A range in a message's words (2**63 - 1 reads as "up")."""
    low = f"{bounds.low:,}" if isinstance(bounds.low, int) else f"{bounds.low:g}"
    if bounds.high == INT64.high:
        return "" if bounds.low == INT64.low else f" from {low} up"
    high = f"{bounds.high:,}" if isinstance(bounds.high, int) else f"{bounds.high:g}"
    return f" from {low} to {high}"


def _plain(kind: type, words: str) -> Check:
    def check_plain(value: object) -> None:
        if type(value) is not kind:
            raise BadField("", f"must be {words}, got {shown(value)}")

    return check_plain


def _number(kind: Any, bounds: Between | None) -> Check:
    allowed = (int,) if kind is int else (int, float)
    words = describe(kind) + (_span(bounds) if bounds else "")

    def check_number(value: object) -> None:
        if not isinstance(value, allowed) or isinstance(value, bool):
            raise BadField("", f"must be {words}, got {shown(value)}")
        if not math.isfinite(value) or (bounds and not bounds.low <= value <= bounds.high):
            size = " (64 bits)" if bounds == INT64 else ""
            raise BadField("", f"must be {words}{size}, got {shown(value)}", deep=True)

    return check_number


def _union(hint: Any, choices: list[Check]) -> Check:
    words = describe(hint)

    def check_union(value: object) -> None:
        deep = None
        for choice in choices:
            try:
                return choice(value)
            except BadField as exc:
                deep = deep or (exc if exc.deep else None)
        raise deep or BadField("", f"must be {words}, got {shown(value)}")

    return check_union


def _literal(allowed: tuple) -> Check:
    def check_literal(value: object) -> None:
        if not any(type(value) is type(choice) and value == choice for choice in allowed):
            raise BadField("", f"must be {describe(Literal[allowed])}, got {shown(value)}")

    return check_literal


def _container(value: object, kinds: tuple[type, ...], words: str) -> None:
    if not isinstance(value, kinds):
        raise BadField("", f"must be {words}, got {shown(value)}")


def _sequence(args: tuple) -> Check:
    """A list: `(X, ...)` any length of X, `(X, Y)` exactly those."""
    if args in ((), (...,)):
        return lambda value: _container(value, (tuple, list), "a list")
    if len(args) == 2 and args[1] is Ellipsis:
        items = checker(args[0])

        def check_items(value: object) -> None:
            _container(value, (tuple, list), "a list")
            for index, item in enumerate(value):
                try:
                    items(item)
                except BadField as exc:
                    raise exc.under(f"[{index}]") from None

        return check_items
    fixed = [checker(arg) for arg in args]
    if all(arg is int for arg in args):  # a thread's (cpu, run queue) times: millions in a replay
        return _whole_numbers(len(args), _fixed(fixed))
    return _fixed(fixed)


def _whole_numbers(count: int, slow: Check) -> Check:
    """A list of `count` 64-bit ints, checked without a call per item; `slow` says what is wrong."""
    low, high = INT64

    def check_whole_numbers(value: object) -> None:
        if type(value) not in (tuple, list) or len(value) != count:
            return slow(value)
        for item in value:
            if type(item) is not int or not low <= item <= high:
                return slow(value)
        return None

    return check_whole_numbers


def _fixed(fixed: list[Check]) -> Check:
    """A list of exactly these, each by its own check."""

    def check_fixed(value: object) -> None:
        _container(value, (tuple, list), "a list")
        if len(value) != len(fixed):
            raise BadField("", f"must be a list of {len(fixed)}, got {len(value)} items", deep=True)
        for index, (item, check_item) in enumerate(zip(value, fixed, strict=True)):
            try:
                check_item(item)
            except BadField as exc:
                raise exc.under(f"[{index}]") from None

    return check_fixed


def _mapping(args: tuple) -> Check:
    if not args:
        return lambda value: _container(value, (dict,), "an object")
    keys, values = checker(args[0]), checker(args[1])

    def check_mapping(value: object) -> None:
        _container(value, (dict,), "an object")
        for key, item in value.items():
            try:
                keys(key)
            except BadField as exc:
                raise BadField(str(key), f"(a key) {exc.why}", deep=True) from None
            try:
                values(item)
            except BadField as exc:
                raise exc.under(str(key)) from None

    return check_mapping


def _typeddict(hint: Any) -> Check:
    hints = typing.get_type_hints(hint, include_extras=True)
    fields = {name: checker(arg) for name, arg in hints.items()}
    # Worked out from the hints: under `from __future__ import annotations` Python 3.11's
    # __required_keys__ cannot see a Required[] that is still a string.
    wrapper = {name: typing.get_origin(arg) for name, arg in hints.items()}
    required = {
        name
        for name in hints
        if wrapper[name] is Required or (hint.__total__ and wrapper[name] is not NotRequired)
    }

    def check_typeddict(value: object) -> None:
        _container(value, (dict,), "an object")
        for name, check_field in fields.items():
            if name not in value:
                if name in required:
                    raise BadField(name, "is missing", deep=True)
                continue
            try:
                check_field(value[name])
            except BadField as exc:
                raise exc.under(name) from None

    return check_typeddict


def _record(hint: Any) -> Check:
    """A NamedTuple or a dataclass: each field by its hint, read as an attribute."""
    fields = {name: checker(arg) for name, arg in typing.get_type_hints(hint, include_extras=True).items()}

    def check_record(value: object) -> None:
        if not isinstance(value, hint):
            raise BadField("", f"must be {describe(hint)}, got {shown(value)}")
        for name, check_field in fields.items():
            try:
                check_field(getattr(value, name))
            except BadField as exc:
                raise exc.under(name) from None

    return check_record
