"""The outbound channels on a real Prefect server, served by `skuflow serve` from a prefect.yaml
with the channel triggers turned on: a halted onboard and a monitor's drift each reach their
Slack channel once (the runs' events trigger `notify-slack`); an approval from the CLI reaches a
per-change and a batched webhook subscription (its event triggers `deliver-webhooks`); and a
signed `/skuflow run` slash command creates a run of a deployment on the server, while a stale
or forged one creates nothing."""

from __future__ import annotations

import csv
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from prefect.client.orchestration import get_client
from prefect.client.schemas.filters import DeploymentFilter, DeploymentFilterId
from prefect.client.schemas.objects import FlowRun
from prefect.deployments import run_deployment

from catalog.db import session_scope
from catalog.webhooks.models import WebhookSubscription
from tests.api.conftest import LiveServer
from tests.api.slack_requests import SIGNING_SECRET, TEAM, slash
from tests.conftest import ROOT
from tests.fakes.slack_server import FakeSlack, start_slack
from tests.fakes.webhook_receiver import Receiver, start_receiver
from tests.orchestration.conftest import RUNNER_POLL_SECONDS, wait_for

pytestmark = pytest.mark.slow

CATALOG = "channels-demo"
SERVED = ("onboard-file", "monitor-daily", "notify-slack", "deliver-webhooks")
SCHEMA = f"""
name: {CATALOG}
id: sku
text: [title]
thresholds: {{auto_apply: 0.99, reject: 0.5}}
attributes:
  - {{name: sku, type: text, required: true, source: ["SKU"]}}
  - {{name: title, type: text, required: true, source: ["Title"]}}
  - {{name: price, type: number, unit: USD, min: 0, required: true, source: ["Price"]}}
  - {{name: voltage, type: number, unit: V, min: 0, derive: extract}}
"""
ROWS = [
    ("CH-1", "Cordless drill 18V", "89.00"),
    ("CH-2", "Angle grinder 230V", "59.50"),
    ("CH-3", "Work light 12V", "24.99"),
    ("CH-4", "Jig saw 230V", "74.00"),
]


@dataclass
class Channels:
    api_url: str
    workdir: Path
    store_url: str
    schema: Path
    slack: FakeSlack
    receiver: Receiver
    hooks: dict[str, str]


def _feed(path: Path, rows: list[tuple[str, str, str]]) -> Path:
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(["SKU", "Title", "Price"])
        writer.writerows(rows)
    return path


def _deployments_file(workdir: Path) -> Path:
    """The project's prefect.yaml with the channels' triggers turned on, as a team does."""
    text = (ROOT / "prefect.yaml").read_text(encoding="utf-8")
    path = workdir / "prefect.yaml"
    path.write_text(text.replace("enabled: false", "enabled: true"), encoding="utf-8")
    return path


@pytest.fixture(scope="module")
def channels(prefect_api: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Channels]:
    from connectors.slack import SlackNotifier, SlackRoute

    workdir = tmp_path_factory.mktemp("channels")
    store_url = f"sqlite:///{workdir / 'store.db'}"
    schema = workdir / "catalog.yaml"
    schema.write_text(SCHEMA, encoding="utf-8")
    with start_slack() as slack, start_receiver() as receiver:
        hooks = {name: slack.webhook(name) for name in ("failures", "drift", "elsewhere")}
        SlackNotifier(
            routes=[
                SlackRoute(
                    webhook_url=hooks["failures"],
                    events=["run_failed", "run_halted"],
                    verbosity="per_record",
                ),
                SlackRoute(
                    webhook_url=hooks["drift"],
                    events=["monitor_drift"],
                    catalogs=[CATALOG],
                    verbosity="per_record",
                ),
                SlackRoute(webhook_url=hooks["elsewhere"], catalogs=["another-catalogue"]),
            ],  # fmt: skip
            retry_base_seconds=0.1,
        ).save("team-alerts", overwrite=True)
        env = {
            **os.environ,
            "PREFECT_API_URL": prefect_api,
            "PREFECT_RUNNER_POLL_FREQUENCY": RUNNER_POLL_SECONDS,
            "PREFECT_LOGGING_LEVEL": "INFO",
            "SKUFLOW_HOME": str(workdir / ".skuflow"),
            "SKUFLOW_DATABASE_URL": store_url,
            "SKUFLOW_OUTBOUND_ALLOW": "127.0.0.1",
            "PYTHONPATH": str(ROOT),
        }
        only = [arg for name in SERVED for arg in ("--only", name)]
        log = workdir / "serve.log"
        with log.open("wb") as out:
            process = subprocess.Popen(
                [sys.executable, "-m", "cli.main", "serve", "--api-url", prefect_api, *only,
                 "--deployments-file", str(_deployments_file(workdir))],
                cwd=workdir, env=env, stdout=out, stderr=subprocess.STDOUT,
                start_new_session=True,
            )  # fmt: skip
        try:
            wait_for(
                lambda: process.poll() is not None or _registered(),
                timeout=180,
                what="the served channel deployments",
            )
            if process.poll() is not None:
                raise RuntimeError(f"skuflow serve exited:\n{log.read_text()[-3000:]}")
            yield Channels(prefect_api, workdir, store_url, schema, slack, receiver, hooks)
        finally:
            process.terminate()
            try:
                process.wait(30)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()


