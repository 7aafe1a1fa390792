"""The one way anything outside a flow says "a supplier file has landed": a watched folder,
an S3 prefix, the API's inbound webhook, a supplier-portal upload. The `onboard-on-landing`
deployment (prefect.yaml) is triggered by this event and onboards the file.
"""

from __future__ import annotations

from typing import Any, Literal

from prefect.events import emit_event
from prefect.events.schemas.events import Event

SOURCE_LANDED = "skuflow.source.landed"

Origin = Literal["watch", "s3", "webhook", "portal", "manual"]

# Every parameter the triggered onboard run receives; the trigger templates each one from the
# payload, so all must be present (None when unused).
ONBOARD_PARAMETERS = (
    "source",
    "catalog",
    "taxonomy",
    "companies",
    "out",
    "formats",
    "table",
    "organization",
)


def emit_source_landed(
    *,
    source: str,
    catalog: str,
    origin: Origin,
    supplier: str | None = None,
    **onboard: Any,
) -> Event | None:
    """Emit ``skuflow.source.landed`` for a file ready to onboard.

    Args:
        source: path or URI of the landed file (what the onboard flow's source reads).
        catalog: the catalogue schema the file belongs to.
        origin: where it came from (watch, s3, webhook, portal, manual).
        supplier: who sent it, when known (shown in the UI, usable in trigger filters).
        **onboard: further onboard parameters (taxonomy, companies, out, formats, table,
            organization).

    Raises:
        ValueError: for a parameter the onboard flow does not take.
    """
    unknown = sorted(set(onboard) - set(ONBOARD_PARAMETERS))
    if unknown:
        raise ValueError(f"emit_source_landed: unknown onboard parameter(s) {unknown}")
    parameters = {name: onboard.get(name) for name in ONBOARD_PARAMETERS}
    parameters.update(source=source, catalog=catalog)
    resource = {
        "prefect.resource.id": f"skuflow.source.{origin}.{supplier or 'any'}",
        "skuflow.origin": origin,
    }
    if supplier:
        resource["skuflow.supplier"] = supplier
    return emit_event(event=SOURCE_LANDED, resource=resource, payload={"parameters": parameters})
