"""The supplier upload portal: a supplier sends a file with its own token; the file is checked
against the catalogue's schema and either rejected with every problem by line, or landed.

A landed file goes the way of every supplier file (`flows.support.landing`): it is put in the
catalogue's portal inbox, claimed, and announced with ``skuflow.source.landed``; the onboard
flow then ingests, classifies, enriches, validates and distributes it — on a worker through the
``onboard-on-landing`` deployment's trigger, or (embedded) called by the API (`onboard_landed`).

A supplier cannot read a traceback, and a half-loaded price list is worse than none: the whole
file is read and checked (header, every value's type, the schema's blocking rules, duplicate
ids) before anything is written, and a rejected file leaves no trace in the store. Rules on an
attribute that a model derives (`derive:`) do not reject a file for a missing value, since
enrichment fills it later. Tokens are one per supplier and catalogue, revocable, and stored
hashed.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

from sqlalchemy import select
from sqlalchemy.orm import Session

from api.models import SupplierToken
from catalog.errors import InputError, InputProblem
from catalog.mapping import find_duplicate_ids, map_batch, resolve_columns
from catalog.models import Catalog, Organization, utcnow
from catalog.repository import catalog_schema
from catalog.schema import CatalogSchema
from connectors.fetched_files import LabelledFile
from connectors.files import EXTENSIONS, extension_of

PREFIX = "sup"
MAX_PROBLEMS = 200
MAX_UPLOAD_BYTES = 100 * 1024 * 1024


@dataclass(frozen=True)
class IssuedSupplierToken:
    record: SupplierToken
    token: str
    """The full token; only ever available here."""


@dataclass(frozen=True)
class LandedUpload:
    """A checked upload, claimed in the inbox and announced."""

    supplier: str
    file: str
    rows: int
    source: str
    """The claimed file, what the onboard run reads."""
    catalog: str
    organization: str


@dataclass(frozen=True)
class UploadResult:
    supplier: str
    file: str
    run_id: int | None
    rows: int
    inserted: int | None
    updated: int | None
    unchanged: int | None
    onboarding: str
    """The onboard run's status (embedded), or ``announced`` when a worker runs it."""


def issue_supplier_token(
    session: Session, *, catalog: Catalog, supplier: str
) -> IssuedSupplierToken:
    """A new upload token for `supplier` into `catalog`."""
    if not supplier.strip():
        raise ValueError("a supplier needs a name")
    lookup_id = secrets.token_hex(8)
    secret = secrets.token_urlsafe(32)
    record = SupplierToken(
        catalog_id=catalog.id,
        supplier=supplier.strip(),
        lookup_id=lookup_id,
        secret_hash=_hash(secret),
    )
    session.add(record)
    session.flush()
    return IssuedSupplierToken(record=record, token=f"{PREFIX}_{lookup_id}_{secret}")


def authenticate_supplier(session: Session, *, token: str) -> SupplierToken | None:
    """The live token record for `token`, or None (malformed, unknown, revoked)."""
    prefix, _, rest = token.partition("_")
    lookup_id, _, secret = rest.partition("_")
    if prefix != PREFIX or not lookup_id or not secret:
        return None
    record = session.scalar(select(SupplierToken).where(SupplierToken.lookup_id == lookup_id))
    if record is None or record.revoked_at is not None:
        return None
    return record if hmac.compare_digest(record.secret_hash, _hash(secret)) else None


def revoke_supplier_token(session: Session, *, record: SupplierToken) -> None:
    record.revoked_at = utcnow()
    session.flush()


def check_upload(schema: CatalogSchema, path: Path, *, label: str, batch_size: int) -> int:
    """Read the whole file and return its row count, or raise `InputError` listing every
    problem (up to `MAX_PROBLEMS`) by row and column. Nothing is written."""
    from catalog.validation import SuiteRunner

    source = LabelledFile(path, label)
    problems: list[InputProblem] = []
    mapping = resolve_columns(source.columns(), schema, source=label)
    runner = SuiteRunner(schema, max_examples=MAX_PROBLEMS)
    rows = 0
    seen: dict[str, int] = {}
    row_of: dict[str, int] = {}
    for batch in source.read_batches(batch_size):
        rows += len(batch.rows)
        mapped = map_batch(batch, mapping, schema)
        problems += mapped.problems
        ids = [str(i) for i in mapped.frame.index]
        problems += find_duplicate_ids(ids, [mapped.row_numbers[i] for i in ids], seen, label)
        row_of.update(mapped.row_numbers)
        runner.validate(mapped.frame.reset_index())
    if rows == 0:
        raise InputError.single(label, "has a header but no data rows")
    column_for = mapping.column_for_attribute
    for result in runner.report().failed():
        spec = result.spec
        attribute = schema.by_name[spec.attribute]
        if spec.kind == "not_null" and attribute.derive:
            continue
        if spec.kind == "unique":
            continue  # reported above, with both rows
        for example in result.examples:
            problems.append(
                InputProblem(
                    source=label,
                    message=f"{spec.describe()} (got {example['value']!r})",
                    row=row_of.get(str(example["id"])),
                    column=column_for.get(spec.attribute),
                )
            )
    if problems:
        problems.sort(key=lambda p: (p.row or 0, p.column or ""))
        raise InputError(problems[:MAX_PROBLEMS], truncated=max(len(problems) - MAX_PROBLEMS, 0))
    return rows