def _registered() -> bool:
    with get_client(sync_client=True) as client:
        names = {d.name for d in client.read_deployments(limit=200)}
        automations = client.read_automations()
    enabled = {a.name.split("__")[0] for a in automations if a.enabled}
    return set(SERVED) <= names and {"notify-slack", "deliver-webhooks"} <= enabled


def _runs_of(deployment: str) -> list[FlowRun]:
    with get_client(sync_client=True) as client:
        found = client.read_deployment_by_name(deployment)
        return client.read_flow_runs(
            deployment_filter=DeploymentFilter(id=DeploymentFilterId(any_=[found.id])), limit=200
        )


def _run(deployment: str, **parameters: Any) -> FlowRun:
    """Run a served deployment and wait for its end."""
    started = run_deployment(deployment, parameters=parameters, timeout=0)
    return wait_for(
        lambda: (r := _read(started.id)).state.is_final() and r,
        timeout=300,
        what=f"{deployment} to finish",
    )


def _read(flow_run_id: Any) -> FlowRun:
    with get_client(sync_client=True) as client:
        return client.read_flow_run(flow_run_id)


def _settled(deployment: str, count: int, timeout: float = 240) -> list[FlowRun]:
    """Wait until ``deployment`` has ``count`` runs, all finished (and stays at that count)."""

    def done() -> list[FlowRun] | None:
        runs = _runs_of(deployment)
        if len(runs) >= count and all(r.state and r.state.is_final() for r in runs):
            return runs
        return None

    return wait_for(done, timeout=timeout, what=f"{count} finished run(s) of {deployment}")


def test_a_halted_onboard_and_a_monitor_drift_each_reach_their_channel_once(
    channels: Channels,
) -> None:
    onboarded = _run(
        "onboard/onboard-file",
        source=str(_feed(channels.workdir / "good.csv", ROWS)),
        catalog=str(channels.schema),
        out=str(channels.workdir / "out"),
        taxonomy=None,
        companies=None,
    )
    assert onboarded.state.is_completed(), onboarded.state.message
    bad = list(ROWS)
    bad[1] = ("CH-2", "", "59.50")  # a required title missing: validation halts the run
    halted = _run(
        "onboard/onboard-file",
        source=str(_feed(channels.workdir / "bad.csv", bad)),
        catalog=str(channels.schema),
        out=str(channels.workdir / "out"),
        taxonomy=None,
        companies=None,
    )
    assert halted.state.is_failed()
    # the supplier's next feed: the title is back, two prices moved (from the values stored
    # before the halt: the halted run changed none of them)
    moved = [(sku, title, f"{float(price) + 5:.2f}") for sku, title, price in ROWS[:2]] + ROWS[2:]
    monitor = _run(
        "monitor/monitor-daily",
        source=str(_feed(channels.workdir / "today.csv", moved)),
        catalog=str(channels.schema),
        fields=["price"],
        companies=None,
    )
    assert monitor.state.is_completed(), monitor.state.message

    notified = _settled("notify-slack/notify-slack", 3)  # one per finished run
    assert all(r.state.is_completed() for r in notified), [r.state for r in notified]
    slack = channels.slack
    (halt,) = slack.received(channels.hooks["failures"])
    assert halt["text"].startswith(f":octagonal_sign: Onboard halted for *{CATALOG}*")
    rules = "\n".join(b["text"]["text"] for b in halt["blocks"][1:])
    assert "title" in rules and "CH-2" in rules  # per record: the rule that failed, and where
    (drift,) = slack.received(channels.hooks["drift"])
    assert drift["text"].startswith(
        f":chart_with_upwards_trend: Monitor found 2 moved value(s) in *{CATALOG}*"
    )
    lines = drift["blocks"][1]["text"]["text"]
    assert "• CH-1 price: 89 → 94" in lines and "• CH-2 price: 59.5 → 64.5" in lines
    assert slack.received(channels.hooks["elsewhere"]) == []


