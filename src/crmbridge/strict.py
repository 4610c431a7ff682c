"""The base of every configuration model: strict about keys, types and mutation."""

from __future__ import annotations

import types
import typing
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, ValidationInfo, field_validator
from pydantic_core import PydanticCustomError


def _flat(annotation: Any) -> set[Any]:
    """Every type an annotation admits, through unions, ``Annotated`` and ``| None``."""
    origin = typing.get_origin(annotation)
    if origin is Annotated:
        return _flat(typing.get_args(annotation)[0])
    if origin in (typing.Union, types.UnionType):
        return set().union(*(_flat(arg) for arg in typing.get_args(annotation)))
    return {annotation}


class Strict(BaseModel):
    """Base for every config model: unknown keys are errors, values are immutable.

    A boolean is never taken for a number: pydantic would read ``port = true`` as 1.
    """

    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)

    @field_validator("*", mode="before")
    @classmethod
    def _no_boolean_numbers(cls, value: Any, info: ValidationInfo) -> Any:
        if isinstance(value, bool) and info.field_name is not None:
            admitted = _flat(cls.model_fields[info.field_name].annotation)
            if bool not in admitted and admitted & {int, float}:
                raise PydanticCustomError(
                    "bool_not_number",
                    "should be a number, not {value}",
                    {"value": str(value).lower()},
                )
        return value
