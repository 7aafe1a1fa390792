"""What `/skuflow …` does: parse the text, answer from the store at once, start runs later.

``run <deployment> [catalogue]`` starts a skuflow deployment on the Prefect server
(`run_deployment` with ``timeout=0``: the run is created, not waited for) for the workspace's
organization; only deployments tagged ``skuflow`` whose flow takes an ``organization``
parameter can be started, so a run always acts for the organization its Slack workspace is
mapped to. ``status <run>`` and ``queue <catalogue>`` read the store. Every answer is an
ephemeral message (only the person who typed the command sees it).
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from catalog.models import Catalog, Change, ChangeStatus, Organization, Run

USAGE = (
    "Usage: `/skuflow run <deployment> [catalogue]` starts a run, "
    "`/skuflow status <run>` shows one, `/skuflow queue <catalogue>` shows the review queue."
)
QUEUED = ChangeStatus.QUEUED_FOR_REVIEW.value


@dataclass(frozen=True)
class Reply:
    """The immediate answer, and the work to do after it (a deployment to start)."""

    text: str
    start: tuple[str, str | None] | None = None
    """(deployment, catalogue) to start once the answer is sent."""
    flow_run: str | None = None
    """A Prefect flow run to look up once the answer is sent (status of a run not in the
    store yet)."""


def message(text: str, *, public: bool = False) -> dict[str, Any]:
    return {"response_type": "in_channel" if public else "ephemeral", "text": text}


def answer(session: Session, org: Organization, text: str) -> Reply:
    """The reply to the command text ``text`` for ``org``."""
    words = text.split()
    if not words or words[0] in ("help", "-h", "--help"):
        return Reply(USAGE)
    verb, args = words[0].lower(), words[1:]
    if verb == "run" and 1 <= len(args) <= 2:
        catalogue = args[1] if len(args) == 2 else None
        if catalogue and _catalog(session, org, catalogue) is None:
            return Reply(f"No catalogue *{catalogue}* in {org.name}.")
        return Reply(f"Starting *{args[0]}*…", start=(args[0], catalogue))
    if verb == "status" and len(args) == 1:
        return _status(session, org, args[0])
    if verb == "queue" and len(args) == 1:
        return Reply(_queue(session, org, args[0]))
    return Reply(f"I don't know `{text[:100]}`. {USAGE}")


def _catalog(session: Session, org: Organization, name: str) -> Catalog | None:
    return session.scalar(
        select(Catalog).where(Catalog.organization_id == org.id, Catalog.name == name)
    )


def _status(session: Session, org: Organization, ident: str) -> Reply:
    run = None
    if ident.isdigit():
        run = session.get(Run, int(ident))
    else:
        try:
            flow_run = str(uuid.UUID(ident))
        except ValueError:
            return Reply(f"`{ident[:60]}` is neither a run number nor a flow run id.")
        run = session.scalar(select(Run).where(Run.flow_run_id == flow_run))
        if run is None:
            return Reply(f"Looking up flow run `{flow_run}`…", flow_run=flow_run)
    if run is None or run.organization_id != org.id:
        return Reply(f"No run {ident} in {org.name}.")
    return Reply(describe_run(session, run))


def describe_run(session: Session, run: Run) -> str:
    catalog = session.get(Catalog, run.catalog_id) if run.catalog_id else None
    where = f" of *{catalog.name}*" if catalog else ""
    counts = run.counts or {}
    facts = [f"{k}: {v:,}" for k, v in counts.items() if isinstance(v, int) and k != "changes"]
    changes = counts.get("changes")
    if isinstance(changes, dict) and changes:
        facts.append("changes " + ", ".join(f"{k} {v:,}" for k, v in changes.items()))
    text = f"Run {run.id}{where}: {run.operation} *{run.status}*"
    if facts:
        text += " — " + "; ".join(facts)
    if run.error:
        text += f"\n> {run.error[:300]}"
    return text


def _queue(session: Session, org: Organization, name: str) -> str:
    catalog = _catalog(session, org, name)
    if catalog is None:
        return f"No catalogue *{name}* in {org.name}."
    rows = session.execute(
        select(Change.field, func.count(), func.min(Change.created_at))
        .where(Change.catalog_id == catalog.id, Change.status == QUEUED)
        .group_by(Change.field)
        .order_by(func.count().desc())
    ).all()
    total = sum(count for _, count, _ in rows)
    if not total:
        return f"The review queue of *{name}* is empty."
    fields = ", ".join(f"{field} {count:,}" for field, count, _ in rows[:8])
    oldest = min(at for _, _, at in rows)
    return (
        f"Review queue of *{name}*: {total:,} change(s) — {fields}; the oldest waits since "
        f"{oldest:%Y-%m-%d %H:%M} UTC. `skuflow review list --catalog {name}` shows them."
    )
