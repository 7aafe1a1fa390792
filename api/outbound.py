"""Webhook URLs as request fields: refused at subscription time by the outbound URL policy.

Every family that takes a URL skuflow will call later (``/api/webhooks``, ``/api/v2/webhooks``,
an enrich job's ``webhook_url``) declares the field as `OutboundUrl`, so a subscription to an
internal address (``http://169.254.169.254/…``, ``http://10.0.0.1/``, ``http://[::1]:…``,
``http://[64:ff9b::a9fe:a9fe]/``) is a 422 naming the field and why, not a stored row. The rule
is `catalog.outbound`'s, the one each delivery checks again (DNS answers change). A name that
does not resolve yet is accepted: the delivery checks it when it is sent.
"""

from __future__ import annotations

from typing import Annotated

from pydantic import AfterValidator, AnyHttpUrl
from pydantic_core import PydanticCustomError

from catalog.outbound import ALLOW_ENV, OutboundRefused, OutboundUnresolved, check_outbound_url


def _public(url: AnyHttpUrl) -> AnyHttpUrl:
    check_public_url(str(url))
    return url


def check_public_url(url: str) -> str:
    """``url`` if the outbound URL policy lets skuflow call it; a pydantic error otherwise."""
    try:
        check_outbound_url(url)
    except OutboundUnresolved:
        return url
    except OutboundRefused as exc:
        raise PydanticCustomError(
            "outbound_refused",
            "{reason}: skuflow only calls public addresses ({env} opts others in)",
            {"reason": exc.reason, "env": ALLOW_ENV},
        ) from None
    return url


OutboundUrl = Annotated[AnyHttpUrl, AfterValidator(_public)]
"""An http(s) URL the outbound URL policy accepts (see the module docstring)."""
