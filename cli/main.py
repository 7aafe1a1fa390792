"""`skuflow`: the command line. Heavy libraries are imported inside commands, so `--help` is
instant."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from cli import api, review
from cli import classify as classify_cli
from cli import extract as extract_cli
from cli import match as match_cli
from cli import schedules as schedules_cli
from cli import serve as serve_cli
from cli import taxonomy as taxonomy_cli
from cli.console import console, errors, quiet_prefect
from cli.store import CatalogOption, ReviewerOption, open_catalog, reviewer_name

app = typer.Typer(
    no_args_is_help=True,
    help="skuflow: onboard supplier catalogues — classified, enriched, validated, reviewable.",
)
app.add_typer(review.app, name="review")
app.add_typer(api.app, name="api")
app.add_typer(api.keys, name="api-key", help="API keys (same as `skuflow api keys`).")
app.command(name="serve")(serve_cli.serve)
app.add_typer(classify_cli.app, name="classify")
app.add_typer(extract_cli.app, name="extract")
app.add_typer(match_cli.app, name="match")
app.command(name="dedupe")(match_cli.dedupe)
app.add_typer(taxonomy_cli.app, name="taxonomy")
app.add_typer(schedules_cli.app, name="schedules")


@app.callback()
def root(
    verbose: Annotated[
        bool, typer.Option("--verbose", "-v", help="Show Prefect's flow and task logs.")
    ] = False,
) -> None:
    """skuflow: onboard supplier catalogues — classified, enriched, validated, reviewable."""
    if verbose:
        import os

        os.environ["PREFECT_LOGGING_LEVEL"] = "INFO"


EXAMPLES = Path(__file__).resolve().parent.parent / "examples"


def _formats(value: str) -> list[str]:
    formats = [f.strip().lower() for f in value.split(",") if f.strip()]
    unknown = sorted(set(formats) - {"csv", "jsonl", "parquet"})
    if unknown:
        raise typer.BadParameter(f"unknown format(s) {unknown}; use csv, jsonl, parquet")
    return formats


def _mapping(values: list[str] | None) -> dict[str, str] | None:
    if not values:
        return None
    pairs = {}
    for value in values:
        column, sep, attribute = value.partition("=")
        if not sep:
            raise typer.BadParameter(f"--map takes NAME=NAME, not '{value}'")
        pairs[column.strip()] = attribute.strip()
    return pairs


@app.command()
def onboard(
    file: Annotated[
        Path,
        typer.Argument(
            help="Supplier file: CSV, XLSX, JSON or JSONL; or block:<type-slug>/<name> for a "
            "saved source block."
        ),
    ],
    catalog: Annotated[Path, typer.Option("--catalog", help="Catalogue schema YAML.")],
    taxonomy: Annotated[
        Path | None, typer.Option(help="Taxonomy to classify into (Google text or CSV id,path).")
    ] = None,
    companies: Annotated[
        Path | None, typer.Option(help="Reference companies CSV for supplier firmographics.")
    ] = None,
    out: Annotated[Path | None, typer.Option(help="Directory for the exported catalogue.")] = None,
    formats: Annotated[
        str, typer.Option("--format", help="Export formats: csv, jsonl, parquet (comma list).")
    ] = "csv",
    table: Annotated[
        str | None, typer.Option(help="Also upsert into a table: SQLALCHEMY_URL#table_name.")
    ] = None,
    column_map: Annotated[
        list[str] | None,
        typer.Option("--map", help="Map a file column to an attribute: COLUMN=ATTRIBUTE."),
    ] = None,
    encoding: Annotated[
        str, typer.Option(help="Text encoding of a CSV/JSON file (e.g. cp1252, latin-1).")
    ] = "utf-8",
    destination: Annotated[
        list[str] | None,
        typer.Option(
            "--destination",
            help="Also publish to a saved destination block: <type-slug>/<name>[:mode].",
        ),
    ] = None,
    task_runner: Annotated[
        str | None,
        typer.Option(
            "--task-runner",
            help="Where batches run: threads, or dask (SKUFLOW_DASK_ADDRESS's scheduler, else "
            "a local cluster). Default: SKUFLOW_TASK_RUNNER, else threads.",
        ),
    ] = None,
    workers: Annotated[
        int | None,
        typer.Option(
            min=1,
            help="Threads, or local Dask worker processes (default: SKUFLOW_THREADS / "
            "SKUFLOW_DASK_WORKERS, 2).",
        ),
    ] = None,
) -> None:
    """Ingest a supplier file, classify, enrich, validate, and publish the catalogue."""
    quiet_prefect()
    from cli.onboard import run_onboard

    run_onboard(
        source=file,
        catalog=catalog,
        taxonomy=taxonomy,
        companies=companies,
        out=out,
        formats=_formats(formats),
        table=table,
        column_overrides=_mapping(column_map),
        encoding=encoding,
        destinations=destination,
        task_runner=_task_runner(task_runner),
        workers=workers,
    )


def _task_runner(value: str | None) -> str | None:
    if value is not None and value not in ("threads", "dask"):
        raise typer.BadParameter(f"{value!r}: use threads or dask", param_hint="--task-runner")
    return value


@app.command()
def demo(
    out: Annotated[Path, typer.Option(help="Where the demo writes its exports.")] = Path("out"),
) -> None:
    """Run the main job on the bundled example, offline, on the embedded store."""
    quiet_prefect()
    from catalog.settings import get_settings
    from cli.onboard import run_onboard

    console.print(
        "[bold]skuflow demo[/bold]: onboarding examples/acme_supplier_catalog.csv into the "
        f"embedded store at {get_settings().store_url}\n"
        "[dim]Runs on Prefect's temporary local server, which keeps no lasting run history; "
        "for that, point PREFECT_API_URL at a Prefect server.[/dim]"
    )
    out.mkdir(parents=True, exist_ok=True)
    run_onboard(
        source=EXAMPLES / "acme_supplier_catalog.csv",
        catalog=EXAMPLES / "catalog.yaml",
        taxonomy=EXAMPLES / "taxonomy.txt",
        companies=EXAMPLES / "suppliers.csv",
        out=out,
        formats=["csv", "jsonl", "parquet"],
        table=f"{get_settings().store_url}#published_products",
        column_overrides=None,
    )
    console.print(
        "Next: [bold]skuflow review list[/bold] to see what waits for a person, "
        "[bold]skuflow review approve --all --min-confidence 0.8[/bold] to accept the likely "
        "ones, [bold]skuflow rollback[/bold] to undo a field. The proposed merges of "
        "duplicate listings: [bold]skuflow review list --operation dedupe[/bold]. In the "
        "browser: [bold]skuflow api keys create --org "
        f"{get_settings().organization}[/bold], then [bold]skuflow api[/bold] and open "
        "http://127.0.0.1:8000/ui."
    )


@app.command()
def rollback(
    catalog: CatalogOption = None,
    record: Annotated[str | None, typer.Option(help="External id of the record.")] = None,
    field: Annotated[str | None, typer.Option(help="Field to restore.")] = None,
    change: Annotated[int | None, typer.Option(help="Undo this change id.")] = None,
    run: Annotated[int | None, typer.Option(help="Undo every change this run applied.")] = None,
    reviewer: ReviewerOption = None,
) -> None:
    """Restore a field's previous value (the undo is itself logged as a change)."""
    from catalog.changes import ChangeFilter, rollback_field
    from catalog.changes import rollback as rollback_changes

    who = reviewer_name(reviewer)
    with open_catalog(catalog) as (session, stored):
        if record and field:
            undone = [
                rollback_field(
                    session, catalog_id=stored.id, external_id=record, field=field, reviewer=who
                )
            ]
        elif change is not None or run is not None:
            where = ChangeFilter(
                catalog_id=stored.id,
                change_ids=[change] if change is not None else None,
                run_id=run,
            )
            undone = rollback_changes(session, where=where, reviewer=who)
        else:
            errors.print("[red]Give --record and --field, or --change, or --run.[/red]")
            raise typer.Exit(1)
    console.print(f"Rolled back {len(undone)} change(s).")


