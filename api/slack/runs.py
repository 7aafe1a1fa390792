"""The deferred half of a slash command: start a deployment (or look up a flow run) on the
Prefect server, then post the outcome to Slack's ``response_url``.

Slack waits three seconds for the first answer; creating a flow run can take longer on a busy
server, so it happens here, after the answer was sent. The ``response_url`` is a URL from the
request: it must pass the outbound check (Slack's hosts only, public addresses only) before
anything is posted to it.
"""

from __future__ import annotations

import logging
from typing import Any

import httpx

from api.slack.commands import message
from catalog.outbound import OutboundPolicy, OutboundRefused

log = logging.getLogger("skuflow.api.slack")
REQUIRED_TAG = "skuflow"


class CommandRefused(Exception):
    """A deployment Slack may not start, and why (said back to the user)."""


def start_deployment(name: str, *, catalog: str | None, organization: str, user: str | None) -> str:
    """Create a flow run of the skuflow deployment ``name`` ("flow/deployment", or a
    deployment name that is unique) for ``organization``; the text to post back."""
    from prefect.client.orchestration import get_client
    from prefect.client.schemas.filters import DeploymentFilter, DeploymentFilterName
    from prefect.deployments import run_deployment

    with get_client(sync_client=True) as client:
        deployment = _find(client, name, DeploymentFilter, DeploymentFilterName)
        flow_name = client.read_flow(deployment.flow_id).name
        accepted = set((deployment.parameter_openapi_schema or {}).get("properties") or {})
    full = f"{flow_name}/{deployment.name}"
    if REQUIRED_TAG not in (deployment.tags or []):
        raise CommandRefused(f"*{full}* is not a skuflow deployment (tag `{REQUIRED_TAG}`).")
    if "organization" not in accepted:
        raise CommandRefused(
            f"*{full}* does not take an organization, so it cannot be started from Slack."
        )
    parameters: dict[str, Any] = {"organization": organization}
    if catalog:
        if "catalog" not in accepted:
            raise CommandRefused(f"*{full}* does not take a catalogue.")
        parameters["catalog"] = catalog
    tags = ["slack"] + ([f"slack-user:{user}"] if user else [])
    run = run_deployment(full, parameters=parameters, timeout=0, tags=tags)
    what = f" for *{catalog}*" if catalog else ""
    return (
        f"Started *{full}*{what}: flow run `{run.name}` (`{run.id}`). "
        f"`/skuflow status {run.id}` follows it."
    )


def flow_run_status(flow_run_id: str, *, organization: str) -> str:
    """The state of a flow run that has no skuflow run yet (it has not started)."""
    from prefect.client.orchestration import get_client

    with get_client(sync_client=True) as client:
        try:
            run = client.read_flow_run(flow_run_id)
        except Exception:  # Prefect raises ObjectNotFound for unknown ids
            return f"No flow run {flow_run_id}."
    if (run.parameters or {}).get("organization") != organization:
        return f"No flow run {flow_run_id} for {organization}."
    state = run.state.name if run.state else "unknown"
    return f"Flow run `{run.name}` is *{state}* (it has not reported a skuflow run yet)."


def _find(client: Any, name: str, filter_type: Any, name_filter: Any) -> Any:
    if "/" in name:
        try:
            return client.read_deployment_by_name(name)
        except Exception:
            raise CommandRefused(f"No deployment *{name}*.") from None
    found = client.read_deployments(
        deployment_filter=filter_type(name=name_filter(any_=[name])), limit=5
    )
    if not found:
        raise CommandRefused(f"No deployment *{name}*.")
    if len(found) > 1:
        raise CommandRefused(f"Several deployments are called *{name}*: name it flow/{name}.")
    return found[0]


def post_response(response_url: str, text: str, *, hosts: list[str]) -> bool:
    """Post ``text`` to Slack's ``response_url`` when the outbound check lets it through."""
    try:  # checked, then sent to the address checked (a DNS answer may change in between)
        target = OutboundPolicy.from_env(hosts=hosts).resolve(response_url)
    except OutboundRefused as exc:
        log.warning("slash command answer not posted: %s", exc)
        return False
    try:
        with httpx.Client(timeout=10, follow_redirects=False, trust_env=False) as client:
            reply = client.post(
                target.pinned_url,
                json=message(text),
                headers={"Host": target.host_header},
                extensions=target.extensions,
            )
    except httpx.HTTPError as exc:
        log.warning("slash command answer not posted: %s", type(exc).__name__)
        return False
    if reply.status_code >= 300:
        log.warning("Slack refused the slash command answer: HTTP %s", reply.status_code)
    return reply.status_code < 300


def deferred(
    *,
    response_url: str,
    hosts: list[str],
    organization: str,
    start: tuple[str, str | None] | None,
    flow_run: str | None,
    user: str | None,
) -> None:
    """The background part of a command: do it, then tell Slack how it went."""
    try:
        if start is not None:
            text = start_deployment(
                start[0], catalog=start[1], organization=organization, user=user
            )
        else:
            text = flow_run_status(flow_run or "", organization=organization)
    except CommandRefused as exc:
        text = str(exc)
    except Exception as exc:  # the Prefect server is down, a timeout, …: say so, log it
        log.exception("slash command failed")
        text = f"That did not work: {type(exc).__name__}. The API's log has the details."
    post_response(response_url, text, hosts=hosts)
