"""Credentials for Google Workspace APIs (Sheets, Drive) and the gspread client built from them.

A service account is what a scheduled pipeline should use; a short-lived OAuth access token is
accepted for one-off runs. `api_base` sends every call to another host (a proxy or a local test
server) while the client keeps Google's real paths. Errors from gspread, requests and google-auth
are sorted here, once, into transient and terminal.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any, TypeVar

from prefect.blocks.core import Block
from pydantic import Field, SecretStr, model_validator

from connectors.base import TerminalConnectorError, TransientConnectorError
from connectors.retry import call_with_retries, http_status_error

T = TypeVar("T")

SCOPES = [
    "https://www.googleapis.com/auth/spreadsheets",
    "https://www.googleapis.com/auth/drive.readonly",
]
GOOGLE_HOSTS = ("https://sheets.googleapis.com", "https://www.googleapis.com")
RATE_LIMIT_REASONS = {"rateLimitExceeded", "userRateLimitExceeded"}


class GoogleCredentials(Block):
    """A Google service account (or an OAuth access token) for Sheets and Drive.

    Attributes:
        service_account_info: The service account's JSON key.
        access_token: An OAuth access token, used when no service account is given.
        api_base: A base URL that replaces Google's API hosts (a proxy, a test server).

    Example:
        Open a spreadsheet with gspread:
        ```python
        from connectors.google_credentials import GoogleCredentials

        client = GoogleCredentials.load("BLOCK_NAME").gspread_client()
        print(client.open_by_key("SPREADSHEET_ID").title)
        ```
    """

    _block_type_name = "skuflow Google Credentials"
    _block_type_slug = "skuflow-google-credentials"

    service_account_info: SecretStr | None = Field(
        None, description="The service account's JSON key, as text."
    )
    access_token: SecretStr | None = Field(
        None, description="An OAuth access token, used when no service account key is given."
    )
    api_base: str | None = Field(
        None, description="A base URL used instead of Google's API hosts, or None."
    )

    @model_validator(mode="after")
    def _one_credential(self) -> GoogleCredentials:
        if self.service_account_info is None and self.access_token is None:
            raise ValueError("give service_account_info or access_token")
        return self

    def gspread_client(self) -> Any:
        """A gspread client whose HTTP session carries these credentials."""
        try:
            import gspread
            from google.auth.transport.requests import AuthorizedSession
        except ImportError:
            raise TerminalConnectorError(
                "Google Sheets and Drive need gspread: pip install 'skuflow[google]'"
            ) from None
        base = self.api_base.rstrip("/") if self.api_base else None

        class _Session(AuthorizedSession):
            def request(self, method: Any, url: Any, *args: Any, **kwargs: Any) -> Any:
                if base and isinstance(url, str):
                    for host in GOOGLE_HOSTS:
                        if url.startswith(host):
                            url = base + url[len(host) :]
                kwargs.setdefault("timeout", 60)
                return super().request(method, url, *args, **kwargs)

        credentials = self._credentials()
        # gspread authorises through the session given; `auth` is used only without one
        return gspread.Client(auth=credentials, session=_Session(credentials))

    def _credentials(self) -> Any:
        if self.service_account_info is not None:
            from google.oauth2 import service_account

            try:
                info = json.loads(self.service_account_info.get_secret_value())
                return service_account.Credentials.from_service_account_info(info, scopes=SCOPES)
            except (ValueError, KeyError) as exc:
                raise TerminalConnectorError(
                    f"the service account key is not a valid JSON key: {exc}"
                ) from None
        from google.oauth2.credentials import Credentials

        return Credentials(token=self.access_token.get_secret_value())  # type: ignore[union-attr]


def classify_google_error(where: str, exc: BaseException) -> Exception:
    """The connector error for a failure raised by gspread, requests or google-auth."""
    import gspread
    import requests
    from google.auth.exceptions import RefreshError, TransportError

    if isinstance(exc, RefreshError):
        return TerminalConnectorError(f"{where}: credentials rejected ({exc})")
    if isinstance(exc, TransportError | requests.ConnectionError | requests.Timeout):
        return TransientConnectorError(f"{where}: cannot reach Google: {exc}")
    if isinstance(exc, gspread.exceptions.SpreadsheetNotFound):
        return TerminalConnectorError(f"{where}: spreadsheet not found (or not shared with us)")
    if isinstance(exc, PermissionError) and isinstance(exc.__cause__, gspread.exceptions.APIError):
        exc = exc.__cause__
    if isinstance(exc, gspread.exceptions.APIError):
        response = exc.response
        error = exc.error if isinstance(exc.error, dict) else {}
        reasons = {e.get("reason") for e in error.get("errors") or [] if isinstance(e, dict)}
        message = str(error.get("message") or response.text)
        if response.status_code == 403 and (reasons & RATE_LIMIT_REASONS):
            return TransientConnectorError(f"{where}: rate limited: {message}")
        retry_after = response.headers.get("Retry-After")
        return http_status_error(
            where,
            response.status_code,
            message,
            retry_after=float(retry_after) if retry_after else None,
        )
    return exc if isinstance(exc, Exception) else RuntimeError(str(exc))


def call_google(
    where: str, call: Callable[[], T], *, attempts: int, retry_base_seconds: float
) -> T:
    """Run one gspread/Drive call with retries on transient failures; errors come out sorted."""

    def once() -> T:
        try:
            return call()
        except (TransientConnectorError, TerminalConnectorError):
            raise
        except Exception as exc:
            error = classify_google_error(where, exc)
            if error is exc:
                raise
            raise error from None

    return call_with_retries(
        once,
        attempts=attempts,
        base_delay=retry_base_seconds,
        max_delay=max(retry_base_seconds * 2 ** (attempts - 1), 1.0),
    )
