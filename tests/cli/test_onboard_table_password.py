"""`skuflow onboard --table postgresql://user:password@host/db#table`: the catalogue reaches
the table, while the flow run Prefect stores (and its UI shows) holds no password — not in its
parameters, its logs or its result. The password waits in a Secret block. Real PostgreSQL
(trust authentication accepts any password) and the Prefect test harness."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import sqlalchemy as sa

from tests.conftest import EXAMPLES

pytestmark = [pytest.mark.usefixtures("prefect_harness"), pytest.mark.postgres, pytest.mark.slow]

PASSWORD = "Zq8-not-for-the-ui"


def _with_password(url: str) -> str:
    return str(sa.engine.make_url(url).set(password=PASSWORD).render_as_string(hide_password=False))


def test_the_table_password_stays_out_of_the_flow_run(
    postgres_database: str, tmp_path: Path
) -> None:
    from prefect.blocks.system import Secret
    from prefect.client.orchestration import get_client
    from prefect.client.schemas.filters import (
        FlowFilter,
        FlowFilterName,
        LogFilter,
        LogFilterFlowRunId,
    )

    from cli.onboard import run_onboard
    from flows.support.credentials import BLOCK_PREFIX
    from tests.conftest import _reset_postgres

    _reset_postgres(postgres_database)
    source = tmp_path / "few.csv"  # a few rows of the example: the door is under test
    lines = (EXAMPLES / "acme_supplier_catalog.csv").read_text(encoding="utf-8").splitlines()
    source.write_text("\n".join(lines[:9]) + "\n", encoding="utf-8")
    table = f"{_with_password(postgres_database)}#published_products"
    assert PASSWORD in table
    summary = run_onboard(
        source=source,
        catalog=EXAMPLES / "catalog.yaml",
        taxonomy=EXAMPLES / "taxonomy.txt",
        companies=EXAMPLES / "suppliers.csv",
        out=None,
        formats=["csv"],
        table=table,
        column_overrides=None,
    )
    assert summary["status"] == "completed"
    engine = sa.create_engine(postgres_database)
    with engine.connect() as conn:
        written = conn.execute(sa.text("SELECT count(*) FROM published_products")).scalar()
    engine.dispose()
    assert written and written > 0

    with get_client(sync_client=True) as client:
        runs = client.read_flow_runs(
            flow_filter=FlowFilter(name=FlowFilterName(any_=["onboard"])), limit=200
        )
        assert runs
        (run,) = [r for r in runs if r.parameters.get("table_password_block")][-1:]
        logs = client.read_logs(log_filter=LogFilter(flow_run_id=LogFilterFlowRunId(any_=[run.id])))
    shown = json.dumps(
        [r.model_dump(mode="json") for r in runs] + [log.message for log in logs], default=str
    )
    assert PASSWORD not in shown
    assert PASSWORD not in json.dumps(summary, default=str)
    assert run.parameters["table"].endswith("#published_products")
    block = run.parameters["table_password_block"]
    assert block.startswith(BLOCK_PREFIX)
    assert Secret.load(block).get() == PASSWORD
