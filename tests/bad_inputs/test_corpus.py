"""The bad-input corpus: every file and request in `cases.yaml`, each with the outcome a user
relies on — the status, an error that names the row, field or cause, no traceback — and
nothing stored: the catalogue's records (byte for byte) and every table a request could write
are as they were.

Files go through both doors a supplier file has: the supplier portal's upload (HTTP) and the
ingest entry point `skuflow onboard` runs (`catalog.ingest.ingest_source` over a `FileSource`).
Requests go to the API in process (`TestClient`), with an organization's key, a supplier's
token, or none.
"""

from __future__ import annotations

import json
import os
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
import yaml

from tests.bad_inputs.generated import GENERATORS

HERE = Path(__file__).parent
CASES = yaml.safe_load((HERE / "cases.yaml").read_text(encoding="utf-8"))
SCHEMA = """
name: parts
kind: products
id: sku
text: [title]
unknown_columns: ignore
attributes:
  - {name: sku, type: text, required: true, source: ["sku"]}
  - {name: title, type: text, required: true, source: ["title"]}
  - {name: price, type: number, min: 0, source: ["price"]}
"""
GOOD = b"sku,title,price\nGOOD-1,Hex bolt M6,0.25\nGOOD-2,Washer M6,0.05\nGOOD-3,Nut M6,0.1\n"
MAX_BODY = 2 * 1024 * 1024
WATCHED = [
    "records",
    "changes",
    "runs",
    "datasets",
    "dataset_cells",
    "webhook_subscriptions",
    "supplier_tokens",
]


@dataclass
class World:
    client: Any
    store_url: str
    key: str
    supplier: str
    catalog_id: int
    schema: Any
    folder: Path


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[World]:
    from fastapi.testclient import TestClient

    from api.keys import create_api_key
    from api.main import create_app
    from api.settings import ApiSettings
    from catalog.db import session_scope
    from catalog.repository import get_or_create_organization, upsert_catalog
    from catalog.schema import CatalogSchema

    tmp = tmp_path_factory.mktemp("bad-inputs")
    store_url = f"sqlite:///{tmp / 'store.db'}"
    app = create_app(
        ApiSettings(
            store_url=store_url,
            home=tmp / "home",
            sync_dir=tmp / "sync",
            max_body_bytes=MAX_BODY,
        )
    )
    (tmp / "parts.yaml").write_text(SCHEMA)
    schema = CatalogSchema.from_yaml(tmp / "parts.yaml")
    with TestClient(app, raise_server_exceptions=False) as client:
        with session_scope(store_url) as session:
            key = create_api_key(session, organization="corpus", name="corpus").token
            org = get_or_create_organization(session, name="corpus")
            catalog_id = upsert_catalog(session, organization=org, schema=schema).id
        owner = {"Authorization": f"Bearer {key}"}
        issued = client.post(
            "/api/catalogs/parts/supplier-tokens", json={"supplier": "Bad"}, headers=owner
        )
        assert issued.status_code == 201, issued.text
        supplier = issued.json()["token"]
        good = client.put(
            "/api/portal/uploads/good.csv",
            content=GOOD,
            headers={"Authorization": f"Bearer {supplier}"},
        )
        assert good.status_code == 201, good.text
        yield World(client, store_url, key, supplier, catalog_id, schema, tmp / "files")


def _snapshot(store_url: str) -> dict[str, Any]:
    """Every record byte for byte, and how many rows each watched table holds."""
    engine = sa.create_engine(store_url)
    with engine.connect() as conn:
        records = conn.execute(
            sa.text(
                'SELECT catalog_id, external_id, "values", source_values, content_hash, '
                "updated_at FROM records ORDER BY id"
            )
        ).all()
        counts = {t: conn.execute(sa.text(f"SELECT count(*) FROM {t}")).scalar() for t in WATCHED}
    engine.dispose()
    return {"records": [tuple(r) for r in records], "counts": counts}


