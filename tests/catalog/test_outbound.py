"""The one outbound URL policy (`catalog.outbound`), shared by the safe fetcher and every webhook
sender: internal addresses are refused however they are written, public ones pass, and the
opt-in list lets a named address through."""

from __future__ import annotations

import ipaddress
from pathlib import Path

import pytest

from catalog.outbound import OutboundPolicy, OutboundRefused, address_allowed, check_outbound_url
from enrichment.fetch import FetchPolicy, FetchRefused, SafeFetcher

INTERNAL_IN_IPV6 = [
    "64:ff9b::a9fe:a9fe",  # NAT64 of 169.254.169.254
    "::a9fe:a9fe",  # IPv4-compatible
    "::ffff:a9fe:a9fe",  # IPv4-mapped
    "::ffff:0:a9fe:a9fe",  # IPv4-translated
    "2002:a9fe:a9fe::",  # 6to4 of 169.254.169.254
    "2002:0a00:0001::1",  # 6to4 of 10.0.0.1
    "2001:0:4136:e378:8000:63bf:3fff:fdd2",  # Teredo, client 192.0.2.45
    "64:ff9b:1::a00:1",  # local-use NAT64
    "::ffff:127.0.0.1",
]
INTERNAL = ["169.254.169.254", "10.0.0.1", "127.0.0.1", "100.64.0.1", "0.0.0.0", "::1", "fe80::1"]
PUBLIC = ["8.8.8.8", "2606:4700:4700::1111", "64:ff9b::808:808", "::ffff:8.8.8.8", "2002:808:808::"]


@pytest.mark.parametrize("address", INTERNAL_IN_IPV6 + INTERNAL)
def test_internal_addresses_are_refused_however_written(address: str) -> None:
    assert not address_allowed(ipaddress.ip_address(address))
    literal = f"[{address}]" if ":" in address else address
    with pytest.raises(OutboundRefused, match="non-public address"):
        check_outbound_url(f"http://{literal}:8080/latest/meta-data/", allow=())


@pytest.mark.parametrize("address", PUBLIC)
def test_public_addresses_pass(address: str) -> None:
    assert address_allowed(ipaddress.ip_address(address))


@pytest.mark.parametrize("address", INTERNAL_IN_IPV6[:5])
def test_the_fetcher_refuses_them_too_without_connecting(address: str, tmp_path: Path) -> None:
    with SafeFetcher(policy=FetchPolicy(respect_robots=False), cache_dir=tmp_path) as fetcher:
        with pytest.raises(FetchRefused, match="non-public address"):
            fetcher.fetch(f"http://[{address}]/")
        assert fetcher.requests_made == 0


def test_opt_ins_and_hosts() -> None:
    OutboundPolicy(allow=("127.0.0.1:8080",)).check("http://127.0.0.1:8080/x")
    with pytest.raises(OutboundRefused):
        OutboundPolicy(allow=("127.0.0.1:8080",)).check("http://127.0.0.1:8081/x")
    with pytest.raises(OutboundRefused, match="outside allowed_domains"):
        OutboundPolicy(allow=("127.0.0.1",), hosts=("hooks.slack.com",)).check("http://127.0.0.1/")
    with pytest.raises(OutboundRefused, match="scheme 'file'"):
        check_outbound_url("file:///etc/passwd")


def test_a_refusal_does_not_show_the_path_or_credentials() -> None:
    with pytest.raises(OutboundRefused) as refused:
        check_outbound_url("http://user:pw@10.0.0.1/services/T0/B0/secret-token", allow=())
    assert "secret-token" not in str(refused.value) and "pw" not in str(refused.value)


def test_the_lookup_free_check_refuses_literals_and_leaves_names_to_the_lookup() -> None:
    policy = OutboundPolicy()
    for url in ("http://[64:ff9b::a9fe:a9fe]/", "http://10.0.0.1/", "http://localhost:9/"):
        with pytest.raises(OutboundRefused, match="non-public address"):
            policy.check_literal(url)
    policy.check_literal("https://hooks.example.invalid/x")  # resolved when it is called
    policy.check_literal("https://8.8.8.8/x")
