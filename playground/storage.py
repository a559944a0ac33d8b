"""Writes that a crash cannot tear: the one place the playground puts a file (or a folder) into place.

Everything the playground keeps (indexes, evaluation runs, registries, workspace settings,
uploaded documents, exported GGUF files) is written beside its target under a hidden temporary
name, flushed to disk, and renamed over the target in one step. A process killed at any moment
leaves either the previous version or the new one, never half of either; the temporary file it
leaves behind starts with a dot, so no reader takes it for the real thing.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path


def write_atomic(path: str | Path, data: str | bytes, *, mode: int = 0o644) -> Path:
    """Replace ``path`` with ``data`` (text as UTF-8) in one step; the folder is created when missing.

    >>> import tempfile, pathlib
    >>> target = pathlib.Path(tempfile.mkdtemp()) / "a" / "settings.json"
    >>> write_atomic(target, '{"x": 1}').read_text()
    '{"x": 1}'
    >>> sorted(p.name for p in target.parent.iterdir())  # no temporary file is left
    ['settings.json']
    """
    path = Path(path)
    with writing(path, mode=mode) as tmp:
        tmp.write_bytes(data.encode("utf-8") if isinstance(data, str) else data)
    return path


@contextlib.contextmanager
def writing(path: str | Path, *, mode: int = 0o644) -> Iterator[Path]:
    """A temporary path beside ``path`` to write to (by any library); renamed over ``path`` on success.

    On an exception the temporary file is removed and ``path`` is left as it was.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, name = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    os.close(fd)
    tmp = Path(name)
    try:
        yield tmp
        with open(tmp, "rb+") as fh:  # on disk before the rename, so a power cut cannot leave an empty file
            os.fsync(fh.fileno())
        os.chmod(tmp, mode)  # mkstemp's 0600 would hide a shared file from other users
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


def replace_dir(
    target: str | Path, fill: Callable[[Path], None], *, complete: Callable[[Path], bool] | None = None
) -> Path:
    """Build a folder with ``fill(tmp)`` in a hidden sibling, then rename it to ``target`` in one step.

    ``complete``: when it says ``target`` is already complete (another writer of the same content
    finished first, e.g. a content-addressed index), that one is kept and this copy discarded.
    """
    target = Path(target)
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".tmp-{target.name}-", dir=target.parent))
    try:
        fill(tmp)
        if complete is not None and complete(target):
            shutil.rmtree(tmp)
        else:
            if target.exists():  # debris of a save that died half-way, or an older version
                shutil.rmtree(target, ignore_errors=True)
            os.replace(tmp, target)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return target


__all__ = ["replace_dir", "write_atomic", "writing"]
