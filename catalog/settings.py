"""Settings read from the environment (``SKUFLOW_*``), validated once and cached.

The one entry point is `read_settings(section)`: every layer declares its own section (a
`SkuflowSettings` with its own prefix: `Settings` here for the store, `LLMSettings`,
`SearchSettings`, `OutboundSettings`, `ApiSettings`, `UiSettings`, …) and every door reads it
through this function, so the CLI, the API, the flows and the workbench see the same values.
A section is validated once per state of its variables: changing one (a test, a CLI option
that sets it) is seen on the next read, and `reload_settings()` forgets everything.
The sections live beside the code they configure, which keeps this lowest layer free of
imports from above it.

With nothing set, skuflow keeps everything under ``.skuflow/`` in the working directory:
the SQLite store, trained models and validation reports.
"""

from __future__ import annotations

import os
import threading
from pathlib import Path
from typing import Literal, TypeVar, cast

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict


class SkuflowSettings(BaseSettings):
    """Base of every settings section: `SKUFLOW_*` variables (a section narrows the prefix),
    unknown ones ignored."""

    model_config = SettingsConfigDict(env_prefix="SKUFLOW_", extra="ignore")


SectionT = TypeVar("SectionT", bound=SkuflowSettings)
_Variables = tuple[tuple[str, str], ...]
_sections: dict[type[SkuflowSettings], tuple[_Variables, SkuflowSettings]] = {}
_sections_lock = threading.Lock()


def read_settings(section: type[SectionT]) -> SectionT:
    """A settings section, validated from the environment and kept while its variables stay.

    Raises:
        pydantic.ValidationError: a variable of the section has a value it cannot take.
    """
    prefix = str(section.model_config.get("env_prefix", "")).upper()
    variables = tuple(
        sorted((k.upper(), v) for k, v in os.environ.items() if k.upper().startswith(prefix))
    )
    with _sections_lock:
        kept = _sections.get(section)
        if kept is None or kept[0] != variables:
            kept = _sections[section] = (variables, section())
    return cast(SectionT, kept[1])


def reload_settings() -> None:
    """Forget every section read, so the next `read_settings` sees the environment anew."""
    with _sections_lock:
        _sections.clear()


class Settings(SkuflowSettings):
    """The store and the CLI: where data lives, which organization, how big a batch."""

    home: Path = Field(
        Path(".skuflow"), description="Where the embedded store, models and reports live."
    )
    database_url: str | None = Field(
        None, description="SQLAlchemy URL of the store; a SQLite file under `home` when unset."
    )
    organization: str = Field("default", description="Organization the CLI acts for.")
    batch_size: int = Field(5000, ge=1, le=100_000, description="Records per task batch.")
    task_runner: Literal["threads", "dask"] = Field(
        "threads",
        description="Where a run's batches execute: `threads` in the flow's process, `dask` "
        "on a Dask cluster (worker processes, possibly on other machines).",
    )
    dask_address: str | None = Field(
        None,
        description="Address of a running Dask scheduler (`tcp://host:8786`) for `dask`; "
        "without it a local cluster is started for the run.",
    )
    threads: int = Field(
        2, ge=1, le=64, description="Batches the `threads` runner runs at once (PostgreSQL)."
    )
    dask_workers: int = Field(
        2, ge=1, le=256, description="Worker processes of the local Dask cluster (one thread each)."
    )

    @property
    def store_url(self) -> str:
        if self.database_url:
            return normalize_database_url(self.database_url)
        return f"sqlite:///{self.home / 'skuflow.db'}"

    @property
    def reports_dir(self) -> Path:
        return self.home / "reports"

    @property
    def models_dir(self) -> Path:
        return self.home / "models"


def normalize_database_url(url: str) -> str:
    """Accept the URLs people paste (``postgres://``, ``postgresql://``) and use psycopg 3."""
    for prefix in ("postgres://", "postgresql://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url[len(prefix) :]
    return url


def get_settings() -> Settings:
    """The store's section (`read_settings(Settings)`), which most callers want."""
    return read_settings(Settings)
