"""Settings of the HTTP API (``SKUFLOW_API_*``), validated once per app.

The store itself comes from `catalog.settings` (``SKUFLOW_DATABASE_URL`` / ``SKUFLOW_HOME``)
unless ``store_url`` is given, which is how tests and benchmarks point an app at their own
database.
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import Field, SecretStr, field_validator
from pydantic_settings import SettingsConfigDict

from catalog.settings import SkuflowSettings, normalize_database_url, read_settings
from catalog.settings import get_settings as get_store_settings


class ApiSettings(SkuflowSettings):
    model_config = SettingsConfigDict(env_prefix="SKUFLOW_API_", extra="ignore")

    host: str = Field("127.0.0.1", description="Address `skuflow api` listens on.")
    port: int = Field(8000, ge=0, le=65535, description="Port `skuflow api` listens on.")
    store_url: str | None = Field(
        None, description="Store URL for this app; SKUFLOW_DATABASE_URL/home when unset."
    )
    home: Path | None = Field(
        None, description="Where the API keeps models and files; SKUFLOW_HOME when unset."
    )
    max_body_bytes: int = Field(
        32 * 1024 * 1024, ge=1024, description="Largest request body accepted (413 beyond)."
    )
    jobs: Literal["embedded", "deployments"] = Field(
        "embedded",
        description="Run each job's flow in the API's threads (embedded), or as a flow run of "
        "its prefect.yaml deployment that a worker executes (deployments).",
    )
    job_workers: int = Field(4, ge=1, le=64, description="Threads running background jobs.")
    job_lease_seconds: float = Field(
        60.0,
        ge=1,
        le=3600,
        description="A job's lease, renewed while it runs; a job whose process died is taken "
        "over this long after its last heartbeat.",
    )

    @field_validator("jobs", mode="before")
    @classmethod
    def _legacy_jobs(cls, value: object) -> object:
        """``threads`` and ``prefect`` (before every job was a flow run) mean embedded."""
        return "embedded" if value in ("threads", "prefect") else value

    webhook_timeout: float = Field(10.0, gt=0, description="Seconds per delivery attempt.")
    webhook_attempts: int = Field(5, ge=1, le=20, description="Delivery attempts per webhook.")
    webhook_backoff: float = Field(
        1.0, ge=0, description="First retry delay in seconds; doubles per attempt."
    )
    taxonomy: Path | None = Field(
        None, description="Taxonomy file /api/classify uses when the organization has none."
    )
    companies: Path | None = Field(
        None,
        description="Reference companies CSV: /api/enrich matches against it, and auto-enrichment "
        "and enrich jobs on a catalogue fill firmographics from it.",
    )
    sync_dir: Path | None = Field(
        None, description="Where /api/sync writes files; `<SKUFLOW_HOME>/sync` when unset."
    )
    sync_targets: dict[str, str] = Field(
        default_factory=dict,
        description=(
            "Per sync destination (erp, procurement, warehouse, crm, custom): a directory for "
            "files, or `SQLALCHEMY_URL#table` to upsert into a table."
        ),
    )

    slack_signing_secret: SecretStr | None = Field(
        None, description="The Slack app's signing secret, for slash commands."
    )
    slack_signing_secret_block: str | None = Field(
        None, description="A Prefect Secret block holding the Slack signing secret instead."
    )
    slack_teams: dict[str, str] = Field(
        default_factory=dict,
        description="Slack workspace (team id) to the organization its slash commands act for.",
    )
    slack_response_hosts: list[str] = Field(
        default_factory=lambda: ["hooks.slack.com"],
        description="Hosts a slash command's response_url may point at.",
    )

    @property
    def resolved_store_url(self) -> str:
        if self.store_url:
            return normalize_database_url(self.store_url)
        return get_store_settings().store_url

    @property
    def resolved_home(self) -> Path:
        return self.home or get_store_settings().home

    @property
    def resolved_sync_dir(self) -> Path:
        return self.sync_dir or self.resolved_home / "sync"


def get_api_settings() -> ApiSettings:
    return read_settings(ApiSettings)
