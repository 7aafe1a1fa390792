"""Flow `notify-slack`: tell Slack about a finished run — completed, failed, halted, a monitor's
drift, the review queue's growth — through a saved `SlackNotifier` block, whose routes pick the
channel (per catalogue, operation and kind) and the verbosity (summary or per record).

Nothing in the other flows calls Slack: prefect.yaml's ``notify-slack`` deployment runs this
flow on every ``skuflow.run.completed`` / ``skuflow.run.failed`` event. It reads the run from
the store, so re-running it for the same run posts the same messages again (Slack keeps no
ids); without a saved notifier block it says so and posts nothing.
"""

from __future__ import annotations

from typing import Any

from prefect import flow, get_run_logger
from pydantic.json_schema import SkipJsonSchema

from catalog.settings import get_settings, normalize_database_url
from connectors.base import TerminalConnectorError, TransientConnectorError
from connectors.slack import SlackNotifier
from flows.support.alerts import alert_events


@flow(name="notify-slack")
def notify_slack(
    run_id: SkipJsonSchema[int],
    notifier: str = "team-alerts",
    event: str | None = None,
    database_url: SkipJsonSchema[str | None] = None,
) -> dict[str, Any]:
    """Post a finished run's events to the Slack routes that want them.

    Args:
        run_id: The skuflow run (the store's run id, as in the event's payload).
        notifier: The saved `SlackNotifier` block's name.
        event: The triggering event's name, for the run's log.
    """
    logger = get_run_logger()
    store_url = normalize_database_url(database_url) if database_url else get_settings().store_url
    try:
        block = SlackNotifier.load(notifier)
    except ValueError:
        logger.warning("no SlackNotifier block named '%s' is saved: nothing sent", notifier)
        return {"run_id": run_id, "sent": 0, "notifier": None}
    sent: dict[str, int] = {}
    failures: list[Exception] = []
    for alert in alert_events(store_url, run_id):
        try:
            sent[alert.kind] = block.notify(alert)
        except (TransientConnectorError, TerminalConnectorError) as exc:
            failures.append(exc)  # the other kinds are still sent
    logger.info("run %s (%s): %s message(s) sent per kind", run_id, event or "manual", sent)
    if failures:
        raise failures[0]
    return {"run_id": run_id, "sent": sum(sent.values()), "kinds": sent, "notifier": notifier}
