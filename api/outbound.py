"""Webhook URLs as request fields: refused at subscription time by the outbound URL policy.

Every family that takes a URL skuflow will call later (``/api/webhooks``, ``/api/v2/webhooks``,
an enrich job's ``webhook_url``) declares the field as `OutboundUrl` and, in the route, calls
`require_public_url`: a subscription to an internal address (``http://169.254.169.254/…``,
``http://10.0.0.1/``, ``http://[::1]:…``, ``http://[64:ff9b::a9fe:a9fe]/``, a name resolving
to one) is a 422 naming the field and why, not a stored row. The rule is `catalog.outbound`'s,
the one each delivery checks again (DNS answers change).

Two steps because of where they run: pydantic validates bodies on the event loop, where a DNS
lookup would stall every request, so the field's validator checks only what needs no lookup
(scheme, literal addresses, ``localhost``); the route body runs in a worker thread and
resolves the name. A name that does not resolve yet is accepted: each delivery checks it.
"""

from __future__ import annotations

from typing import Annotated

from pydantic import AfterValidator, AnyHttpUrl
from pydantic_core import PydanticCustomError

from api.errors import ApiError
from catalog.outbound import ALLOW_ENV, OutboundPolicy, OutboundRefused, OutboundUnresolved

_HINT = "skuflow only calls public addresses ({env} opts others in)"


def _literal(url: AnyHttpUrl) -> AnyHttpUrl:
    check_literal_url(str(url))
    return url


def check_literal_url(url: str) -> str:
    """``url`` unless the policy refuses it without a lookup; a pydantic error then."""
    try:
        OutboundPolicy.from_env().check_literal(url)
    except OutboundRefused as exc:
        raise PydanticCustomError(
            "outbound_refused", "{reason}: " + _HINT, {"reason": exc.reason, "env": ALLOW_ENV}
        ) from None
    return url


def require_public_url(url: str | None, *, field: str) -> None:
    """Raise a 422 naming ``field`` when the outbound URL policy refuses ``url`` (resolving
    its host: call it from the route, in a worker thread)."""
    if url is None:
        return
    try:
        OutboundPolicy.from_env().check(url)
    except OutboundUnresolved:
        return
    except OutboundRefused as exc:
        message = f"{field}: {exc.reason}: {_HINT.format(env=ALLOW_ENV)}"
        detail = {"field": field, "message": message, "type": "outbound_refused"}
        raise ApiError(422, message, details=[detail]) from None


OutboundUrl = Annotated[AnyHttpUrl, AfterValidator(_literal)]
"""An http(s) URL whose literal form the outbound URL policy accepts (see above)."""
