"""Database passwords out of flow-run parameters: kept in a Prefect Secret block instead.

A flow run's parameters are stored by the Prefect server and shown in its UI, so a door that
starts a flow with a user's ``postgresql://user:password@host/db#table`` (``skuflow onboard
--table``) hands the flow the URL without its password and the name of a Secret block that
holds it (`stash_password`); the flow puts the password back only where it opens the table
(`with_password`, used by `flows.support.targets.build_targets`), into a block that keeps it as
a secret. The block is named after the URL without its password, so each database has one and
running again with a new password updates it.
"""

from __future__ import annotations

import hashlib

from sqlalchemy.engine import URL, make_url

BLOCK_PREFIX = "skuflow-db-password-"


def split_table(table: str) -> tuple[str, str]:
    """(URL, table name) of ``URL#table``."""
    url, _, name = table.rpartition("#")
    if not url or not name:
        raise ValueError(f"table must look like URL#table_name, not '{redact(table)}'")
    return url, name


def redact(text: str) -> str:
    """``URL#table`` (or a URL) with its password shown as ``***``."""
    url, hash_, name = text.rpartition("#")
    if not url:
        url, hash_, name = text, "", ""
    try:
        shown = make_url(url).render_as_string(hide_password=True)
    except Exception:  # not a URL: nothing to hide in it
        return text
    return f"{shown}{hash_}{name}"


def stash_password(table: str | None) -> tuple[str | None, str | None]:
    """(``table`` without its password, the Secret block now holding it) — or ``table`` as
    given and None when it has no password. Saves the block on the Prefect API in use."""
    if not table:
        return table, None
    url, name = split_table(table)
    parsed = make_url(url)
    if not parsed.password:
        return table, None
    from prefect.blocks.system import Secret

    bare = _without_password(parsed).render_as_string(hide_password=False)
    block = BLOCK_PREFIX + hashlib.sha256(bare.encode()).hexdigest()[:16]
    Secret(value=str(parsed.password)).save(block, overwrite=True)
    return f"{bare}#{name}", block


def _without_password(url: URL) -> URL:
    # URL.set(password=None) keeps the password (None means "unchanged" there)
    return URL.create(
        url.drivername,
        username=url.username,
        host=url.host,
        port=url.port,
        database=url.database,
        query=url.query,
    )


def with_password(table: str | None, password_block: str | None) -> str | None:
    """``table`` with the password from ``password_block`` put back (as it was stashed)."""
    if not table or not password_block:
        return table
    from prefect.blocks.system import Secret

    url, name = split_table(table)
    password = Secret.load(password_block).get()
    full = make_url(url).set(password=password).render_as_string(hide_password=False)
    return f"{full}#{name}"
