"""A catalogue's model-filled attributes as the output schema enrichment fills.

The engine speaks seed 003's output schema; a catalogue speaks typed attributes. Every door
that enriches stored records (onboard, `enrich-catalog`, the API's jobs) asks for the same
fields: the attributes a model derives (`derive: extract` and `derive: firmographics.<field>`;
`classify` is the classifier's). Units the engine cannot convert (currencies) are left to the
provider that knows them: a revenue is scaled by the reference provider from the attribute.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from catalog.errors import InputError
from catalog.schema import Attribute, AttributeType, CatalogSchema
from catalog.units import UnitError, canonical_unit
from enrichment.output_schema import OutputSchema

_FIELD_TYPES = {
    AttributeType.TEXT: "string",
    AttributeType.NUMBER: "number",
    AttributeType.INTEGER: "integer",
    AttributeType.BOOLEAN: "boolean",
    AttributeType.ENUM: "string",
    AttributeType.ARRAY: "array",
}


def enriched_attributes(schema: CatalogSchema) -> list[Attribute]:
    """The attributes enrichment fills: derived by extraction or firmographics."""
    return [
        a
        for a in schema.attributes
        if a.derive is not None and a.derive != "classify" and a.type in _FIELD_TYPES
    ]


def catalog_output_fields(schema: CatalogSchema) -> list[dict[str, Any]]:
    """The catalogue's enriched attributes as seed 003 output-schema fields (name, type,
    description, unit, enum, required)."""
    fields: list[dict[str, Any]] = []
    for attribute in enriched_attributes(schema):
        field: dict[str, Any] = {
            "name": attribute.name,
            "type": _FIELD_TYPES[attribute.type],
            "description": attribute.description or attribute.name.replace("_", " "),
            "required": attribute.required,
        }
        unit = _physical_unit(attribute)
        if unit is not None:
            field["unit"] = unit
        if attribute.enum:
            field["enum"] = list(attribute.enum)
        fields.append(field)
    return fields


def catalog_output_schema(schema: CatalogSchema) -> OutputSchema:
    return OutputSchema.parse(catalog_output_fields(schema))


def learnable_fields(output_schema: OutputSchema, catalog: CatalogSchema | None) -> list[str]:
    """Fields the learned extractor can learn: text read verbatim from the record (brand,
    colour, model name), not quantities the rule extractor converts or facts about a
    supplier from a companies table."""
    by_name = catalog.by_name if catalog is not None else {}
    names: list[str] = []
    for spec in output_schema.fields:
        attribute = by_name.get(spec.name)
        if attribute is not None and (attribute.derive or "").startswith("firmographics"):
            continue
        if spec.type == "string" and spec.effective_unit is None:
            names.append(spec.name)
    return names


def check_enrichable(catalog: CatalogSchema, names: Sequence[str]) -> None:
    """Refuse, before any work, fields the catalogue cannot fill as asked.

    Raises:
        InputError: a firmographic attribute without `supplier_name` / `supplier_website` to
            match companies by, or a revenue attribute in a unit that is not a USD scale.
    """
    from enrichment.firmographics import revenue_scale

    asked = set(names)
    for attribute in catalog.attributes:
        if attribute.name not in asked or not (attribute.derive or "").startswith("firmo"):
            continue
        where = f"attribute '{attribute.name}'"
        if not catalog.supplier_name and not catalog.supplier_website:
            raise InputError.single(
                where,
                f"catalogue '{catalog.name}' derives firmographics but sets neither "
                "supplier_name nor supplier_website, so records cannot be matched to companies",
            )
        if attribute.derive == "firmographics.revenue":
            try:
                revenue_scale(attribute)
            except ValueError as exc:
                raise InputError.single(where, str(exc)) from None


def _physical_unit(attribute: Attribute) -> str | None:
    if not attribute.unit or attribute.type not in (AttributeType.NUMBER, AttributeType.INTEGER):
        return None
    try:
        return canonical_unit(attribute.unit)
    except UnitError:
        return None  # a currency: the provider that knows it scales the value
