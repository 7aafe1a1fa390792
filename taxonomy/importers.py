"""Read taxonomies from the files people actually have.

Google's `id - A > B > C` text, Shopify's `gid : A > B` text, a CSV with an id and a ' > '
path, or bare label paths from a labelled data set. Every reader streams its file and funnels
rows through one builder, so all formats get the same checks (duplicate ids, duplicate paths,
empty segments) and the same repair: an intermediate category that a file never lists gets a
node whose id is its path text, so every node has its parent and a predicted node always
implies its ancestors.
"""

from __future__ import annotations

import csv
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TextIO

import pandas as pd

from catalog.errors import InputError, InputProblem
from taxonomy.model import (
    PATH_SEPARATOR,
    CategoryAttribute,
    Taxonomy,
    TaxonomyNode,
    normalize_path_text,
    split_path,
)

MAX_PROBLEMS = 20
"""Problems listed in one error; the rest are counted, so a broken file gives a readable error."""

_GOOGLE_LINE = re.compile(r"^\s*(\S+)\s+-\s+(.*?)\s*$")
_GOOGLE_VERSION = re.compile(r"^#\s*Google_Product_Taxonomy_Version:\s*(\S+)", re.IGNORECASE)
_SHOPIFY_LINE = re.compile(r"^\s*gid://shopify/\w+/(\S+)\s+:\s+(.*?)\s*$")
_SHOPIFY_VERSION = re.compile(r"^#\s*Shopify Product Taxonomy\b.*:\s*(\S+)\s*$", re.IGNORECASE)
_PATH_COLUMNS = ("path", "full_path")


@dataclass
class _Builder:
    """Collects (id, path) rows with their line numbers, then builds the tree in file order."""

    source: str
    rows: list[tuple[str | None, tuple[str, ...], int | None]] = field(default_factory=list)
    notes: dict[str, tuple[str, tuple[str, ...]]] = field(default_factory=dict)
    """(description, synonyms) by normalised path, for rows that give them."""
    problems: list[InputProblem] = field(default_factory=list)
    truncated: int = 0

    def problem(self, message: str, *, row: int | None, column: str | None = None) -> None:
        if len(self.problems) < MAX_PROBLEMS:
            self.problems.append(InputProblem(self.source, message, row=row, column=column))
        else:
            self.truncated += 1

    def add(
        self,
        node_id: str | None,
        path_text: str,
        *,
        row: int | None,
        column: str | None = None,
        description: str = "",
        synonyms: tuple[str, ...] = (),
    ) -> None:
        path = split_path(path_text)
        if description.strip() or synonyms:
            self.notes[normalize_path_text(path_text)] = (" ".join(description.split()), synonyms)
        if not path_text.strip():
            self.problem("empty category path", row=row, column=column)
        elif any(not part for part in path):
            self.problem(
                f"category path {path_text.strip()!r} has an empty segment", row=row, column=column
            )
        else:
            self.rows.append((node_id, path, row))

    def build(self, name: str, version: str | None) -> Taxonomy:
        if not self.rows and not self.problems:
            self.problem("no categories found (empty file?)", row=None)
        ids: dict[str, tuple[tuple[str, ...], int | None]] = {}
        paths: dict[str, tuple[str, int | None]] = {}
        for node_id, path, row in self.rows:
            real_id = node_id or PATH_SEPARATOR.join(path)
            key = normalize_path_text(PATH_SEPARATOR.join(path))
            seen = ids.get(real_id)
            if seen is not None and _key(seen[0]) != key:
                self.problem(
                    f"id {real_id!r} is used again with a different path "
                    f"({PATH_SEPARATOR.join(path)!r}; first {PATH_SEPARATOR.join(seen[0])!r}"
                    f"{_at(seen[1])})",
                    row=row,
                )
                continue
            other = paths.get(key)
            if other is not None and other[0] != real_id:
                self.problem(
                    f"path {PATH_SEPARATOR.join(path)!r} is listed again with id {real_id!r} "
                    f"(first with id {other[0]!r}{_at(other[1])})",
                    row=row,
                )
                continue
            ids.setdefault(real_id, (path, row))
            paths.setdefault(key, (real_id, row))
        if self.problems:
            raise InputError(self.problems, truncated=self.truncated)

        nodes: dict[str, TaxonomyNode] = {}
        id_of_path = {key: node_id for key, (node_id, _) in paths.items()}
        for node_id, (path, row) in ids.items():
            self._place(nodes, ids, id_of_path, path, row)
            if node_id not in nodes:
                parent = nodes[id_of_path[_key(path[:-1])]] if len(path) > 1 else None
                nodes[node_id] = _node(node_id, path[-1], parent)
        placed = {key: notes for key, notes in self.notes.items() if key in id_of_path}
        descriptions = {id_of_path[k]: text for k, (text, _) in placed.items() if text}
        synonyms = {id_of_path[k]: names for k, (_, names) in placed.items() if names}
        return Taxonomy(
            name=name,
            version=version or "",
            nodes=nodes,
            descriptions=descriptions,
            synonyms=synonyms,
        )

    def _place(
        self,
        nodes: dict[str, TaxonomyNode],
        ids: dict[str, tuple[tuple[str, ...], int | None]],
        id_of_path: dict[str, str],
        path: tuple[str, ...],
        row: int | None,
    ) -> None:
        """Add the ancestors of `path` root first, creating any the file never listed.

        Paths match case-insensitively; each node keeps its own spelling of its name, and its
        path is its parent's path plus that name, so the tree is consistent however rows were
        spelled.
        """
        parent: TaxonomyNode | None = None
        for depth in range(1, len(path)):
            prefix = path[:depth]
            key = _key(prefix)
            ancestor_id = id_of_path.get(key)
            if ancestor_id is None:
                ancestor_id = PATH_SEPARATOR.join(prefix)
                if ancestor_id in ids:
                    raise InputError.single(
                        self.source,
                        f"cannot add missing parent category {ancestor_id!r}: another category "
                        "already uses that text as its id",
                        row=row,
                    )
                id_of_path[key] = ancestor_id
            if ancestor_id not in nodes:
                listed = ids.get(ancestor_id)
                own_name = listed[0][-1] if listed else prefix[-1]
                nodes[ancestor_id] = _node(ancestor_id, own_name, parent)
            parent = nodes[ancestor_id]


