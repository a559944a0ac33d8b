"""Bradley–Terry ratings from pairwise votes, with bootstrap intervals over the votes.

One maximum-likelihood fit over all votes (scipy's optimiser): the result does not depend on the order the
votes came in, unlike an online Elo update. A tie (and "both bad") counts as half a win for each side.
Elo is only the familiar scale of the same fit: ``1000 + 400 / ln 10 * strength``.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from scipy.optimize import minimize

ELO_SCALE = 400 / math.log(10)  # an Elo gap of 400 is odds of 10:1, as chess players read it
ELO_CENTRE = 1000.0
MIN_VOTES_TO_ORDER = 5  # below this a pair is never called ordered, whatever the interval says

# A vote as the fit reads it: (pipeline shown as A, pipeline shown as B, choice).
Outcome = tuple[str, str, str]
CHOICES = ("a", "b", "tie", "bad")


def score(choice: str) -> float:
    """A's share of the win: 1, 0, or a half for a tie or both bad.

    >>> [score(c) for c in CHOICES]
    [1.0, 0.0, 0.5, 0.5]
    """
    return {"a": 1.0, "b": 0.0, "tie": 0.5, "bad": 0.5}[choice]


def fit(votes: Sequence[Outcome], items: Sequence[str], *, alpha: float = 1e-3) -> np.ndarray:
    """Strengths (log-odds scale, mean 0) maximising the Bradley–Terry likelihood of ``votes``.

    ``alpha``: a tiny ridge penalty, so a pipeline that won every vote gets a large finite strength
    instead of an infinite one (the plain maximum does not exist then); 0 gives the plain maximum.

    >>> s = fit([("x", "y", "a")] * 3 + [("x", "y", "b")], ["x", "y"], alpha=0)
    >>> round(float(s[0] - s[1]), 4), round(math.log(3), 4)  # 3 wins of 4: odds 3, log-odds ln 3
    (1.0986, 1.0986)
    """
    index = {name: i for i, name in enumerate(items)}
    a = np.array([index[v[0]] for v in votes], dtype=int)
    b = np.array([index[v[1]] for v in votes], dtype=int)
    w = np.array([score(v[2]) for v in votes], dtype=float)
    return _fit_arrays(*_aggregate(a, b, w, len(items)), len(items), alpha)


def _aggregate(
    a: np.ndarray, b: np.ndarray, w: np.ndarray, n: int
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Votes summed per ordered pair: the likelihood only depends on these, so a fit costs O(pairs), not O(votes)."""
    key = a * n + b
    games = np.bincount(key, minlength=n * n).astype(float)
    won = np.bincount(key, weights=w, minlength=n * n)
    keep = games > 0
    cells = np.nonzero(keep)[0]
    return cells // n, cells % n, won[keep], games[keep]


def _fit_arrays(i: np.ndarray, j: np.ndarray, won: np.ndarray, games: np.ndarray, n: int, alpha: float) -> np.ndarray:
    if n < 2 or not len(i):
        return np.zeros(n)

    def loss(theta: np.ndarray) -> tuple[float, np.ndarray]:
        d = theta[i] - theta[j]
        # -[w log σ(d) + (g-w) log σ(-d)], written with logaddexp so large gaps do not overflow
        nll = np.sum(won * np.logaddexp(0, -d) + (games - won) * np.logaddexp(0, d)) + alpha * np.sum(theta**2)
        g = games / (1 + np.exp(-d)) - won
        grad = np.bincount(i, g, n) - np.bincount(j, g, n) + 2 * alpha * theta
        return float(nll), grad

    result = minimize(loss, np.zeros(n), jac=True, method="L-BFGS-B", options={"gtol": 1e-9})
    theta = np.asarray(result.x)
    return theta - theta.mean()


