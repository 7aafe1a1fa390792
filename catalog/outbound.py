"""The one outbound URL policy: whether skuflow may call an address a user or a file gave it.

Every call the server makes to a user-given address goes through it: webhook endpoints (the
``/api/webhooks`` and ``/api/v2/webhooks`` subscriptions, an enrich job's ``webhook_url``),
Slack's ``response_url``, and the safe fetcher's pages (`enrichment.fetch`). It lives in the
domain core because both `catalog.webhooks` (the one signed sender) and `enrichment` use it.

The rule: ``http``/``https`` only, a host, and every address the host resolves to public —
no loopback, private, link-local (the 169.254.169.254 cloud metadata service), shared,
reserved, multicast or unspecified address, and no IPv6 form that embeds such an IPv4
address (IPv4-mapped ``::ffff:a.b.c.d``, IPv4-compatible ``::a.b.c.d``, IPv4-translated
``::ffff:0:a.b.c.d``, NAT64 ``64:ff9b::a.b.c.d``, 6to4 ``2002:AABB:CCDD::``, Teredo's
server and client). Optionally the host must be one of some domains (Slack answers only go
to hooks.slack.com). An ``allow`` list (``ip`` or ``ip:port``) opts in addresses otherwise
refused; for the server's own senders it is `SKUFLOW_OUTBOUND_ALLOW` (comma-separated: an
intranet receiver, a test's local server).

Check at subscription time (a clear 422) *and* at each call (DNS answers change):
`OutboundPolicy.resolve` returns the checked address, and callers connect to that address
(`Target.pinned_url`, with the Host header and TLS SNI keeping the name), so an answer that
changes between the check and the connection cannot slip through. A refused URL is never
connected to, so what the policy says does not depend on which internal ports are open.
"""

from __future__ import annotations

import ipaddress
import socket
from collections.abc import Iterable
from dataclasses import dataclass
from urllib.parse import urlsplit

from pydantic import Field
from pydantic_settings import SettingsConfigDict

from catalog.errors import SkuflowError
from catalog.settings import SkuflowSettings, read_settings

ALLOW_ENV = "SKUFLOW_OUTBOUND_ALLOW"


class OutboundSettings(SkuflowSettings):
    """Addresses outbound calls may reach despite the policy (`SKUFLOW_OUTBOUND_ALLOW`)."""

    model_config = SettingsConfigDict(env_prefix="SKUFLOW_OUTBOUND_")

    allow: str = Field(
        "", description="Comma-separated `ip` or `ip:port` let through (an intranet host, tests)."
    )


REFUSED = "refused by outbound policy"
"""How a refused delivery is recorded in the delivery log (then why)."""

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address

_EMBEDDING_96 = tuple(
    ipaddress.ip_network(n)
    for n in (
        "::ffff:0:0/96",  # IPv4-mapped
        "::ffff:0:0:0/96",  # IPv4-translated (SIIT)
        "::/96",  # IPv4-compatible (deprecated)
        "64:ff9b::/96",  # NAT64 well-known prefix
    )
)
"""IPv6 prefixes whose last 32 bits are an IPv4 address the packet ends up at."""
_LOCAL_NAT64 = ipaddress.ip_network("64:ff9b:1::/48")
"""Local-use NAT64 (RFC 8215): translated inside the network, never global."""


class OutboundRefused(SkuflowError):
    """A URL skuflow will not call, and why (``reason``; the message leads with the URL's
    origin only, as its path and query may carry a credential)."""

    def __init__(self, url: str, reason: str) -> None:
        super().__init__(f"{safe_url(url)}: {reason}")
        self.reason = reason


class OutboundUnresolved(OutboundRefused):
    """The host has no address now (DNS): trying later may pass."""


def embedded_ipv4(ip: IPAddress) -> list[ipaddress.IPv4Address]:
    """The IPv4 addresses an IPv6 address carries (and reaches), per the forms above."""
    if isinstance(ip, ipaddress.IPv4Address):
        return []
    found: list[ipaddress.IPv4Address] = []
    if any(ip in net for net in _EMBEDDING_96) and int(ip) > 1:  # not :: or ::1
        found.append(ipaddress.IPv4Address(int(ip) & 0xFFFFFFFF))
    if ip.sixtofour is not None:
        found.append(ip.sixtofour)
    if ip.teredo is not None:
        found.extend(ip.teredo)
    return found


def address_allowed(ip: IPAddress) -> bool:
    """Whether ``ip`` is a public unicast address (and so is every IPv4 address it embeds)."""
    if isinstance(ip, ipaddress.IPv6Address) and ip in _LOCAL_NAT64:
        return False
    embedded = embedded_ipv4(ip)
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    if embedded and isinstance(ip, ipaddress.IPv6Address):
        # the IPv6 wrapper may look global (::a9fe:a9fe does); what counts is where it leads
        return all(_public(v4) for v4 in embedded)
    return _public(ip) and all(_public(v4) for v4 in embedded)


def _public(ip: IPAddress) -> bool:
    return ip.is_global and not ip.is_multicast


def domain_allowed(host: str, domains: Iterable[str]) -> bool:
    """Whether `host` is one of `domains` or under one. An entry may be a bare domain
    (`example.com`) or an origin (`https://example.com`, `http://127.0.0.1:8080`)."""
    host = host.casefold().rstrip(".")
    for domain in domains:
        if "://" in domain:
            domain = urlsplit(domain.strip()).hostname or ""
        domain = domain.casefold().strip().lstrip(".")
        if domain and (host == domain or host.endswith("." + domain)):
            return True
    return False


