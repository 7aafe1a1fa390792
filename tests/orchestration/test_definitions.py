"""prefect.yaml and the pieces that need no server: every deployment builds, its parameters and
trigger templates name real flow parameters, crons parse; landed files are claimed once."""

from __future__ import annotations

import inspect
import os
import time
from pathlib import Path

import pytest
from pydantic import ValidationError

from deployments.serve import deployment_specs, load_flow, runner_deployments
from flows.support.landing import claim_landed_files, emit_source_landed
from flows.support.review_checkpoint import ReviewDecision, review_checkpoint


def test_every_deployment_in_prefect_yaml_builds() -> None:
    built = {d.name: d for d in runner_deployments()}
    assert set(built) == {spec["name"] for spec in deployment_specs()}
    crons = {
        d.name: [s.schedule.cron for s in d.schedules if hasattr(s.schedule, "cron")]
        for d in built.values()
    }
    assert crons["monitor-daily"] == ["0 6 * * *"]
    assert crons["quality-report-weekly"] == ["0 7 * * 1"]
    assert crons["portal-pickup-hourly"] == ["0 * * * *"]
    assert [s.active for s in built["export-nightly"].schedules] == [False]
    assert [set(t.expect) for t in built["export-after-onboard"].triggers] == [
        {"skuflow.run.completed"}
    ]
    assert [set(t.expect) for t in built["auto-enrich-on-ingest"].triggers] == [
        {"skuflow.job.queued"}
    ]
    assert [set(t.expect) for t in built["notify-slack"].triggers] == [
        {"skuflow.run.completed", "skuflow.run.failed"}
    ]
    hooks = built["deliver-webhooks"]
    assert [set(t.expect) for t in hooks.triggers] == [
        {f"skuflow.change.{s}" for s in ("applied", "queued_for_review", "approved", "rejected")}
    ]
    every_minute, hourly = hooks.schedules
    assert every_minute.schedule.interval.total_seconds() == 60
    assert hourly.schedule.cron == "0 * * * *" and hourly.parameters["flush_scheduled"] is True
    # channels are opt-in: nothing is posted or delivered until a team turns them on
    assert not any(t.enabled for t in hooks.triggers + built["notify-slack"].triggers)
    assert not any(s.active for s in hooks.schedules)
    # a paused review run loses a concurrency lease (Prefect 3.8) and crashes, so it has none
    assert all(d.concurrency_limit for name, d in built.items() if name != "review-enrichment")
    assert built["review-enrichment"].concurrency_limit is None


@pytest.mark.parametrize("spec", deployment_specs(), ids=lambda spec: spec["name"])
def test_parameters_and_trigger_templates_name_real_flow_parameters(spec: dict) -> None:
    accepted = set(inspect.signature(load_flow(spec["entrypoint"]).fn).parameters)
    named = set(spec.get("parameters") or {})
    for trigger in spec.get("triggers") or []:
        named |= set(trigger.get("parameters") or {})
    assert named <= accepted, f"{spec['name']}: unknown {sorted(named - accepted)}"


def test_a_landing_event_refuses_parameters_onboard_does_not_take() -> None:
    with pytest.raises(ValueError, match="unknown onboard parameter"):
        emit_source_landed(source="a.csv", catalog="c.yaml", origin="manual", colour="red")


def test_landed_files_are_claimed_once_and_only_when_settled(tmp_path: Path) -> None:
    settled = tmp_path / "supplier.csv"
    settled.write_text("sku\n1\n")
    past = time.time() - 60
    os.utime(settled, (past, past))
    writing = tmp_path / "still-writing.csv"
    writing.write_text("sku\n")

    (claimed,) = claim_landed_files(tmp_path, "*.csv", settle_seconds=30)

    assert claimed.parent == tmp_path / "claimed" and claimed.read_text() == "sku\n1\n"
    assert not settled.exists() and writing.exists()
    assert claim_landed_files(tmp_path, "supplier*.csv", settle_seconds=30) == []


def test_a_missing_inbox_is_named() -> None:
    with pytest.raises(FileNotFoundError, match="nowhere"):
        claim_landed_files("/nowhere/inbox")


def test_the_review_form_bounds_its_confidence_and_policy() -> None:
    with pytest.raises(ValidationError):
        ReviewDecision(action="approve_above", min_confidence=1.5)
    with pytest.raises(ValidationError):
        ReviewDecision(action="approve_some")
    with pytest.raises(ValueError, match="on_timeout"):
        review_checkpoint(store_url="sqlite://", run_id=1, catalog=None, on_timeout="ignore")