def receive_upload(
    session: Session,
    *,
    token: SupplierToken,
    filename: str,
    stream: BinaryIO,
    batch_size: int,
    inbox: Path,
) -> LandedUpload:
    """Check an uploaded file and, if it passes, land it: saved in ``inbox/<catalogue id>/``,
    claimed (`claim_landed_files`) and announced (`emit_source_landed`) for onboarding into the
    token's catalogue. A refused file leaves nothing behind."""
    from flows.support.landing import claim_landed_files, emit_source_landed

    label = _safe_name(filename)
    suffix = extension_of(label)
    if suffix not in EXTENSIONS:
        raise InputError.single(
            label, f"is not a supported file type; send one of {', '.join(sorted(EXTENSIONS))}"
        )
    catalog = session.get(Catalog, token.catalog_id)
    if catalog is None:  # the catalogue was deleted; the token went with it
        raise InputError.single(label, "this upload link no longer has a catalogue")
    schema = catalog_schema(catalog)
    organization = session.get(Organization, catalog.organization_id).name
    folder = inbox / str(catalog.id)
    folder.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="skuflow-upload-") as staging:
        path = Path(staging) / f"upload{suffix}"
        _save(stream, path, label)
        rows = check_upload(schema, path, label=label, batch_size=batch_size)
        name = f"{secrets.token_hex(6)}-{label}"
        shutil.move(path, folder / name)  # a rename on one device; copied whole across
    (claimed,) = claim_landed_files(folder, pattern=name, settle_seconds=0)
    emit_source_landed(
        source=str(claimed),
        catalog=catalog.name,
        origin="portal",
        supplier=token.supplier,
        organization=organization,
    )
    return LandedUpload(
        supplier=token.supplier,
        file=label,
        rows=rows,
        source=str(claimed),
        catalog=catalog.name,
        organization=organization,
    )


def onboard_landed(landed: LandedUpload, *, database_url: str | None) -> UploadResult:
    """Embedded: onboard a landed upload here with the onboard flow, as the
    ``onboard-on-landing`` deployment would on a worker. A run that fails (its validation
    halted it) is reported with its status; what it ingested stays, as for any onboard."""
    from catalog.db import session_scope
    from catalog.models import Run
    from catalog.repository import get_catalog, get_or_create_organization, start_run
    from flows.onboard import onboard

    with session_scope(database_url) as session:
        run_id = start_run(
            session,
            organization=get_or_create_organization(session, name=landed.organization),
            catalog=get_catalog(session, organization=landed.organization, name=landed.catalog),
            operation="onboard",
            params={
                "source": landed.source,
                "catalog": landed.catalog,
                "supplier": landed.supplier,
            },
        ).id
    onboard(
        source=landed.source,
        catalog=landed.catalog,
        organization=landed.organization,
        database_url=database_url,
        run_id=run_id,
        return_state=True,
    )
    with session_scope(database_url) as session:
        run = session.get(Run, run_id)
        status = run.status
        counts = dict((run.counts or {}).get("ingest") or {})
    return UploadResult(
        supplier=landed.supplier,
        file=landed.file,
        run_id=run_id,
        rows=landed.rows,
        inserted=int(counts.get("inserted", 0)),
        updated=int(counts.get("updated", 0)),
        unchanged=int(counts.get("unchanged", 0)),
        onboarding=status,
    )


def announced(landed: LandedUpload) -> UploadResult:
    """With deployments: the upload is announced; a worker's onboard run ingests it."""
    return UploadResult(
        supplier=landed.supplier,
        file=landed.file,
        run_id=None,
        rows=landed.rows,
        inserted=None,
        updated=None,
        unchanged=None,
        onboarding="announced",
    )


def _save(stream: BinaryIO, path: Path, label: str) -> None:
    size = 0
    with path.open("wb") as out:
        while chunk := stream.read(1 << 20):
            size += len(chunk)
            if size > MAX_UPLOAD_BYTES:
                raise InputError.single(
                    label, f"is larger than {MAX_UPLOAD_BYTES // (1024 * 1024)} MB"
                )
            out.write(chunk)


def _safe_name(filename: str) -> str:
    name = Path(filename.replace("\\", "/")).name
    return re.sub(r"[^\w.\- ]+", "_", name).strip() or "upload"


def _hash(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()
