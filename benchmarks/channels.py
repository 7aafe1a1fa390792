"""Channel throughput: reading change events from the change log for webhook subscriptions,
planning their deliveries, sending per-change deliveries to a local receiver, and writing a
Google Merchant Center feed.

The change log is a SQLite store with ``--changes`` applied changes (generated before the
clock starts); one subscription per mode hears ``change.applied``. Collection is timed twice:
the first read queues every event, the second (nothing new, the overlap margin re-read) shows
the steady cost of a sweep. Sending goes to a local HTTP receiver that verifies every signature,
so it measures skuflow's side plus loopback HTTP, not a remote receiver.

    .venv/bin/python benchmarks/channels.py [--changes 100000] [--send 1000] [--feed 100000]
        [--postgres-url postgresql+psycopg://postgres@127.0.0.1:5432/postgres]
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def _store(url: str, changes: int) -> tuple[str, int, int, list[int]]:
    import sqlalchemy as sa

    from catalog.db import get_engine, session_scope
    from catalog.models import Record, utcnow
    from catalog.repository import get_or_create_organization, upsert_catalog
    from catalog.schema import CatalogSchema

    schema = CatalogSchema.from_dict(
        {"name": "bench", "id": "sku", "attributes": [{"name": "sku"}, {"name": "price",
                                                       "type": "number"}]}
    )  # fmt: skip
    with session_scope(url) as session:
        org = get_or_create_organization(session, name="bench")
        catalog_id = upsert_catalog(session, organization=org, schema=schema).id
        org_id = org.id
    engine = get_engine(url)
    now = utcnow()
    with engine.begin() as conn:
        conn.execute(
            sa.insert(Record),
            [
                {"catalog_id": catalog_id, "external_id": f"SKU-{i}", "source_values": {},
                 "values": {}, "content_hash": str(i), "created_at": now, "updated_at": now}
                for i in range(changes)
            ],
        )  # fmt: skip
        ids = [r for (r,) in conn.execute(sa.select(Record.id).order_by(Record.id))]
    time.sleep(0.01)
    return url, org_id, catalog_id, ids


@contextmanager
def _database(postgres_url: str | None, tmp: Path) -> Iterator[str]:
    if not postgres_url:
        yield f"sqlite:///{tmp / 'store.db'}"
        return
    import sqlalchemy as sa

    name = f"skuflow_bench_{uuid.uuid4().hex[:8]}"
    admin = sa.create_engine(postgres_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(sa.text(f'CREATE DATABASE "{name}"'))
    try:
        yield postgres_url.rsplit("/", 1)[0] + f"/{name}"
    finally:
        from catalog.db import engine_for

        for engine in (engine_for(postgres_url.rsplit("/", 1)[0] + f"/{name}"),):
            engine.dispose()
        with admin.connect() as conn:
            conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--changes", type=int, default=100_000)
    parser.add_argument("--send", type=int, default=1000)
    parser.add_argument("--feed", type=int, default=100_000)
    parser.add_argument(
        "--postgres-url",
        help="Use a throw-away database on this PostgreSQL server instead of a SQLite file, "
        "e.g. postgresql+psycopg://postgres@127.0.0.1:5432/postgres",
    )
    args = parser.parse_args()

    import sqlalchemy as sa
    from sqlalchemy.orm import sessionmaker

    from catalog.db import get_engine, session_scope
    from catalog.models import Change, utcnow
    from catalog.webhooks.delivery import deliver
    from catalog.webhooks.models import WebhookChangeEvent, WebhookSubscription
    from catalog.webhooks.outbox import collect_change_events, plan_deliveries
    from tests.fakes.webhook_receiver import start_receiver

    with (
        tempfile.TemporaryDirectory() as tmp,
        start_receiver() as receiver,
        _database(args.postgres_url, Path(tmp)) as store,
    ):
        url, org_id, catalog_id, record_ids = _store(store, args.changes)
        print(f"store: {url.split(':')[0]}")
        with session_scope(url) as session:
            for mode in ("per_change", "batched", "scheduled"):
                session.add(WebhookSubscription(
                    organization_id=org_id, url=receiver.endpoint(mode, "s" * 24),
                    secret="s" * 24, events=["change.applied"], mode=mode, batch_size=100,
                ))  # fmt: skip
        time.sleep(0.01)
        now = utcnow()
        with get_engine(url).begin() as conn:
            conn.execute(
                sa.insert(Change),
                [
                    {"catalog_id": catalog_id, "record_id": rid, "field": "price",
                     "old_value": None, "new_value": 1.0, "confidence": 0.95,
                     "status": "applied", "operation": "enrich", "basis": f"b{rid}",
                     "sources": [], "created_at": now, "decided_at": now}
                    for rid in record_ids
                ],
            )  # fmt: skip
        with session_scope(url) as session:
            started = time.perf_counter()
            queued = collect_change_events(session)
            first = time.perf_counter() - started
        with session_scope(url) as session:
            started = time.perf_counter()
            again = collect_change_events(session)
            steady = time.perf_counter() - started
        print(f"collect: {queued:,} change events for 3 subscriptions in {first:.2f} s "
              f"({queued / first:,.0f}/s); a sweep finding nothing new: {steady:.2f} s "
              f"(new {again})")  # fmt: skip
        with session_scope(url) as session:
            started = time.perf_counter()
            planned = plan_deliveries(session, flush_scheduled=True, limit=3 * args.changes)
            took = time.perf_counter() - started
        print(f"plan: {planned.events:,} events into {len(planned.delivery_ids):,} deliveries in "
              f"{took:.2f} s")  # fmt: skip
        sessions = sessionmaker(get_engine(url), expire_on_commit=False)
        with session_scope(url) as session:
            per_change = list(session.scalars(
                sa.select(WebhookChangeEvent.delivery_id)
                .join(WebhookSubscription,
                      WebhookSubscription.id == WebhookChangeEvent.subscription_id)
                .where(WebhookSubscription.mode == "per_change")
                .order_by(WebhookChangeEvent.id).limit(args.send)
            ))  # fmt: skip
        import httpx

        started = time.perf_counter()
        with httpx.Client(timeout=5) as client:  # as deliver_change_events does: one pool
            statuses = [
                deliver(sessions, d, timeout=5, attempts=1, backoff=0, client=client)
                for d in per_change
            ]
        took = time.perf_counter() - started
        print(f"send: {len(per_change):,} per-change deliveries (signed, logged, verified by the "
              f"receiver) in {took:.2f} s = {len(per_change) / took:,.0f}/s; "
              f"{statuses.count('delivered'):,} delivered")  # fmt: skip

    from connectors.google_merchant import GoogleMerchantFeed

    rows = [
        {"external_id": f"SKU-{i:07d}", "title": f"Hex bolt M{i % 24 + 3}", "description": "Zinc.",
         "price": 0.05 + (i % 1000) * 0.013, "brand": "Acme", "mpn": f"HB-{i}",
         "upc": "036000291452", "stock": i % 7}
        for i in range(args.feed)
    ]  # fmt: skip
    with tempfile.TemporaryDirectory() as tmp:
        for name in ("feed.xml", "feed.tsv"):
            feed = GoogleMerchantFeed(
                path=str(Path(tmp) / name),
                templates={"link": "https://shop.example/p/{external_id}",
                           "image_link": "https://cdn.example/{external_id}.jpg"},
            )  # fmt: skip
            started = time.perf_counter()
            with feed.open(columns=list(rows[0]), key="external_id", mode="replace") as writer:
                for i in range(0, len(rows), 5000):
                    writer.write(rows[i : i + 5000])
                result = writer.commit()
            took = time.perf_counter() - started
            print(f"feed {name}: {result.rows:,} items in {took:.2f} s "
                  f"({result.rows / took:,.0f} items/s)")  # fmt: skip


if __name__ == "__main__":
    main()
