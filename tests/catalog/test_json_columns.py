"""The store's JSON columns (encoded with orjson) keep what the `json` module kept (text in any
script, integer keys, integers past 64 bits), write NumPy numbers as plain numbers, and still
read a NaN an older version wrote to a SQLite store."""

from __future__ import annotations

import numpy as np
import sqlalchemy as sa

from catalog.db import get_engine, session_scope
from catalog.models import Run
from catalog.repository import get_or_create_organization, start_run


def _run_id(store_url: str, params: dict) -> int:
    with session_scope(store_url) as session:
        org = get_or_create_organization(session, name="json")
        return start_run(
            session, organization=org, catalog=None, operation="test", params=params
        ).id


def test_values_round_trip_as_json_wrote_them(store_url: str) -> None:
    params = {
        "title": "Perceuse sans fil 18 V – 2 batteries, 电钻",
        "voltage": np.float64(18.5),
        "count": np.int64(3),
        "big": 2**70,
        "nested": {"1": [True, None, 0.1]},
    }
    run_id = _run_id(store_url, params)
    with session_scope(store_url) as session:
        run = session.get(Run, run_id)
        run.counts = {7: {"applied": np.int64(2)}}
    with session_scope(store_url) as session:
        run = session.get(Run, run_id)
        assert run.params == {
            "title": "Perceuse sans fil 18 V – 2 batteries, 电钻",
            "voltage": 18.5,
            "count": 3,
            "big": 2**70,
            "nested": {"1": [True, None, 0.1]},
        }
        assert run.counts == {"7": {"applied": 2}}


def test_a_nan_an_older_version_wrote_to_sqlite_still_reads(tmp_path) -> None:
    url = f"sqlite:///{tmp_path / 'old.db'}"
    run_id = _run_id(url, {})
    with get_engine(url).begin() as conn:  # what json.dumps wrote for a float NaN
        conn.execute(
            sa.text("UPDATE runs SET counts = :text WHERE id = :id"),
            {"text": '{"ratio": NaN}', "id": run_id},
        )
    with session_scope(url) as session:
        ratio = session.get(Run, run_id).counts["ratio"]
    assert np.isnan(ratio)
