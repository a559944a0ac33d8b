"""The claims, their results and running them: one registry the page, the CLI and the report share.

A :class:`Claim` is a sentence people write about RAG and fine-tuning, where it comes from, what the
experiment does, and the function that runs it on a :class:`~playground.claims.lab.Lab`. Running it
gives a :class:`ClaimResult`: a verdict, one plain sentence with the numbers, the numbers themselves,
a table and a figure. Results are stored as they finish, so a cancelled "Run all" resumes with the
claims still to do.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from playground.claims.lab import Lab
from playground.config import Progress, no_progress
from playground.errors import ConfigError, PlaygroundError
from playground.storage import write_atomic

VERDICTS = ("holds", "does not hold", "depends", "not run")


@dataclass
class ClaimResult:
    """What one experiment found. ``summary`` states the numbers; a verdict never comes without them."""

    id: str
    verdict: str
    summary: str
    numbers: dict[str, Any] = field(default_factory=dict)
    rows: list[dict[str, Any]] = field(default_factory=list)  # the table behind the verdict
    notes: list[str] = field(default_factory=list)  # small samples, what was left out and why
    figure: dict[str, Any] | None = None  # plotly figure as JSON (plotly.io.from_json reads it back)
    seconds: float = 0.0
    finished: str = ""

    def __post_init__(self) -> None:
        if self.verdict not in VERDICTS:
            raise ConfigError(f"ClaimResult.verdict={self.verdict!r}: choose from {VERDICTS}")

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> ClaimResult:
        names = set(cls.__dataclass_fields__)
        return cls(**{k: v for k, v in data.items() if k in names})


Runner = Callable[[Lab, Progress], "ClaimResult | None"]  # None: cancelled, nothing to keep
Estimate = Callable[[Lab], float]


@dataclass(frozen=True)
class Claim:
    id: str
    claim: str
    source: str
    experiment: str  # what is measured here, in a sentence or two
    run: Runner
    estimate: Estimate  # seconds on this machine for its own work, before it runs
    opt_in: bool = False  # long (trains adapters): "Run all" skips it
    shared: Callable[[Lab], dict[str, float]] = lambda lab: {}  # evidence other claims reuse: name -> seconds

    def seconds(self, lab: Lab) -> float:
        """What running this claim alone takes here: its own work and the shared evidence it needs."""
        return self.estimate(lab) + sum(self.shared(lab).values())

    def not_run(self, why: str) -> ClaimResult:
        return ClaimResult(self.id, "not run", why)


CLAIMS: dict[str, Claim] = {}


def register(claim: Claim) -> Claim:
    CLAIMS[claim.id] = claim
    return claim


def get_claim(claim_id: str) -> Claim:
    try:
        return CLAIMS[claim_id]
    except KeyError:
        raise ConfigError(f"no claim {claim_id!r}: choose from {', '.join(CLAIMS)}") from None


def result_path(lab: Lab, claim_id: str) -> Path:
    return lab.folder / f"{claim_id}.json"


def load_result(lab: Lab, claim_id: str) -> ClaimResult | None:
    """The stored result of a claim for exactly this lab's inputs, if it ran."""
    try:
        return ClaimResult.from_dict(json.loads(result_path(lab, claim_id).read_text(encoding="utf-8")))
    except (OSError, ValueError, TypeError):
        return None


def latest_result(lab: Lab, claim_id: str) -> tuple[ClaimResult, dict[str, Any]] | None:
    """The newest stored result of a claim on this lab's models, index and house style, whatever experiment size it
    ran at, with the settings it ran with: what a page shows after a reload resets its size widgets."""
    exact = load_result(lab, claim_id)
    if exact is not None:
        return exact, lab.config.as_dict()
    same = _inputs(json.loads(json.dumps(lab.describe(), default=str)))
    found: list[tuple[str, ClaimResult, dict[str, Any]]] = []
    root = lab.folder.parent
    for path in root.glob(f"*/{claim_id}.json") if root.is_dir() else []:
        try:
            described = json.loads((path.parent / "lab.json").read_text(encoding="utf-8"))
            result = ClaimResult.from_dict(json.loads(path.read_text(encoding="utf-8")))
        except (OSError, ValueError, TypeError):
            continue
        if _inputs(described) == same:
            found.append((result.finished, result, described.get("config", {})))
    if not found:
        return None
    _, result, config = max(found, key=lambda item: item[0])
    return result, config


