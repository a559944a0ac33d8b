"""The arena's votes, per workspace, in one SQLite file in WAL mode: many voters at once, nothing lost.

A round is one question and two answers shown as A and B (the order drawn once and stored); a match
played by one person is a round with one voter. Votes are append-only: a voter's one vote per round is
inserted, never changed (a second try is refused and the first one kept). WAL lets the presenter's tally
read while phones write; each write is one short transaction that waits (``busy_timeout``) rather than fails
when another holds the lock. The file survives a server restart like every other workspace file.
"""

from __future__ import annotations

import contextlib
import json
import secrets
import sqlite3
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from playground.arena.ratings import CHOICES, Outcome
from playground.errors import ConfigError
from playground.storage import guarded, make_dir
from playground.workspace import workspace_dir

FILE = "arena.sqlite"
BUSY_MS = 30_000  # a phone's vote waits this long for the write lock before it is reported as failed

_SCHEMA = """
CREATE TABLE IF NOT EXISTS rounds (
    id TEXT PRIMARY KEY,
    created REAL NOT NULL,
    kind TEXT NOT NULL,            -- 'match' (one person) or 'room' (a presenter's round)
    question TEXT NOT NULL,
    a TEXT NOT NULL,               -- the pipeline shown as A
    b TEXT NOT NULL,               -- the pipeline shown as B
    data TEXT NOT NULL,            -- JSON: gold, both answers, their models, sources and right/wrong
    closed REAL                    -- when the presenter closed it (None while open)
);
CREATE TABLE IF NOT EXISTS votes (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    round TEXT NOT NULL REFERENCES rounds(id),
    voter TEXT NOT NULL,
    choice TEXT NOT NULL CHECK (choice IN ('a', 'b', 'tie', 'bad')),
    at REAL NOT NULL,
    UNIQUE (round, voter)
);
"""


@dataclass
class Round:
    id: str
    question: str
    a: str
    b: str
    data: dict[str, Any] = field(default_factory=dict)
    kind: str = "match"
    created: float = 0.0
    closed: float | None = None

    @property
    def open(self) -> bool:
        return self.closed is None

    def answer(self, side: str) -> dict[str, Any]:
        """What side ``a`` or ``b`` showed: ``{"pipeline", "label", "model", "text", "sources", "correct"}``."""
        return dict(self.data.get(side) or {})

    def as_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "kind": self.kind,
            "question": self.question,
            "a": self.a,
            "b": self.b,
            "created": self.created,
            "closed": self.closed,
            **{k: v for k, v in self.data.items() if k not in ("a", "b")},
            "answers": {"a": self.answer("a"), "b": self.answer("b")},
        }


@dataclass(frozen=True)
class Vote:
    round: str
    voter: str
    choice: str
    at: float


