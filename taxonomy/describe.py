"""What a zero-shot matcher reads about each category besides its name.

A category's path says what it is ("Clothing > Upper Body Wear/Tops"); a taxonomy may say more:
other names (synonyms), a description the user wrote, and the attributes its products have
with their allowed values (Shopify: "Neckline: Crew, V-neck…"). Each becomes a weighted
document; a matcher embeds them and averages by weight, so one text per node comes out whatever
the taxonomy provides.
"""

from __future__ import annotations

from collections.abc import Sequence

from taxonomy.model import PATH_SEPARATOR, Taxonomy

USER_TEXT_WEIGHT = 1.0
"""The user's own words about a category weigh as much as its path: they know their products."""
ATTRIBUTE_WEIGHT = 0.25
"""Attribute names and values describe a category only loosely (many share "Color", "Size"),
so they tilt its vector without taking it over."""
MAX_ATTRIBUTE_VALUES = 12
"""Values read per attribute: the first few say what kind it is; hundreds of colours do not."""
MAX_DOCUMENT_CHARS = 600


def node_documents(
    taxonomy: Taxonomy, node_ids: Sequence[str], *, name_weight: float = 0.0
) -> list[list[tuple[str, float]]]:
    """Per node, its (text, weight) documents: the path first, then its own name at
    `name_weight` (below the root; a matcher whose path blurs it with its ancestors' words
    asks for it), then the user's description and synonyms, then its attributes (its own or
    its nearest ancestor's) with a few values each."""
    out: list[list[tuple[str, float]]] = []
    for node_id in node_ids:
        node = taxonomy[node_id]
        documents = [(node.path_text, 1.0)]
        if name_weight and node.parent_id:
            documents.append((node.name, name_weight))
        user = [*taxonomy.synonyms.get(node_id, ()), taxonomy.descriptions.get(node_id, "")]
        user_text = ". ".join(part.strip() for part in user if part and part.strip())
        if user_text:
            documents.append((f"{node.name}: {user_text}"[:MAX_DOCUMENT_CHARS], USER_TEXT_WEIGHT))
        attributes = taxonomy.attributes_of(node_id) if taxonomy.attributes else ()
        if attributes:
            described = "; ".join(
                f"{a.name}: {', '.join(a.values[:MAX_ATTRIBUTE_VALUES])}" if a.values else a.name
                for a in attributes
            )
            documents.append(
                (f"{node.name} {PATH_SEPARATOR} {described}"[:MAX_DOCUMENT_CHARS], ATTRIBUTE_WEIGHT)
            )
        out.append(documents)
    return out
