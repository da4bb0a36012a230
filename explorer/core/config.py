"""JSON round-tripping shared by the model config dataclasses."""
from __future__ import annotations

from dataclasses import asdict, fields
from typing import ClassVar, TypeVar

C = TypeVar("C", bound="JsonConfig")


class JsonConfig:
    """Mixin for config dataclasses: ``to_dict()`` and a strict ``from_dict()``."""

    # Values for fields that files written before the field existed lack (instead of today's default).
    LEGACY_DEFAULTS: ClassVar[dict] = {}

    def to_dict(self) -> dict:
        return asdict(self)  # type: ignore[call-overload]

    @classmethod
    def from_dict(cls: type[C], data: dict) -> C:
        """Build from a dict, refusing keys the dataclass does not have."""
        unknown = set(data) - {f.name for f in fields(cls)}  # type: ignore[arg-type]
        if unknown:
            raise ValueError(f"unknown {cls.__name__} fields: {sorted(unknown)}")
        return cls(**{**cls.LEGACY_DEFAULTS, **data})
