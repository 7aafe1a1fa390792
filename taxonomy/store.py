"""Taxonomies in the store: each version saved once, nodes with their full paths and
attributes; listing and loading versions; moving a catalogue's assignments to a new version."""

from __future__ import annotations

from collections import Counter
from typing import Any

from sqlalchemy import insert, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from catalog.changes import Proposal, record_changes, stage_basis
from catalog.errors import NotFound
from catalog.models import Catalog, Organization, Record, TaxonomyNode
from catalog.models import Taxonomy as StoredTaxonomy
from catalog.records import record_pages
from catalog.schema import CatalogSchema
from taxonomy.model import CategoryAttribute, Taxonomy
from taxonomy.model import TaxonomyNode as Node
from taxonomy.versions import remap_paths

REMAP = "remap"
"""Operation name of the changes a taxonomy upgrade records."""


def save_taxonomy(
    session: Session, *, organization: Organization, taxonomy: Taxonomy
) -> StoredTaxonomy:
    """Store a taxonomy version; saving the same version again returns the stored one.

    A version is immutable: the same name and version with different content is refused, so
    assignments recorded against a version always mean what they meant.
    """
    stored = _stored_version(session, organization=organization, taxonomy=taxonomy)
    if stored is not None:
        return stored
    stored = StoredTaxonomy(
        organization_id=organization.id,
        name=taxonomy.name,
        version=taxonomy.version,
        content_hash=taxonomy.content_hash,
    )
    try:
        # A savepoint, because two jobs may store the same version at once: the loser reads
        # the winner's row instead of failing its whole transaction.
        with session.begin_nested():
            session.add(stored)
            session.flush()
    except IntegrityError:
        stored = _stored_version(session, organization=organization, taxonomy=taxonomy)
        if stored is None:
            raise
        return stored
    rows = [
        {
            "taxonomy_id": stored.id,
            "node_id": node.id,
            "parent_node_id": node.parent_id,
            "name": node.name,
            "path": node.path_text,
            "level": node.level,
            "attributes": _attributes_json(taxonomy, node.id),
        }
        for node in taxonomy
    ]
    for start in range(0, len(rows), 5000):
        session.connection().execute(insert(TaxonomyNode.__table__), rows[start : start + 5000])
    return stored


def _stored_version(
    session: Session, *, organization: Organization, taxonomy: Taxonomy
) -> StoredTaxonomy | None:
    stored = session.scalar(
        select(StoredTaxonomy).where(
            StoredTaxonomy.organization_id == organization.id,
            StoredTaxonomy.name == taxonomy.name,
            StoredTaxonomy.version == taxonomy.version,
        )
    )
    if stored is not None and stored.content_hash != taxonomy.content_hash:
        raise ValueError(
            f"taxonomy '{taxonomy.name}' version {taxonomy.version} is already stored with "
            "different content; give the new file a new version"
        )
    return stored


def _attributes_json(taxonomy: Taxonomy, node_id: str) -> dict[str, Any]:
    """The node's own attributes, and the user's description and synonyms, in the node's JSON
    column (what zero-shot matchers read besides the path)."""
    extra: dict[str, Any] = {}
    if taxonomy.descriptions.get(node_id):
        extra["description"] = taxonomy.descriptions[node_id]
    if taxonomy.synonyms.get(node_id):
        extra["synonyms"] = list(taxonomy.synonyms[node_id])
    own = taxonomy.attributes.get(node_id, ())
    if not own:
        return extra
    return {
        **extra,
        "attributes": [
            {
                "handle": a.handle,
                "name": a.name,
                "description": a.description,
                "values": list(a.values),
            }
            for a in own
        ],
    }


def list_taxonomies(session: Session, *, organization: Organization) -> list[StoredTaxonomy]:
    """Every stored version, newest first within each name."""
    return list(
        session.scalars(
            select(StoredTaxonomy)
            .where(StoredTaxonomy.organization_id == organization.id)
            .order_by(
                StoredTaxonomy.name, StoredTaxonomy.created_at.desc(), StoredTaxonomy.id.desc()
            )
        )
    )


def find_taxonomy(
    session: Session, *, organization: Organization, name: str, version: str | None = None
) -> StoredTaxonomy:
    """A stored version by name (and version; the newest when none is given).

    Raises:
        NotFound: no such taxonomy or version.
    """
    query = select(StoredTaxonomy).where(
        StoredTaxonomy.organization_id == organization.id, StoredTaxonomy.name == name
    )
    if version is not None:
        query = query.where(StoredTaxonomy.version == version)
    stored = session.scalars(
        query.order_by(StoredTaxonomy.created_at.desc(), StoredTaxonomy.id.desc()).limit(1)
    ).first()
    if stored is None:
        which = f"'{name}'" + (f" version {version}" if version else "")
        raise NotFound(f"no stored taxonomy {which}")
    return stored


