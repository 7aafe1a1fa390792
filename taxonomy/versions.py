"""What changed between two versions of a taxonomy, and where existing assignments go.

A new version must not silently break assignments made against the old one. Each assigned
path is carried over by node id first (the category may have been renamed or moved: the id
says it is the same category), then by path (same path under a new id), and anything left is
flagged for a person to decide.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Literal

from taxonomy.model import Taxonomy

RemapHow = Literal["unchanged", "id", "path", "review"]


@dataclass(frozen=True)
class TaxonomyDiff:
    """Node ids added, removed, and those whose path changed (old path, new path)."""

    added: list[str] = field(default_factory=list)
    removed: list[str] = field(default_factory=list)
    moved: list[tuple[str, str, str]] = field(default_factory=list)

    @property
    def unchanged(self) -> bool:
        return not (self.added or self.removed or self.moved)


def diff_taxonomies(old: Taxonomy, new: Taxonomy) -> TaxonomyDiff:
    """Compare two versions by node id; lists are in id order so diffs are stable."""
    old_ids, new_ids = set(old.nodes), set(new.nodes)
    moved = [
        (node_id, old[node_id].path_text, new[node_id].path_text)
        for node_id in sorted(old_ids & new_ids)
        if old[node_id].path_text != new[node_id].path_text
    ]
    return TaxonomyDiff(
        added=sorted(new_ids - old_ids), removed=sorted(old_ids - new_ids), moved=moved
    )


@dataclass(frozen=True)
class Remap:
    """Where one assigned path goes in the new version, and how that was decided."""

    old_path: str
    new_path: str | None
    new_id: str | None
    how: RemapHow


def remap_paths(old: Taxonomy, new: Taxonomy, paths: Iterable[str]) -> dict[str, Remap]:
    """Map each distinct assigned path (old version) into the new version: by id, then by
    path, else 'review' with no target. Paths unknown to the old version are matched by path
    alone."""
    out: dict[str, Remap] = {}
    for path in paths:
        if path in out:
            continue
        before = old.resolve(path)
        if before is not None and before.id in new:
            after = new[before.id]
            how: RemapHow = "unchanged" if after.path == before.path else "id"
            out[path] = Remap(path, after.path_text, after.id, how)
            continue
        by_path = new.by_path(path)
        if by_path is not None:
            out[path] = Remap(path, by_path.path_text, by_path.id, "path")
        else:
            out[path] = Remap(path, None, None, "review")
    return out