def _inputs(described: dict[str, Any]) -> dict[str, Any]:
    """What a result was measured on, without the experiment's size and the question set's name: the same
    questions are the same evidence whether the command line named them after their folder or the web app after
    its workspace.

    >>> _inputs({"config": {"questions": 30}, "questions": {"name": "sample_docs", "sha256": "ab"}, "index": 1})
    {'questions': {'sha256': 'ab'}, 'index': 1}
    """
    out = {k: v for k, v in described.items() if k != "config"}
    if isinstance(out.get("questions"), dict):
        out["questions"] = {k: v for k, v in out["questions"].items() if k != "name"}
    return out


def save_result(lab: Lab, result: ClaimResult) -> None:
    lab.folder.mkdir(parents=True, exist_ok=True)
    write_atomic(lab.folder / "lab.json", json.dumps(lab.describe(), indent=1, default=str))
    write_atomic(result_path(lab, result.id), json.dumps(result.as_dict(), indent=1, default=str))


def run_claim(lab: Lab, claim_id: str, progress: Progress = no_progress, rerun: bool = False) -> ClaimResult | None:
    """Run one claim (or return its stored result); None when it was cancelled. Errors become a "not run" result
    that says why, so one broken experiment never stops the others."""
    claim = get_claim(claim_id)
    if not rerun and (stored := load_result(lab, claim_id)) is not None:
        progress(1.0, f"{claim_id}: stored result")
        return stored
    started = time.perf_counter()
    try:
        result = claim.run(lab, progress)
    except PlaygroundError as err:
        result = claim.not_run(f"The experiment could not run: {err}")
    if result is None:
        return None
    result.seconds = round(time.perf_counter() - started, 1)
    result.finished = time.strftime("%Y-%m-%dT%H:%M:%S%z")
    if result.verdict != "not run" or result.numbers:
        save_result(lab, result)
    return result


def run_claims(
    lab: Lab,
    ids: Iterable[str] | None = None,
    progress: Progress = no_progress,
    rerun: bool = False,
) -> list[ClaimResult]:
    """Run ``ids`` (default: every claim but the opt-in ones) in the registry's order; stops at a cancel."""
    wanted = list(ids) if ids is not None else [c.id for c in CLAIMS.values() if not c.opt_in]
    for claim_id in wanted:
        get_claim(claim_id)  # an unknown id fails before anything runs
    ordered = [c for c in CLAIMS if c in wanted]
    results = []
    for n, claim_id in enumerate(ordered):
        if lab.cancelled:
            break

        def step(fraction: float, message: str, n: int = n, claim_id: str = claim_id) -> None:
            progress((n + min(fraction, 1.0)) / len(ordered), f"{claim_id} ({n + 1}/{len(ordered)}): {message}")

        result = run_claim(lab, claim_id, step, rerun=rerun)
        if result is None:
            break
        results.append(result)
    return results


def estimate(lab: Lab, ids: Iterable[str]) -> float:
    """Seconds to run ``ids`` here: each claim's own work, plus each piece of shared evidence once (the largest)."""
    own, shared = 0.0, dict[str, float]()
    for i in ids:
        own += CLAIMS[i].estimate(lab)
        for name, seconds in CLAIMS[i].shared(lab).items():
            shared[name] = max(shared.get(name, 0.0), seconds)
    return own + sum(shared.values())


def duration(seconds: float) -> str:
    """``1 min 05 s`` / ``42 s``.

    >>> duration(65), duration(4.2), duration(3725)
    ('1 min 05 s', '4.2 s', '62 min 05 s')
    """
    if seconds < 10:
        return f"{seconds:.1f} s"
    if seconds < 60:
        return f"{seconds:.0f} s"
    return f"{int(seconds // 60)} min {int(seconds % 60):02d} s"


__all__ = [
    "CLAIMS",
    "VERDICTS",
    "Claim",
    "ClaimResult",
    "duration",
    "estimate",
    "get_claim",
    "latest_result",
    "load_result",
    "register",
    "run_claim",
    "run_claims",
]
