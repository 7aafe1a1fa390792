"""The taxonomy tree every classifier predicts into.

A taxonomy is a versioned set of nodes keyed by id; each node carries its full path, so a
predicted node implies all its ancestors and category levels can never contradict each other.
Ids are always strings: Google's ids look numeric but other taxonomies (Shopify gids, label
paths) do not, and a store must not guess.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field

PATH_SEPARATOR = " > "


def normalize_path_text(value: str) -> str:
    """Case-fold and tidy a ' > ' path so lookups ignore case and stray whitespace."""
    return PATH_SEPARATOR.join(" ".join(part.split()).casefold() for part in value.split(">"))


def split_path(value: str) -> tuple[str, ...]:
    """Split 'A > B > C' into its segments, collapsing whitespace; empty segments are kept so
    callers can reject them with a message."""
    return tuple(" ".join(part.split()) for part in value.split(">"))


@dataclass(frozen=True)
class TaxonomyNode:
    """One category: its id, its own name, its full path from the root, and its parent's id."""

    id: str
    name: str
    path: tuple[str, ...]
    parent_id: str | None

    @property
    def path_text(self) -> str:
        return PATH_SEPARATOR.join(self.path)

    @property
    def level(self) -> int:
        """1 for a root category, 2 for its children, and so on."""
        return len(self.path)


@dataclass(frozen=True)
class CategoryAttribute:
    """An attribute a category's products have (Shopify: color, fabric…), with its allowed
    values when the taxonomy lists them; enrichment builds its output schema from these."""

    handle: str
    name: str
    description: str = ""
    values: tuple[str, ...] = ()


@dataclass
class Taxonomy:
    """A versioned tree of nodes, kept in file order.

    The version is what makes a classification reproducible: a classifier records the taxonomy
    version it was built against. When a source gives none, the content hash stands in, so two
    loads of the same file always agree and any edit yields a new version.

    Raises:
        ValueError: a node's parent is missing or its path does not extend its parent's path;
            importers check their input first and report such problems as InputError.
    """

    name: str
    version: str
    nodes: dict[str, TaxonomyNode]
    attributes: dict[str, tuple[CategoryAttribute, ...]] = field(default_factory=dict)
    """Attributes by node id, for taxonomies that define them; not part of the content hash."""
    descriptions: dict[str, str] = field(default_factory=dict)
    """The user's own description of a node, by node id (YAML `description`, CSV column
    `description`); zero-shot matchers read it. Not part of the content hash."""
    synonyms: dict[str, tuple[str, ...]] = field(default_factory=dict)
    """Other names of a node, by node id (YAML `synonyms`, CSV column `synonyms` split on
    `;` or `|`); zero-shot matchers read them. Not part of the content hash."""
    _by_path: dict[str, str] = field(init=False, repr=False, compare=False)
    _by_name: dict[str, list[str]] = field(init=False, repr=False, compare=False)
    _children: dict[str | None, list[str]] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        self._by_path = {}
        self._by_name = {}
        self._children = {}
        for node_id, node in self.nodes.items():
            if node_id != node.id:
                raise ValueError(f"node stored under id {node_id!r} has id {node.id!r}")
            if node.parent_id is not None:
                parent = self.nodes.get(node.parent_id)
                if parent is None:
                    raise ValueError(f"node {node.id!r}: parent {node.parent_id!r} is missing")
                if parent.path != node.path[:-1]:
                    raise ValueError(
                        f"node {node.id!r}: path {node.path_text!r} does not extend its parent's "
                        f"path {parent.path_text!r}"
                    )
            elif len(node.path) != 1:
                raise ValueError(f"node {node.id!r}: root node has path {node.path_text!r}")
            key = normalize_path_text(node.path_text)
            if key in self._by_path:
                raise ValueError(f"path {node.path_text!r} appears twice")
            self._by_path[key] = node.id
            self._by_name.setdefault(node.name.casefold(), []).append(node.id)
            self._children.setdefault(node.parent_id, []).append(node.id)
        if not self.version:
            self.version = self.content_hash[:16]

    @classmethod
    def from_nodes(
        cls, name: str, nodes: Iterable[TaxonomyNode], *, version: str | None = None
    ) -> Taxonomy:
        return cls(name=name, version=version or "", nodes={n.id: n for n in nodes})

    def __len__(self) -> int:
        return len(self.nodes)

    def __contains__(self, node_id: object) -> bool:
        return node_id in self.nodes

    def __iter__(self) -> Iterator[TaxonomyNode]:
        return iter(self.nodes.values())

    def __getitem__(self, node_id: str) -> TaxonomyNode:
        return self.nodes[node_id]

    def get(self, node_id: str) -> TaxonomyNode | None:
        return self.nodes.get(node_id)

    def by_path(self, path: str) -> TaxonomyNode | None:
        """The node whose full ' > ' path matches, ignoring case and whitespace."""
        node_id = self._by_path.get(normalize_path_text(path))
        return None if node_id is None else self.nodes[node_id]

    def resolve(self, value: str) -> TaxonomyNode | None:
        """Find a node from whatever a user or a labelled file wrote: an id, a full path, or a
        category name that names exactly one node. An ambiguous name resolves to nothing rather
        than to a guess."""
        text = value.strip()
        if not text:
            return None
        if text in self.nodes:
            return self.nodes[text]
        if ">" in text:
            return self.by_path(text)
        node = self.by_path(text)
        if node is not None:
            return node
        ids = self._by_name.get(" ".join(text.split()).casefold(), [])
        return self.nodes[ids[0]] if len(ids) == 1 else None

    def roots(self) -> list[TaxonomyNode]:
        return [self.nodes[i] for i in self._children.get(None, [])]

    def children(self, node_id: str) -> list[TaxonomyNode]:
        self._require(node_id)
        return [self.nodes[i] for i in self._children.get(node_id, [])]

    def ancestors(self, node_id: str) -> list[TaxonomyNode]:
        """Ancestors from the root down to the parent (the node itself excluded)."""
        chain: list[TaxonomyNode] = []
        parent_id = self._require(node_id).parent_id
        while parent_id is not None:
            parent = self.nodes[parent_id]
            chain.append(parent)
            parent_id = parent.parent_id
        chain.reverse()
        return chain

    def attributes_of(self, node_id: str) -> tuple[CategoryAttribute, ...]:
        """The node's own attributes, else its nearest ancestor's (Shopify lists them per
        category; other taxonomies may give them only on broad categories)."""
        for candidate in [self._require(node_id), *reversed(self.ancestors(node_id))]:
            found = self.attributes.get(candidate.id)
            if found:
                return found
        return ()

    def is_leaf(self, node_id: str) -> bool:
        self._require(node_id)
        return node_id not in self._children

    def leaves(self) -> list[TaxonomyNode]:
        return [n for n in self.nodes.values() if n.id not in self._children]

    @property
    def depth(self) -> int:
        return max((n.level for n in self.nodes.values()), default=0)

    @property
    def content_hash(self) -> str:
        """sha256 over ids and paths in id order: stable across loads and file orderings."""
        digest = hashlib.sha256()
        for node_id in sorted(self.nodes):
            digest.update(node_id.encode())
            digest.update(b"\x1f")
            digest.update(self.nodes[node_id].path_text.encode())
            digest.update(b"\x1e")
        return digest.hexdigest()

    def _require(self, node_id: str) -> TaxonomyNode:
        node = self.nodes.get(node_id)
        if node is None:
            raise KeyError(f"taxonomy {self.name!r} has no node {node_id!r}")
        return node