def _file(world: World, name: str) -> Path:
    if name in GENERATORS:
        world.folder.mkdir(exist_ok=True)
        path = world.folder / name
        return path if path.exists() else GENERATORS[name](path)
    return HERE / "files" / name


def _assert_names_the_cause(text: str, expected: list[str]) -> None:
    assert "Traceback" not in text and 'File "' not in text, text[:2000]
    for fragment in expected:
        assert fragment in text, f"{fragment!r} not in {text[:2000]!r}"


FILE_CASES = [pytest.param(c, id=c["file"]) for c in CASES["files"]]
REQUEST_CASES = [pytest.param(c, id=c["name"]) for c in CASES["requests"]]


@pytest.mark.parametrize("case", FILE_CASES)
def test_a_bad_file_is_refused_by_every_door_naming_the_problem(world: World, case: dict) -> None:
    from catalog.db import session_scope
    from catalog.errors import InputError
    from catalog.ingest import ingest_source
    from connectors.files import FileSource

    path = _file(world, case["file"])
    before = _snapshot(world.store_url)
    expect = case["expect"]
    if "portal" in case.get("doors", ["portal", "onboard"]):
        response = world.client.put(
            f"/api/portal/uploads/{case.get('upload_as', case['file'])}",
            content=path.read_bytes(),
            headers={"Authorization": f"Bearer {world.supplier}"},
        )
        assert response.status_code == expect.get("status", 422), response.text[:2000]
        _assert_names_the_cause(response.text, expect["text"] + expect.get("portal", []))
        assert _snapshot(world.store_url) == before
    if "onboard" in case.get("doors", ["portal", "onboard"]):
        with pytest.raises(InputError) as refused, session_scope(world.store_url) as session:
            ingest_source(
                session,
                catalog_id=world.catalog_id,
                schema=world.schema,
                source=FileSource(path=str(path)),
                batch_size=500,
            )
        _assert_names_the_cause(str(refused.value), expect["text"] + expect.get("onboard", []))
        assert _snapshot(world.store_url) == before


def _body(case: dict) -> tuple[bytes | None, dict[str, str]]:
    headers = dict(case.get("headers") or {})
    if "json" in case:
        return json.dumps(case["json"]).encode(), {"Content-Type": "application/json", **headers}
    if "body" in case:
        return case["body"].encode("utf-8", "surrogatepass"), headers
    if "repeat" in case:  # {text: "[", times: 100000, then: "]"}: big bodies without big YAML
        spec = case["repeat"]
        text = spec["text"] * spec["times"] + spec.get("then", "") * spec["times"]
        return (spec.get("before", "") + text + spec.get("after", "")).encode(), {
            "Content-Type": spec.get("content_type", "application/json"),
            **headers,
        }
    return None, headers


@pytest.mark.parametrize("case", REQUEST_CASES)
def test_a_hostile_request_gets_a_clear_client_error_and_stores_nothing(
    world: World, case: dict
) -> None:
    content, headers = _body(case)
    auth = case.get("auth", "key")
    if auth == "key":
        headers["Authorization"] = f"Bearer {world.key}"
    elif auth == "supplier":
        headers["Authorization"] = f"Bearer {world.supplier}"
    elif auth != "none":
        headers["Authorization"] = auth
    before = _snapshot(world.store_url)
    started = time.monotonic()
    response = world.client.request(case["method"], case["path"], content=content, headers=headers)
    if os.environ.get("CORPUS_SHOW"):
        print(f"\n{case['name']}: {response.status_code} {response.text[:240]}")
    took = time.monotonic() - started
    expect = case["expect"]
    assert response.status_code == expect["status"], response.text[:2000]
    assert response.headers["content-type"].startswith("application/json")
    body = response.json()
    _assert_names_the_cause(response.text, [])
    _assert_names_the_cause(body.get("detail") or response.text, expect.get("text", []))
    if "field" in expect:
        fields = [d.get("field") for d in body["error"]["details"]]
        assert expect["field"] in fields, fields
    assert took < expect.get("seconds", 5), f"took {took:.2f} s"
    assert _snapshot(world.store_url) == before