def allowed_addresses() -> tuple[str, ...]:
    """The addresses `SKUFLOW_OUTBOUND_ALLOW` opts in."""
    allow = read_settings(OutboundSettings).allow
    return tuple(a.strip() for a in allow.split(",") if a.strip())


def safe_url(url: str) -> str:
    """The URL without its path and query, which may carry a credential (Slack's do)."""
    parts = urlsplit(url)
    netloc = parts.netloc.rsplit("@", 1)[-1]
    return f"{parts.scheme}://{netloc}/…" if netloc else "(no host)"


@dataclass(frozen=True)
class Target:
    """A URL that passed the policy, and the checked address to connect to."""

    url: str
    scheme: str
    host: str
    port: int
    address: str

    @property
    def pinned_url(self) -> str:
        """The URL with its host replaced by the checked address (connect here)."""
        parts = urlsplit(self.url)
        literal = f"[{self.address}]" if ":" in self.address else self.address
        return parts._replace(netloc=f"{literal}:{self.port}").geturl()

    @property
    def host_header(self) -> str:
        return urlsplit(self.url).netloc.rsplit("@", 1)[-1]

    @property
    def extensions(self) -> dict[str, str]:
        """httpx request extensions: TLS SNI (and so certificate checks) keep the name."""
        return {"sni_hostname": self.host} if self.scheme == "https" else {}


@dataclass(frozen=True)
class OutboundPolicy:
    """The rule above, with its opt-ins: ``allow`` (``ip`` / ``ip:port``) and ``hosts``."""

    allow: tuple[str, ...] = ()
    hosts: tuple[str, ...] = ()

    @classmethod
    def from_env(cls, *, hosts: Iterable[str] = ()) -> OutboundPolicy:
        """The server's senders' policy: `SKUFLOW_OUTBOUND_ALLOW` opts addresses in."""
        return cls(allow=allowed_addresses(), hosts=tuple(hosts))

    def split(self, url: str) -> tuple[str, str, int]:
        """(scheme, host, port) of an http(s) URL the policy may accept, without resolving."""
        parts = urlsplit(url)
        scheme = parts.scheme.casefold()
        if scheme not in ("http", "https"):
            raise OutboundRefused(url, f"scheme '{parts.scheme or '(none)'}' is not http(s)")
        host = parts.hostname
        if not host:
            raise OutboundRefused(url, "no host")
        if self.hosts and not domain_allowed(host, self.hosts):
            raise OutboundRefused(
                url, f"host {host} is outside allowed_domains ({', '.join(self.hosts)})"
            )
        try:
            port = parts.port or (443 if scheme == "https" else 80)
        except ValueError:
            raise OutboundRefused(url, "invalid port") from None
        return scheme, host, port

    def check_literal(self, url: str) -> None:
        """The checks that need no DNS: scheme, host, port, and the address when the host is
        one (``http://10.0.0.1/``, ``http://[::1]/``) or names this machine (``localhost``).
        For where a lookup must not block (an event loop); `resolve` does the rest."""
        _scheme, host, port = self.split(url)
        if host.casefold().rstrip(".") == "localhost" or host.casefold().endswith(".localhost"):
            addresses = ["127.0.0.1"]
        else:
            try:
                addresses = [str(ipaddress.ip_address(host.split("%", 1)[0]))]
            except ValueError:
                return
        for address in addresses:
            self._allowed(url, host, ipaddress.ip_address(address), port)

    def _allowed(self, url: str, host: str, ip: IPAddress, port: int) -> None:
        if address_allowed(ip) or str(ip) in self.allow or f"{ip}:{port}" in self.allow:
            return
        raise OutboundRefused(url, f"{host} resolves to {ip}, a non-public address")

    def resolve(self, url: str) -> Target:
        """Check ``url`` and resolve its host; every address must pass.

        Raises:
            OutboundUnresolved: the host does not resolve (now).
            OutboundRefused: anything else the policy refuses.
        """
        scheme, host, port = self.split(url)
        try:
            infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
        except (socket.gaierror, UnicodeError) as exc:
            raise OutboundUnresolved(url, f"cannot resolve {host}: {exc}") from None
        addresses = list(dict.fromkeys(str(info[4][0]).split("%", 1)[0] for info in infos))
        if not addresses:
            raise OutboundUnresolved(url, f"{host} has no address")
        for address in addresses:
            self._allowed(url, host, ipaddress.ip_address(address), port)
        return Target(url=url, scheme=scheme, host=host, port=port, address=addresses[0])

    def check(self, url: str) -> None:
        """Raise `OutboundRefused` unless ``url`` passes."""
        self.resolve(url)


def check_outbound_url(
    url: str, *, hosts: Iterable[str] = (), allow: Iterable[str] | None = None
) -> None:
    """Raise `OutboundRefused` unless ``url`` is an http(s) URL to a public address.

    Args:
        url: The URL about to be called (or subscribed).
        hosts: When given, the URL's host must be one of these domains (or under one).
        allow: Addresses (``ip`` or ``ip:port``) let through anyway; `SKUFLOW_OUTBOUND_ALLOW`
            when None.
    """
    opted = allowed_addresses() if allow is None else tuple(allow)
    OutboundPolicy(allow=opted, hosts=tuple(hosts)).check(url)