def _key(path: tuple[str, ...]) -> str:
    return normalize_path_text(PATH_SEPARATOR.join(path))


def _node(node_id: str, name: str, parent: TaxonomyNode | None) -> TaxonomyNode:
    path = (parent.path if parent else ()) + (name,)
    return TaxonomyNode(node_id, name, path, parent.id if parent else None)


def _at(row: int | None) -> str:
    return "" if row is None else f" at row {row}"


def load_google(path: str | Path, *, name: str = "google") -> Taxonomy:
    """Read Google's `taxonomy-with-ids` text file; its header comment gives the version.

    Raises:
        InputError: a line that is not `id - path`, an id reused with another path, a path
            listed twice, or a file with no categories; each problem names the line.
    """
    return _load_id_lines(
        path,
        name=name,
        line=_GOOGLE_LINE,
        version=_GOOGLE_VERSION,
        shape="id - Category > Subcategory",
    )


def load_shopify(path: str | Path, *, name: str = "shopify") -> Taxonomy:
    """Read Shopify's `categories.txt` (`gid://shopify/TaxonomyCategory/aa-1 : A > B`); the
    header comment gives the version. Ids are the gid's last part (`aa-1`), as in Shopify's
    categories.csv, so both files give the same taxonomy.

    Raises:
        InputError: as `load_google`, for lines that are not `gid : path`.
    """
    return _load_id_lines(
        path,
        name=name,
        line=_SHOPIFY_LINE,
        version=_SHOPIFY_VERSION,
        shape="gid : Category > Subcategory",
    )


