"""Writes that a crash cannot tear: the one place the playground puts a file (or a folder) into place.

Everything the playground keeps (indexes, evaluation runs, registries, workspace settings,
uploaded documents, exported GGUF files) is written beside its target under a hidden temporary
name, flushed to disk, and renamed over the target in one step. A process killed at any moment
leaves either the previous version or the new one, never half of either; the temporary file it
leaves behind starts with a dot, so no reader takes it for the real thing.

A write that the disk refuses (read-only, full, a file where a folder should be) raises
:class:`~playground.errors.StorageError`, which says so and what to do, instead of a bare ``OSError``.
"""

from __future__ import annotations

import contextlib
import errno
import os
import shutil
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path

from playground import config
from playground.errors import StorageError

# The ways a disk refuses a write; any other OSError is not about the disk and passes unchanged.
_FULL = {errno.ENOSPC, errno.EDQUOT}
_READ_ONLY = {errno.EROFS, errno.EACCES, errno.EPERM}
_NOT_A_FOLDER = {errno.ENOTDIR, errno.EEXIST}


def explain(path: str | Path, err: OSError) -> str | None:
    """What a person should know when writing ``path`` failed with ``err``; None when it is not the disk's doing.

    >>> import errno
    >>> explain("/data/ws/settings.json", OSError(errno.ENOSPC, "No space left on device")).split(". ")[0]
    'Cannot write /data/ws/settings.json: the disk is full (No space left on device)'
    >>> explain("/x", OSError(errno.ECONNRESET, "reset")) is None
    True
    """
    fix = f"set PLAYGROUND_HOME to a folder this server can write to (now {config.home()})"
    where = f"Cannot write {path}"
    if err.errno in _FULL:
        return f"{where}: the disk is full ({err.strerror}). Free some space, or {fix}, on a disk with room"
    if err.errno == errno.EFBIG:
        too_big = f"the file is larger than this system lets a file be ({err.strerror})"
        return f"{where}: {too_big}. Raise the limit, or {fix}"
    if err.errno in _READ_ONLY:
        what = "the disk is read-only" if err.errno == errno.EROFS else "permission denied"
        return f"{where}: {what}. Make it writable, or {fix}"
    if err.errno in _NOT_A_FOLDER:
        blocker = next((p for p in Path(path).parents if p.exists() and not p.is_dir()), None)
        if blocker is not None:
            return f"{where}: {blocker} is a file, not a folder. Move it away, or {fix}"
    return None


@contextlib.contextmanager
def guarded(path: str | Path) -> Iterator[None]:
    """Writes under ``path`` inside this block fail with a :class:`StorageError` that says what to do."""
    try:
        yield
    except StorageError:
        raise
    except OSError as err:
        message = explain(path, err)
        if message is None:
            raise
        raise StorageError(message, err.errno) from err


def make_dir(path: str | Path) -> Path:
    """Create a folder (and its parents) if missing; a refusal is a :class:`StorageError`."""
    path = Path(path)
    with guarded(path):
        path.mkdir(parents=True, exist_ok=True)
    return path


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
    make_dir(path.parent)
    with guarded(path):
        fd, name = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    os.close(fd)
    tmp = Path(name)
    try:
        with guarded(path):
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
    make_dir(target.parent)
    with guarded(target):
        tmp = Path(tempfile.mkdtemp(prefix=f".tmp-{target.name}-", dir=target.parent))
    try:
        with guarded(target):
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


__all__ = ["explain", "guarded", "make_dir", "replace_dir", "write_atomic", "writing"]
