"""Files that landed in an inbox (a watched folder, a supplier portal's drop folder, an S3
prefix), claimed exactly once.

Claiming moves a file into `claimed/` beside it (an atomic rename; on S3 a copy then a
delete), so a second watcher, a re-run of the pickup, or a restart never announces the same
file twice; the claimed path is what onboarding reads. A file still being written (modified
within the last `settle_seconds`) is left for the next pass.
"""

from __future__ import annotations

import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

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
