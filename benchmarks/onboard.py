"""Onboard throughput and peak memory, with and without Prefect, on SQLite and PostgreSQL.

Prints records/s and peak RSS for generated catalogues of 10k and 100k records, end to end
(ingest → classify → enrich → validate → distribute), once through the Prefect flow and once
through the very same task functions called without Prefect (``task.fn``), and their ratio.
Each measurement runs in its own process so peak memory is that run's alone. Prefect's
temporary server is started (and timed separately) before the flow is timed.

    .venv/bin/python benchmarks/onboard.py [--sizes 10000,100000] [--stores sqlite,postgres]
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
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
EXAMPLES = ROOT / "examples"
PG_ADMIN = "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"


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


def run_prefect(*, store_url: str, source: str, out: str, batch_size: int) -> dict:
    from flows.onboard import onboard

    summary = onboard(
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


def one(mode: str, store_url: str, source: str, batch_size: int) -> None:
    """Child process: one timed run; prints a JSON line. Imports happen before the clock
    starts in both modes, so the ratio is Prefect's orchestration cost alone."""
    import great_expectations  # noqa: F401  (imported lazily by validate: ~3 s, cold or warm)
    import sklearn.svm  # noqa: F401

    import flows.onboard  # noqa: F401  (the modules both modes run)

    warmup = 0.0
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
        runner = run_prefect if mode == "prefect" else run_plain
        result = runner(store_url=store_url, source=source, out=out, batch_size=batch_size)
        seconds = time.perf_counter() - started
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(json.dumps({"seconds": seconds, "peak_mb": peak_mb, "warmup": warmup, **result}))


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
    parser.add_argument("--stores", default="sqlite,postgres")
    parser.add_argument("--batch-size", type=int, default=5000)
    parser.add_argument("--one", nargs=3, metavar=("MODE", "STORE_URL", "SOURCE"))
    args = parser.parse_args()
    if args.one:
        one(*args.one, batch_size=args.batch_size)
        return

    sys.path.insert(0, str(ROOT / "benchmarks"))
    from generate import generate_catalog

    env = {
        **os.environ,
        "PREFECT_SERVER_ANALYTICS_ENABLED": "false",
        "PREFECT_LOGGING_LEVEL": "ERROR",
    }
    print(
        f"{'records':>8} {'store':>8} {'mode':>8} {'seconds':>8} {'rec/s':>8} "
        f"{'peak MB':>8} {'ratio':>6}"
    )
    peaks: dict[tuple[str, str, int], float] = {}
    with tempfile.TemporaryDirectory() as tmp:
        workdir = Path(tmp)
        env["PREFECT_HOME"] = str(workdir / "prefect")
        for n in (int(s) for s in args.sizes.split(",")):
            source = generate_catalog(workdir / f"catalog-{n}.csv", n)
            for kind in args.stores.split(","):
                seconds: dict[str, float] = {}
                for mode in ("plain", "prefect"):
                    url, drop = fresh_store(kind, workdir)
                    command = [
                        sys.executable,
                        __file__,
                        "--batch-size",
                        str(args.batch_size),
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
                    output = child.stdout.strip().splitlines()[-1]
                    result = json.loads(output)
                    seconds[mode] = result["seconds"]
                    peaks[(kind, mode, n)] = result["peak_mb"]
                    ratio = (
                        f"{seconds['prefect'] / seconds['plain']:.2f}" if mode == "prefect" else ""
                    )
                    print(
                        f"{n:>8} {kind:>8} {mode:>8} {result['seconds']:>8.1f} "
                        f"{n / result['seconds']:>8.0f} {result['peak_mb']:>8.0f} {ratio:>6}"
                        + (
                            f"  (server warm-up {result['warmup']:.1f}s, not timed)"
                            if mode == "prefect"
                            else ""
                        ),
                        flush=True,
                    )
    sizes = sorted({n for _, _, n in peaks})
    if len(sizes) >= 2:
        small, large = sizes[0], sizes[-1]
        for kind, mode, n in sorted(peaks):
            if n == large and (kind, mode, small) in peaks:
                print(
                    f"peak memory {kind}/{mode}: {large} vs {small} records = "
                    f"{peaks[(kind, mode, large)] / peaks[(kind, mode, small)]:.2f}x"
                )


if __name__ == "__main__":
    main()
