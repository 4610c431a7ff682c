"""The base of a connector's ``[connectors.<name>]`` table."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Annotated, ClassVar

from pydantic import Field, StringConstraints, field_validator
from pydantic_core import PydanticCustomError

from crmbridge.durations import Duration, at_least, at_most
from crmbridge.strict import Strict

#: What a plugin's settings use for durations (``timeout = "30s"``), read like the core's.
__all__ = ["ConnectorSettings", "Duration", "PropertyName", "at_least", "at_most"]

#: A property or field name as a CRM spells it (``hs_buying_role``, ``Buying_Role__c``).
PropertyName = Annotated[
    str, StringConstraints(pattern=r"^[A-Za-z][A-Za-z0-9_]*$", min_length=1, max_length=100)
]


class ConnectorSettings(Strict):
    """``[connectors.<name>]``: what every connector's settings model starts from.

    A plugin subclasses it with its own keys; crmbridge validates the table against it,
    so an unknown or mistyped key is refused with its path and a did-you-mean. Secrets
    are :class:`pydantic.SecretStr`, written in TOML as ``"${ENV_NAME}"``.
    """

    enabled: bool = False
    property_map: dict[PropertyName, PropertyName] = Field(
        default_factory=dict,
        max_length=500,
        description="The model's property name → this CRM's name for it, where they "
        'differ (e.g. hs_buying_role = "Buying_Role__c"): rules name one property and '
        "each CRM's record is read under the model's name.",
    )

    #: Secrets the table works without: an unset ``${VAR}`` only warns.
    optional_secrets: ClassVar[frozenset[str]] = frozenset()
    #: A secret that another way of signing in replaces: it may stay unset when every
    #: key listed for it is set.
    secret_alternatives: ClassVar[Mapping[str, tuple[str, ...]]] = {}

    @field_validator("property_map")
    @classmethod
    def _one_model_name_each(cls, mapping: dict[str, str]) -> dict[str, str]:
        # Read back under the model's name: two model names for one field is ambiguous.
        seen: dict[str, str] = {}
        for model_name, crm_name in mapping.items():
            other = seen.get(crm_name.lower())
            if other is not None:
                raise PydanticCustomError(
                    "property_map_twice",
                    '"{field}" is mapped from both "{first}" and "{second}"',
                    {"field": crm_name, "first": other, "second": model_name,
                     "hint": "map each CRM field from one model property"},
                )  # fmt: skip
            seen[crm_name.lower()] = model_name
        return mapping

    def endpoint(self) -> str | None:
        """The base URL of the API the connector calls, where it is configurable.

        crmbridge refuses to write the bundled example model into any endpoint other
        than a local sandbox; ``None`` means the connector always reaches the vendor.
        """
        return None
