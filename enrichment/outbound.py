"""Whether skuflow may call a URL a user gave it (a webhook endpoint, Slack's `response_url`).

Such URLs must not reach inside the network skuflow runs in: the same address rule as the
safe fetcher (`enrichment.fetch`: only public addresses — no loopback, private, link-local
such as the 169.254.169.254 metadata service, shared, reserved or multicast ones), plus an
optional list of hosts the URL must belong to (Slack answers only come from hooks.slack.com).
`SKUFLOW_OUTBOUND_ALLOW` (comma-separated ``ip`` or ``ip:port``) opts in addresses that are
otherwise refused: an intranet receiver, or a test's local server.

This is the one function outbound callers use, kept small so the shared outbound URL policy
can replace its body without touching them.
"""

from __future__ import annotations

import ipaddress
import os
import socket
from collections.abc import Iterable
from urllib.parse import urlsplit

from catalog.errors import SkuflowError
from enrichment.fetch import _address_allowed, domain_allowed

ALLOW_ENV = "SKUFLOW_OUTBOUND_ALLOW"


class OutboundRefused(SkuflowError):
    """A URL skuflow will not call, and why."""


def check_outbound_url(
    url: str, *, hosts: Iterable[str] = (), allow: Iterable[str] | None = None
) -> None:
    """Raise `OutboundRefused` unless ``url`` is an http(s) URL to a public address.

    Args:
        url: The URL about to be called.
        hosts: When given, the URL's host must be one of these domains (or under one).
        allow: Addresses (``ip`` or ``ip:port``) let through anyway; `SKUFLOW_OUTBOUND_ALLOW`
            when None.
    """
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise OutboundRefused(f"{_safe(url)}: not an http(s) URL with a host")
    host = parts.hostname
    hosts = list(hosts)
    if hosts and not domain_allowed(host, hosts):
        raise OutboundRefused(f"{_safe(url)}: host {host} is not one of {', '.join(hosts)}")
    try:
        port = parts.port or (443 if parts.scheme == "https" else 80)
    except ValueError:
        raise OutboundRefused(f"{_safe(url)}: invalid port") from None
    opted = set(allowed_addresses() if allow is None else allow)
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except socket.gaierror as exc:
        raise OutboundRefused(f"{_safe(url)}: cannot resolve {host}: {exc}") from None
    for info in infos:
        ip = ipaddress.ip_address(str(info[4][0]).split("%", 1)[0])
        if _address_allowed(ip) or str(ip) in opted or f"{ip}:{port}" in opted:
            continue
        raise OutboundRefused(f"{_safe(url)}: {host} resolves to {ip}, a non-public address")


def allowed_addresses() -> tuple[str, ...]:
    """The addresses `SKUFLOW_OUTBOUND_ALLOW` opts in."""
    return tuple(a.strip() for a in os.environ.get(ALLOW_ENV, "").split(",") if a.strip())


def _safe(url: str) -> str:
    """The URL without its path and query, which may carry a credential (Slack's do)."""
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}/…" if parts.netloc else "(no host)"
