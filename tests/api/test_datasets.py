"""Datasets and dataset tasks (seed 002) through a real uvicorn server: datasets, bulk and
new-rows tasks with every targeting option, statuses, cancel, the lock, every error code,
signed completion webhooks, and organizations kept apart."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from catalog.signing import verify_signature
from tests.api.conftest import Api, assert_error, wait_for
from tests.api.pages import PageServer, Receiver

COLUMNS = [
    {"name": "title", "description": "Product title"},
    {
        "name": "voltage",
        "type": "number",
        "unit": "V",
        "description": "Rated voltage in V",
        "taskType": "enrichment",
    },
    {
        "name": "colour",
        "description": "Body colour",
        "enum": ["red", "blue", "black"],
        "taskType": "enrichment",
    },
]
ROWS = [
    {"title": "Cordless Drill 18V, red"},
    {"title": "Angle Grinder 230V blue body"},
    {"title": "Work Light 12V black", "colour": "black"},
    {"title": "Tape measure 5 m"},
]
SOURCE_ROWS = [
    {"title": "Impact Driver 20V red"},
    {"title": "Jigsaw 230V, blue"},
    {"title": "Heat gun 230V black"},
]
FINISHED = {"completed", "failed", "cancelled"}


def _dataset(client: httpx.Client, **extra: Any) -> dict[str, Any]:
    body = {"name": "tools", "columns": COLUMNS, "rows": ROWS, **extra}
    response = client.post("/api/v2/datasets", json=body)
    assert response.status_code == 201, response.text
    return response.json()


def _cells(client: httpx.Client, dataset_id: str) -> dict[tuple[int, str], dict[str, Any]]:
    """(row position, column name) -> cell, from the data endpoint."""
    response = client.get(f"/api/v2/datasets/{dataset_id}/data", params={"limit": 1000})
    assert response.status_code == 200, response.text
    data = response.json()
    names = {c["columnId"]: c["name"] for c in data["columns"]}
    return {
        (i, names[cell["columnId"]]): cell
        for i, row in enumerate(data["rows"])
        for cell in row["cells"]
    }


def _finish(client: httpx.Client, dataset_id: str, task: dict[str, Any]) -> dict[str, Any]:
    url = f"/api/v2/datasets/{dataset_id}/tasks/{task['taskId']}"
    return wait_for(lambda: (t := client.get(url).json())["status"] in FINISHED and t)


@pytest.fixture
def client(api: Api) -> httpx.Client:
    return api.client()


def test_dataset_is_created_listed_and_read_as_a_grid(client: httpx.Client) -> None:
    created = _dataset(client, sourceRows=SOURCE_ROWS)
    assert created["rowCount"] == 4 and created["pendingSourceRows"] == 3
    assert [c["name"] for c in created["columns"]] == ["title", "voltage", "colour"]
    assert created["status"] == "ready" and created["locked"] is False

    listed = client.get("/api/v2/datasets", params={"page": 1, "limit": 20}).json()
    assert [d["datasetId"] for d in listed["datasets"]] == [created["datasetId"]]
    assert listed["pagination"]["total"] == 1

    data = client.get(f"/api/v2/datasets/{created['datasetId']}/data").json()
    assert data["data"][2] == ["Work Light 12V black", None, "black"]
    assert len(data["rows"]) == 4  # source rows are not in the dataset yet


def test_bulk_task_fills_every_empty_cell_and_unlocks(client: httpx.Client) -> None:
    dataset = _dataset(client)
    response = client.post(f"/api/v2/datasets/{dataset['datasetId']}/tasks/bulk", json={})
    assert response.status_code == 201, response.text
    task = response.json()
    assert task["status"] in {"queued", "processing", "completed"}
    assert task["progress"]["totalCells"] == 7  # 4 voltages + 3 empty colours

    done = _finish(client, dataset["datasetId"], task)
    assert done["status"] == "completed", done
    assert done["progress"]["processedCells"] == 7
    cells = _cells(client, dataset["datasetId"])
    assert cells[(0, "voltage")]["value"] == 18.0
    assert cells[(1, "voltage")]["value"] == 230.0
    assert cells[(0, "colour")]["value"] == "red"
    assert cells[(1, "colour")]["value"] == "blue"
    meta = cells[(0, "voltage")]["metadata"]
    assert meta["taskId"] == task["taskId"] and meta["sources"] == ["input"]
    assert "18V" in meta["explanation"]
    assert cells[(3, "voltage")]["value"] is None  # nothing to go on: left empty, said so
    assert cells[(3, "voltage")]["metadata"]["status"] == "not_found"
    assert done["progress"]["filledCells"] == 5
    detail = client.get(f"/api/v2/datasets/{dataset['datasetId']}").json()
    assert detail["locked"] is False
    assert done["creditsUsed"] == 5.0  # only filled cells are charged


@pytest.mark.parametrize(
    ("selection", "expected"),
    [
        ({"columnIds": ["voltage"]}, {(r, "voltage") for r in range(4)}),
        ({"rowIds": [0, 1]}, {(0, "voltage"), (0, "colour"), (1, "voltage"), (1, "colour")}),
        ({"rowIds": [0, 2], "columnIds": ["colour"]}, {(0, "colour")}),
        (
            {"rowIds": [0, 2], "columnIds": ["colour"], "processOnlyEmpty": False},
            {(0, "colour"), (2, "colour")},
        ),
        ({"cellIds": [(1, "colour"), (2, "colour")]}, {(1, "colour")}),
        ({"cellIds": [(2, "colour")], "processOnlyEmpty": False}, {(2, "colour")}),
    ],
)
def test_bulk_targeting(client: httpx.Client, selection: dict, expected: set) -> None:
    """Columns, rows, their intersection, specific cells; processOnlyEmpty keeps filled
    cells out unless it is false."""
    dataset = _dataset(client)
    did = dataset["datasetId"]
    before = _cells(client, did)
    columns = {c["name"]: c["columnId"] for c in dataset["columns"]}
    rows = client.get(f"/api/v2/datasets/{did}/data").json()["rows"]
    body: dict[str, Any] = {}
    for key, ids in selection.items():
        if key == "columnIds":
            body[key] = [columns[n] for n in ids]
        elif key == "rowIds":
            body[key] = [rows[i]["rowId"] for i in ids]
        elif key == "cellIds":
            body[key] = [before[pos]["cellId"] for pos in ids]
        else:
            body[key] = ids
    task = client.post(f"/api/v2/datasets/{did}/tasks/bulk", json=body).json()
    assert task["progress"]["totalCells"] == len(expected), task
    assert _finish(client, did, task)["status"] == "completed"
    after = _cells(client, did)
    touched = {pos for pos, cell in after.items() if cell["metadata"].get("taskId")}
    assert touched == expected


def test_new_rows_task_brings_in_source_rows_and_fills_them(client: httpx.Client) -> None:
    dataset = _dataset(client, sourceRows=SOURCE_ROWS)
    did = dataset["datasetId"]
    task = client.post(f"/api/v2/datasets/{did}/tasks/new-rows", json={"rowCount": 2}).json()
    assert task["type"] == "new_rows" and task["progress"]["totalCells"] == 4
    done = _finish(client, did, task)
    assert done["status"] == "completed" and done["progress"]["rowsAdded"] == 2
    data = client.get(f"/api/v2/datasets/{did}/data").json()
    assert [row[0] for row in data["data"][4:]] == ["Impact Driver 20V red", "Jigsaw 230V, blue"]
    assert data["data"][4][1:] == [20.0, "red"]
    assert client.get(f"/api/v2/datasets/{did}").json()["pendingSourceRows"] == 1


def test_new_rows_limits(client: httpx.Client) -> None:
    dataset = _dataset(client)
    url = f"/api/v2/datasets/{dataset['datasetId']}/tasks/new-rows"
    assert_error(client.post(url, json={"rowCount": 10_001}), 422)
    assert_error(client.post(url, json={"rowCount": 0}), 422)
    body = assert_error(client.post(url, json={"rowCount": 5}), 400, "INVALID_SELECTION")
    assert "no source rows" in body["detail"]


def test_invalid_selections_name_the_problem(client: httpx.Client) -> None:
    dataset = _dataset(client)
    did = dataset["datasetId"]
    cells = _cells(client, did)
    title = next(c["columnId"] for c in dataset["columns"] if c["name"] == "title")
    row = client.get(f"/api/v2/datasets/{did}/data").json()["rows"][0]["rowId"]
    url = f"/api/v2/datasets/{did}/tasks/bulk"
    cases = [
        ({"cellIds": [cells[(0, "voltage")]["cellId"]], "rowIds": [row]}, "cannot be combined"),
        ({"columnIds": ["col_nope"]}, "col_nope"),
        ({"rowIds": ["row_nope"]}, "row_nope"),
        ({"cellIds": ["cell_nope"]}, "cell_nope"),
        ({"columnIds": [title]}, "title"),
        ({"cellIds": [cells[(0, "title")]["cellId"]]}, "input column"),
        ({"rowIds": []}, "rowIds is empty"),
    ]
    for body, named in cases:
        error = assert_error(client.post(url, json=body), 400, "INVALID_SELECTION")
        assert named in error["detail"], (body, error)
    assert client.get(f"/api/v2/datasets/{did}").json()["locked"] is False


def test_not_found_codes(client: httpx.Client) -> None:
    dataset = _dataset(client)
    other = _dataset(client)
    did = dataset["datasetId"]
    assert_error(client.get("/api/v2/datasets/nope"), 404, "DATASET_NOT_FOUND")
    assert_error(client.post("/api/v2/datasets/nope/tasks/bulk", json={}), 404, "DATASET_NOT_FOUND")
    assert_error(client.get(f"/api/v2/datasets/{did}/tasks/999999"), 404, "TASK_NOT_FOUND")
    assert_error(client.get(f"/api/v2/datasets/{did}/tasks/abc"), 404, "TASK_NOT_FOUND")
    task = client.post(f"/api/v2/datasets/{did}/tasks/bulk", json={}).json()
    # a task is found only under its own dataset
    assert_error(
        client.get(f"/api/v2/datasets/{other['datasetId']}/tasks/{task['taskId']}"),
        404,
        "TASK_NOT_FOUND",
    )
    _finish(client, did, task)
    body = assert_error(
        client.post(f"/api/v2/datasets/{did}/tasks/bulk", json={"webhookId": "424242"}),
        404,
        "WEBHOOK_NOT_FOUND",
    )
    assert "424242" in body["detail"]
    assert client.get(f"/api/v2/datasets/{did}").json()["locked"] is False


def test_finished_task_is_not_cancellable(client: httpx.Client) -> None:
    dataset = _dataset(client)
    did = dataset["datasetId"]
    task = _finish(client, did, client.post(f"/api/v2/datasets/{did}/tasks/bulk", json={}).json())
    body = assert_error(
        client.post(f"/api/v2/datasets/{did}/tasks/{task['taskId']}/cancel"),
        409,
        "TASK_NOT_CANCELLABLE",
    )
    assert "completed" in body["detail"]


def test_cell_edit_resets_metadata(client: httpx.Client) -> None:
    dataset = _dataset(client)
    did = dataset["datasetId"]
    _finish(client, did, client.post(f"/api/v2/datasets/{did}/tasks/bulk", json={}).json())
    cell = _cells(client, did)[(0, "voltage")]
    assert cell["metadata"]
    response = client.patch(f"/api/v2/datasets/{did}/cells/{cell['cellId']}", json={"value": 20})
    assert response.status_code == 200, response.text
    after = _cells(client, did)[(0, "voltage")]
    assert after["value"] == 20 and after["metadata"] == {}


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    r = Receiver("/hooks/claro")
    yield r
    r.stop()


def test_completion_webhook_is_signed_and_logged(client: httpx.Client, receiver: Receiver) -> None:
    secret = "a-signing-secret-of-32-characters"
    webhook = client.post(
        "/api/v2/webhooks",
        json={
            "name": "Dataset Processing Notifications",
            "url": receiver.url,
            "events": ["dataset.task.completed", "dataset.task.failed"],
            "secret": secret,
        },
    )
    assert webhook.status_code == 201, webhook.text
    webhook_id = webhook.json()["webhookId"]
    dataset = _dataset(client)
    did = dataset["datasetId"]
    task = client.post(
        f"/api/v2/datasets/{did}/tasks/bulk",
        json={"processOnlyEmpty": True, "webhookId": webhook_id},
    ).json()
    assert task["webhookId"] == webhook_id
    _finish(client, did, task)
    wait_for(lambda: receiver.received)
    headers, body = receiver.received[0]
    verify_signature(
        secret,
        body,
        timestamp=headers["x-skuflow-timestamp"],
        signature=headers["x-skuflow-signature"],
    )
    event = json.loads(body)
    assert event["event"] == "dataset.task.completed"
    assert event["data"]["taskId"] == task["taskId"]
    assert event["data"]["status"] == "completed"
    assert event["data"]["progress"]["processedCells"] == 7
    # the delivery log records the answer just after the receiver has it
    detail = wait_for(
        lambda: (
            (d := client.get(f"/api/v2/webhooks/{webhook_id}").json())["deliveries"]
            and d["deliveries"][0]["status"] == "delivered"
            and d
        )
    )
    assert detail["deliveries"][0]["event"] == "dataset.task.completed"
    assert "secret" not in detail


def test_other_organizations_see_nothing(api: Api, client: httpx.Client) -> None:
    dataset = _dataset(client)
    did = dataset["datasetId"]
    task = _finish(client, did, client.post(f"/api/v2/datasets/{did}/tasks/bulk", json={}).json())
    webhook_id = client.post("/api/v2/webhooks", json={"url": "http://127.0.0.1:9/x"}).json()[
        "webhookId"
    ]
    cell = _cells(client, did)[(0, "title")]
    intruder = api.client()
    assert intruder.get("/api/v2/datasets").json()["datasets"] == []
    assert_error(intruder.get(f"/api/v2/webhooks/{webhook_id}"), 404, "WEBHOOK_NOT_FOUND")
    assert_error(intruder.get(f"/api/v2/datasets/{did}"), 404, "DATASET_NOT_FOUND")
    assert_error(intruder.get(f"/api/v2/datasets/{did}/data"), 404, "DATASET_NOT_FOUND")
    assert_error(
        intruder.patch(f"/api/v2/datasets/{did}/cells/{cell['cellId']}", json={"value": "x"}),
        404,
        "DATASET_NOT_FOUND",
    )
    assert_error(
        intruder.post(f"/api/v2/datasets/{did}/tasks/bulk", json={}), 404, "DATASET_NOT_FOUND"
    )
    assert_error(
        intruder.post(f"/api/v2/datasets/{did}/tasks/new-rows", json={"rowCount": 1}),
        404,
        "DATASET_NOT_FOUND",
    )
    assert_error(
        intruder.get(f"/api/v2/datasets/{did}/tasks/{task['taskId']}"), 404, "DATASET_NOT_FOUND"
    )
    assert_error(
        intruder.post(f"/api/v2/datasets/{did}/tasks/{task['taskId']}/cancel"),
        404,
        "DATASET_NOT_FOUND",
    )
    own = _dataset(intruder)
    assert_error(
        intruder.post(
            f"/api/v2/datasets/{own['datasetId']}/tasks/bulk", json={"webhookId": webhook_id}
        ),
        404,
        "WEBHOOK_NOT_FOUND",
    )
    assert _cells(client, did)[(0, "title")]["value"] == "Cordless Drill 18V, red"


# --- while a task runs: the lock, cancel, the quota ---------------------------------------
# Rows carry a product page URL on a local server whose gate holds the page requests, so a
# task stays queued/processing exactly as long as the test needs.

BEARING_COLUMNS = [
    {"name": "part_number"},
    {"name": "url"},
    {"name": "bore_diameter", "description": "Inner diameter in mm", "taskType": "enrichment"},
]


@pytest.fixture(scope="module")
def pages() -> Iterator[PageServer]:
    server = PageServer()
    yield server
    server.stop()


@pytest.fixture
def gated(pages: PageServer, monkeypatch: pytest.MonkeyPatch) -> Iterator[PageServer]:
    monkeypatch.setenv("SKUFLOW_API_FETCH_ALLOW", pages.address)
    monkeypatch.setenv("SKUFLOW_API_FETCH_INTERVAL", "0")
    pages.close_gate()
    yield pages
    pages.open_gate()


def _bearing_dataset(client: httpx.Client, pages: PageServer) -> dict[str, Any]:
    rows = [{"part_number": p, "url": pages.url(p)} for p in ("6205-2RS", "6204-2RS")]
    response = client.post(
        "/api/v2/datasets", json={"name": "bearings", "columns": BEARING_COLUMNS, "rows": rows}
    )
    assert response.status_code == 201, response.text
    return response.json()


def test_dataset_is_locked_while_a_task_runs_and_cancel_unlocks_it(
    client: httpx.Client, gated: PageServer
) -> None:
    dataset = _bearing_dataset(client, gated)
    did = dataset["datasetId"]
    task = client.post(f"/api/v2/datasets/{did}/tasks/bulk", json={}).json()
    assert task["status"] in {"queued", "processing"}
    detail = client.get(f"/api/v2/datasets/{did}").json()
    assert detail["locked"] and detail["lockedByTaskId"] == task["taskId"]
    assert detail["status"] == "locked"
    for response in (
        client.post(f"/api/v2/datasets/{did}/tasks/bulk", json={}),
        client.post(f"/api/v2/datasets/{did}/tasks/new-rows", json={"rowCount": 1}),
        client.patch(
            f"/api/v2/datasets/{did}/cells/{_cells(client, did)[(0, 'part_number')]['cellId']}",
            json={"value": "edited"},
        ),
    ):
        body = assert_error(response, 409, "DATASET_LOCKED")
        assert task["taskId"] in body["detail"]
    url = f"/api/v2/datasets/{did}/tasks/{task['taskId']}"
    wait_for(lambda: client.get(url).json()["status"] == "processing")
    cancelled = client.post(f"{url}/cancel")
    assert cancelled.status_code == 200, cancelled.text
    assert cancelled.json()["success"] is True
    assert cancelled.json()["task"]["status"] == "cancelled"
    assert client.get(f"/api/v2/datasets/{did}").json()["locked"] is False
    gated.open_gate()
    assert client.get(url).json()["status"] == "cancelled"
    assert_error(client.post(f"{url}/cancel"), 409, "TASK_NOT_CANCELLABLE")
    # the cancelled batch was not written; the unlocked dataset takes a new task
    assert all(not c["metadata"] for c in _cells(client, did).values())
    again = client.post(f"/api/v2/datasets/{did}/tasks/bulk", json={}).json()
    done = _finish(client, did, again)
    assert done["status"] == "completed"
    cells = _cells(client, did)
    assert cells[(0, "bore_diameter")]["value"] == "25 mm"
    assert cells[(0, "bore_diameter")]["metadata"]["sources"] == [gated.url("6205-2RS")]


def test_eleventh_active_task_exceeds_the_quota(api: Api, gated: PageServer) -> None:
    client = api.client()
    datasets = [_bearing_dataset(client, gated)["datasetId"] for _ in range(11)]
    tasks = []
    try:
        for did in datasets[:10]:
            response = client.post(f"/api/v2/datasets/{did}/tasks/bulk", json={})
            assert response.status_code == 201, response.text
            tasks.append((did, response.json()["taskId"]))
        body = assert_error(
            client.post(f"/api/v2/datasets/{datasets[10]}/tasks/bulk", json={}),
            429,
            "QUOTA_EXCEEDED",
        )
        assert "10 of 10" in body["detail"]
        assert client.get(f"/api/v2/datasets/{datasets[10]}").json()["locked"] is False
        did, task_id = tasks.pop()
        assert client.post(f"/api/v2/datasets/{did}/tasks/{task_id}/cancel").status_code == 200
        response = client.post(f"/api/v2/datasets/{datasets[10]}/tasks/bulk", json={})
        assert response.status_code == 201, response.text
        tasks.append((datasets[10], response.json()["taskId"]))
    finally:
        for did, task_id in tasks:
            client.post(f"/api/v2/datasets/{did}/tasks/{task_id}/cancel")


@pytest.mark.parametrize("store", ["api", "pg_api"])
def test_racing_task_requests_lock_the_dataset_once(
    request: pytest.FixtureRequest, store: str, gated: PageServer
) -> None:
    """Eight clients ask for a task on one dataset at the same moment: exactly one gets it,
    the others get DATASET_LOCKED (SQLite and PostgreSQL)."""
    from concurrent.futures import ThreadPoolExecutor

    running: Api = request.getfixturevalue(store)
    client = running.client()
    did = _bearing_dataset(client, gated)["datasetId"]
    barrier = threading.Barrier(8)

    def ask(_: int) -> httpx.Response:
        barrier.wait()
        return client.post(f"/api/v2/datasets/{did}/tasks/bulk", json={})

    with ThreadPoolExecutor(8) as pool:
        responses = list(pool.map(ask, range(8)))
    statuses = sorted(r.status_code for r in responses)
    assert statuses == [201] + [409] * 7, [r.text for r in responses]
    assert all(
        r.json()["error"]["code"] == "DATASET_LOCKED" for r in responses if r.status_code == 409
    )
    winner = next(r.json() for r in responses if r.status_code == 201)
    assert client.get(f"/api/v2/datasets/{did}").json()["lockedByTaskId"] == winner["taskId"]
    gated.open_gate()
    assert _finish(client, did, winner)["status"] == "completed"
    assert client.get(f"/api/v2/datasets/{did}").json()["locked"] is False


@pytest.mark.parametrize("store", ["api", "pg_api"])
def test_odd_ids_and_text_are_refused_not_crashed(
    request: pytest.FixtureRequest, store: str
) -> None:
    """Ids past BIGINT and NUL characters (PostgreSQL cannot store them) get 4xx answers."""
    client = request.getfixturevalue(store).client()
    did = _dataset(client)["datasetId"]
    huge = "9" * 30
    assert_error(client.get(f"/api/v2/datasets/{did}/tasks/{huge}"), 404, "TASK_NOT_FOUND")
    assert_error(client.get("/api/v2/datasets/a%00b"), 404, "DATASET_NOT_FOUND")
    assert_error(
        client.post(f"/api/v2/datasets/{did}/tasks/bulk", json={"webhookId": huge}),
        404,
        "WEBHOOK_NOT_FOUND",
    )
    body = assert_error(
        client.post("/api/v2/datasets", json={"name": "a\u0000", "columns": COLUMNS}), 422
    )
    assert "NUL" in body["detail"]
    assert_error(client.get(f"/api/public/enrich/{huge}"), 404)


def test_a_bad_enrichment_column_is_refused_naming_it(client: httpx.Client) -> None:
    columns = [
        {"name": "title"},
        {"name": "reach", "type": "number", "unit": "furlongs-ish", "taskType": "enrichment"},
    ]
    body = assert_error(
        client.post("/api/v2/datasets", json={"name": "x", "columns": columns}), 422
    )
    assert "column 'reach'" in body["detail"] and "furlongs-ish" in body["detail"]


def _stored_cells(api: Api, dataset_id: str) -> int:
    import sqlalchemy as sa

    from api.datasets.models import DatasetCell
    from catalog.db import session_scope

    with session_scope(api.store_url) as session:
        return session.scalar(
            sa.select(sa.func.count())
            .select_from(DatasetCell)
            .where(DatasetCell.dataset_id == dataset_id)
        )


def test_empty_cells_are_not_stored_yet_are_shown_and_edited(api: Api) -> None:
    """500 columns × 200 rows of empty strings (a ~10 KB body) once wrote 100,000 cell rows."""
    client = api.client()
    columns = [{"name": f"c{i}"} for i in range(500)]
    rows = [dict.fromkeys((c["name"] for c in columns), "") for _ in range(200)]
    rows[7]["c3"] = "kept"
    created = client.post(
        "/api/v2/datasets", json={"name": "wide", "columns": columns, "rows": rows}
    )
    assert created.status_code == 201, created.text
    did = created.json()["datasetId"]
    assert _stored_cells(api, did) == 1

    page = client.get(f"/api/v2/datasets/{did}/data", params={"limit": 10}).json()
    assert len(page["rows"]) == 10 and all(len(r["cells"]) == 500 for r in page["rows"])
    assert page["data"][7][3] == "kept" and page["data"][0][0] is None
    empty = page["rows"][0]["cells"][0]
    edited = client.patch(f"/api/v2/datasets/{did}/cells/{empty['cellId']}", json={"value": 4})
    assert edited.status_code == 200, edited.text
    assert edited.json()["cellId"] == empty["cellId"] and edited.json()["value"] == 4
    again = client.get(f"/api/v2/datasets/{did}/data", params={"limit": 1}).json()
    assert again["rows"][0]["cells"][0] == {**empty, "value": 4}
    assert _stored_cells(api, did) == 2


def test_a_dataset_grid_over_the_cells_budget_is_refused_naming_it(api: Api) -> None:
    columns = [{"name": f"c{i}"} for i in range(500)]
    body = {"name": "huge", "columns": columns, "rows": [{}] * 10_001}
    response = api.client().post("/api/v2/datasets", json=body)
    assert response.status_code == 422, response.text
    assert "5,000,500 cells, more than the 5,000,000" in response.json()["detail"]


@pytest.mark.postgres
def test_tasks_fill_cells_that_were_never_stored_on_postgresql(pg_api: Api) -> None:
    client = pg_api.client()
    dataset = _dataset(client)
    assert _stored_cells(pg_api, dataset["datasetId"]) == 5  # 4 titles + 1 colour
    task = client.post(f"/api/v2/datasets/{dataset['datasetId']}/tasks/bulk", json={}).json()
    done = _finish(client, dataset["datasetId"], task)
    assert done["status"] == "completed" and done["progress"]["processedCells"] == 7, done
    cells = _cells(client, dataset["datasetId"])
    assert cells[(0, "voltage")]["value"] == 18.0 and cells[(1, "colour")]["value"] == "blue"
