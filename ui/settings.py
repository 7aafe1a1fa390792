"""Settings of the workbench (``SKUFLOW_UI_*``)."""

from __future__ import annotations

import os
import secrets
from pathlib import Path

from pydantic import Field, SecretStr
from pydantic_settings import SettingsConfigDict

from catalog.settings import SkuflowSettings

SECRET_FILE = "ui-secret"


class UiSettings(SkuflowSettings):
    model_config = SettingsConfigDict(env_prefix="SKUFLOW_UI_", extra="ignore")

    secret: SecretStr | None = Field(
        None,
        description="Key that signs session cookies; a random one kept in <home>/ui-secret "
        "when unset (so sessions survive a restart).",
    )
    session_hours: float = Field(8.0, gt=0, le=24 * 30, description="How long a sign-in lasts.")
    secure_cookies: bool = Field(
        False, description="Send the session cookie over HTTPS only (set behind TLS)."
    )
    page_size: int = Field(50, ge=5, le=500, description="Changes or records per page.")


def signing_secret(settings: UiSettings, home: Path) -> str:
    """The cookie-signing secret: configured, or generated once and kept (mode 0600)."""
    if settings.secret is not None:
        value = settings.secret.get_secret_value()
        if len(value) < 16:
            raise ValueError("SKUFLOW_UI_SECRET must be at least 16 characters")
        return value
    path = home / SECRET_FILE
    if path.is_file():
        return path.read_text(encoding="utf-8").strip()
    home.mkdir(parents=True, exist_ok=True)
    value = secrets.token_urlsafe(32)
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(descriptor, "w", encoding="utf-8") as handle:
        handle.write(value)
    return value
