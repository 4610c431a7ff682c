"""The model's property names and each CRM's (``[connectors.<name>.property_map]``).

Rules name one property (``hs_buying_role``); a CRM that calls it something else
(``Buying_Role__c`` on Salesforce) is asked for its own field, and its records are
stored under the model's name, so every enabled CRM's records are scored by the same
model and a person's records in two CRMs can be merged property by property.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

from crmbridge.records import ContactRecord


class PropertyMap:
    """One connector's names for the model's properties (identity where unmapped)."""

    def __init__(self, model_to_crm: Mapping[str, str]) -> None:
        self._to_crm = dict(model_to_crm)
        self._to_model = {crm: model for model, crm in self._to_crm.items()}

    def __bool__(self) -> bool:
        return bool(self._to_crm)

    def crm_names(self, names: Iterable[str]) -> list[str]:
        """What to ask the CRM for, to read ``names`` (model names), each once."""
        return list(dict.fromkeys(self._to_crm.get(name, name) for name in names))

    def model_names(self, crm_names: Iterable[str]) -> set[str]:
        """The model's names of the CRM's properties (for ``check``'s rule warnings)."""
        return {self._to_model.get(name, name) for name in crm_names}

    def record(self, record: ContactRecord) -> ContactRecord:
        """``record`` with its properties under the model's names."""
        if not self._to_crm:
            return record
        renamed: dict[str, object] = {}
        for name, value in record.properties.items():
            model = self._to_model.get(name)
            if model is not None:
                renamed[model] = value
            elif name not in self._to_crm:
                # A model name the CRM also has, while mapped elsewhere, is not read.
                renamed.setdefault(name, value)
        return record.model_copy(update={"properties": renamed})