def _load_id_lines(
    path: str | Path, *, name: str, line: re.Pattern[str], version: re.Pattern[str], shape: str
) -> Taxonomy:
    builder = _Builder(str(path))
    found_version: str | None = None
    with _open_text(path) as handle:
        for line_no, text in enumerate(handle, start=1):
            stripped = text.strip()
            if not stripped:
                continue
            if stripped.startswith("#"):
                header = version.match(stripped)
                if header and found_version is None:
                    found_version = header.group(1)
                continue
            match = line.match(stripped)
            if match is None:
                builder.problem(f"expected '{shape}', got {_clip(stripped)!r}", row=line_no)
                continue
            builder.add(match.group(1), match.group(2), row=line_no)
    return builder.build(name, found_version)


def load_csv(path: str | Path, *, name: str | None = None, version: str | None = None) -> Taxonomy:
    """Read a CSV with an `id` column and a `path` (or `full_path`) column of ' > ' paths,
    optionally `description` and `synonyms` (split on ';' or '|') for zero-shot matching.

    Other columns are ignored: the path alone defines the tree, so a stale `parent_id` column
    cannot contradict it. A row with an empty id takes its path text as id.

    Raises:
        InputError: no path column, an empty or malformed path, an id reused with another
            path, a path listed twice, or no rows; each problem names the row.
    """
    source = str(path)
    builder = _Builder(source)
    with _open_text(path) as handle:
        reader = csv.DictReader(handle)
        header = [h.strip() for h in (reader.fieldnames or [])]
        if not header:
            raise InputError.single(source, "empty file: expected a header with id and path")
        reader.fieldnames = header
        lowered = {h.lower(): h for h in header}
        path_col = next((lowered[c] for c in _PATH_COLUMNS if c in lowered), None)
        if path_col is None:
            raise InputError.single(
                source,
                f"no path column: expected one of {', '.join(_PATH_COLUMNS)}; "
                f"found {', '.join(header)}",
                row=1,
            )
        id_col = lowered.get("id")
        description_col = lowered.get("description")
        synonyms_col = lowered.get("synonyms")
        for row_no, row in enumerate(reader, start=2):
            if None in row:
                builder.problem(
                    f"{len(header) + len(row[None])} fields where the header has {len(header)}",
                    row=row_no,
                )
                continue
            node_id = (row.get(id_col) or "").strip() if id_col else ""
            builder.add(
                node_id or None,
                row.get(path_col) or "",
                row=row_no,
                column=path_col,
                description=(row.get(description_col) or "") if description_col else "",
                synonyms=_synonyms(row.get(synonyms_col) if synonyms_col else None),
            )
    return builder.build(name or Path(path).stem, version)


def _synonyms(value: object) -> tuple[str, ...]:
    """Other names given as a list (YAML) or one string split on ';' or '|' (CSV)."""
    if value is None:
        return ()
    parts = value if isinstance(value, list) else re.split(r"[;|]", str(value))
    return tuple(" ".join(str(p).split()) for p in parts if str(p).strip())


def load_paths(
    paths: Iterable[str],
    *,
    name: str = "labels",
    version: str | None = None,
    source: str = "labels",
) -> Taxonomy:
    """Build a taxonomy from bare 'A > B > C' label paths; each node's id is its path text.

    Used when labelled data names categories only by path. Repeats are expected (one per
    labelled row) and merged; paths that differ only in case or spacing are the same node.

    Raises:
        InputError: an empty path or segment, naming its 1-based position in `paths`.
    """
    builder = _Builder(source)
    seen: set[str] = set()
    for position, text in enumerate(paths, start=1):
        key = normalize_path_text(text) if text.strip() else ""
        if key and key in seen:
            continue
        seen.add(key)
        builder.add(None, text, row=position)
    return builder.build(name, version)


def load_shopify_folder(folder: str | Path, *, name: str = "shopify") -> Taxonomy:
    """Read a Shopify taxonomy release folder: the tree from `categories.txt` (for its version
    header) or `categories.csv`, and attributes with allowed values when their CSVs are there.

    Raises:
        InputError: no categories file, or a malformed one.
    """
    root = Path(folder)
    if (root / "categories.txt").is_file():
        taxonomy = load_shopify(root / "categories.txt", name=name)
    elif (root / "categories.csv").is_file():
        taxonomy = load_csv(root / "categories.csv", name=name, version=root.name)
    else:
        raise InputError.single(str(root), "no categories.txt or categories.csv in this folder")
    links = root / "category_attributes.csv"
    if links.is_file():
        taxonomy.attributes = _attributes(root, links, taxonomy)
    return taxonomy


