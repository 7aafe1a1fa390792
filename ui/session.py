"""The workbench's session: a signed, expiring cookie (HttpOnly, SameSite=Lax), holding who
signed in, with which API key, a per-session CSRF token and one-shot messages.

The cookie holds no secret: the API key itself is never stored, only its row id, and every
request checks that key is still live — revoking it ends its sessions. Signing (HMAC) makes
the cookie tamper-proof; ``max_age`` makes it expire even if a browser keeps it.
"""

from __future__ import annotations

import hmac
import secrets
import time
from dataclasses import asdict, dataclass, field
from typing import Any

from itsdangerous import BadSignature, URLSafeTimedSerializer

COOKIE = "skuflow_session"


@dataclass
class WebSession:
    csrf: str = field(default_factory=lambda: secrets.token_urlsafe(24))
    key_id: int | None = None
    org_id: int | None = None
    reviewer: str | None = None
    signed_in_at: float | None = None
    flash: list[list[str]] = field(default_factory=list)
    """[level, message] pairs shown once on the next page."""
    dirty: bool = False

    @property
    def signed_in(self) -> bool:
        return self.key_id is not None

    def sign_in(self, *, key_id: int, org_id: int, reviewer: str) -> None:
        """Start a signed-in session with a fresh CSRF token (no fixation of the old one)."""
        self.csrf = secrets.token_urlsafe(24)
        self.key_id, self.org_id, self.reviewer = key_id, org_id, reviewer
        self.signed_in_at = time.time()
        self.dirty = True

    def sign_out(self) -> None:
        self.__init__()  # type: ignore[misc]
        self.dirty = True

    def say(self, message: str, level: str = "ok") -> None:
        self.flash = [*self.flash[-4:], [level, message]]
        self.dirty = True

    def take_flash(self) -> list[list[str]]:
        shown, self.flash = self.flash, []
        if shown:
            self.dirty = True
        return shown

    def csrf_ok(self, token: object) -> bool:
        return isinstance(token, str) and hmac.compare_digest(token, self.csrf)


class SessionCodec:
    """Signs and checks session cookies; an old, altered or foreign cookie reads as none."""

    def __init__(self, secret: str, *, max_age: float) -> None:
        self._serializer = URLSafeTimedSerializer(secret, salt="skuflow.ui.session")
        self.max_age = int(max_age)

    def load(self, raw: str | None) -> WebSession | None:
        if not raw:
            return None
        try:
            data: dict[str, Any] = self._serializer.loads(raw, max_age=self.max_age)
            data.pop("dirty", None)
            return WebSession(**data)
        except (BadSignature, TypeError, ValueError):
            return None

    def dump(self, session: WebSession) -> str:
        data = asdict(session)
        data.pop("dirty")
        return self._serializer.dumps(data)