class ArenaStore:
    """One workspace's rounds and votes: ``ArenaStore.for_workspace(name)`` or ``ArenaStore(path)``."""

    def __init__(self, path: str | Path):
        self.path = Path(path)
        make_dir(self.path.parent)
        with self._connect() as db:
            db.execute("PRAGMA journal_mode=WAL")  # persistent: readers never block the writer
            db.executescript(_SCHEMA)

    @classmethod
    def for_workspace(cls, workspace: str) -> ArenaStore:
        return cls(workspace_dir(workspace) / FILE)

    @contextlib.contextmanager
    def _connect(self) -> Iterator[sqlite3.Connection]:
        # A connection per call: sqlite3 connections are not shared across threads, and Streamlit
        # runs each session's script in its own thread.
        with guarded(self.path):
            db = sqlite3.connect(self.path, timeout=BUSY_MS / 1000, isolation_level=None)
        try:
            db.execute(f"PRAGMA busy_timeout={BUSY_MS}")
            db.execute("PRAGMA synchronous=NORMAL")  # WAL + NORMAL: a committed vote survives a process crash
            with guarded(self.path):
                yield db
        finally:
            db.close()

    def add_round(
        self,
        question: str,
        a: dict[str, Any],
        b: dict[str, Any],
        *,
        kind: str = "match",
        gold: str | None = None,
        extra: dict[str, Any] | None = None,
    ) -> Round:
        """Store a round whose answers are already drawn in their shown order (``a`` is shown as A)."""
        if kind not in ("match", "room"):
            raise ConfigError(f"Round.kind must be 'match' or 'room', not {kind!r}")
        data = {"gold": gold, "a": a, "b": b, **(extra or {})}
        r = Round(secrets.token_urlsafe(6), question, a["pipeline"], b["pipeline"], data, kind, time.time())
        with self._connect() as db:
            db.execute(
                "INSERT INTO rounds (id, created, kind, question, a, b, data) VALUES (?, ?, ?, ?, ?, ?, ?)",
                (r.id, r.created, r.kind, r.question, r.a, r.b, json.dumps(data, ensure_ascii=False)),
            )
        return r

    def round(self, round_id: str) -> Round | None:
        with self._connect() as db:
            row = db.execute(
                "SELECT id, question, a, b, data, kind, created, closed FROM rounds WHERE id = ?", (round_id,)
            ).fetchone()
        return _round(row) if row else None

    def rounds(self, kind: str | None = None) -> list[Round]:
        query = "SELECT id, question, a, b, data, kind, created, closed FROM rounds"
        with self._connect() as db:
            rows = db.execute(
                query + (" WHERE kind = ?" if kind else "") + " ORDER BY created", (kind,) if kind else ()
            ).fetchall()
        return [_round(row) for row in rows]

    def close(self, round_id: str) -> None:
        with self._connect() as db:
            db.execute("UPDATE rounds SET closed = ? WHERE id = ? AND closed IS NULL", (time.time(), round_id))

    def vote(self, round_id: str, voter: str, choice: str) -> bool:
        """Record ``voter``'s one vote in a round; False when they had voted already or the round is closed."""
        if choice not in CHOICES:
            raise ConfigError(f"vote choice must be one of {', '.join(CHOICES)}, not {choice!r}")
        if not voter:
            raise ConfigError("a vote needs a voter id")
        with self._connect() as db:
            cur = db.execute(
                "INSERT OR IGNORE INTO votes (round, voter, choice, at) "
                "SELECT ?, ?, ?, ? WHERE EXISTS (SELECT 1 FROM rounds WHERE id = ? AND closed IS NULL)",
                (round_id, voter, choice, time.time(), round_id),
            )
            return cur.rowcount == 1

    def votes(self, round_id: str | None = None) -> list[Vote]:
        query = "SELECT round, voter, choice, at FROM votes"
        with self._connect() as db:
            rows = db.execute(
                query + (" WHERE round = ?" if round_id else "") + " ORDER BY id", (round_id,) if round_id else ()
            ).fetchall()
        return [Vote(*row) for row in rows]

    def my_vote(self, round_id: str, voter: str) -> str | None:
        with self._connect() as db:
            row = db.execute("SELECT choice FROM votes WHERE round = ? AND voter = ?", (round_id, voter)).fetchone()
        return row[0] if row else None

    def tally(self, round_id: str) -> dict[str, int]:
        """Votes per choice in a round, every choice present.

        >>> import tempfile, pathlib
        >>> s = ArenaStore(pathlib.Path(tempfile.mkdtemp()) / FILE)
        >>> r = s.add_round("q?", {"pipeline": "base"}, {"pipeline": "base+rag"}, kind="room")
        >>> s.vote(r.id, "v1", "b"), s.vote(r.id, "v1", "a"), s.vote(r.id, "v2", "tie")
        (True, False, True)
        >>> s.tally(r.id)
        {'a': 0, 'b': 1, 'tie': 1, 'bad': 0}
        """
        counts = dict.fromkeys(CHOICES, 0)
        with self._connect() as db:
            for choice, n in db.execute(
                "SELECT choice, COUNT(*) FROM votes WHERE round = ? GROUP BY choice", (round_id,)
            ):
                counts[choice] = n
        return counts

    def outcomes(self, *, voters: str | None = None) -> list[Outcome]:
        """Every vote as the fit reads it: (pipeline shown as A, pipeline shown as B, choice).

        ``voters``: 'people' (not a judge), 'judge' (voter ids starting 'judge:'), or None for all.
        """
        query = "SELECT r.a, r.b, v.choice, v.voter FROM votes v JOIN rounds r ON r.id = v.round ORDER BY v.id"
        with self._connect() as db:
            rows = db.execute(query).fetchall()
        keep = {
            None: lambda v: True,
            "people": lambda v: not v.startswith("judge:"),
            "judge": lambda v: v.startswith("judge:"),
        }[voters]
        return [(a, b, c) for a, b, c, v in rows if keep(v)]


def _round(row: tuple[Any, ...]) -> Round:
    rid, question, a, b, data, kind, created, closed = row
    return Round(rid, question, a, b, json.loads(data), kind, created, closed)


__all__ = ["FILE", "ArenaStore", "Round", "Vote"]
