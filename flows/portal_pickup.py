"""Flow `portal-pickup`: the hourly pickup of files suppliers dropped in a portal folder.

Claims each settled file (moved to `claimed/`, so it is announced once) and emits
`skuflow.source.landed` for it; the `onboard-on-landing` deployment onboards each file in its
own run. Re-running is safe: claimed files are not seen again.
"""

from __future__ import annotations

from pathlib import Path

from prefect import flow, get_run_logger

from flows.support.landing import claim_landed_files, emit_source_landed


@flow(name="portal-pickup")
def portal_pickup(
    inbox: str,
    catalog: str,
    pattern: str = "*.csv",
    taxonomy: str | None = None,
    companies: str | None = None,
    out: str | None = None,
    supplier: str | None = None,
) -> list[str]:
    """Announce every new file in ``inbox`` for onboarding into ``catalog``.

    Args:
        inbox: the portal's drop folder.
        catalog: the catalogue schema YAML the files belong to.
        pattern: which files to pick up (glob).
        taxonomy, companies, out: passed on to the onboarding run.
    """
    Path(inbox).mkdir(parents=True, exist_ok=True)
    claimed = claim_landed_files(inbox, pattern)
    for path in claimed:
        emit_source_landed(
            source=str(path),
            catalog=catalog,
            origin="portal",
            supplier=supplier,
            taxonomy=taxonomy,
            companies=companies,
            out=out,
        )
    get_run_logger().info("Picked up %d file(s) from %s", len(claimed), inbox)
    return [str(p) for p in claimed]