def load_stored(session: Session, stored: StoredTaxonomy) -> Taxonomy:
    """The domain taxonomy (nodes and attributes) of a stored version."""
    rows = session.execute(
        select(
            TaxonomyNode.node_id,
            TaxonomyNode.parent_node_id,
            TaxonomyNode.name,
            TaxonomyNode.path,
            TaxonomyNode.attributes,
        )
        .where(TaxonomyNode.taxonomy_id == stored.id)
        .order_by(TaxonomyNode.level, TaxonomyNode.id)
    ).all()
    nodes: dict[str, Node] = {}
    attributes: dict[str, tuple[CategoryAttribute, ...]] = {}
    descriptions: dict[str, str] = {}
    synonyms: dict[str, tuple[str, ...]] = {}
    for row in rows:
        parent = nodes.get(row.parent_node_id) if row.parent_node_id else None
        path = (parent.path if parent else ()) + (row.name,)
        nodes[row.node_id] = Node(row.node_id, row.name, path, row.parent_node_id)
        stored_json = row.attributes or {}
        if stored_json.get("description"):
            descriptions[row.node_id] = str(stored_json["description"])
        if stored_json.get("synonyms"):
            synonyms[row.node_id] = tuple(str(s) for s in stored_json["synonyms"])
        listed = stored_json.get("attributes")
        if listed:
            attributes[row.node_id] = tuple(
                CategoryAttribute(
                    a["handle"], a["name"], a.get("description", ""), tuple(a["values"])
                )
                for a in listed
            )
    return Taxonomy(
        name=stored.name,
        version=stored.version,
        nodes=nodes,
        attributes=attributes,
        descriptions=descriptions,
        synonyms=synonyms,
    )


def remap_catalog(
    session: Session,
    *,
    catalog_id: int,
    schema: CatalogSchema,
    new: Taxonomy,
    run_id: int | None = None,
    batch_size: int = 5000,
) -> Counter[str]:
    """Move a catalogue to a new taxonomy version without silently breaking its assignments.

    Each record's category (a path in the old version) is carried over by node id, then by
    path; those are recorded as applied changes (method `remap-by-id` / `remap-by-path`). A
    category with no counterpart is flagged: a change to the best zero-shot match in the new
    version, held in the review queue whatever its score, so a person decides. The catalogue
    then points at the new version. Re-running records nothing twice.

    Returns:
        Counts by how each record was mapped (unchanged, id, path, review).

    Raises:
        NotFound: the catalogue has no taxonomy yet or no category attribute.
    """
    from taxonomy.lexical import LexicalClassifier
    from taxonomy.text import record_texts

    catalog = session.get(Catalog, catalog_id)
    category = schema.category_attribute
    if catalog is None or catalog.taxonomy_id is None or category is None:
        raise NotFound("the catalogue has no taxonomy or no category attribute to re-map")
    old = load_stored(session, session.get_one(StoredTaxonomy, catalog.taxonomy_id))
    organization = session.get_one(Organization, catalog.organization_id)
    stored_new = save_taxonomy(session, organization=organization, taxonomy=new)
    thresholds = schema.thresholds_for(category.name)
    review_ceiling = max(thresholds.reject, min(thresholds.auto_apply - 0.01, 0.85))
    counts: Counter[str] = Counter()
    matcher: LexicalClassifier | None = None
    pages = record_pages(
        session,
        catalog_id=catalog_id,
        columns=(Record.content_hash, Record.values),
        page_size=batch_size,
    )
    for rows in pages:
        assigned = [r for r in rows if isinstance(r.values.get(category.name), str)]
        plan = remap_paths(old, new, (r.values[category.name] for r in assigned))
        proposals: list[Proposal] = []
        flagged = [r for r in assigned if plan[r.values[category.name]].how == "review"]
        guesses = {}
        if flagged:
            matcher = matcher or LexicalClassifier(new)
            import pandas as pd

            texts = record_texts(pd.DataFrame.from_records([r.values for r in flagged]), schema)
            guesses = dict(zip((r.id for r in flagged), matcher.predict(texts), strict=True))
        for row in assigned:
            step = plan[row.values[category.name]]
            counts[step.how] += 1
            if step.how in ("id", "path"):
                proposals.append(
                    Proposal(
                        record_id=row.id,
                        field=category.name,
                        value=step.new_path,
                        confidence=1.0,
                        provider="taxonomy",
                        method=f"remap-by-{step.how}",
                        explanation=f"'{step.old_path}' is '{step.new_path}' in "
                        f"{new.name} {new.version} (matched by {step.how})",
                    )
                )
            elif step.how == "review":
                guess = guesses[row.id]
                proposals.append(
                    Proposal(
                        record_id=row.id,
                        field=category.name,
                        value=new[guess.node_id].path_text if guess.node_id else None,
                        confidence=min(max(guess.confidence, thresholds.reject), review_ceiling),
                        provider="taxonomy",
                        method="remap-review",
                        explanation=f"'{step.old_path}' does not exist in {new.name} "
                        f"{new.version}; closest category by name proposed for review",
                    )
                )
        record_changes(
            session,
            catalog_id=catalog_id,
            schema=schema,
            proposals=proposals,
            current={r.id: r.values for r in rows},
            bases={
                r.id: stage_basis(r.content_hash, f"{REMAP}:{new.content_hash[:12]}") for r in rows
            },
            operation=REMAP,
            run_id=run_id,
            model=f"taxonomy:{new.name}:{new.version}",
        )
    catalog.taxonomy_id = stored_new.id
    return counts
