"""JSON round-tripping and value limits shared by the config dataclasses.

Every size field of a config has a :class:`Limit`: the loader (bundles), the command line and
the settings forms all check values with the same table, so nothing one of them accepts is
refused by another, and no value from a file can ask for an absurd allocation.
"""
from __future__ import annotations

import math
from dataclasses import asdict, dataclass, fields
from typing import Any, ClassVar, TypeVar

C = TypeVar("C", bound="JsonConfig")

MAX_PARAMETERS = 100_000_000     # tensor elements a model's state may hold (400 MB in float32)


def describe_value(value: Any, width: int = 40) -> str:
    """A short, always-printable rendering of a value for error messages (huge ints included)."""
    if isinstance(value, int) and not isinstance(value, bool) and abs(value) >= 10 ** 15:
        return f"a {value.bit_length()}-bit number"
    try:
        text = repr(value)
    except Exception:  # a str subclass or recursive container: never let an error message fail
        text = f"<{type(value).__name__}>"
    return text if len(text) <= width else text[:width - 3] + "..."


@dataclass(frozen=True)
class Limit:
    """The values a config field may take: a whole or real number in [low, high], or a choice."""
    kind: type                       # int, float, bool or str
    low: float = -math.inf           # smallest allowed value (numbers)
    high: float = math.inf           # largest allowed value (numbers)
    high_open: bool = False          # the value must be strictly below ``high``
    low_open: bool = False           # the value must be strictly above ``low``
    odd: bool = False                # whole numbers: only odd values
    choices: tuple = ()              # if set, the value must be one of these

    def check(self, name: str, value: Any) -> None:
        """ValueError naming ``name`` unless ``value`` is allowed."""
        if self.choices:
            if isinstance(value, bool) != isinstance(self.choices[0], bool) or not _hashable(value) \
                    or value not in self.choices:
                raise ValueError(f"{name} must be one of {', '.join(map(str, self.choices))}, "
                                 f"not {describe_value(value)}")
            return
        if self.kind is bool:
            if not isinstance(value, bool):
                raise ValueError(f"{name} must be true or false, not {describe_value(value)}")
            return
        if self.kind is str:
            if not isinstance(value, str):
                raise ValueError(f"{name} must be text, not {describe_value(value)}")
            return
        if isinstance(value, bool) or not isinstance(value, (int, float)) or \
                (self.kind is int and not isinstance(value, int)):
            what = "a whole number" if self.kind is int else "a number"
            raise ValueError(f"{name} must be {what}, not {describe_value(value)}")
        if self.kind is float and not _finite(value):
            raise ValueError(f"{name} must be a finite number, not {describe_value(value)}")
        too_low = value <= self.low if self.low_open else value < self.low
        too_high = value >= self.high if self.high_open else value > self.high
        if too_low or too_high:
            lo = "(" if self.low_open else "["
            hi = ")" if self.high_open else "]"
            raise ValueError(f"{name} must be in {lo}{_fmt(self.low)}, {_fmt(self.high)}{hi}, "
                             f"not {describe_value(value)}")
        if self.odd and value % 2 == 0:
            raise ValueError(f"{name} must be odd, not {value}")

    def parse(self, text: str) -> Any:
        """A command-line string as this field's value (ValueError if it is not one)."""
        if self.kind is int:
            value: Any = int(text)
        elif self.kind is float:
            value = float(text)
        elif self.kind is bool:
            value = {"true": True, "false": False}.get(text.lower(), text)
        else:
            value = text
        return value


def _hashable(value: Any) -> bool:
    try:
        hash(value)
    except TypeError:
        return False
    return True


def _finite(value: int | float) -> bool:
    try:
        return math.isfinite(value)
    except OverflowError:                # an int too large for a float
        return False


def _fmt(x: float) -> str:
    if isinstance(x, int):
        return str(x)
    if math.isinf(x):
        return "inf" if x > 0 else "-inf"
    return str(int(x)) if float(x).is_integer() and abs(x) < 1e15 else f"{x:g}"


class JsonConfig:
    """Mixin for config dataclasses: ``to_dict()``, a strict ``from_dict()`` and field limits."""

    # Values for fields that files written before the field existed lack (instead of today's default).
    LEGACY_DEFAULTS: ClassVar[dict] = {}
    # The allowed values of each field (checked by check_fields on every construction).
    LIMITS: ClassVar[dict[str, Limit]] = {}

    def to_dict(self) -> dict:
        return asdict(self)  # type: ignore[call-overload]

    @classmethod
    def from_dict(cls: type[C], data: dict) -> C:
        """Build from a dict, refusing keys the dataclass does not have and values outside the limits."""
        if not isinstance(data, dict):
            raise ValueError(f"a {cls.__name__} must be an object, not {describe_value(data)}")
        names = {f.name for f in fields(cls)}  # type: ignore[arg-type]
        unknown = [k for k in data if k not in names]
        if unknown:
            raise ValueError(f"unknown {cls.__name__} fields: {describe_value(sorted(map(str, unknown)), 80)}")
        return cls(**{**cls.LEGACY_DEFAULTS, **data})

    def check_fields(self) -> None:
        """ValueError naming the first field whose value is outside its limit."""
        for name, limit in self.LIMITS.items():
            limit.check(name, getattr(self, name))

    @classmethod
    def check_field(cls, name: str, value: Any) -> None:
        """The limit of one field on its own (command-line flags use it before any work starts)."""
        cls.LIMITS[name].check(name, value)


def conv_size(c_in: int, c_out: int, kh: int, kw: int | None = None, bias: bool = True) -> int:
    """Elements of a Conv2d's weight and bias: c_in * c_out * kh * kw + c_out."""
    return c_in * c_out * kh * (kh if kw is None else kw) + (c_out if bias else 0)
