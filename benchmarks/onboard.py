"""Onboard throughput and peak memory against the floor of its model work, on SQLite and
PostgreSQL, with batches on threads or on Dask worker processes.

Prints, for generated catalogues (10k and 100k records by default):

- `floor`: the same records' model work alone, in memory, in one process — classifier
  prediction, attribute extraction (the enrich engine over the records as plain items),
  validation of the records as a DataFrame, writing the export files (CSV and Parquet) and,
  with the schema's dedupe on, blocking, scoring and clustering the records' duplicates.
  Models are trained and the records loaded before the clock starts;
- `plain`: the chain end to end (ingest → classify → enrich → dedupe → validate →
  distribute) through the task functions without Prefect (``task.fn``), batches one after
  another;
- `prefect`: the onboard flow end to end on the chosen task runner;

each with seconds, CPU-seconds (user + system of the measuring process and its children; a
PostgreSQL server's own CPU is not counted), records/s, peak MB (the measuring process;
`workers MB` is the largest child: Dask workers and Prefect's temporary server), the ratio
to the floor and, for `prefect`, to `plain` (Prefect's own overhead). Each measurement runs
in its own process. Prefect's temporary server is started (and timed separately) before the
flow is timed.

    .venv/bin/python benchmarks/onboard.py [--sizes 10000,100000] [--store sqlite,postgres]
        [--task-runner threads|dask] [--workers 2] [--modes floor,plain,prefect] [--stages]

`--stages` also prints, under each `plain` row, its seconds and CPU-seconds by task (ingest,
training the classifier, classify, enrich, dedupe, validate, distribute), and under the
`floor` row the same for its parts (prediction, the enrich engine, validation, dedupe, the
exports): where the chain's time goes beyond the floor's, stage against part.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
EXAMPLES = ROOT / "examples"
PG_ADMIN = "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"


STAGE_TASKS = {
    "ingest": ("tasks.ingest", "ingest"),
    "train classifier": ("tasks.classify", "prepare"),
    "classify": ("tasks.classify", "classify_batch"),
    "plan enrichment": ("tasks.enrich", "prepare_enrich"),
    "enrich": ("tasks.enrich", "enrich_batch"),
    "dedupe": ("tasks.dedupe", "dedupe"),
    "validate": ("tasks.validate", "validate"),
    "distribute": ("tasks.distribute", "distribute"),
}
"""`plain`'s tasks by stage: their functions (``task.fn``) are what `--stages` times."""


def time_stages() -> dict[str, list[float]]:
    """Wrap each stage task's function so its calls add up their seconds and CPU-seconds
    (this process's): {stage: [seconds, CPU-s, calls]}, filled as `run_plain` runs."""
    import importlib

    totals: dict[str, list[float]] = {}
    for stage, (module, name) in STAGE_TASKS.items():
        task = getattr(importlib.import_module(module), name)
        totals[stage] = [0.0, 0.0, 0]
        task.fn = _timed(task.fn, totals[stage])
    return totals


def _timed(fn, total: list[float]):
    def timed(*args, **kwargs):
        with _clock(total):
            return fn(*args, **kwargs)

    return timed


@contextmanager
def _clock(total: list[float]) -> Iterator[None]:
    """Add the block's seconds and CPU-seconds (this process's) to `total` ([seconds, CPU-s,
    calls]): what `--stages` prints, for `plain`'s tasks and the floor's parts alike."""
    started, cpu_started = time.perf_counter(), time.process_time()
    try:
        yield
    finally:
        total[0] += time.perf_counter() - started
        total[1] += time.process_time() - cpu_started
        total[2] += 1


