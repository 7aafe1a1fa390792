"""Remote files (Drive files, mail attachments) read as row batches through `FileSource`.

Each file is fetched once into a temporary folder and parsed by the same streaming readers as a
local file, so formats, limits and row/column errors are the same wherever a feed comes from.
Problems then name the remote file (`drive://…/feed.csv`), not the temporary path.
"""

from __future__ import annotations

import dataclasses
import tempfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

from catalog.errors import InputError
from catalog.rows import RowBatch
from connectors.files import EXTENSIONS, FileSource

READABLE = {suffix for suffix, fmt in EXTENSIONS.items() if fmt in ("csv", "xlsx")}
"""What supplier files by mail or shared folder usually are: CSV and XLSX."""


@dataclass(frozen=True)
class RemoteFile:
    """A file to read: the name users see, its file name (for the format), and how to fetch it."""

    label: str
    name: str
    fetch: Callable[[Path], object]
    """Copies the file to the path given (what it returns is ignored)."""


class LabelledFile:
    """A local file read under the name users know it by: batches and problems carry `label`."""

    def __init__(self, path: Path, label: str, *, encoding: str = "utf-8") -> None:
        self.path = path
        self.label = label
        self.source = FileSource(path=str(path), encoding=encoding)

    def describe(self) -> str:
        return self.label

    def columns(self) -> list[str]:
        with self._relabelled():
            return self.source.columns()

    def read_batches(self, batch_size: int = 5000) -> Iterator[RowBatch]:
        with self._relabelled():
            for batch in self.source.read_batches(batch_size):
                yield dataclasses.replace(batch, source=self.label)

    @contextmanager
    def _relabelled(self) -> Iterator[None]:
        try:
            yield
        except InputError as exc:
            local = str(self.path)
            problems = [
                dataclasses.replace(
                    p,
                    source=p.source.replace(local, self.label),
                    message=p.message.replace(local, self.label),
                )
                for p in exc.problems
            ]
            raise InputError(problems, exc.truncated) from None


class FetchedFiles:
    """Reads `files` in order; each is fetched on first use and deleted when reading ends."""

    def __init__(self, files: list[RemoteFile], *, encoding: str = "utf-8") -> None:
        self.files = files
        self._encoding = encoding
        self._workdir = tempfile.TemporaryDirectory(prefix="skuflow-fetched-")
        self._local: dict[str, LabelledFile] = {}

    def columns(self) -> list[str]:
        names: dict[str, None] = {}
        for remote in self.files:
            names.update(dict.fromkeys(self._file(remote).columns()))
        return list(names)

    def read_batches(self, batch_size: int = 5000) -> Iterator[RowBatch]:
        try:
            for remote in self.files:
                yield from self._file(remote).read_batches(batch_size)
        finally:
            self._workdir.cleanup()

    def _file(self, remote: RemoteFile) -> LabelledFile:
        if remote.label not in self._local:
            suffix = PurePosixPath(remote.name).suffix.lower()
            local = Path(self._workdir.name) / f"{len(self._local)}{suffix}"
            remote.fetch(local)
            self._local[remote.label] = LabelledFile(local, remote.label, encoding=self._encoding)
        return self._local[remote.label]


def readable(name: str) -> bool:
    return PurePosixPath(name).suffix.lower() in READABLE
