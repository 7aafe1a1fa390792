"""A supplier file has landed: claim it exactly once, then announce it.

Files land in an inbox (a watched folder, a supplier portal's drop folder, an S3 prefix).
Claiming moves a file into `claimed/` beside it (an atomic rename; on S3 a copy then a
delete), so a second watcher, a re-run of the pickup, or a restart never announces the same
file twice; the claimed path is what onboarding reads. A file still being written (modified
within the last `settle_seconds`) is left for the next pass.

`emit_source_landed` is the one way anything says "a supplier file has landed": a watched
folder, an S3 prefix, the API's inbound webhook, a supplier-portal upload. The
`onboard-on-landing` deployment (prefect.yaml) is triggered by this event and onboards the file.
"""

from __future__ import annotations

import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Literal

from prefect.events import emit_event
from prefect.events.schemas.events import Event

CLAIMED = "claimed"


def claim_landed_files(
    inbox: str | Path, pattern: str = "*", settle_seconds: float = 2.0
) -> list[Path]:
    """Move the settled files matching ``pattern`` in ``inbox`` to ``inbox/claimed/``."""
    folder = Path(inbox)
    if not folder.is_dir():
        raise FileNotFoundError(f"inbox {folder} is not a directory")
    target = folder / CLAIMED
    now = time.time()
    claimed = []
    for path in sorted(folder.glob(pattern)):
        if not path.is_file() or now - path.stat().st_mtime < settle_seconds:
            continue
        target.mkdir(exist_ok=True)
        stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%S%f")
        destination = target / f"{stamp}-{path.name}"
        try:
            path.rename(destination)
        except FileNotFoundError:  # another watcher claimed it first
            continue
        claimed.append(destination)
    return claimed


def claim_s3_objects(
    bucket: str, prefix: str, *, client: Any = None, suffix: str = ""
) -> list[str]:
    """Claim the objects under ``s3://bucket/prefix`` (not already under ``claimed/``) by
    copying each to ``prefix + 'claimed/'`` and deleting the original; returns the claimed
    ``s3://`` URIs."""
    if client is None:
        try:
            import boto3
        except ImportError as exc:  # pragma: no cover - depends on the install
            raise ImportError("watching S3 needs: pip install 'skuflow[s3]'") from exc
        client = boto3.client("s3")
    claimed_prefix = f"{prefix}{CLAIMED}/"
    claimed = []
    paginator = client.get_paginator("list_objects_v2")
    for page in paginator.paginate(Bucket=bucket, Prefix=prefix):
        for item in page.get("Contents", []):
            key = item["Key"]
            if key.startswith(claimed_prefix) or key.endswith("/") or not key.endswith(suffix):
                continue
            new_key = claimed_prefix + key[len(prefix) :].replace("/", "_")
            client.copy_object(
                Bucket=bucket, Key=new_key, CopySource={"Bucket": bucket, "Key": key}
            )
            client.delete_object(Bucket=bucket, Key=key)
            claimed.append(f"s3://{bucket}/{new_key}")
    return claimed


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