def run_plain(*, store_url: str, source: str, out: str, batch_size: int) -> dict:
    """The onboard chain through the tasks' own functions, no Prefect machinery."""
    from catalog.db import session_scope
    from catalog.repository import get_or_create_organization, start_run, upsert_catalog
    from catalog.schema import CatalogSchema
    from catalog.settings import get_settings
    from connectors.files import FileSource
    from flows.support.stages import catalog_enrich_config
    from flows.support.targets import build_targets
    from tasks.classify import classify_batch, prepare
    from tasks.dedupe import dedupe
    from tasks.distribute import distribute
    from tasks.enrich import enrich_batch, prepare_enrich
    from tasks.ingest import ingest
    from tasks.plan import plan_batches
    from tasks.validate import validate
    from taxonomy.assign import classify_version, taxonomy_from_file

    schema = CatalogSchema.from_yaml(EXAMPLES / "catalog.yaml")
    settings = get_settings()
    with session_scope(store_url) as session:
        org = get_or_create_organization(session, name="bench")
        catalog = upsert_catalog(session, organization=org, schema=schema)
        run_id = start_run(session, organization=org, catalog=catalog, operation="onboard").id
    common = {"store_url": store_url, "catalog_id": catalog.id, "schema": schema}
    ingest.fn(**common, run_id=run_id, source=FileSource(path=source), batch_size=batch_size)
    taxonomy = str(EXAMPLES / "taxonomy.txt")
    model = prepare.fn(**common, taxonomy_path=taxonomy, models_dir=str(settings.models_dir))
    plan = {"store_url": store_url, "catalog_id": catalog.id, "batch_size": batch_size}
    version = classify_version(schema, taxonomy_from_file(taxonomy))
    for id_range in plan_batches.fn(**plan, stage="classify", version=version):
        classify_batch.fn(
            **common,
            run_id=run_id,
            taxonomy_path=taxonomy,
            model_path=model,
            id_range=id_range,
            version=version,
        )
    companies = str(EXAMPLES / "suppliers.csv")
    prepared, ranges = prepare_enrich.fn(
        store_url=store_url,
        catalog_id=catalog.id,
        config=catalog_enrich_config(companies),
        models_dir=str(settings.models_dir),
        batch_size=batch_size,
    )
    for id_range in ranges:
        enrich_batch.fn(store_url=store_url, run_id=run_id, prepared=prepared, id_range=id_range)
    if schema.matching.enabled:
        dedupe.fn(**common, run_id=run_id)
    result = validate.fn(
        **common, run_id=run_id, batch_size=batch_size, reports_dir=str(settings.reports_dir)
    )
    distribute.fn(
        **common,
        targets=build_targets(
            catalog_name=schema.name, out=out, formats=["csv", "parquet"], table=None
        ),
        batch_size=batch_size,
    )
    return {"validation": result["success"]}


