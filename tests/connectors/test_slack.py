"""SlackNotifier through slack_sdk against a local incoming-webhook server."""

from __future__ import annotations

import pytest

from connectors.base import TerminalConnectorError
from connectors.slack import Event, SlackNotifier, SlackRoute, review_queue_event, run_event

DONE = Event(
    kind="run_completed",
    catalog="fasteners",
    operation="onboard",
    run_id="r-17",
    counts={"rows": 1200, "queued": 3},
)


def notifier(*routes: SlackRoute, max_records: int = 20) -> SlackNotifier:
    return SlackNotifier(routes=list(routes), max_records=max_records, retry_base_seconds=0.01)


def test_round_trip_routed_by_catalogue_and_kind_with_verbosity(slack):
    ops, data = slack.webhook("ops"), slack.webhook("data")
    alerts = notifier(
        SlackRoute(webhook_url=ops, catalogs=["fasteners"]),
        SlackRoute(webhook_url=data, events=["review_queue_grew"], verbosity="per_record"),
    )
    records = [f"SKU-{i}: brand 'Acme' (0.72)" for i in range(30)]
    grew = review_queue_event(
        catalog="tools", operation="enrich", before=5, after=35, records=records
    )

    assert alerts.notify(DONE) == 1
    assert alerts.notify(grew) == 1  # "tools" is not the ops route's catalogue

    [done] = slack.received(ops)
    assert done["text"] == (
        ":white_check_mark: Onboard completed for *fasteners* — rows: 1,200, queued: 3, run r-17"
    )
    [queue] = slack.received(data)
    assert queue["text"].startswith(":inbox_tray: Review queue for *tools* grew to 35 (+30)")
    listed = "\n".join(b["text"]["text"] for b in queue["blocks"][1:])
    assert listed.count("• SKU-") == 20
    assert listed.endswith("… and 10 more")


def test_routed_by_operation_and_failed_runs_carry_the_error(slack):
    enrich = slack.webhook("enrich")
    alerts = notifier(SlackRoute(webhook_url=enrich, operations=["enrich"]))
    failed = Event(kind="run_failed", catalog="fasteners", operation="enrich", error="HTTP 500")

    assert alerts.notify(DONE) == 0
    assert alerts.notify(failed) == 1
    [message] = slack.received(enrich)
    assert message["text"] == ":x: Enrich failed for *fasteners*\n> HTTP 500"
    assert len(message["blocks"]) == 1  # summary verbosity


def test_queue_that_did_not_grow_sends_nothing(slack):
    alerts = notifier(SlackRoute(webhook_url=slack.webhook("ops")))
    event = review_queue_event(catalog="fasteners", operation="onboard", before=9, after=9)
    assert event is None
    assert alerts.notify(event) == 0
    assert slack.messages == {}


def test_unknown_webhook_names_the_saved_block(slack, prefect_harness):
    bogus = slack.base_url + "/services/T0/B0/not-a-secret"
    notifier(SlackRoute(webhook_url=bogus)).save("team-alerts", overwrite=True)
    loaded = SlackNotifier.load("team-alerts")

    assert loaded.routes[0].webhook_url.get_secret_value() == bogus
    with pytest.raises(TerminalConnectorError) as caught:
        loaded.notify(DONE)
    message = str(caught.value)
    assert "Slack notifier (block 'team-alerts'), route 1" in message
    assert "invalid_token" in message
    assert "not-a-secret" not in message


@pytest.mark.parametrize(
    "failure",
    [(500, "rollup_error", {}), (503, "", {}), (429, "rate_limited", {"Retry-After": "0.05"})],
    ids=["500", "503", "429"],
)
def test_server_error_or_rate_limit_then_success_is_retried(slack, failure):
    ops = slack.webhook("ops")
    slack.failures.extend([failure, failure])

    assert notifier(SlackRoute(webhook_url=ops)).notify(DONE) == 1
    assert not slack.failures
    assert len(slack.received(ops)) == 1


def test_permanent_client_error_is_not_retried(slack):
    ops = slack.webhook("ops")
    slack.failures.extend([(400, "invalid_payload", {}), (400, "invalid_payload", {})])
    with pytest.raises(TerminalConnectorError, match=r"route 1: HTTP 400: invalid_payload"):
        notifier(SlackRoute(webhook_url=ops)).notify(DONE)
    assert len(slack.failures) == 1
    assert slack.received(ops) == []


def test_a_revoked_webhook_does_not_silence_the_other_routes(slack):
    dead, live = slack.webhook("dead"), slack.webhook("live")
    slack.revoked.add(dead.removeprefix(slack.base_url))
    alerts = notifier(SlackRoute(webhook_url=dead), SlackRoute(webhook_url=live))

    with pytest.raises(TerminalConnectorError) as caught:
        alerts.notify(DONE)
    assert str(caught.value).startswith("1 message(s) sent; Slack notifier, route 1")
    assert "no_service" in str(caught.value)
    assert len(slack.received(live)) == 1


def test_finished_runs_become_completed_or_failed_events(slack):
    from catalog.models import Run

    ops = slack.webhook("ops")
    alerts = notifier(SlackRoute(webhook_url=ops, verbosity="per_record"))
    done = Run(id=7, operation="onboard", status="completed", counts={"read": 12, "rate": 0.5})
    failed = Run(id=8, operation="distribute", status="failed", counts={}, error="HTTP 503")

    alerts.notify(run_event(done, catalog="fasteners", records=["A-1: title changed"]))
    alerts.notify(run_event(failed, catalog="fasteners"))
    first, second = slack.received(ops)
    assert first["text"] == ":white_check_mark: Onboard completed for *fasteners* — read: 12, run 7"
    assert first["blocks"][1]["text"]["text"] == "• A-1: title changed"
    assert second["text"] == ":x: Distribute failed for *fasteners* — run 8\n> HTTP 503"
