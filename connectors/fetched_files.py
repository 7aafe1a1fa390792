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
from connectors.base import RowBatch
from connectors.files import EXTENSIONS, FileSource

READABLE = {suffix for suffix, fmt in EXTENSIONS.items() if fmt in ("csv", "xlsx")}
"""What supplier files by mail or shared folder usually are: CSV and XLSX."""


@dataclass(frozen=True)
class RemoteFile:
    """A file to read: the name users see, its file name (for the format), and how to fetch it."""

    label: str
    name: str
    fetch: Callable[[Path], None]


class FetchedFiles:
    """Reads `files` in order; each is fetched on first use and deleted when reading ends."""

    def __init__(self, files: list[RemoteFile], *, encoding: str = "utf-8") -> None:
        self.files = files
        self._encoding = encoding
        self._workdir = tempfile.TemporaryDirectory(prefix="skuflow-fetched-")
        self._local: dict[str, FileSource] = {}

    def columns(self) -> list[str]:
        names: dict[str, None] = {}
        for remote in self.files:
            with self._named(remote):
                names.update(dict.fromkeys(self._source(remote).columns()))
        return list(names)

    def read_batches(self, batch_size: int = 5000) -> Iterator[RowBatch]:
        try:
            for remote in self.files:
                with self._named(remote):
                    for batch in self._source(remote).read_batches(batch_size):
                        yield dataclasses.replace(batch, source=remote.label)
        finally:
            self._workdir.cleanup()

    def _source(self, remote: RemoteFile) -> FileSource:
        if remote.label not in self._local:
            suffix = PurePosixPath(remote.name).suffix.lower()
            local = Path(self._workdir.name) / f"{len(self._local)}{suffix}"
            remote.fetch(local)
            self._local[remote.label] = FileSource(path=str(local), encoding=self._encoding)
        return self._local[remote.label]

    @contextmanager
    def _named(self, remote: RemoteFile) -> Iterator[None]:
        try:
            yield
        except InputError as exc:
            if remote.label not in self._local:
                raise
            local = self._local[remote.label].path
            problems = [
                dataclasses.replace(p, source=p.source.replace(local, remote.label))
                for p in exc.problems
            ]
            raise InputError(problems, exc.truncated) from None


def readable(name: str) -> bool:
    return PurePosixPath(name).suffix.lower() in READABLE