def run_floor(*, store_url: str, source: str, out: str, batch_size: int) -> dict:
    """Set up (untimed): ingest, train the classifier and the enrich models, load every record
    into memory. Then time the model work alone over the records, batch by batch in one
    process: prediction, extraction, validation of the values as a DataFrame, the exports."""
    import pandas as pd
    import sqlalchemy as sa

    from catalog.checks import ID_COLUMN
    from catalog.db import session_scope
    from catalog.models import Record
    from catalog.records import load_records
    from catalog.repository import get_or_create_organization, start_run, upsert_catalog
    from catalog.schema import CatalogSchema
    from catalog.settings import get_settings
    from catalog.validation import SuiteRunner
    from connectors.files import FileSource
    from enrichment.engine import enrich_items
    from flows.support.stages import catalog_enrich_config
    from matching.dedupe import find_duplicates
    from matching.records import assign_roles
    from matching.records import prepare as prepare_table
    from matching.stage import compare_columns
    from tasks.classify import prepare
    from tasks.enrich import prepare_enrich
    from tasks.ingest import ingest
    from taxonomy.assign import cached_classifier
    from taxonomy.text import record_texts

    schema = CatalogSchema.from_yaml(EXAMPLES / "catalog.yaml")
    settings = get_settings()
    with session_scope(store_url) as session:
        org = get_or_create_organization(session, name="bench")
        catalog = upsert_catalog(session, organization=org, schema=schema)
        run_id = start_run(session, organization=org, catalog=catalog, operation="onboard").id
    common = {"store_url": store_url, "catalog_id": catalog.id, "schema": schema}
    ingest.fn(**common, run_id=run_id, source=FileSource(path=source), batch_size=batch_size)
    taxonomy = str(EXAMPLES / "taxonomy.txt")
    model = prepare.fn(**common, taxonomy_path=taxonomy, models_dir=str(settings.models_dir))
    classifier = cached_classifier(model)
    prepared, _ = prepare_enrich.fn(
        store_url=store_url,
        catalog_id=catalog.id,
        config=catalog_enrich_config(str(EXAMPLES / "suppliers.csv")),
        models_dir=str(settings.models_dir),
        batch_size=batch_size,
    )
    with session_scope(store_url) as session:
        ids = session.scalars(
            sa.select(Record.id).where(Record.catalog_id == catalog.id).order_by(Record.id)
        ).all()
        batches = [
            load_records(session, record_ids=ids[i : i + batch_size])
            for i in range(0, len(ids), batch_size)
        ]
    with prepared.options() as options:
        warm = list(batches[0].values.values())[:10]
        enrich_items(warm, prepared.fields, options)  # the caches the chain warms once too
        columns = [a.name for a in schema.attributes]
        started = time.perf_counter()
        cpu_started = _cpu_seconds()
        runner = SuiteRunner(schema, id_column=ID_COLUMN)
        frames = []
        parts: dict[str, list[float]] = {}
        for batch in batches:
            with _part(parts, "classify (predict)"):
                classifier.predict(record_texts(batch.source_frame, schema))
            with _part(parts, "enrich (engine)"):
                enrich_items(list(batch.values.values()), prepared.fields, options)
            with _part(parts, "validate"):
                frame = pd.DataFrame.from_records(list(batch.values.values()), columns=columns)
                frame[ID_COLUMN] = list(batch.external_ids.values())
                runner.validate(frame)
            frames.append(frame)
        with _part(parts, "validate"):
            runner.report()
        exported = pd.concat(frames, ignore_index=True)
        if schema.matching.enabled:
            with _part(parts, "dedupe"):
                compared = compare_columns(schema)
                table = prepare_table(
                    {
                        c: exported[c]
                        .astype("object")
                        .where(exported[c].notna(), "")
                        .astype(str)
                        .tolist()
                        for c in compared
                    },
                    assign_roles(compared),
                )
                find_duplicates(table)
        with _part(parts, "export"):
            exported.to_csv(Path(out) / "floor.csv", index=False)
            exported.astype(str).to_parquet(Path(out) / "floor.parquet", index=False)
        seconds = time.perf_counter() - started
        cpu = _cpu_seconds() - cpu_started
    return {"validation": True, "timed": seconds, "timed_cpu": cpu, "stages": parts}


def _part(parts: dict[str, list[float]], name: str):
    """`_clock` on the floor's part `name`."""
    return _clock(parts.setdefault(name, [0.0, 0.0, 0]))


def run_prefect(
    *,
    store_url: str,
    source: str,
    out: str,
    batch_size: int,
    task_runner: str = "threads",
    workers: int = 2,
) -> dict:
    from flows.onboard import onboard
    from flows.support.task_runners import with_task_runner

    summary = with_task_runner(onboard, task_runner, workers=workers)(
        source=source,
        catalog=str(EXAMPLES / "catalog.yaml"),
        taxonomy=str(EXAMPLES / "taxonomy.txt"),
        companies=str(EXAMPLES / "suppliers.csv"),
        out=out,
        formats=["csv", "parquet"],
        organization="bench",
        database_url=store_url,
        batch_size=batch_size,
    )
    return {"validation": summary["validation"]["success"]}