def _refit(
    i: np.ndarray,
    j: np.ndarray,
    won: np.ndarray,
    games: np.ndarray,
    n: int,
    alpha: float,
    start: np.ndarray,
    steps: int = 8,
) -> np.ndarray:
    """The same maximum by Newton's method from ``start`` (the full fit): a bootstrap's hundreds of refits
    take a few milliseconds each this way, where the general optimiser's overhead took tens."""
    if not len(i):  # a resample of no votes: nothing to fit
        return np.zeros(n)
    theta = start.copy()
    ridge = max(alpha, 1e-6)  # the likelihood is flat along "all strengths + c": a touch of curvature there
    for _ in range(steps):
        d = theta[i] - theta[j]
        p = 1 / (1 + np.exp(-d))
        g = games * p - won
        grad = np.bincount(i, g, n) - np.bincount(j, g, n) + 2 * alpha * theta
        h = games * p * (1 - p)
        hess = np.zeros((n, n))
        np.add.at(hess, (i, i), h)
        np.add.at(hess, (j, j), h)
        np.add.at(hess, (i, j), -h)
        np.add.at(hess, (j, i), -h)
        hess += 2 * ridge * np.eye(n)
        step = np.linalg.solve(hess, grad)
        theta = theta - np.clip(step, -2, 2)  # a vote set one side swept can run away: bounded steps
        if np.max(np.abs(step)) < 1e-8:
            break
    return theta - theta.mean()


@dataclass
class Ratings:
    """The fit, its intervals and the tallies a leaderboard shows."""

    items: list[str]
    strength: list[float]
    low: list[float]  # 95 % bootstrap interval of each strength
    high: list[float]
    wins: list[list[float]]  # wins[i][j]: votes i won against j (a tie counts a half)
    votes: list[list[int]]  # votes[i][j]: votes between i and j (symmetric)
    ordered: list[list[bool]]  # ordered[i][j]: i is ahead of j in at least 97.5 % of resamples
    labels: dict[str, str] = field(default_factory=dict)
    n_votes: int = 0

    def elo(self, value: float) -> float:
        """A strength on the Elo scale.

        >>> Ratings([], [], [], [], [], [], []).elo(0.0)
        1000.0
        """
        return ELO_CENTRE + ELO_SCALE * value

    def label(self, item: str) -> str:
        return self.labels.get(item, item)

    def win_rate(self) -> list[list[float | None]]:
        """Share of votes each row won against each column (None where they never met)."""
        n = len(self.items)
        return [
            [self.wins[i][j] / self.votes[i][j] if self.votes[i][j] and i != j else None for j in range(n)]
            for i in range(n)
        ]

    def leaderboard(self) -> list[dict[str, Any]]:
        order = sorted(range(len(self.items)), key=lambda i: -self.strength[i])
        return [
            {
                "rank": r + 1,
                "pipeline": self.items[i],
                "label": self.label(self.items[i]),
                "strength": round(self.strength[i], 3),
                "low": round(self.low[i], 3),
                "high": round(self.high[i], 3),
                "elo": round(self.elo(self.strength[i])),
                "elo_low": round(self.elo(self.low[i])),
                "elo_high": round(self.elo(self.high[i])),
                "votes": sum(self.votes[i]),
            }
            for r, i in enumerate(order)
        ]

    def sentence(self) -> str:
        """What the votes show, in words a presenter can read out."""
        if not self.n_votes:
            return "No votes yet."
        n = len(self.items)
        pairs = [(i, j) for i in range(n) for j in range(n) if i < j and self.votes[i][j]]
        if not pairs:
            return "No votes yet."
        parts = []
        unresolved = 0
        for i, j in sorted(pairs, key=lambda p: -self.votes[p[0]][p[1]]):
            winner, loser = (i, j) if self.wins[i][j] >= self.wins[j][i] else (j, i)
            total = self.votes[i][j]
            won = self.wins[winner][loser]
            shown = f"{won:g}"
            if self.ordered[winner][loser]:
                parts.append(
                    f"{self.label(self.items[winner])} is preferred to {self.label(self.items[loser])} "
                    f"in {shown} of {total} votes"
                )
            else:
                unresolved += 1
        met = {k for p in pairs for k in p}
        every_pair = len(pairs) == len(met) * (len(met) - 1) // 2
        what = "the pipelines" if len(met) != 4 else "the four"
        if not parts:
            return (
                f"{self.n_votes} vote{'s' if self.n_votes != 1 else ''} so far: too few to order any pair yet "
                f"(each needs at least {MIN_VOTES_TO_ORDER} votes and a clear margin)."
            )
        tail = "." if not unresolved and every_pair else f"; {what} cannot yet be ordered beyond that."
        return "; ".join(parts) + tail

    def as_dict(self) -> dict[str, Any]:
        n = len(self.items)
        return {
            "votes": self.n_votes,
            "leaderboard": self.leaderboard(),
            "win_rate": {
                self.items[i]: {self.items[j]: self.win_rate()[i][j] for j in range(n) if i != j} for i in range(n)
            },
            "votes_per_pair": {
                f"{self.items[i]}:{self.items[j]}": self.votes[i][j] for i in range(n) for j in range(n) if i < j
            },
            "sentence": self.sentence(),
        }


