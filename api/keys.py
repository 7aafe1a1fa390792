"""API keys: issued once, stored as a lookup id and the SHA-256 of the secret part.

A key looks like ``sk_<lookup id>_<secret>``. The lookup id finds the row; the secret's hash is
compared in constant time. The full key is shown once, when created, and cannot be recovered.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from api.models import ApiKey
from catalog.errors import NotFound
from catalog.models import Organization, utcnow
from catalog.repository import get_or_create_organization

PREFIX = "sk"


@dataclass(frozen=True)
class IssuedKey:
    key: ApiKey
    token: str
    """The full bearer token; only ever available here."""


def _hash(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def create_api_key(session: Session, *, organization: str, name: str = "") -> IssuedKey:
    """Issue a key for ``organization`` (created if new)."""
    org = get_or_create_organization(session, name=organization)
    lookup_id = secrets.token_hex(8)
    secret = secrets.token_urlsafe(32)
    key = ApiKey(organization_id=org.id, lookup_id=lookup_id, secret_hash=_hash(secret), name=name)
    session.add(key)
    session.flush()
    return IssuedKey(key=key, token=f"{PREFIX}_{lookup_id}_{secret}")


def authenticate(session: Session, *, token: str) -> Organization | None:
    """The organization a live key belongs to, or None for a malformed, unknown or revoked key."""
    key = authenticate_key(session, token=token)
    return None if key is None else session.get(Organization, key.organization_id)


def authenticate_key(session: Session, *, token: str) -> ApiKey | None:
    """The live key ``token`` is, or None for a malformed, unknown or revoked one."""
    prefix, _, rest = token.partition("_")
    lookup_id, _, secret = rest.partition("_")
    if prefix != PREFIX or not lookup_id or not secret:
        return None
    key = session.scalar(select(ApiKey).where(ApiKey.lookup_id == lookup_id))
    if key is None or key.revoked_at is not None:
        return None
    if not hmac.compare_digest(key.secret_hash, _hash(secret)):
        return None
    return key


def list_api_keys(session: Session, *, organization: str) -> list[ApiKey]:
    return list(
        session.scalars(
            select(ApiKey)
            .join(Organization, Organization.id == ApiKey.organization_id)
            .where(Organization.name == organization)
            .order_by(ApiKey.id)
        )
    )


def revoke_api_key(session: Session, *, organization: str, lookup_id: str) -> ApiKey:
    """Revoke by lookup id (the part after ``sk_`` shown by `list`); revoking twice is fine."""
    key = session.scalar(
        select(ApiKey)
        .join(Organization, Organization.id == ApiKey.organization_id)
        .where(Organization.name == organization, ApiKey.lookup_id == lookup_id)
    )
    if key is None:
        raise NotFound(f"no API key '{lookup_id}' in organization '{organization}'")
    if key.revoked_at is None:
        key.revoked_at = utcnow()
    session.flush()
    return key