def one(
    mode: str,
    store_url: str,
    source: str,
    batch_size: int,
    task_runner: str,
    workers: int,
    stages: bool = False,
) -> None:
    """Child process: one timed run; prints a JSON line. Imports happen before the clock
    starts in every mode, so the ratios are the chain's and Prefect's costs alone."""
    import great_expectations  # noqa: F401  (imported lazily by validate: ~3 s, cold or warm)
    import sklearn.svm  # noqa: F401

    import flows.onboard  # noqa: F401  (the modules every mode runs)

    warmup = 0.0
    by_stage = time_stages() if stages and mode == "plain" else None
    if mode == "prefect":
        from prefect import flow

        @flow
        def warm() -> None:
            return None

        started = time.perf_counter()
        warm()
        warmup = time.perf_counter() - started
    with tempfile.TemporaryDirectory() as out:
        started = time.perf_counter()
        cpu_started = _cpu_seconds()
        params = {"store_url": store_url, "source": source, "out": out, "batch_size": batch_size}
        if mode == "prefect":
            result = run_prefect(**params, task_runner=task_runner, workers=workers)
        elif mode == "floor":
            result = run_floor(**params)
        else:
            result = run_plain(**params)
        seconds = result.pop("timed", None) or time.perf_counter() - started
        cpu = result.pop("timed_cpu", None) or _cpu_seconds() - cpu_started
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    children_mb = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
    print(
        json.dumps(
            {
                "seconds": seconds,
                "cpu": cpu,
                "peak_mb": peak_mb,
                "children_mb": children_mb,
                "warmup": warmup,
                **({"stages": by_stage} if by_stage else {}),
                **result,
            }
        )
    )


def _cpu_seconds() -> float:
    """User + system CPU of this process and its finished children (Dask workers, Prefect's
    server). A PostgreSQL server's own CPU is not in it: that runs outside this tree."""
    own = resource.getrusage(resource.RUSAGE_SELF)
    children = resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + children.ru_utime + children.ru_stime