def test_an_approval_reaches_per_change_and_batched_subscriptions(channels: Channels) -> None:
    from catalog.models import Organization
    from catalog.repository import get_or_create_organization

    each = channels.receiver.endpoint("each", "e" * 24)
    grouped = channels.receiver.endpoint("grouped", "g" * 24)
    with session_scope(channels.store_url) as session:
        org = get_or_create_organization(session, name="default")
        assert isinstance(org, Organization)
        session.add_all([
            WebhookSubscription(organization_id=org.id, url=each, secret="e" * 24,
                                events=["change.approved"]),
            WebhookSubscription(organization_id=org.id, url=grouped, secret="g" * 24,
                                events=["change.approved"], mode="batched", batch_size=2,
                                batch_seconds=3600),
        ])  # fmt: skip
    before = len(_runs_of("deliver-webhooks/deliver-webhooks"))
    approved = subprocess.run(
        [sys.executable, "-m", "cli.main", "review", "approve", "--all", "--catalog", CATALOG,
         "--reviewer", "ann"],
        env={**os.environ, "PREFECT_API_URL": channels.api_url, "PYTHONPATH": str(ROOT),
             "SKUFLOW_DATABASE_URL": channels.store_url},
        capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert approved.returncode == 0, approved.stdout + approved.stderr  # say why it failed
    count = int(approved.stdout.split()[1])  # "Approved 4 change(s)."
    assert count == 4, approved.stdout

    wait_for(
        lambda: len(channels.receiver.bodies(each)) >= count,
        timeout=240,
        what="the per-change deliveries",
    )
    runs = _settled("deliver-webhooks/deliver-webhooks", before + 1)
    assert any("skuflow.change.approved" == (r.parameters or {}).get("reason") for r in runs)
    deliveries = channels.receiver.bodies(each)
    assert len(deliveries) == count  # exactly one per approved change, each signed
    assert len({d["data"]["change_id"] for d in deliveries}) == count
    assert {d["data"]["provenance"]["reviewer"] for d in deliveries} == {"ann"}
    batches = channels.receiver.bodies(grouped)
    assert [b["data"]["count"] for b in batches] == [2, 2]
    assert channels.receiver.refused == []


def test_a_signed_slash_command_starts_a_deployment_run_and_forged_ones_do_not(
    channels: Channels, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    from api.main import create_app
    from api.settings import ApiSettings
    from catalog.repository import get_or_create_organization, upsert_catalog
    from catalog.schema import CatalogSchema
    from deployments.serve import deployment_specs, runner_deployment

    with session_scope(channels.store_url) as session:  # there already, when run with the rest
        org = get_or_create_organization(session, name="default")
        upsert_catalog(session, organization=org, schema=CatalogSchema.from_yaml(channels.schema))
    (spec,) = [s for s in deployment_specs() if s["name"] == "export-nightly"]
    runner_deployment(spec).apply()  # registered, not served: its runs wait on the server
    monkeypatch.setenv("SKUFLOW_OUTBOUND_ALLOW", "127.0.0.1")
    app = create_app(
        ApiSettings(
            store_url=channels.store_url,
            home=tmp_path,
            slack_signing_secret=SIGNING_SECRET,
            slack_teams={TEAM: "default"},
            slack_response_hosts=["127.0.0.1"],
        )
    )
    server = LiveServer(app, inherit_context=True).start()  # the test server's Prefect URL
    response_url = channels.slack.webhook("command-response")
    try:
        for tamper in ({"age": 600}, {"signature": "v0=" + "f" * 64}):
            refused = slash(server.url, f"run export-nightly {CATALOG}", response_url=response_url,
                            **tamper)  # fmt: skip
            assert refused.status_code == 401
        started = time.monotonic()
        reply = slash(server.url, f"run export-nightly {CATALOG}", response_url=response_url)
        answered = time.monotonic() - started
        assert reply.status_code == 200 and answered < 3
        assert reply.json() == {"response_type": "ephemeral", "text": "Starting *export-nightly*…"}

        (posted,) = wait_for(
            lambda: channels.slack.received(response_url), timeout=60, what="the deferred answer"
        )
        assert posted["text"].startswith("Started *export/export-nightly*"), posted["text"]
        (run,) = _runs_of("export/export-nightly")  # the forged ones created nothing
        assert posted["text"].startswith(f"Started *export/export-nightly* for *{CATALOG}*")
        assert str(run.id) in posted["text"]
        assert {k: run.parameters[k] for k in ("organization", "catalog")} == {
            "organization": "default",
            "catalog": CATALOG,
        }
        assert {"slack", "slack-user:ann"} <= set(run.tags)
        status = slash(server.url, f"status {run.id}", response_url=response_url).json()
        assert status["text"] == f"Looking up flow run `{run.id}`…"
        wait_for(lambda: len(channels.slack.received(response_url)) == 2, timeout=60,
                 what="the flow run's status")  # fmt: skip
        assert "is *Scheduled*" in channels.slack.received(response_url)[1]["text"]
    finally:
        server.stop()
