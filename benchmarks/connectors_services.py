"""Throughput of the service connectors against the local servers the tests use.

Shopify, Sheets and Drive are the in-memory fakes in `tests/fakes/` on loopback, so the figures
measure skuflow's side plus the client libraries (ShopifyAPI, gspread/google-auth) and one HTTP
round trip per call, not Shopify's or Google's service (against a real store, Shopify's
cost-based rate limit, not skuflow, sets the pace of productSet). The maildir figure is local
files only. Data is generated before the clock starts; each figure is one pass.

    .venv/bin/python benchmarks/connectors_services.py [--products 1000] [--rows 20000]
"""

from __future__ import annotations

import argparse
import io
import mailbox
import os
import sys
import tempfile
import time
from email.message import EmailMessage
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def rows(n: int) -> list[dict]:
    return [
        {"external_id": f"SKU-{i:07d}", "title": f"Hex bolt M{i % 24 + 3}", "price": 0.05 + i % 997}
        for i in range(n)
    ]


def csv_bytes(n: int) -> bytes:
    out = io.StringIO()
    out.write("sku,title,price\n")
    for row in rows(n):
        out.write(f"{row['external_id']},{row['title']},{row['price']}\n")
    return out.getvalue().encode()


def timed(label: str, count: int, unit: str, work) -> None:
    start = time.perf_counter()
    work()
    seconds = time.perf_counter() - start
    print(f"{label:<44} {count:>8,} {unit:<9} {seconds:>7.2f} s {count / seconds:>10,.0f} {unit}/s")


def shopify(products: int) -> None:
    from connectors.shopify import ShopifyCredentials, ShopifyProducts
    from tests.fakes.shopify_server import start_shopify

    batch = rows(products)
    with start_shopify() as (shop, url):
        block = ShopifyProducts(
            credentials=ShopifyCredentials(shop="bench", access_token=shop.token, endpoint=url)
        )

        def publish() -> None:
            with block.open(
                columns=["external_id", "title", "price"], key="external_id", mode="upsert"
            ) as writer:
                writer.write(batch)
                writer.commit()

        timed("Shopify productSet, new products", products, "products", publish)
        timed("Shopify productSet, existing products", products, "products", publish)


def sheets(n: int) -> None:
    from connectors.google_credentials import GoogleCredentials
    from connectors.google_sheets import GoogleSheet
    from tests.fakes.google_server import start_google

    batch = rows(n)
    with start_google() as (google, url):
        book = google.add_spreadsheet("Bench", {"Products": []})
        credentials = GoogleCredentials(access_token=google.token, api_base=url)
        sheet = GoogleSheet(
            credentials=credentials, spreadsheet_key=book.spreadsheet_id, range_name="Products"
        )

        def write() -> None:
            with sheet.open(
                columns=["external_id", "title", "price"], key="external_id", mode="upsert"
            ) as writer:
                writer.write(batch)
                writer.commit()

        timed("Google Sheet upsert (one batchUpdate)", n, "rows", write)
        timed(
            "Google Sheet read", n, "rows", lambda: sum(len(b.rows) for b in sheet.read_batches())
        )


def drive(n: int) -> None:
    from connectors.google_credentials import GoogleCredentials
    from connectors.google_drive import GoogleDriveFolder
    from tests.fakes.google_server import start_google

    content = csv_bytes(n)
    with start_google() as (google, url):
        google.add_file("bench", "feed.csv", content, "text/csv")
        credentials = GoogleCredentials(access_token=google.token, api_base=url)
        folder = GoogleDriveFolder(credentials=credentials, folder_id="bench")
        timed(
            "Google Drive folder, one CSV",
            n,
            "rows",
            lambda: sum(len(b.rows) for b in folder.since(None).read_batches()),
        )


def maildir(n: int) -> None:
    from connectors.email import EmailSource

    with tempfile.TemporaryDirectory() as folder:
        box = mailbox.Maildir(os.path.join(folder, "Maildir"), create=True)
        per_message = max(n // 20, 1)
        for index in range(20):
            mail = EmailMessage()
            mail["Subject"] = f"prices {index}"
            mail.set_content("attached")
            mail.add_attachment(
                csv_bytes(per_message), maintype="text", subtype="csv", filename="prices.csv"
            )
            box.add(mail.as_bytes())
        source = EmailSource(maildir=os.path.join(folder, "Maildir"))
        timed(
            "maildir, 20 messages with a CSV each",
            per_message * 20,
            "rows",
            lambda: sum(len(b.rows) for b in source.since(None).read_batches()),
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--products", type=int, default=1000)
    parser.add_argument("--rows", type=int, default=20_000)
    args = parser.parse_args()
    shopify(args.products)
    sheets(args.rows)
    drive(args.rows)
    maildir(args.rows)


if __name__ == "__main__":
    main()
