"""The sample's index, built once by the install step and copied into every new home.

A fresh server used to spend its first seconds parsing the sample and embedding its chunks before the
first question could be asked. ``make`` now runs ``python -m playground prepare`` once: it opens the sample
workspace in a scratch home exactly as the app does, builds its index, and keeps the saved index folders
under this environment's ``share/playground/indexes/<key>``. :func:`playground.index.build_index` copies a
kept folder whose key matches (a copy of a few hundred kilobytes) instead of building. The key hashes the
documents' contents, the chunk settings, the embedding model, the store and the search recipe, so a kept
index that no longer matches is simply never used.
"""

from __future__ import annotations

import os
import shutil
import sys
import tempfile
from collections.abc import Callable
from pathlib import Path

from playground.storage import replace_dir


def seed_dir() -> Path:
    """Where the install step keeps prebuilt indexes (inside this Python environment, beside its packages)."""
    return Path(sys.prefix) / "share" / "playground" / "indexes"


def _copy(source: Path) -> Callable[[Path], None]:
    def fill(tmp: Path) -> None:
        shutil.copytree(source, tmp, dirs_exist_ok=True)

    return fill


def copy_seed(key: str, target: Path) -> bool:
    """Copy the prebuilt index ``key`` to ``target`` if one is kept; True when ``target`` now holds it."""
    kept = seed_dir() / key
    if not (kept / "manifest.json").is_file():
        return False
    replace_dir(
        target,
        _copy(kept),
        complete=lambda done: (done / "manifest.json").exists(),  # another session copied it first
    )
    return True


def seed_sample() -> list[str]:
    """Build the sample workspace's index in a scratch home, as the app does on first open; keep its folders."""
    from playground.embeddings import LocalEmbedding
    from playground.index import build_index
    from playground.workspace import SAMPLE, open_workspace

    kept: list[str] = []
    before = os.environ.get("PLAYGROUND_HOME")
    with tempfile.TemporaryDirectory(prefix="playground-seed-") as scratch:
        os.environ["PLAYGROUND_HOME"] = scratch
        try:
            ws = open_workspace(SAMPLE)
            index = build_index(
                ws.documents(), embed_model=LocalEmbedding(), chunk_settings=ws.chunk_settings(), workspace=ws.name
            )
            built = ws.dir / "indexes" / index.key
            replace_dir(seed_dir() / index.key, _copy(built))
            kept.append(index.key)
        finally:
            if before is None:
                os.environ.pop("PLAYGROUND_HOME", None)
            else:
                os.environ["PLAYGROUND_HOME"] = before
    for old in seed_dir().iterdir():  # indexes of older sample documents or settings: never matched again
        if old.name not in kept:
            shutil.rmtree(old, ignore_errors=True)
    return kept


__all__ = ["copy_seed", "seed_dir", "seed_sample"]
