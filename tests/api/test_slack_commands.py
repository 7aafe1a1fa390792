"""Slack slash commands against the running API: Slack's signature and five-minute window are
enforced, the workspace maps to one organization, and `status` / `queue` answer from that
organization's store only. (`run` starts a deployment: tests/orchestration/test_channels.py.)"""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from api.slack.signature import SlackSignatureError, slack_signature, verify_slack_request
from catalog.changes import Proposal, record_changes, stage_basis
from catalog.db import session_scope
from catalog.models import RunStatus
from catalog.records import load_records, pending_record_ids, upsert_records
from catalog.repository import finish_run, get_or_create_organization, start_run, upsert_catalog
from tests.api.conftest import Api, start_api
from tests.api.slack_requests import SIGNING_SECRET, TEAM, slash
from tests.catalog.test_store import SCHEMA, _frame


@pytest.fixture(scope="module")
def slack_api(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Api]:
    tmp = tmp_path_factory.mktemp("slack-api")
    running, server = start_api(
        f"sqlite:///{tmp / 'store.db'}",
        tmp,
        slack_signing_secret=SIGNING_SECRET,
        slack_teams={TEAM: "acme", "T0OTHER": "globex"},
    )
    with session_scope(running.store_url) as session:
        for name in ("acme", "globex"):
            org = get_or_create_organization(session, name=name)
            catalog_id = upsert_catalog(session, organization=org, schema=SCHEMA).id
            if name == "acme":
                frame, hashes = _frame({"A1": "Drill 18V", "A2": "Saw 230V"})
                upsert_records(
                    session, catalog_id=catalog_id, frame=frame, hashes=hashes, source="f"
                )
                ids = pending_record_ids(session, catalog_id=catalog_id, stage="x", version="1")
                batch = load_records(session, record_ids=ids)
                record_changes(
                    session, catalog_id=catalog_id, schema=SCHEMA,
                    proposals=[Proposal(i, "voltage", 18.0, 0.7, "extract") for i in ids],
                    current=batch.values,
                    bases={r: stage_basis(h, "1") for r, h in batch.hashes.items()},
                    operation="enrich", run_id=None,
                )  # fmt: skip
            run = start_run(session, organization=org, catalog=None, operation="export", params={})
            finish_run(
                session, run_id=run.id, status=RunStatus.COMPLETED, counts={"records": 2}
            )  # fmt: skip
    yield running
    server.stop()


def _run_id(api: Api, organization: str) -> int:
    from sqlalchemy import select

    from catalog.models import Organization, Run

    with session_scope(api.store_url) as session:
        org = session.scalar(select(Organization).where(Organization.name == organization))
        return session.scalar(select(Run.id).where(Run.organization_id == org.id))


def test_the_signature_is_slacks_v0_hmac() -> None:
    # the example from Slack's documentation of request verification
    body = (
        b"token=xyzz0WbapA4vBCDEFasx0q6G&team_id=T1DC2JH3J&team_domain=testteamnow&channel_id="
        b"G8PSS9T3V&channel_name=foobar&user_id=U2CERLKJA&user_name=roadrunner&command=%2Fwebhook"
        b"-collect&text=&response_url=https%3A%2F%2Fhooks.slack.com%2Fcommands%2FT1DC2JH3J%2F3977"
        b"00885554%2F96rGlfmibIGlgcZRskXaIFfN&trigger_id=398738663015.47445629121.803a0bc887a14d"
        b"10d2c447fce8b6703c"
    )
    secret, timestamp = "8f742231b10e8888abcd99yyyzzz85a5", "1531420618"
    expected = "v0=a2114d57b48eac39b9ad189dd8316235a7b4a8d21a10bd27519666489c69b503"
    assert slack_signature(secret, body, timestamp) == expected
    verify_slack_request(
        secret, body, timestamp=timestamp, signature=expected, now=1531420618 + 299
    )
    with pytest.raises(SlackSignatureError, match="five minutes"):
        verify_slack_request(secret, body, timestamp=timestamp, signature=expected, now=1531420919)
    with pytest.raises(SlackSignatureError, match="does not match"):
        verify_slack_request(
            secret, body + b"x", timestamp=timestamp, signature=expected, now=1531420618
        )


def test_status_and_queue_answer_from_the_workspaces_organization(slack_api: Api) -> None:
    started = time.monotonic()
    queue = slash(slack_api.url, "queue tools")
    assert time.monotonic() - started < 3
    assert queue.status_code == 200
    assert queue.json()["response_type"] == "ephemeral"
    assert queue.json()["text"].startswith("Review queue of *tools*: 2 change(s) — voltage 2;")

    acme_run = _run_id(slack_api, "acme")
    status = slash(slack_api.url, f"status {acme_run}").json()["text"]
    assert status == f"Run {acme_run}: export *completed* — records: 2"

    # the other workspace sees its own empty queue, and not acme's run
    assert slash(slack_api.url, "queue tools", team="T0OTHER").json()["text"] == (
        "The review queue of *tools* is empty."
    )
    assert slash(slack_api.url, f"status {acme_run}", team="T0OTHER").json()["text"] == (
        f"No run {acme_run} in globex."
    )
    assert "Usage:" in slash(slack_api.url, "").json()["text"]
    assert "I don't know `dance`" in slash(slack_api.url, "dance").json()["text"]


def test_a_run_of_a_catalogue_the_organization_lacks_is_refused_at_once(slack_api: Api) -> None:
    reply = slash(slack_api.url, "run export-nightly nope").json()
    assert reply == {"response_type": "ephemeral", "text": "No catalogue *nope* in acme."}


def test_an_unmapped_workspace_is_told_and_nothing_is_read(slack_api: Api) -> None:
    text = slash(slack_api.url, "queue tools", team="T0STRANGER").json()["text"]
    assert "(T0STRANGER) is not connected" in text


@pytest.mark.parametrize(
    "tamper",
    [
        {"age": 301},
        {"age": -400},
        {"secret": "not-the-signing-secret-at-all-00"},
        {"signature": "v0=" + "0" * 64},
        {"signature": "v1=abc"},
    ],
    ids=["stale", "future", "wrong-secret", "forged", "malformed"],
)
def test_a_request_not_signed_by_slack_just_now_is_refused(slack_api: Api, tamper: dict) -> None:
    reply = slash(slack_api.url, "queue tools", **tamper)
    assert reply.status_code == 401
    assert reply.json()["error"]["code"] == "UNAUTHORIZED"
    assert "not a Slack request" in reply.json()["detail"]
    assert "Review queue" not in reply.text


def test_slash_commands_are_off_without_a_signing_secret(tmp_path: Path) -> None:
    running, server = start_api(f"sqlite:///{tmp_path / 'store.db'}", tmp_path)
    try:
        reply = slash(running.url, "queue tools")
        assert reply.status_code == 401 and "not set up" in reply.json()["detail"]
    finally:
        server.stop()