def _attributes(
    root: Path, links_path: Path, taxonomy: Taxonomy
) -> dict[str, tuple[CategoryAttribute, ...]]:
    read = {"dtype": str, "keep_default_na": False}
    links = pd.read_csv(
        links_path, usecols=["category_id", "attribute_handle", "attribute_name"], **read
    )
    described: dict[str, str] = {}
    if (root / "attributes.csv").is_file():
        meta = pd.read_csv(root / "attributes.csv", usecols=["handle", "description"], **read)
        described = dict(zip(meta["handle"], meta["description"], strict=True))
    values: dict[str, tuple[str, ...]] = {}
    if (root / "attribute_values.csv").is_file():
        listed = pd.read_csv(
            root / "attribute_values.csv", usecols=["attribute_handle", "value_name"], **read
        )
        values = {
            h: tuple(g) for h, g in listed.groupby("attribute_handle", sort=False)["value_name"]
        }
    made: dict[str, CategoryAttribute] = {}
    out: dict[str, list[CategoryAttribute]] = {}
    for category, handle, label in links.itertuples(index=False, name=None):
        if category not in taxonomy:
            continue
        attribute = made.get(handle)
        if attribute is None:
            attribute = made[handle] = CategoryAttribute(
                handle=handle,
                name=label,
                description=described.get(handle, ""),
                values=values.get(handle, ()),
            )
        out.setdefault(category, []).append(attribute)
    return {category: tuple(found) for category, found in out.items()}


def load_taxonomy(path: str | Path, *, name: str | None = None) -> Taxonomy:
    """Read a taxonomy file, choosing the reader from the extension and, for text, the content:
    a folder is a Shopify release (with attributes), `.yaml` a YAML tree, `.csv` a CSV;
    otherwise Google's `id - path` or Shopify's `gid : path` lines if the first category line
    looks like one, a CSV if it looks like a header, else one bare path per line.

    Raises:
        InputError: the file is empty or malformed for the format it looks like.
    """
    if Path(path).is_dir():
        return load_shopify_folder(path, name=name or "shopify")
    if Path(path).suffix.lower() == ".csv":
        return load_csv(path, name=name)
    if Path(path).suffix.lower() in (".yaml", ".yml"):
        return load_yaml(path, name=name)
    first = _first_content_line(path)
    if first is None:
        raise InputError.single(str(path), "no categories found (empty file?)")
    google = _GOOGLE_LINE.match(first)
    if google is not None and ">" not in google.group(1):
        return load_google(path, name=name or "google")
    if _SHOPIFY_LINE.match(first):
        return load_shopify(path, name=name or "shopify")
    if "," in first and ">" not in first:
        return load_csv(path, name=name)
    return _load_path_lines(path, name=name or Path(path).stem)


def _load_path_lines(path: str | Path, *, name: str) -> Taxonomy:
    builder = _Builder(str(path))
    seen: set[str] = set()
    with _open_text(path) as handle:
        for line_no, line in enumerate(handle, start=1):
            stripped = line.strip()
            if not stripped or stripped.startswith("#"):
                continue
            key = normalize_path_text(stripped)
            if key in seen:
                continue
            seen.add(key)
            builder.add(None, stripped, row=line_no)
    return builder.build(name, None)


def _first_content_line(path: str | Path) -> str | None:
    with _open_text(path) as handle:
        for line in handle:
            stripped = line.strip()
            if stripped and not stripped.startswith("#"):
                return stripped
    return None


def _open_text(path: str | Path) -> _DecodeGuard:
    source = str(path)
    try:
        handle = open(path, encoding="utf-8-sig", newline="")
    except FileNotFoundError:
        raise InputError.single(source, "file not found") from None
    except IsADirectoryError:
        raise InputError.single(source, "is a directory, expected a taxonomy file") from None
    return _DecodeGuard(handle, source)


