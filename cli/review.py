"""`skuflow review list|approve|reject`: the human side of the confidence thresholds."""

from __future__ import annotations

from typing import Annotated

import typer
from rich.table import Table

from cli.console import console, errors
from cli.store import CatalogOption, ReviewerOption, open_catalog, reviewer_name

app = typer.Typer(no_args_is_help=True, help="List, approve or reject changes waiting for review.")

FieldOption = Annotated[str | None, typer.Option("--field", help="Only changes to this field.")]
OperationOption = Annotated[
    str | None,
    typer.Option(
        "--operation", help="Only changes by this stage (classify, enrich, dedupe for merges)."
    ),
]
MinConfidence = Annotated[
    float | None, typer.Option("--min-confidence", help="Only changes at or above this score.")
]
MaxConfidence = Annotated[
    float | None, typer.Option("--max-confidence", help="Only changes below this score.")
]
RunOption = Annotated[int | None, typer.Option("--run", help="Only changes made by this run.")]
IdsArgument = Annotated[
    list[int] | None, typer.Argument(help="Change ids; or select by filter with --all.")
]
AllOption = Annotated[
    bool, typer.Option("--all", help="Act on every queued change that matches the filters.")
]


def _filter(catalog_id: int, ids, field, operation, min_conf, max_conf, run, select_all):
    from catalog.changes import ChangeFilter

    if not ids and not select_all:
        errors.print("[red]Give change ids, or --all with filters.[/red]")
        raise typer.Exit(1)
    return ChangeFilter(
        catalog_id=catalog_id,
        change_ids=ids or None,
        field=field,
        operation=operation,
        min_confidence=min_conf,
        max_confidence=max_conf,
        run_id=run,
    )


@app.command("list")
def list_queue(
    catalog: CatalogOption = None,
    field: FieldOption = None,
    operation: OperationOption = None,
    min_confidence: MinConfidence = None,
    max_confidence: MaxConfidence = None,
    run: RunOption = None,
    limit: Annotated[int, typer.Option(help="Show at most this many.")] = 50,
) -> None:
    """Show the changes waiting for a person, with their evidence."""
    from catalog.changes import ChangeFilter, review_queue, status_counts
    from catalog.models import Record

    with open_catalog(catalog) as (session, stored):
        where = ChangeFilter(
            catalog_id=stored.id,
            field=field,
            operation=operation,
            min_confidence=min_confidence,
            max_confidence=max_confidence,
            run_id=run,
        )
        queue = review_queue(session, where=where, limit=limit)
        total = status_counts(session, where=where).get("queued_for_review", 0)
        table = Table(title=f"Review queue of '{stored.name}': {total} change(s)")
        table.add_column("id", no_wrap=True, justify="right")
        table.add_column("record", no_wrap=True)
        table.add_column("field", no_wrap=True)
        table.add_column("old → proposed", overflow="fold", ratio=3)
        table.add_column("conf", no_wrap=True, justify="right")
        table.add_column("evidence", overflow="fold", ratio=2)
        for change in queue:
            record = session.get(Record, change.record_id)
            old = "" if change.old_value is None else f"{_short(change.old_value)} → "
            merge = isinstance(change.new_value, dict) and "into" in change.new_value
            proposed = (
                f"merge into {change.new_value['into']}"
                if merge
                else old + _short(change.new_value, 60)
            )
            evidence = (
                change.explanation or ""
                if merge
                else ", ".join([change.operation, *(change.sources or [])[:2]])
                + (f" ({change.method})" if change.method else "")
            )
            table.add_row(
                str(change.id),
                record.external_id if record else "?",
                change.field,
                proposed,
                f"{change.confidence:.2f}",
                evidence,
            )
        console.print(table)
        if total > len(queue):
            console.print(f"… {total - len(queue)} more; narrow with filters or raise --limit.")


@app.command()
def approve(
    ids: IdsArgument = None,
    catalog: CatalogOption = None,
    select_all: AllOption = False,
    field: FieldOption = None,
    operation: OperationOption = None,
    min_confidence: MinConfidence = None,
    max_confidence: MaxConfidence = None,
    run: RunOption = None,
    reviewer: ReviewerOption = None,
) -> None:
    """Apply queued changes to their records."""
    from catalog.changes import approve as approve_changes

    where = (ids, field, operation, min_confidence, max_confidence, run, select_all)
    _decide(approve_changes, "approved", catalog, where, reviewer)


@app.command()
def reject(
    ids: IdsArgument = None,
    catalog: CatalogOption = None,
    select_all: AllOption = False,
    field: FieldOption = None,
    operation: OperationOption = None,
    min_confidence: MinConfidence = None,
    max_confidence: MaxConfidence = None,
    run: RunOption = None,
    reviewer: ReviewerOption = None,
) -> None:
    """Close queued changes without applying them."""
    from catalog.changes import reject as reject_changes

    where = (ids, field, operation, min_confidence, max_confidence, run, select_all)
    _decide(reject_changes, "rejected", catalog, where, reviewer)


def _decide(action, status: str, catalog: str | None, where: tuple, reviewer: str | None) -> None:
    """Run one review decision over the selected queued changes, say how many it took, and
    announce it (``skuflow.change.approved|rejected``) once the decision is committed."""
    from catalog.events import emit_decision_events

    name = reviewer_name(reviewer)
    with open_catalog(catalog) as (session, stored):
        done = action(session, where=_filter(stored.id, *where), reviewer=name)
    emit_decision_events(done, status=status, reviewer=name, catalog=stored.name)
    console.print(f"{status.capitalize()} {len(done)} change(s).")


def _short(value: object, width: int = 40) -> str:
    text = "" if value is None else str(value)
    return text if len(text) <= width else text[: width - 1] + "…"