@app.command()
def unmerge(
    record: Annotated[str, typer.Option(help="External id of the record merged as a duplicate.")],
    catalog: CatalogOption = None,
    reviewer: ReviewerOption = None,
) -> None:
    """Undo a merge: the duplicate and the survivor's fields are restored exactly."""
    from matching.review import unmerge_record

    who = reviewer_name(reviewer)
    with open_catalog(catalog) as (session, stored):
        undone = unmerge_record(session, catalog_id=stored.id, external_id=record, reviewer=who)
    console.print(f"Unmerged {record}: {len(undone)} change(s) rolled back.")


@app.command()
def export(
    out: Annotated[
        Path, typer.Argument(help="Output file: .csv, .jsonl, .parquet; a feed: .xml or .tsv.")
    ],
    catalog: CatalogOption = None,
    file_format: Annotated[
        str,
        typer.Option(
            "--format", help="auto (from the extension), or google-merchant for a Merchant feed."
        ),
    ] = "auto",
    link_template: Annotated[
        str | None,
        typer.Option(help="Feed: product page URL, e.g. 'https://shop.example/p/{external_id}'."),
    ] = None,
    image_template: Annotated[
        str | None, typer.Option(help="Feed: image URL template for items without an image.")
    ] = None,
    feed_map: Annotated[
        list[str] | None,
        typer.Option("--map", help="Feed: fill a feed attribute from a column: ATTRIBUTE=COLUMN."),
    ] = None,
    currency: Annotated[
        str | None, typer.Option(help="Feed: price currency (default: the price unit, or USD).")
    ] = None,
    availability: Annotated[
        str, typer.Option(help="Feed: availability of items without stock data.")
    ] = "in_stock",
    google_categories: Annotated[
        Path | None,
        typer.Option(help="Feed: Shopify's shopify_to_google_mapping.csv, to fill categories."),
    ] = None,
    category_is_google: Annotated[
        bool, typer.Option(help="Feed: the catalogue is classified into Google's taxonomy.")
    ] = False,
) -> None:
    """Write the catalogue's current values to a file (atomically), or a Google Merchant
    Center feed (`--format google-merchant`: items Google would refuse are listed, not
    written)."""
    if file_format not in ("auto", "google-merchant"):
        raise typer.BadParameter("--format takes auto or google-merchant")
    from flows.support.runs import recorded_run

    with open_catalog(catalog) as (_session, stored):
        name = stored.name
    with recorded_run(
        catalog=name, operation="export", params={"out": str(out), "format": file_format}
    ) as run:
        run.extra["outputs"] = _export(
            out,
            name,
            file_format,
            link_template=link_template,
            image_template=image_template,
            feed_map=feed_map,
            currency=currency,
            availability=availability,
            google_categories=google_categories,
            category_is_google=category_is_google,
        )


