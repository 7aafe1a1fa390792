"""Slack notifications through incoming webhooks (slack_sdk's `WebhookClient`).

A team wants to hear about its own catalogue: each route matches events by catalogue, operation
and kind and posts to its own webhook, as a one-line summary or with the records behind it.
Every route is tried even if another fails (one revoked webhook must not silence the rest); the
failures are raised together afterwards. Webhook URLs are secrets: they carry the credential.

The kinds: a run completed, failed, or halted (validation failed, nothing distributed); a
monitor run found drift (told instead of its completion); the review queue grew. Nothing in a
flow calls this block: the ``notify-slack`` deployment (flows/notify_slack.py) is triggered by
the runs' ``skuflow.run.*`` events, so every operation is announced the same way.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

from prefect.blocks.core import Block
from pydantic import BaseModel, Field, SecretStr

from catalog.models import Run, RunStatus
from connectors.base import TerminalConnectorError, TransientConnectorError, block_label
from connectors.retry import call_with_retries, http_status_error

EventKind = Literal[
    "run_completed", "run_failed", "run_halted", "monitor_drift", "review_queue_grew"
]
EVENT_KINDS: tuple[EventKind, ...] = (
    "run_completed",
    "run_failed",
    "run_halted",
    "monitor_drift",
    "review_queue_grew",
)
SECTION_CHARS = 2900
"""Slack refuses a section block over 3,000 characters."""
HEADLINES = {
    "run_completed": ":white_check_mark: {operation} completed for *{catalog}*",
    "run_failed": ":x: {operation} failed for *{catalog}*",
    "run_halted": ":octagonal_sign: {operation} halted for *{catalog}*: validation failed, "
    "nothing was distributed",
    "monitor_drift": ":chart_with_upwards_trend: Monitor found {moved:,} moved value(s) in "
    "*{catalog}*",
    "review_queue_grew": ":inbox_tray: Review queue for *{catalog}* grew to {queue} ({growth:+d})",
}
# Slack's webhook answers that mean the URL itself is dead (revoked, deleted, archived channel).
DEAD_WEBHOOK = {"invalid_token", "no_service", "channel_not_found", "channel_is_archived"}


@dataclass(frozen=True)
class Event:
    """Something a team may want to hear about; `records` are the per-record lines."""

    kind: EventKind
    catalog: str
    operation: str
    run_id: str | None = None
    counts: dict[str, int] = field(default_factory=dict)
    error: str | None = None
    queue_before: int = 0
    queue_after: int = 0
    moved: int = 0
    """Values a monitor run found changed (its drift)."""
    records: list[str] = field(default_factory=list)


def review_queue_event(
    *, catalog: str, operation: str, before: int, after: int, records: Sequence[str] = ()
) -> Event | None:
    """The event for a review queue that went from `before` to `after`; None if it did not grow."""
    if after <= before:
        return None
    return Event(
        kind="review_queue_grew",
        catalog=catalog,
        operation=operation,
        queue_before=before,
        queue_after=after,
        records=list(records),
    )


def run_event(run: Run, *, catalog: str, records: Sequence[str] = ()) -> Event:
    """The event for a finished run row: failed runs carry their error (a failed run with a
    validation report was halted), a monitor run that found drift reports the drift, the
    others their counts (whole numbers only, as a summary line shows them)."""
    counts = {
        name: value
        for name, value in (run.counts or {}).items()
        if isinstance(value, int) and not isinstance(value, bool)
    }
    drift = (run.counts or {}).get("drift") or {}
    moved = sum(v for v in drift.values() if isinstance(v, int)) if isinstance(drift, dict) else 0
    kind: EventKind = "run_completed"
    if run.status == RunStatus.FAILED.value:
        kind = "run_halted" if run.report_path else "run_failed"
    elif moved:
        kind = "monitor_drift"
        counts = {**counts, **{f"{name} moved": n for name, n in drift.items()}}
    return Event(
        kind=kind,
        catalog=catalog,
        operation=run.operation,
        run_id=str(run.id),
        counts=counts,
        error=None if kind == "run_halted" else run.error,
        moved=moved,
        records=list(records),
    )


class SlackRoute(BaseModel):
    """Which events go to which webhook, and how much they say."""

    webhook_url: SecretStr = Field(..., description="The incoming webhook URL (a secret).")
    catalogs: list[str] = Field(
        default_factory=list, description="Catalogues this route hears about; empty for all."
    )
    operations: list[str] = Field(
        default_factory=list, description="Operations (flow names) it hears about; empty for all."
    )
    events: list[EventKind] = Field(
        default_factory=lambda: list(EVENT_KINDS), description="The event kinds it hears about."
    )
    verbosity: Literal["summary", "per_record"] = Field(
        "summary", description="A one-line summary, or the summary followed by each record."
    )

    def matches(self, event: Event) -> bool:
        return (
            event.kind in self.events
            and (not self.catalogs or event.catalog in self.catalogs)
            and (not self.operations or event.operation in self.operations)
        )


class SlackNotifier(Block):
    """Posts run and review-queue events to Slack incoming webhooks, routed per catalogue or
    operation.

    Attributes:
        routes: Where each kind of event goes; an event may match several routes.
        max_records: The most records a per-record message lists before "… and N more".
        attempts: Tries per message before a transient failure is final.
        retry_base_seconds: The first back-off pause; it doubles on every retry.

    Example:
        Tell the team a run finished:
        ```python
        from connectors.slack import SlackNotifier
        from connectors.slack import Event

        notifier = SlackNotifier.load("BLOCK_NAME")
        notifier.notify(Event(kind="run_completed", catalog="fasteners", operation="onboard"))
        ```
    """

    _block_type_name = "skuflow Slack Notifier"
    _block_type_slug = "skuflow-slack-notifier"

    routes: list[SlackRoute] = Field(..., description="Where each kind of event is posted.")
    max_records: int = Field(20, ge=1, description="The most records one message lists.")
    attempts: int = Field(4, ge=1, description="Tries per message before a failure is final.")
    retry_base_seconds: float = Field(
        1.0, ge=0, description="The first back-off pause in seconds; it doubles per retry."
    )

    def describe(self) -> str:
        return block_label(self, "Slack notifier")

    def notify(self, event: Event | None) -> int:
        """Post `event` to every matching route; returns how many messages were sent."""
        if event is None:
            return 0
        errors: list[TransientConnectorError | TerminalConnectorError] = []
        sent = 0
        for index, route in enumerate(self.routes):
            if not route.matches(event):
                continue
            message = render(event, verbosity=route.verbosity, max_records=self.max_records)
            try:
                self._post(index, route, message)
                sent += 1
            except (TransientConnectorError, TerminalConnectorError) as exc:
                errors.append(exc)
        if errors:
            kind = (
                TerminalConnectorError
                if any(isinstance(e, TerminalConnectorError) for e in errors)
                else TransientConnectorError
            )
            raise kind(f"{sent} message(s) sent; " + "; ".join(str(e) for e in errors))
        return sent

    def _post(self, index: int, route: SlackRoute, message: dict[str, Any]) -> None:
        try:
            from slack_sdk.webhook import WebhookClient
        except ImportError:
            raise TerminalConnectorError(
                "Slack needs slack_sdk: pip install 'skuflow[slack]'"
            ) from None
        where = f"{self.describe()}, route {index + 1}"
        client = WebhookClient(route.webhook_url.get_secret_value(), timeout=15, retry_handlers=[])

        def send() -> None:
            try:
                response = client.send(**message)
            except OSError as exc:
                raise TransientConnectorError(f"{where}: cannot reach Slack: {exc}") from None
            if response.status_code == 200:
                return
            body = (response.body or "").strip()
            if body in DEAD_WEBHOOK:
                raise TerminalConnectorError(
                    f"{where}: Slack refused the webhook URL ({body}, HTTP "
                    f"{response.status_code}); create a new incoming webhook"
                )
            retry_after = response.headers.get("Retry-After") or response.headers.get("retry-after")
            raise http_status_error(
                where,
                response.status_code,
                body,
                retry_after=float(retry_after) if retry_after else None,
            )

        call_with_retries(
            send,
            attempts=self.attempts,
            base_delay=self.retry_base_seconds,
            max_delay=max(self.retry_base_seconds * 2 ** (self.attempts - 1), 1.0),
        )


def render(event: Event, *, verbosity: str, max_records: int) -> dict[str, Any]:
    """The webhook payload: `text` (notifications, fallback) and Block Kit `blocks`."""
    headline = HEADLINES[event.kind].format(
        operation=event.operation.capitalize(),
        catalog=event.catalog,
        queue=event.queue_after,
        growth=event.queue_after - event.queue_before,
        moved=event.moved,
    )
    facts = [f"{name}: {count:,}" for name, count in event.counts.items()]
    if event.run_id:
        facts.append(f"run {event.run_id}")
    summary = headline + (" — " + ", ".join(facts) if facts else "")
    if event.error:
        summary += f"\n> {event.error[:500]}"
    blocks: list[dict[str, Any]] = [_section(summary)]
    if verbosity == "per_record" and event.records:
        shown = event.records[:max_records]
        lines = [f"• {line}" for line in shown]
        if len(event.records) > len(shown):
            lines.append(f"… and {len(event.records) - len(shown):,} more")
        blocks.extend(_section(chunk) for chunk in _chunks(lines))
    return {"text": summary, "blocks": blocks[:50]}


def _section(text: str) -> dict[str, Any]:
    return {"type": "section", "text": {"type": "mrkdwn", "text": text[:SECTION_CHARS]}}


def _chunks(lines: list[str]) -> list[str]:
    chunks: list[str] = []
    current = ""
    for line in lines:
        line = line[:SECTION_CHARS]
        if current and len(current) + len(line) + 1 > SECTION_CHARS:
            chunks.append(current)
            current = ""
        current = f"{current}\n{line}" if current else line
    if current:
        chunks.append(current)
    return chunks
