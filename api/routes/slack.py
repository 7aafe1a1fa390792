"""Slack slash commands (``POST /api/slack/commands``): `/skuflow run <deployment>
[catalogue]`, `/skuflow status <run>`, `/skuflow queue <catalogue>`.

No API key: Slack signs each request with the app's signing secret (`api.slack.signature`),
and a request whose signature or timestamp is wrong is refused with 401 before anything is
read. The workspace (``team_id``) is mapped to an organization in ``SKUFLOW_API_SLACK_TEAMS``
(``{"T0123ABC": "acme"}``); a workspace not in the map is told so and nothing runs. The answer
comes at once (Slack allows three seconds); starting a run happens after it and is reported to
the command's ``response_url``.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import parse_qs

from fastapi import APIRouter, BackgroundTasks, Request
from sqlalchemy import select

from api.deps import SessionDep, SettingsDep
from api.errors import ErrorBody, unauthorized
from api.settings import ApiSettings
from api.slack.commands import answer, message
from api.slack.runs import deferred
from api.slack.signature import (
    SIGNATURE_HEADER,
    TIMESTAMP_HEADER,
    SlackSignatureError,
    verify_slack_request,
)
from catalog.models import Organization

router = APIRouter(prefix="/api/slack", tags=["slack"])


@router.post(
    "/commands",
    responses={401: {"model": ErrorBody, "description": "Not signed by Slack, or too old."}},
)
async def slash_command(
    request: Request, background: BackgroundTasks, session: SessionDep, settings: SettingsDep
) -> dict[str, Any]:
    """Answer a slash command as an ephemeral message; start runs after answering."""
    body = await request.body()
    secret = _signing_secret(request, settings)
    if secret is None:
        raise unauthorized("slash commands are not set up (no Slack signing secret)")
    try:
        verify_slack_request(
            secret,
            body,
            timestamp=request.headers.get(TIMESTAMP_HEADER),
            signature=request.headers.get(SIGNATURE_HEADER),
        )
    except SlackSignatureError as exc:
        raise unauthorized(f"not a Slack request: {exc}") from None
    form = {key: values[0] for key, values in parse_qs(body.decode("utf-8", "replace")).items()}
    team = form.get("team_id", "")
    organization = settings.slack_teams.get(team)
    org = (
        session.scalar(select(Organization).where(Organization.name == organization))
        if organization
        else None
    )
    if org is None:
        return message(
            f"This Slack workspace ({team or 'unknown'}) is not connected to a skuflow "
            "organization. Ask your skuflow admin to add it to SKUFLOW_API_SLACK_TEAMS."
        )
    reply = answer(session, org, form.get("text", ""))
    if (reply.start or reply.flow_run) and form.get("response_url"):
        background.add_task(
            deferred,
            response_url=form["response_url"],
            hosts=settings.slack_response_hosts,
            organization=org.name,
            start=reply.start,
            flow_run=reply.flow_run,
            user=form.get("user_name") or form.get("user_id"),
        )
    return message(reply.text)


def _signing_secret(request: Request, settings: ApiSettings) -> str | None:
    """The signing secret from the settings, or from its Prefect Secret block (loaded once)."""
    if settings.slack_signing_secret is not None:
        return settings.slack_signing_secret.get_secret_value()
    if not settings.slack_signing_secret_block:
        return None
    cached = getattr(request.app.state, "slack_signing_secret", None)
    if cached is None:
        from prefect.blocks.system import Secret

        cached = str(Secret.load(settings.slack_signing_secret_block).get())
        request.app.state.slack_signing_secret = cached
    return cached