def fresh_store(kind: str, workdir: Path) -> tuple[str, callable]:
    if kind == "sqlite":
        path = workdir / f"store-{uuid.uuid4().hex[:6]}.db"
        return f"sqlite:///{path}", lambda: path.unlink(missing_ok=True)
    import sqlalchemy as sa

    name = f"skuflow_bench_{uuid.uuid4().hex[:10]}"
    admin = sa.create_engine(PG_ADMIN, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(sa.text(f'CREATE DATABASE "{name}"'))

    def drop() -> None:
        with admin.connect() as conn:
            conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))

    return PG_ADMIN.rsplit("/", 1)[0] + f"/{name}", drop


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="10000,100000")
    parser.add_argument("--store", "--stores", dest="stores", default="sqlite,postgres")
    parser.add_argument("--task-runner", choices=("threads", "dask"), default="threads")
    parser.add_argument("--workers", type=int, default=2, help="threads, or Dask processes")
    parser.add_argument("--modes", default="floor,plain,prefect")
    parser.add_argument("--batch-size", type=int, default=5000)
    parser.add_argument(
        "--stages", action="store_true", help="print plain runs' time by stage as well"
    )
    parser.add_argument("--one", nargs=3, metavar=("MODE", "STORE_URL", "SOURCE"))
    args = parser.parse_args()
    if args.one:
        one(
            *args.one,
            batch_size=args.batch_size,
            task_runner=args.task_runner,
            workers=args.workers,
            stages=args.stages,
        )
        return

    sys.path.insert(0, str(ROOT / "benchmarks"))
    from generate import generate_catalog

    env = {
        **os.environ,
        "PREFECT_SERVER_ANALYTICS_ENABLED": "false",
        "PREFECT_LOGGING_LEVEL": "ERROR",
        # a loaded machine starts the temporary server slowly (the default waits 20 s)
        "PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS": "300",
    }
    modes = args.modes.split(",")
    print(f"load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores at the start")
    print(
        f"{'records':>8} {'store':>8} {'runner':>9} {'mode':>8} {'seconds':>8} {'CPU-s':>7} "
        f"{'rec/s':>8} "
        f"{'peak MB':>8} {'workers MB':>10} {'/floor':>7} {'/plain':>7}"
    )

    def measure(mode: str, kind: str, n: int, source: Path, workdir: Path) -> dict:
        url, drop = fresh_store(kind, workdir)
        env["SKUFLOW_HOME"] = str(workdir / f"home-{uuid.uuid4().hex[:6]}")
        command = [
            sys.executable,
            __file__,
            "--batch-size",
            str(args.batch_size),
            "--task-runner",
            args.task_runner,
            "--workers",
            str(args.workers),
            *(["--stages"] if args.stages else []),
            "--one",
            mode,
            url,
            str(source),
        ]
        try:
            child = subprocess.run(command, env=env, capture_output=True, text=True)
        finally:
            drop()
        if child.returncode != 0:
            sys.exit(f"{n} {kind} {mode} failed:\n{child.stderr[-3000:]}")
        return json.loads(child.stdout.strip().splitlines()[-1])

    def show(n: int, kind: str, runner: str, mode: str, result: dict, floor, plain) -> None:
        vs_floor = f"{result['seconds'] / floor:.2f}" if floor else ""
        vs_plain = f"{result['seconds'] / plain:.2f}" if plain and mode == "prefect" else ""
        note = f"  (server warm-up {result['warmup']:.1f}s, not timed)" if mode == "prefect" else ""
        print(
            f"{n:>8} {kind:>8} {runner:>9} {mode:>8} {result['seconds']:>8.1f} "
            f"{result['cpu']:>7.1f} "
            f"{n / result['seconds']:>8.0f} {result['peak_mb']:>8.0f} "
            f"{result['children_mb']:>10.0f} {vs_floor:>7} {vs_plain:>7}{note}",
            flush=True,
        )
        for stage, (seconds, cpu, calls) in (
            result.get("stages", {}) if args.stages else {}
        ).items():
            print(
                f"{'':>8} {'':>8} {'':>9} {'':>8} {seconds:>8.1f} {cpu:>7.1f}   {stage}"
                f" ({int(calls)} call{'s' if calls != 1 else ''})",
                flush=True,
            )

    peaks: dict[tuple[str, str, int], float] = {}
    with tempfile.TemporaryDirectory() as tmp:
        workdir = Path(tmp)
        env["PREFECT_HOME"] = str(workdir / "prefect")
        for n in (int(s) for s in args.sizes.split(",")):
            source = generate_catalog(workdir / f"catalog-{n}.csv", n)
            floor = None
            if "floor" in modes:
                result = measure("floor", "sqlite", n, source, workdir)
                floor = result["seconds"]
                show(n, "memory", "1 process", "floor", result, None, None)
            for kind in args.stores.split(","):
                plain = None
                for mode in [m for m in modes if m != "floor"]:
                    result = measure(mode, kind, n, source, workdir)
                    plain = result["seconds"] if mode == "plain" else plain
                    runner = args.task_runner if mode == "prefect" else "in-line"
                    peaks[(kind, mode, n)] = result["peak_mb"]
                    show(n, kind, runner, mode, result, floor, plain)
    sizes = sorted({n for _, _, n in peaks})
    if len(sizes) >= 2:
        small, large = sizes[0], sizes[-1]
        for kind, mode, n in sorted(peaks):
            if n == large and (kind, mode, small) in peaks:
                print(
                    f"peak memory {kind}/{mode}: {large} vs {small} records = "
                    f"{peaks[(kind, mode, large)] / peaks[(kind, mode, small)]:.2f}x"
                )
    print(f"load average {os.getloadavg()[0]:.1f} at the end")


if __name__ == "__main__":
    main()
