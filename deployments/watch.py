"""Watch a folder or an S3 prefix and announce each landed file with `skuflow.source.landed`,
which starts the `onboard-on-landing` deployment.

Each file is claimed once (flows/support/landing.py), so several watchers or a restart never
start two onboardings of one file. S3 objects are downloaded into a local landing folder first,
because onboarding reads local files. `skuflow serve --watch DIR` runs a folder watcher beside
the served deployments."""

from __future__ import annotations

import threading
from pathlib import Path
from typing import Any

from flows.support.landing import claim_landed_files, claim_s3_objects, emit_source_landed


def announce_folder(
    folder: str | Path,
    *,
    catalog: str,
    pattern: str = "*",
    settle_seconds: float = 2.0,
    **onboard: Any,
) -> list[Path]:
    """One pass: claim the settled files in ``folder`` and emit an event for each."""
    claimed = claim_landed_files(folder, pattern, settle_seconds=settle_seconds)
    for path in claimed:
        emit_source_landed(source=str(path), catalog=catalog, origin="watch", **onboard)
    return claimed


def announce_s3(
    bucket: str,
    prefix: str,
    *,
    catalog: str,
    landing_dir: str | Path,
    client: Any = None,
    suffix: str = "",
    **onboard: Any,
) -> list[Path]:
    """One pass over ``s3://bucket/prefix``: claim new objects, download them into
    ``landing_dir`` and emit an event for each local copy."""
    if client is None:
        import boto3

        client = boto3.client("s3")
    landing = Path(landing_dir)
    landing.mkdir(parents=True, exist_ok=True)
    landed = []
    for uri in claim_s3_objects(bucket, prefix, client=client, suffix=suffix):
        key = uri.removeprefix(f"s3://{bucket}/")
        local = landing / Path(key).name
        client.download_file(bucket, key, str(local))
        emit_source_landed(source=str(local), catalog=catalog, origin="s3", **onboard)
        landed.append(local)
    return landed


def watch_folder(
    folder: str | Path,
    *,
    catalog: str,
    pattern: str = "*",
    poll_seconds: float = 5.0,
    stop: threading.Event | None = None,
    **onboard: Any,
) -> None:
    """Poll ``folder`` every ``poll_seconds`` until ``stop`` is set."""
    stop = stop or threading.Event()
    Path(folder).mkdir(parents=True, exist_ok=True)
    while not stop.is_set():
        announce_folder(folder, catalog=catalog, pattern=pattern, **onboard)
        stop.wait(poll_seconds)


def start_folder_watcher(folder: str | Path, *, catalog: str, **kwargs: Any) -> threading.Event:
    """Run `watch_folder` in a daemon thread; set the returned event to stop it."""
    stop = threading.Event()
    thread = threading.Thread(
        target=watch_folder,
        args=(folder,),
        kwargs={"catalog": catalog, "stop": stop, **kwargs},
        name=f"skuflow-watch-{folder}",
        daemon=True,
    )
    thread.start()
    return stop
