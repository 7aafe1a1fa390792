"""Taxonomies in the store: each version saved once, nodes with their full paths."""

from __future__ import annotations

from sqlalchemy import insert, select
from sqlalchemy.orm import Session

from catalog.models import Organization, TaxonomyNode
from catalog.models import Taxonomy as StoredTaxonomy
from taxonomy.model import Taxonomy


def save_taxonomy(
    session: Session, *, organization: Organization, taxonomy: Taxonomy
) -> StoredTaxonomy:
    """Store a taxonomy version; saving the same version again returns the stored one.

    A version is immutable: the same name and version with different content is refused, so
    assignments recorded against a version always mean what they meant.
    """
    stored = session.scalar(
        select(StoredTaxonomy).where(
            StoredTaxonomy.organization_id == organization.id,
            StoredTaxonomy.name == taxonomy.name,
            StoredTaxonomy.version == taxonomy.version,
        )
    )
    if stored is not None:
        if stored.content_hash != taxonomy.content_hash:
            raise ValueError(
                f"taxonomy '{taxonomy.name}' version {taxonomy.version} is already stored with "
                "different content; give the new file a new version"
            )
        return stored
    stored = StoredTaxonomy(
        organization_id=organization.id,
        name=taxonomy.name,
        version=taxonomy.version,
        content_hash=taxonomy.content_hash,
    )
    session.add(stored)
    session.flush()
    rows = [
        {
            "taxonomy_id": stored.id,
            "node_id": node.id,
            "parent_node_id": node.parent_id,
            "name": node.name,
            "path": node.path_text,
            "level": node.level,
            "attributes": {},
        }
        for node in taxonomy
    ]
    for start in range(0, len(rows), 5000):
        session.connection().execute(insert(TaxonomyNode.__table__), rows[start : start + 5000])
    return stored
