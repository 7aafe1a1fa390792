"""`catalog.signing.verify_signature` answers every malformed header with `SignatureError`
(a receiver maps it to 401), never another exception type."""

from __future__ import annotations

import time

import pytest

from catalog.signing import SignatureError, signature_headers, verify_signature

SECRET = "s" * 24
BODY = b'{"id":1}'


def test_a_good_signature_verifies() -> None:
    headers = signature_headers(SECRET, BODY)
    verify_signature(
        SECRET,
        BODY,
        timestamp=headers["X-Skuflow-Timestamp"],
        signature=headers["X-Skuflow-Signature"],
    )


@pytest.mark.parametrize(
    ("timestamp", "signature"),
    [
        (None, "v1=ab"),
        ("now", "v1=ab"),
        ("{now}", "v1=é" + "a" * 63),  # non-ASCII digest: TypeError from compare_digest before
        ("{now}", "v1=\udc00"),  # a lone surrogate, as a lenient header decoder may produce
        ("١٧٠٠٠٠٠٠٠٠", "v1=ab"),  # Arabic-Indic digits: int() reads them, no client sends them
        ("{now}", "v2=ab"),
        ("{now}", "v1="),
        ("{now}", "v1=" + "0" * 64),
        ("1", "v1=ab"),
    ],
)
def test_malformed_headers_raise_signature_error(timestamp: str | None, signature: str) -> None:
    if timestamp is not None:
        timestamp = timestamp.replace("{now}", str(int(time.time())))
    with pytest.raises(SignatureError):
        verify_signature(SECRET, BODY, timestamp=timestamp, signature=signature)
