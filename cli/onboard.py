"""`skuflow onboard`: the main job, with a live progress bar fed from the store."""

from __future__ import annotations

import threading
from pathlib import Path
from typing import Any

from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from cli.console import console, errors

STAGES = ("ingest", "classify", "enrich")


def run_onboard(
    *,
    source: Path,
    catalog: Path,
    taxonomy: Path | None,
    companies: Path | None,
    out: Path | None,
    formats: list[str],
    table: str | None,
    column_overrides: dict[str, str] | None,
    encoding: str = "utf-8",
    destinations: list[str] | None = None,
    task_runner: str | None = None,
    workers: int | None = None,
) -> dict[str, Any]:
    """Run the onboard flow in this process and show its progress; returns its summary.
    `task_runner`/`workers` override the settings' runner for this run."""
    from catalog.db import session_scope
    from catalog.errors import InputError, SkuflowError, ValidationFailed
    from catalog.repository import get_or_create_organization, start_run, upsert_catalog
    from catalog.schema import CatalogSchema
    from catalog.settings import get_settings
    from flows.onboard import onboard
    from flows.support.credentials import stash_password
    from flows.support.task_runners import with_task_runner

    settings = get_settings()
    if task_runner is not None or workers is not None:
        onboard = with_task_runner(onboard, task_runner, workers=workers)
    schema = CatalogSchema.from_yaml(catalog)
    with session_scope() as session:
        org = get_or_create_organization(session, name=settings.organization)
        stored = upsert_catalog(session, organization=org, schema=schema)
        run_id = start_run(
            session,
            organization=org,
            catalog=stored,
            operation="onboard",
            params={"source": str(source), "catalog": str(catalog)},
        ).id

    # the flow run's parameters are stored and shown by Prefect: the password goes to a block
    table, table_password_block = stash_password(table)
    stop = threading.Event()
    with Progress(
        TextColumn("{task.description:<10}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=console,
        transient=False,
    ) as progress:
        bars = {stage: progress.add_task(stage, total=None) for stage in STAGES}
        poller = threading.Thread(target=_follow, args=(run_id, progress, bars, stop), daemon=True)
        poller.start()
        try:
            summary = onboard(
                source=str(source),
                catalog=str(catalog),
                taxonomy=str(taxonomy) if taxonomy else None,
                companies=str(companies) if companies else None,
                out=str(out) if out else None,
                formats=formats,
                table=table,
                table_password_block=table_password_block,
                run_id=run_id,
                column_overrides=column_overrides,
                encoding=encoding,
                destinations=destinations,
            )
        except InputError as exc:
            stop.set()
            errors.print(f"[red]Input rejected; nothing was stored (run {run_id}):[/red]")
            errors.print(str(exc), markup=False, highlight=False)
            raise SystemExit(1) from None
        except ValidationFailed as exc:
            stop.set()
            errors.print(exc.summary, markup=False, highlight=False)
            errors.print(
                f"[red]Validation failed: run {run_id} halted, nothing distributed.[/red] "
                f"Report: {exc.report_path}"
            )
            raise SystemExit(1) from None
        except SkuflowError as exc:
            stop.set()
            errors.print(f"[red]{exc}[/red]", highlight=False)
            raise SystemExit(1) from None
        finally:
            stop.set()
            poller.join(timeout=5)
            _refresh(run_id, progress, bars)
    print_summary(summary)
    return summary


def _follow(run_id: int, progress: Progress, bars: dict[str, Any], stop: threading.Event) -> None:
    while not stop.wait(0.5):
        try:
            _refresh(run_id, progress, bars)
        except Exception:  # a busy store must not break the run being shown
            continue


def _refresh(run_id: int, progress: Progress, bars: dict[str, Any]) -> None:
    from catalog.db import session_scope
    from catalog.models import Run

    with session_scope() as session:
        run = session.get(Run, run_id)
        counts = dict(run.counts or {}) if run else {}
    read = counts.get("ingest", {}).get("read")
    for stage, bar in bars.items():
        done = counts.get(stage, {}).get("read" if stage == "ingest" else "processed", 0)
        total = read if read is not None else None
        if stage == "ingest" and read is not None:
            progress.update(bar, total=read, completed=read)
        elif done or total:
            progress.update(bar, total=max(total or 0, done), completed=done)


def _decisions(counts: dict[str, int]) -> str:
    return " / ".join(str(counts.get(k, 0)) for k in ("applied", "queued_for_review", "dropped"))


def print_summary(summary: dict[str, Any]) -> None:
    """The table a user reads after a run: what came in, what changed, what was written."""
    ingest = summary.get("ingest", {})
    classify = summary.get("classify", {})
    enrich = summary.get("enrich", {})
    dedupe = summary.get("dedupe", {})  # only when the schema turns matching on
    changes = summary.get("changes", {})
    validation = summary.get("validation", {})
    table = Table(title=f"onboard run {summary.get('run_id')}: {summary.get('status')}")
    table.add_column("", style="bold")
    table.add_column("count", justify="right")
    rows = [
        ("records read", ingest.get("read", 0)),
        (
            "  new / updated / unchanged",
            "{inserted} / {updated} / {unchanged}".format(
                **{k: ingest.get(k, 0) for k in ("inserted", "updated", "unchanged")}
            ),
        ),
        ("records in catalogue", summary.get("records", 0)),
        ("classified: records looked at", classify.get("processed", 0)),
        ("  categories applied / for review / dropped", _decisions(classify)),
        ("enriched: records looked at", enrich.get("processed", 0)),
        ("  values applied / for review / dropped", _decisions(enrich)),
        *(
            [
                ("deduped: records matched", dedupe.get("records", 0)),
                ("  merges applied / for review / dropped", _decisions(dedupe)),
            ]
            if dedupe
            else []
        ),
        ("changes applied (all stages)", changes.get("applied", 0)),
        ("changes queued for review", changes.get("queued_for_review", 0)),
        ("changes dropped (kept in the log)", changes.get("dropped", 0)),
        ("validation", "passed" if validation.get("success") else "FAILED"),
    ]
    for label, value in rows:
        table.add_row(label, str(value))
    for output in summary.get("outputs", []):
        table.add_row(f"written: {output['location']}", str(output["rows"]))
    console.print(table)