def rate(
    votes: Sequence[Outcome],
    items: Sequence[str] | None = None,
    *,
    labels: dict[str, str] | None = None,
    resamples: int = 400,
    seed: int = 0,
    alpha: float = 1e-3,
) -> Ratings:
    """Fit, bootstrap the votes ``resamples`` times for 95 % intervals, and tally the pairs.

    >>> r = rate([("x", "y", "a")] * 16 + [("x", "y", "b")] * 4, resamples=100)
    >>> r.sentence()
    'x is preferred to y in 16 of 20 votes.'
    >>> [row["pipeline"] for row in r.leaderboard()], r.leaderboard()[0]["elo"] > 1000
    (['x', 'y'], True)
    """
    votes = [v for v in votes if v[2] in CHOICES]
    names = list(items) if items is not None else sorted({p for v in votes for p in v[:2]})
    n = len(names)
    index = {name: i for i, name in enumerate(names)}
    wins = [[0.0] * n for _ in range(n)]
    counts = [[0] * n for _ in range(n)]
    for x, y, choice in votes:
        i, j = index[x], index[y]
        s = score(choice)
        wins[i][j] += s
        wins[j][i] += 1 - s
        counts[i][j] += 1
        counts[j][i] += 1
    a = np.array([index[v[0]] for v in votes], dtype=int)
    b = np.array([index[v[1]] for v in votes], dtype=int)
    w = np.array([score(v[2]) for v in votes], dtype=float)
    strength = _fit_arrays(*_aggregate(a, b, w, n), n, alpha)
    rng = np.random.default_rng(seed)
    samples = np.empty((max(resamples, 1), n))
    for k in range(samples.shape[0] if votes else 0):  # resample votes with replacement, refit
        picked = rng.integers(0, len(votes), len(votes))
        samples[k] = _refit(*_aggregate(a[picked], b[picked], w[picked], n), n, alpha, strength)
    low = np.percentile(samples, 2.5, axis=0) if votes else strength
    high = np.percentile(samples, 97.5, axis=0) if votes else strength
    ordered = [[False] * n for _ in range(n)]
    for i in range(n):
        for j in range(n):
            if i != j and votes and counts[i][j] >= MIN_VOTES_TO_ORDER:
                ordered[i][j] = bool(np.mean(samples[:, i] > samples[:, j]) >= 0.975)
    return Ratings(
        items=names,
        strength=[float(s) for s in strength],
        low=[float(x) for x in low],
        high=[float(x) for x in high],
        wins=wins,
        votes=counts,
        ordered=ordered,
        labels=dict(labels or {}),
        n_votes=len(votes),
    )


__all__ = ["CHOICES", "ELO_SCALE", "Outcome", "Ratings", "fit", "rate", "score"]
