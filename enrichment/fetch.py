"""A fetcher safe to point at URLs that came from data: supplier files, templates, pages' links.

What it guards against, and how:

* **Reaching inside the network (SSRF).** The one outbound URL policy (`catalog.outbound`, shared
  with every webhook sender): only `http`/`https`, and every address the host resolves to must
  be public (private, loopback, link-local — which holds the 169.254.169.254 cloud metadata
  service —, shared, reserved, multicast, unspecified and IPv6 forms embedding such an IPv4
  address are refused); the connection then goes to the checked address (Host header and TLS
  SNI keep the name), so a DNS answer that changes between check and connect cannot slip
  through. Redirects are followed by hand, each hop checked the same way. Tests opt in to
  their own local servers with `allow=("127.0.0.1:<port>",)`.
* **Huge or endless bodies.** A declared `Content-Length` over `max_bytes` is refused before
  reading; otherwise the body is streamed and the transfer aborted at `max_bytes`, or when the
  whole fetch exceeds `total_timeout` (a server dripping bytes).
* **Impoliteness.** `robots.txt` is honoured per origin (cached), requests to one host are spaced
  by `per_host_interval` and at most `per_host_concurrency` run at once.
* **Paying twice.** Pages are cached on disk for `cache_ttl` seconds: an index entry per URL
  pointing at the body stored under its content hash (identical pages are stored once).
"""

from __future__ import annotations

import hashlib
import json
import os
import tempfile
import threading
import time
from collections.abc import Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urljoin, urlsplit
from urllib.robotparser import RobotFileParser

from catalog.errors import SkuflowError
from catalog.outbound import (
    OutboundPolicy,
    OutboundRefused,
    OutboundUnresolved,
    Target,
    domain_allowed,
)

__all__ = ["FetchError", "FetchFailed", "FetchPolicy", "FetchRefused", "Page", "SafeFetcher"]
__all__ += ["domain_allowed"]  # re-exported: the web provider filters search results by it

USER_AGENT = "skuflow-enrich/0.1 (+https://github.com/skuflow/skuflow)"
_PAGE_TYPES = ("text/", "application/xhtml", "application/ld+json", "application/json", "/xml")
_REDIRECTS = {301, 302, 303, 307, 308}


class FetchError(SkuflowError):
    """A page could not be fetched; `transient` says whether trying later may help."""

    def __init__(self, url: str, reason: str) -> None:
        super().__init__(f"{url}: {reason}")
        self.url = url
        self.reason = reason


class FetchRefused(FetchError):
    """The fetcher will not fetch this URL (scheme, address, robots.txt, size, type)."""


class FetchFailed(FetchError):
    """The fetch was tried and failed (connection, timeout, HTTP error)."""

    def __init__(self, url: str, reason: str, *, transient: bool) -> None:
        super().__init__(url, reason)
        self.transient = transient


@dataclass(frozen=True)
class Page:
    url: str
    """The URL asked for."""
    final_url: str
    """Where it ended after redirects: the URL to cite."""
    status: int
    content_type: str
    text: str
    sha256: str
    fetched_at: float
    from_cache: bool = False


@dataclass
class FetchPolicy:
    max_bytes: int = 5_000_000
    connect_timeout: float = 5.0
    total_timeout: float = 20.0
    max_redirects: int = 5
    user_agent: str = USER_AGENT
    respect_robots: bool = True
    per_host_interval: float = 1.0
    per_host_concurrency: int = 2
    concurrency: int = 8
    cache_ttl: float = 86_400.0
    allow: tuple[str, ...] = ()
    """Addresses normally refused that may be reached: `"127.0.0.1:8080"` (one port) or
    `"10.1.2.3"` (any port). For tests and deliberate intranet use only."""
    allowed_domains: tuple[str, ...] = ()
    """When set, only these domains (and their subdomains) are fetched, redirects included."""


class _HostGate:
    """Per-host spacing and concurrency."""

    def __init__(self, interval: float, concurrency: int) -> None:
        self.interval = interval
        self.semaphore = threading.Semaphore(max(1, concurrency))
        self.lock = threading.Lock()
        self.next_at = 0.0

    def __enter__(self) -> _HostGate:
        self.semaphore.acquire()
        with self.lock:
            now = time.monotonic()
            wait = self.next_at - now
            self.next_at = max(now, self.next_at) + self.interval
        if wait > 0:
            time.sleep(wait)
        return self

    def __exit__(self, *exc: object) -> None:
        self.semaphore.release()