class _DecodeGuard:
    """Wraps a text handle so a non-UTF-8 file becomes an InputError instead of a traceback."""

    def __init__(self, handle: TextIO, source: str) -> None:
        self._handle = handle
        self._source = source
        self._line = 0

    def __enter__(self) -> _DecodeGuard:
        return self

    def __exit__(self, *exc: object) -> None:
        self._handle.close()

    def __iter__(self) -> _DecodeGuard:
        return self

    def __next__(self) -> str:
        try:
            line = next(self._handle)
        except UnicodeDecodeError as exc:
            raise InputError.single(
                self._source, f"not UTF-8 text ({exc.reason})", row=self._line + 1
            ) from None
        self._line += 1
        return line


def _clip(text: str, limit: int = 80) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


_CODE_NAME = re.compile(r"^\s*(\d+)_(.+?)\s*$")


def label_path(levels: Iterable[str]) -> str:
    """A ' > ' path from per-level labels, dropping GS1-style `code_` prefixes:
    ('64000000_Personal Accessories', '64010100_Jewellery') → 'Personal Accessories > Jewellery'.
    Empty levels (a label that stops early) are skipped."""
    names = []
    for level in levels:
        text = "" if level is None else str(level).strip()
        if not text:
            continue
        match = _CODE_NAME.match(text)
        names.append(match.group(2) if match else text)
    return PATH_SEPARATOR.join(names)


def load_label_levels(
    rows: Iterable[Iterable[str]], *, name: str = "labels", version: str | None = None
) -> Taxonomy:
    """A taxonomy from label sets given one column per level, like GS1's `code_Name` segment,
    family and class labels; node names are the names without their codes.

    Raises:
        InputError: a row whose levels are all empty, naming its position.
    """
    return load_paths((label_path(row) for row in rows), name=name, version=version)


def load_yaml(path: str | Path, *, name: str | None = None) -> Taxonomy:
    """Read a YAML taxonomy: top-level `name`, `version` and `categories`, where categories
    are nested `{name, id?, children?}` mappings, `{id?, path}` mappings, or bare path strings;
    a mapping may add `description` and `synonyms` (a list) for zero-shot matching.

    Raises:
        InputError: not YAML, no categories, or a malformed entry (named by its position).
    """
    import yaml

    source = str(path)
    with _open_text(path) as handle:
        text = "".join(handle)
    try:
        document = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise InputError.single(source, f"not valid YAML ({exc})") from None
    if isinstance(document, list):
        document = {"categories": document}
    if not isinstance(document, dict) or not isinstance(document.get("categories"), list):
        raise InputError.single(source, "expected a 'categories' list")
    builder = _Builder(source)

    def walk(entries: list, prefix: tuple[str, ...], where: str) -> None:
        for position, entry in enumerate(entries, start=1):
            here = f"{where}{position}"
            if isinstance(entry, str):
                builder.add(
                    None,
                    PATH_SEPARATOR.join([*prefix, entry]) if prefix else entry,
                    row=None,
                    column=here,
                )
            elif isinstance(entry, dict) and ("path" in entry or "name" in entry):
                own = str(entry.get("path") or PATH_SEPARATOR.join([*prefix, str(entry["name"])]))
                node_id = str(entry["id"]) if entry.get("id") is not None else None
                builder.add(
                    node_id,
                    own,
                    row=None,
                    column=here,
                    description=str(entry.get("description") or ""),
                    synonyms=_synonyms(entry.get("synonyms")),
                )
                children = entry.get("children") or []
                if not isinstance(children, list):
                    builder.problem("'children' must be a list", row=None, column=here)
                else:
                    walk(children, split_path(own), here + ".")
            else:
                builder.problem(
                    "expected a path string or a mapping with name or path", row=None, column=here
                )

    walk(document["categories"], (), "categories #")
    version = document.get("version")
    return builder.build(
        str(document.get("name") or name or Path(path).stem),
        None if version is None else str(version),
    )
