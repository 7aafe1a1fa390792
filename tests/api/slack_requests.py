"""Slash-command requests as Slack sends them: a form body signed with the app's secret."""

from __future__ import annotations

import time
from urllib.parse import urlencode

import httpx

from api.slack.signature import SIGNATURE_HEADER, TIMESTAMP_HEADER, slack_signature

SIGNING_SECRET = "8f742231b10e8888abcd99yyyzzz85a5"
TEAM = "T0SKUFLOW"


def slash(
    base_url: str,
    text: str,
    *,
    team: str = TEAM,
    response_url: str = "",
    secret: str = SIGNING_SECRET,
    age: float = 0,
    signature: str | None = None,
) -> httpx.Response:
    """POST `/skuflow <text>` the way Slack does (signed ``age`` seconds ago)."""
    body = urlencode(
        {
            "token": "deprecated-verification-token",
            "team_id": team,
            "team_domain": "skuflow-test",
            "channel_id": "C0CATALOG",
            "user_id": "U0ANN",
            "user_name": "ann",
            "command": "/skuflow",
            "text": text,
            "response_url": response_url,
            "trigger_id": "13345224609.738474920.8088930838d88f008e0",
        }
    ).encode()
    timestamp = str(int(time.time() - age))
    headers = {
        "Content-Type": "application/x-www-form-urlencoded",
        TIMESTAMP_HEADER: timestamp,
        SIGNATURE_HEADER: signature or slack_signature(secret, body, timestamp),
    }
    return httpx.post(f"{base_url}/api/slack/commands", content=body, headers=headers, timeout=30)