class PageCache:
    """URL → page metadata (JSON) and content hash → body, under one directory."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory

    def _index(self, url: str) -> Path:
        key = hashlib.sha256(url.encode()).hexdigest()
        return self.directory / "index" / key[:2] / f"{key}.json"

    def _body(self, digest: str) -> Path:
        return self.directory / "bodies" / digest[:2] / digest

    def get(self, url: str, ttl: float) -> Page | None:
        try:
            meta = json.loads(self._index(url).read_text(encoding="utf-8"))
            if time.time() - float(meta["fetched_at"]) > ttl:
                return None
            text = self._body(meta["sha256"]).read_text(encoding="utf-8")
        except (OSError, ValueError, KeyError):
            return None
        return Page(**{**meta, "text": text, "from_cache": True})

    def put(self, page: Page) -> None:
        body = self._body(page.sha256)
        if not body.exists():
            _atomic_write(body, page.text)
        meta = {
            "url": page.url,
            "final_url": page.final_url,
            "status": page.status,
            "content_type": page.content_type,
            "sha256": page.sha256,
            "fetched_at": page.fetched_at,
        }
        _atomic_write(self._index(page.url), json.dumps(meta))


def _atomic_write(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, temp = tempfile.mkstemp(dir=path.parent, suffix=".tmp")
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        handle.write(text)
    os.replace(temp, path)


@dataclass
class SafeFetcher:
    """Fetch pages under a `FetchPolicy`; see the module docstring. Thread-safe."""

    policy: FetchPolicy = field(default_factory=FetchPolicy)
    cache_dir: Path | None = None
    requests_made: int = 0
    """Network requests actually sent (robots.txt included), for tests and reports."""
    _client: Any = field(default=None, repr=False)
    _gates: dict[str, _HostGate] = field(default_factory=dict, repr=False)
    _robots: dict[str, tuple[float, RobotFileParser | None]] = field(
        default_factory=dict, repr=False
    )
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def __post_init__(self) -> None:
        if self.cache_dir is None:
            from catalog.settings import get_settings

            self.cache_dir = get_settings().home / "cache" / "pages"
        self.cache = PageCache(self.cache_dir)

    def close(self) -> None:
        if self._client is not None:
            self._client.close()
            self._client = None

    def __enter__(self) -> SafeFetcher:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- public ------------------------------------------------------------------------------

    def fetch(self, url: str) -> Page:
        """The page at `url` (from the cache when fresh).

        Raises:
            FetchRefused: scheme, address, domain, robots.txt, size or content type refused.
            FetchFailed: the server could not be reached, timed out or answered an error.
        """
        self._check_url(url)
        cached = self.cache.get(url, self.policy.cache_ttl)
        if cached is not None:
            return cached
        if self.policy.respect_robots and not self._robots_allow(url):
            raise FetchRefused(url, "disallowed by robots.txt")
        page = self._get(url, page=True)
        self.cache.put(page)
        return page

    def fetch_many(self, urls: Iterable[str]) -> dict[str, Page | FetchError]:
        """Fetch distinct URLs concurrently (hosts still gated); each maps to its page or error."""
        distinct = list(dict.fromkeys(urls))
        if not distinct:
            return {}

        def one(url: str) -> Page | FetchError:
            try:
                return self.fetch(url)
            except FetchError as exc:
                return exc

        workers = min(self.policy.concurrency, len(distinct))
        if workers <= 1:
            return {u: one(u) for u in distinct}
        with ThreadPoolExecutor(max_workers=workers) as pool:
            return dict(zip(distinct, pool.map(one, distinct), strict=True))

    # -- checks ------------------------------------------------------------------------------

    def _outbound(self) -> OutboundPolicy:
        return OutboundPolicy(allow=self.policy.allow, hosts=self.policy.allowed_domains)

    def _check_url(self, url: str) -> None:
        try:
            self._outbound().split(url)
        except OutboundRefused as exc:
            raise FetchRefused(url, exc.reason) from None

    def _resolve(self, url: str) -> Target:
        """The checked address for ``url`` (refused if any resolved address is not allowed)."""
        try:
            return self._outbound().resolve(url)
        except OutboundUnresolved as exc:
            raise FetchFailed(url, exc.reason, transient=True) from None
        except OutboundRefused as exc:
            raise FetchRefused(url, exc.reason) from None

    def _robots_allow(self, url: str) -> bool:
        parts = urlsplit(url)
        origin = f"{parts.scheme}://{parts.netloc}"
        with self._lock:
            entry = self._robots.get(origin)
        if entry is None or time.time() - entry[0] > self.policy.cache_ttl:
            parser: RobotFileParser | None
            try:
                robots = self._get(origin + "/robots.txt", page=False)
            except FetchRefused:
                raise
            except FetchError as exc:
                # Unreachable robots.txt: a 4xx means "no rules"; anything else, stay away.
                parser = _allow_all() if _is_client_error(exc) else None
            else:
                parser = RobotFileParser()
                parser.parse(robots.text.splitlines())
            entry = (time.time(), parser)
            with self._lock:
                self._robots[origin] = entry
        parser = entry[1]
        return parser is not None and parser.can_fetch(self.policy.user_agent, url)

    # -- transfer ----------------------------------------------------------------------------

    def _http(self) -> Any:
        import httpx

        with self._lock:
            if self._client is None:
                self._client = httpx.Client(
                    follow_redirects=False,
                    trust_env=False,
                    timeout=httpx.Timeout(
                        self.policy.total_timeout, connect=self.policy.connect_timeout
                    ),
                    headers={"User-Agent": self.policy.user_agent},
                )
            return self._client

    def _gate(self, host: str) -> _HostGate:
        with self._lock:
            gate = self._gates.get(host)
            if gate is None:
                gate = self._gates[host] = _HostGate(
                    self.policy.per_host_interval, self.policy.per_host_concurrency
                )
            return gate

    def _get(self, url: str, *, page: bool) -> Page:
        import httpx

        deadline = time.monotonic() + self.policy.total_timeout
        current = url
        for _ in range(self.policy.max_redirects + 1):
            checked = self._resolve(current)
            with self._gate(checked.host):
                with self._lock:
                    self.requests_made += 1
                try:
                    request = self._http().build_request(
                        "GET",
                        checked.pinned_url,
                        headers={"Host": checked.host_header},
                        extensions=checked.extensions,
                    )
                    response = self._http().send(request, stream=True)
                except httpx.TimeoutException:
                    raise FetchFailed(current, "timed out", transient=True) from None
                except httpx.HTTPError as exc:
                    reason = f"connection failed: {exc}"
                    raise FetchFailed(current, reason, transient=True) from None
                try:
                    if response.status_code in _REDIRECTS and "location" in response.headers:
                        current = urljoin(current, response.headers["location"])
                        continue
                    return self._read(url, current, response, deadline, page=page)
                finally:
                    response.close()
        raise FetchRefused(url, f"more than {self.policy.max_redirects} redirects")

    def _read(self, url: str, final: str, response: Any, deadline: float, *, page: bool) -> Page:
        import httpx

        status = response.status_code
        if status >= 400:
            raise FetchFailed(final, f"HTTP {status}", transient=status == 429 or status >= 500)
        content_type = response.headers.get("content-type", "").split(";")[0].strip().casefold()
        if page and content_type and not any(t in content_type for t in _PAGE_TYPES):
            raise FetchRefused(final, f"content type {content_type} is not a page")
        declared = response.headers.get("content-length")
        if declared and declared.isdigit() and int(declared) > self.policy.max_bytes:
            limit = self.policy.max_bytes
            shown = f"{int(declared):,}"
            raise FetchRefused(final, f"body of {shown} bytes is over the {limit:,} limit")
        chunks: list[bytes] = []
        size = 0
        try:
            for chunk in response.iter_bytes():
                size += len(chunk)
                if size > self.policy.max_bytes:
                    raise FetchRefused(
                        final, f"body exceeds the {self.policy.max_bytes:,} byte limit; aborted"
                    )
                if time.monotonic() > deadline:
                    raise FetchFailed(
                        final, f"took over {self.policy.total_timeout}s; aborted", transient=True
                    )
                chunks.append(chunk)
        except httpx.TimeoutException:
            raise FetchFailed(final, "timed out while reading", transient=True) from None
        except httpx.HTTPError as exc:
            raise FetchFailed(final, f"transfer failed: {exc}", transient=True) from None
        body = b"".join(chunks)
        encoding = response.charset_encoding or "utf-8"
        try:
            text = body.decode(encoding, errors="replace")
        except LookupError:
            text = body.decode("utf-8", errors="replace")
        return Page(
            url=url,
            final_url=final,
            status=status,
            content_type=content_type,
            text=text,
            sha256=hashlib.sha256(body).hexdigest(),
            fetched_at=time.time(),
        )


def _is_client_error(exc: FetchError) -> bool:
    return exc.reason.startswith("HTTP 4")


def _allow_all() -> RobotFileParser:
    parser = RobotFileParser()
    parser.parse([])
    return parser
