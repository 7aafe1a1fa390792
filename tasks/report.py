"""Quality-page task: the Analyse page of a catalogue written as one self-contained HTML file."""

from __future__ import annotations

from pathlib import Path

from prefect import task
from prefect.cache_policies import NO_CACHE

from catalog.db import session_scope
from catalog.models import Catalog
from reports.page import write_quality_page
from reports.quality import quality_report


@task(name="quality-page", cache_policy=NO_CACHE, retries=1)
def quality_page(
    *, store_url: str, catalog_id: int, run_id: int, validation_report: str, path: str
) -> str:
    """Compute the catalogue's quality report (with this run's validation) and write the page;
    returns the file's path. Rewrites the same file when re-run."""
    with session_scope(store_url) as session:
        catalog = session.get(Catalog, catalog_id)
        if catalog is None:
            raise ValueError(f"catalogue {catalog_id} is gone")
        report = quality_report(session, catalog=catalog, validation=(run_id, validation_report))
    return str(write_quality_page(report, Path(path)))