def _export(
    out: Path,
    catalog: str,
    file_format: str,
    *,
    link_template: str | None,
    image_template: str | None,
    feed_map: list[str] | None,
    currency: str | None,
    availability: str,
    google_categories: Path | None,
    category_is_google: bool,
) -> list[str]:
    """Write the export (the work of `skuflow export`, inside its recorded run)."""
    if file_format == "google-merchant":
        from cli.feeds import FeedOptions, export_google_merchant

        export_google_merchant(
            out,
            catalog,
            FeedOptions(
                link_template=link_template,
                image_template=image_template,
                fields=_mapping(feed_map) or {},
                currency=currency,
                availability=availability,
                google_categories=google_categories,
                category_is_google=category_is_google,
            ),
        )
        return [str(out)]
    from catalog.distribute import distribute
    from catalog.repository import catalog_schema
    from catalog.settings import get_settings
    from connectors.file_export import FileExport

    with open_catalog(catalog) as (session, stored):
        results = distribute(
            session,
            catalog_id=stored.id,
            schema=catalog_schema(stored),
            targets=[(FileExport(path=str(out)), "replace")],
            batch_size=get_settings().batch_size,
        )
    console.print(f"Wrote {results[0].rows} record(s) to {results[0].location}.")
    return [str(results[0].location)]


@app.command()
def runs(limit: Annotated[int, typer.Option(help="How many recent runs.")] = 10) -> None:
    """Recent runs with their status and counts."""
    from catalog.db import session_scope
    from catalog.repository import list_runs
    from catalog.settings import get_settings

    with session_scope() as session:
        recent = list_runs(session, organization=get_settings().organization, limit=limit)
        table = Table(title="Runs")
        for column in ("id", "operation", "status", "started", "changes", "error"):
            table.add_column(column, overflow="fold")
        for run in recent:
            table.add_row(
                str(run.id),
                run.operation,
                run.status,
                f"{run.started_at:%Y-%m-%d %H:%M:%S}" if run.started_at else "",
                str((run.counts or {}).get("changes", "")),
                (run.error or "")[:80],
            )
    console.print(table)


def main() -> None:
    """Entry point: a SkuflowError is the user's to act on, so it is shown plainly (no
    traceback) on stderr with exit code 1."""
    from catalog.errors import SkuflowError

    try:
        app()
    except SkuflowError as exc:
        errors.print(f"[red]error:[/red] {exc}", highlight=False)
        raise SystemExit(1) from None


if __name__ == "__main__":
    main()
