"""A lone UTF-16 surrogate (``"\\udc00"``: a valid JSON escape, but no character) in one record
is refused at the door with a 422 naming the record and field; no job starts, nothing is
stored, no traceback reaches the client. Text with real non-ASCII characters (surrogate pairs
included) still goes through."""

from __future__ import annotations

import httpx

from tests.api.conftest import Api, assert_error


def _post(client: httpx.Client, path: str, raw: str) -> httpx.Response:
    return client.post(path, content=raw.encode(), headers={"Content-Type": "application/json"})


def test_a_lone_surrogate_in_one_record_is_a_422_naming_it(api: Api) -> None:
    client = api.client()
    raw = (
        '{"source": "sap", "records": [{"id": "1", "title": "Drill 18V"},'
        ' {"id": "2", "title": "Saw \\udc00 230V"}]}'
    )
    error = assert_error(_post(client, "/api/ingest", raw), 422)
    assert error["detail"].startswith("records[1].title: holds a lone UTF-16 surrogate")
    assert "Traceback" not in error["detail"] and "Error:" not in error["detail"]
    assert error["error"]["details"][0]["field"] == "records[1].title"
    assert client.get("/api/jobs").json()["count"] == 0  # no job, nothing stored


def test_a_lone_surrogate_in_a_key_or_another_family_is_refused_too(api: Api) -> None:
    client = api.client()
    raw = '{"items": [{"\\ud800name": "x"}], "output_schema": []}'
    error = assert_error(_post(client, "/api/public/enrich", raw), 422)
    assert error["error"]["details"][0]["field"] == "items[0].\\ud800name"


def test_real_characters_and_surrogate_pairs_still_pass(api: Api) -> None:
    client = api.client()
    raw = (
        '{"source": "sap", "records": [{"id": "1", "title": "Bohrer Größe \\ud83d\\udd27",'
        ' "description": "a \\\\udc00 that is only text"}]}'
    )
    response = _post(client, "/api/ingest", raw)
    assert response.status_code == 202, response.text
