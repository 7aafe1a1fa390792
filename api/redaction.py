"""Server locations kept out of what clients see: job results, job errors, webhook payloads.

A job's result and error are stored on the job and sent in its ``job.*`` webhook, so they must
not carry the server's file paths (its home, the sync folder, the store's file, reference
tables) or database URLs (the store, SQL sync targets), which tell a client how the server is
laid out and may hold a password. `Redactor` replaces each known location with a name
(``<store>``, ``<sync target warehouse>``, ``<home>``, a reference file's name), and any other
URL's password with ``***``; the job runner applies it before anything is stored.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from api.settings import ApiSettings

_URL_PASSWORD = re.compile(r"([a-zA-Z][a-zA-Z0-9+.-]*://[^/\s:@'\"]*):[^@\s/'\"]+@")


@dataclass(frozen=True)
class Redactor:
    replacements: tuple[tuple[str, str], ...] = ()
    """(server location, the name shown instead), longest first."""

    @classmethod
    def for_settings(cls, settings: ApiSettings) -> Redactor:
        pairs: list[tuple[str, str]] = []
        store = settings.resolved_store_url
        pairs += _url_and_file(store, "<store>")
        for destination, target in settings.sync_targets.items():
            url = target.rpartition("#")[0] if "://" in target else target
            pairs += _url_and_file(url, f"<sync target {destination}>")
        pairs.append((str(settings.resolved_sync_dir), "<sync>"))
        pairs.append((str(settings.resolved_home), "<home>"))
        for reference in (settings.companies, settings.taxonomy):
            if reference is not None:
                pairs.append((str(reference), Path(reference).name))
        kept = {(found, shown) for found, shown in pairs if len(found) > 1}
        return cls(tuple(sorted(kept, key=lambda pair: -len(pair[0]))))

    def text(self, value: str) -> str:
        for found, shown in self.replacements:
            if found in value:
                value = value.replace(found, shown)
        return _URL_PASSWORD.sub(r"\1:***@", value)

    def value(self, value: Any) -> Any:  # any JSON-able value
        """``value`` with every string in it (keys included) passed through `text`."""
        if isinstance(value, str):
            return self.text(value)
        if isinstance(value, dict):
            return {self.value(k): self.value(v) for k, v in value.items()}
        if isinstance(value, list | tuple):
            return [self.value(v) for v in value]
        return value


def _url_and_file(url: str, name: str) -> list[tuple[str, str]]:
    """A database URL as written and normalised, and its file for SQLite."""
    pairs = [(url, name)]
    if url.startswith("sqlite"):
        database = url.split(":///", 1)[-1].split("?", 1)[0]
        if database and database != ":memory:":
            pairs.append((database, name))
    else:
        from sqlalchemy.engine import make_url

        try:
            parsed = make_url(url)
        except Exception:  # not a URL: the text itself is the location
            return pairs
        pairs.append((parsed.render_as_string(hide_password=True), name))
        pairs.append((parsed.render_as_string(hide_password=False), name))
    return pairs
