"""Retrieval that measures itself on each workspace: which recipe finds this workspace's passages best.

Every recipe the playground has (embeddings only, BM25 only, hybrid fused equally or weighted towards one
side, each under no contextual header or the document's title) is scored on two question sets when they
exist: probe questions made from the workspace's own chunks by the evaluation lab's generator (its quality
gates included, held-out questions left out, at most ``MAX_PROBES``) and the workspace's own question set
(``questions.jsonl`` beside its documents). The workspace's own questions decide when there are enough of
them, since probes share their chunk's words and so favour BM25; otherwise the probes decide.

Cheap by construction: the chunks' stored embeddings are reused, only the probe questions are embedded, and
no language model is called. The other header needs the chunks embedded once more under it (the embedding
model only), done only up to ``MAX_REEMBED`` chunks; past that the header is not compared and the check says
so. The result is saved beside the index (``retrieval_check.json``) and read back by :func:`load_check`.
"""

from __future__ import annotations

import json
import tempfile
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from playground.config import RetrievalSettings
from playground.storage import write_atomic

CHECK_FILE = "retrieval_check.json"
MAX_PROBES = 200  # probe questions made from the chunks; a few hundred at most keeps the check to seconds
MAX_REEMBED = 3000  # chunks embedded again to compare the other header; above it the header is not compared
MIN_OWN_QUESTIONS = 10  # fewer questions of the workspace's own than this cannot decide: the probes do
MARGIN = 0.01  # MRR (and hit@5) within this of the best is a tie, broken towards the simplest recipe
DEPTH = 10  # ranks looked at for MRR
WEIGHTS = (0.3, 0.7)  # the weighted fusions tried besides the equal one (the embedding ranking's weight)


@dataclass(frozen=True)
class Recipe:
    """One way to retrieve: which rankings are fused and how, under which contextual header."""

    mode: str = "hybrid"  # hybrid, vector or bm25 (RetrievalSettings.mode)
    vector_weight: float = 0.5  # hybrid only: the embedding ranking's weight, BM25's being 1 minus it
    headers: str = "title"  # none or title (SearchRecipe.headers)

    @property
    def name(self) -> str:
        """
        >>> Recipe("hybrid", 0.7, "none").name
        'hybrid 0.7 embeddings / 0.3 BM25, no header'
        >>> Recipe("bm25", headers="title").name
        'BM25 only, title header'
        """
        if self.mode == "vector":
            how = "embeddings only"
        elif self.mode == "bm25":
            how = "BM25 only"
        elif self.vector_weight == 0.5:
            how = "hybrid (equal fusion)"
        else:
            how = f"hybrid {self.vector_weight:g} embeddings / {1 - self.vector_weight:g} BM25"
        return f"{how}, {'no header' if self.headers == 'none' else self.headers + ' header'}"

    @property
    def simplicity(self) -> tuple[int, int]:
        """Lower is simpler: one ranking < equal fusion < weighted fusion, then no header < title.

        >>> Recipe("vector", 1.0, "none").simplicity < Recipe("hybrid", 0.5, "none").simplicity
        True
        >>> Recipe("hybrid", 0.5, "title").simplicity < Recipe("hybrid", 0.7, "none").simplicity
        True
        """
        fusion = 0 if self.mode != "hybrid" else (1 if self.vector_weight == 0.5 else 2)
        return fusion, 0 if self.headers == "none" else 1

    def settings(self, base: RetrievalSettings | None = None) -> RetrievalSettings:
        """``base`` (the app's settings) with this recipe's mode and fusion weight."""
        return replace(base or RetrievalSettings(), mode=self.mode, vector_weight=self.vector_weight)

    def as_dict(self) -> dict[str, Any]:
        return {"mode": self.mode, "vector_weight": self.vector_weight, "headers": self.headers, "name": self.name}


def recipes(headers: Sequence[str]) -> list[Recipe]:
    """Every recipe compared, under each header in ``headers``."""
    fusions = [("vector", 1.0), ("bm25", 0.0), ("hybrid", 0.5), *(("hybrid", w) for w in WEIGHTS)]
    return [Recipe(mode, weight, header) for header in headers for mode, weight in fusions]


@dataclass
class RetrievalCheck:
    """The table (one row per recipe and question set), the recipe chosen, and why."""

    chosen: Recipe
    default: Recipe
    decided_by: str  # "own questions" or "probes"
    reason: str
    rows: list[dict[str, Any]] = field(default_factory=list)  # recipe, set, n, hit@5, mrr
    probes: int = 0
    own_questions: int = 0
    notes: list[str] = field(default_factory=list)

    def score(self, recipe: Recipe, question_set: str) -> dict[str, Any] | None:
        return next((r for r in self.rows if r["recipe"] == recipe.name and r["set"] == question_set), None)

    def as_dict(self) -> dict[str, Any]:
        return {
            "chosen": self.chosen.as_dict(),
            "default": self.default.as_dict(),
            "decided_by": self.decided_by,
            "reason": self.reason,
            "probes": self.probes,
            "own_questions": self.own_questions,
            "margin": MARGIN,
            "notes": self.notes,
            "rows": self.rows,
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> RetrievalCheck:
        def recipe(d: dict[str, Any]) -> Recipe:
            return Recipe(d["mode"], float(d["vector_weight"]), d["headers"])

        return cls(
            chosen=recipe(data["chosen"]),
            default=recipe(data["default"]),
            decided_by=data["decided_by"],
            reason=data["reason"],
            rows=list(data.get("rows", [])),
            probes=int(data.get("probes", 0)),
            own_questions=int(data.get("own_questions", 0)),
            notes=list(data.get("notes", [])),
        )


def choose(scored: dict[Recipe, tuple[float, float]], margin: float = MARGIN) -> tuple[Recipe, str]:
    """The best recipe by MRR, or the simplest within ``margin`` of the best on both MRR and hit@5.

    ``scored`` maps each recipe to its (hit@5, MRR).

    >>> eq, bm = Recipe("hybrid", 0.5, "title"), Recipe("bm25", 0.0, "title")
    >>> choose({eq: (0.90, 0.800), bm: (0.90, 0.795)})[0] == bm  # a near-tie: the simpler one
    True
    >>> choose({eq: (0.90, 0.800), bm: (0.80, 0.700)})[0] == eq
    True
    """
    best = max(scored, key=lambda r: (scored[r][1], scored[r][0], [-s for s in r.simplicity]))
    hit, mrr = scored[best]
    tied = [r for r, (h, m) in scored.items() if m >= mrr - margin and h >= hit - margin]
    chosen = min(tied, key=lambda r: (r.simplicity, -scored[r][1]))
    if chosen == best:
        reason = f"best MRR ({mrr:.3f}, hit@5 {hit:.3f})"
    else:
        reason = (
            f"simplest within {margin} of the best ({best.name}: MRR {mrr:.3f}, hit@5 {hit:.3f}); "
            f"it scores MRR {scored[chosen][1]:.3f}, hit@5 {scored[chosen][0]:.3f}"
        )
    return chosen, reason


def probe_questions(index: Any, limit: int = MAX_PROBES, held_out: Sequence[str] = ()) -> list[dict[str, str]]:
    """Questions made from the index's own chunks (the evaluation lab's generator), none of them held out."""
    from playground.errors import PlaygroundError
    from playground.evaluate.questions import generate_questions
    from playground.text import normalize

    try:
        made = generate_questions(index.nodes, limit=limit + len(held_out))
    except PlaygroundError:
        return []  # nothing in these chunks to ask about: the check runs on the workspace's own questions alone
    excluded = {normalize(q) for q in held_out}
    rows = [r for r in made.rows() if normalize(r["question"]) not in excluded]
    return rows[:limit]


def _variant(index: Any, headers: str, files: Sequence[Any] | None, tmp: Path) -> Any:
    """``index`` as it would search with chunks under ``headers``: the same chunks embedded and BM25-indexed
    again with (or without) the contextual header; None when that cannot be made (no documents for titles)."""
    from playground.index import SearchRecipe, _Lexical, add_headers, embed_text
    from playground.vectorstores import MatrixStore, unit_rows

    nodes = [n.model_copy(deep=True) for n in index.nodes]
    for node in nodes:
        node.metadata.pop("context", None)
    if headers != "none":
        if not files:
            return None
        add_headers(nodes, files, section=headers == "section")
    recipe = SearchRecipe(**{**index.recipe.as_dict(), "headers": headers})
    texts = [embed_text(n) for n in nodes]
    vectors = unit_rows(index.embed_model.get_text_embedding_batch([recipe.passage_prefix + t for t in texts]))
    _Lexical.save(tmp, texts, recipe)
    return replace(index, _store=MatrixStore(vectors), _lexical=_Lexical(tmp, recipe), recipe=recipe)


def _measure(
    index: Any, questions: Sequence[dict[str, str]], recipes_: Sequence[Recipe], by_chunk: bool
) -> dict[Recipe, tuple[float, float]]:
    """(hit@5, MRR) of each recipe on ``questions``: the question's own chunk (``by_chunk``) or its file."""
    from playground.vectorstores import unit_rows

    if not questions:
        return {}
    texts = [index.recipe.query_prefix + row["question"] for row in questions]
    vectors = unit_rows(index.embed_model.get_text_embedding_batch(texts))
    out: dict[Recipe, tuple[float, float]] = {}
    for recipe in recipes_:
        settings = recipe.settings(RetrievalSettings(top_k=DEPTH))
        hits5 = rr = 0.0
        for row, vector in zip(questions, vectors, strict=True):
            hits = index.search(row["question"], vector, settings)
            if by_chunk:
                rank = next((h.rank for h in hits if h.node_id == row.get("chunk_id")), None)
            else:
                rank = next((h.rank for h in hits if h.file_name == row["source"]), None)
            if rank is not None:
                hits5 += rank <= 5
                rr += 1 / rank
        out[recipe] = (round(hits5 / len(questions), 3), round(rr / len(questions), 3))
    return out


def run_check(
    index: Any,
    *,
    files: Sequence[Any] | None = None,
    own_questions: Sequence[dict[str, str]] = (),
    held_out: Sequence[str] = (),
    max_probes: int = MAX_PROBES,
    progress: Callable[[float, str], None] | None = None,
) -> RetrievalCheck:
    """Score every recipe on ``index`` and choose one (see the module notes).

    ``files``: the workspace's loaded documents, needed to put title headers on chunks when the index has
    none. ``own_questions``: the workspace's question set (rows with ``question`` and ``source``).
    """
    say = progress or (lambda fraction, message: None)
    current = index.recipe.headers
    other = "none" if current != "none" else "title"
    default = Recipe(headers=current)
    notes: list[str] = []
    say(0.0, "making probe questions from the chunks")
    probes = probe_questions(index, max_probes, held_out)
    own = [row for row in own_questions if row.get("source")]
    variants: dict[str, Any] = {current: index}
    with tempfile.TemporaryDirectory(prefix="playground-check-") as tmp:
        if len(index.nodes) > MAX_REEMBED:
            notes.append(f"header '{other}' not compared: {len(index.nodes)} chunks is over {MAX_REEMBED}")
        else:
            say(0.2, f"embedding the chunks with header '{other}' to compare")
            made = _variant(index, other, files, Path(tmp))
            if made is None:
                notes.append(f"header '{other}' not compared: the documents were not given")
            else:
                variants[other] = made
        rows: list[dict[str, Any]] = []
        scored: dict[str, dict[Recipe, tuple[float, float]]] = {"probes": {}, "own questions": {}}
        for i, (headers, variant) in enumerate(sorted(variants.items())):
            say(0.4 + 0.5 * i / len(variants), f"scoring recipes with header '{headers}'")
            tried = recipes([headers])
            scored["probes"].update(_measure(variant, probes, tried, by_chunk=True))
            scored["own questions"].update(_measure(variant, own, tried, by_chunk=False))
    for name, table in scored.items():
        n = len(probes) if name == "probes" else len(own)
        for recipe, (hit, mrr) in table.items():
            rows.append({"recipe": recipe.name, "set": name, "n": n, "hit@5": hit, "mrr": mrr})
    decided_by = "own questions" if len(own) >= MIN_OWN_QUESTIONS else "probes"
    if not scored[decided_by]:
        notes.append("no question to measure with: the default is kept")
        return RetrievalCheck(default, default, "none", "nothing to measure", rows, len(probes), len(own), notes)
    chosen, why = choose(scored[decided_by])
    where = (
        f"the workspace's own {len(own)} questions (the {len(probes)} probes, made from the chunks' own words, "
        "favour BM25)"
        if decided_by == "own questions"
        else f"{len(probes)} probe questions made from the chunks"
    )
    say(1.0, "retrieval check done")
    return RetrievalCheck(chosen, default, decided_by, f"{why}, on {where}", rows, len(probes), len(own), notes)


def save_check(folder: str | Path, check: RetrievalCheck, measured: dict[str, Any] | None = None) -> Path:
    """Keep the check beside the index it measured (``measured``: that index's files and chunk settings)."""
    data = {**check.as_dict(), "measured": measured or {}}
    return write_atomic(Path(folder) / CHECK_FILE, json.dumps(data, indent=1, ensure_ascii=False))


def load_check(folder: str | Path) -> RetrievalCheck | None:
    """The check saved beside an index; None when it has none (or an unreadable one)."""
    path = Path(folder) / CHECK_FILE
    try:
        return RetrievalCheck.from_dict(json.loads(path.read_text(encoding="utf-8")))
    except (OSError, ValueError, KeyError, TypeError):
        return None


def chosen_settings(
    check: RetrievalCheck | None, base: RetrievalSettings | None = None, override: str | None = None
) -> RetrievalSettings:
    """The settings answers retrieve with: ``override`` (a recipe name a person picked) first, then the
    check's choice, else ``base`` unchanged. The header is the index's own: it is not a search setting."""
    base = base or RetrievalSettings()
    if check is None:
        return base
    if override and override != AUTOMATIC:
        picked = next((r for r in recipes(["none", "title"]) if r.name == override), None)
        return picked.settings(base) if picked else base
    return check.chosen.settings(base)


AUTOMATIC = "automatic"


def check_table(check: RetrievalCheck) -> list[dict[str, Any]]:
    """One row per recipe: its scores on each question set, and whether it is the default or the choice."""
    table: dict[str, dict[str, Any]] = {}
    for row in check.rows:
        entry = table.setdefault(row["recipe"], {"recipe": row["recipe"]})
        entry[f"{row['set']} hit@5"] = row["hit@5"]
        entry[f"{row['set']} MRR"] = row["mrr"]
    for entry in table.values():
        entry["note"] = (
            "chosen"
            if entry["recipe"] == check.chosen.name
            else "default"
            if entry["recipe"] == check.default.name
            else ""
        )
    return list(table.values())


def summary(check: RetrievalCheck) -> str:
    """One sentence: what was chosen, why, and how it compares with the default."""
    decided = "probes" if check.decided_by == "probes" else "own questions"
    got, was = check.score(check.chosen, decided), check.score(check.default, decided)
    compare = (
        f" (default {check.default.name}: MRR {was['mrr']:.3f}, hit@5 {was['hit@5']:.3f})"
        if got and was and check.chosen != check.default
        else ""
    )
    return f"Retrieval check: {check.chosen.name} chosen because {check.reason}{compare}."


__all__ = [
    "AUTOMATIC",
    "CHECK_FILE",
    "MARGIN",
    "MAX_PROBES",
    "Recipe",
    "RetrievalCheck",
    "answer_settings",
    "check_table",
    "choose",
    "chosen_settings",
    "folder_check",
    "index_with_header",
    "load_check",
    "probe_questions",
    "recipe_names",
    "recipes",
    "run_check",
    "save_check",
    "summary",
    "workspace_check",
    "workspace_headers",
]


def workspace_check(
    index: Any,
    workspace: Any,
    files: Sequence[Any] | None = None,
    *,
    again: bool = False,
    progress: Callable[[float, str], None] | None = None,
) -> RetrievalCheck:
    """The check kept beside ``index`` (or the workspace's last one, when it measured these same files and
    chunks under the other header); made and kept when there is none, or ``again``.

    ``workspace``: its :class:`playground.workspace.Workspace`, whose ``questions.jsonl`` is its own question
    set and whose held-out questions never become probes. When the check chooses the other contextual header,
    the workspace remembers it and its next index is built with it (:func:`workspace_headers`).
    """
    from playground.heldout import held_out

    measured = {"files": index.files, "chunk_settings": index.stats.chunk_settings}
    if not again:
        kept = load_check(index.path)
        if kept is not None:
            return kept
        last = Path(workspace.dir) / CHECK_FILE
        if last.is_file() and json.loads(last.read_text(encoding="utf-8")).get("measured") == measured:
            kept = load_check(workspace.dir)
            if kept is not None:
                save_check(index.path, kept, measured)
                return kept
    check = run_check(
        index,
        files=files if files is not None else workspace.documents(),
        own_questions=workspace.questions(),
        held_out=held_out(workspace.name),
        progress=progress,
    )
    save_check(index.path, check, measured)
    save_check(workspace.dir, check, measured)
    if check.chosen.headers != (workspace.retrieval_headers() or check.default.headers):
        workspace.save_retrieval_headers(check.chosen.headers)
    return check


def workspace_headers(workspace: Any) -> str:
    """The contextual header the workspace's index is built with: a person's picked recipe's, else the
    check's choice, else the default recipe's."""
    from playground.index import SearchRecipe

    picked = next((r for r in recipes(["none", "title"]) if r.name == workspace.retrieval_recipe()), None)
    return picked.headers if picked else workspace.retrieval_headers() or SearchRecipe().headers


def answer_settings(index: Any, workspace: Any, base: RetrievalSettings | None = None) -> RetrievalSettings:
    """The settings answers retrieve with in ``workspace``: a person's pick, else the kept check's choice,
    else ``base``. Only mode and fusion weight change; ``base`` keeps its top-k and cutoff."""
    if index is None:
        return base or RetrievalSettings()
    return chosen_settings(load_check(index.path), base, workspace.retrieval_recipe())


def recipe_names() -> list[str]:
    """Every recipe a person can pick, by name (the header part says which index it was measured on)."""
    return [r.name for r in recipes(["none", "title"])]


def folder_check(index: Any, docs: str | Path, files: Sequence[Any], workspace: str) -> RetrievalCheck:
    """:func:`workspace_check` for a folder of documents (the command line): its ``questions.jsonl`` is the
    workspace's own set, held out from the probes with the workspace's registered ones."""
    from playground.documents import QUESTIONS_FILE, load_questions
    from playground.heldout import held_out

    kept = load_check(index.path)
    if kept is not None:
        return kept
    folder = Path(docs) if Path(docs).is_dir() else Path(docs).parent
    own = load_questions(folder) if (folder / QUESTIONS_FILE).is_file() else []
    check = run_check(index, files=files, own_questions=own, held_out=held_out(workspace, [folder]))
    save_check(index.path, check)
    return check


def index_with_header(index: Any, headers: str, files: Sequence[Any]) -> Any:
    """``index`` built again (or loaded, when kept) with chunks under ``headers``, carrying its check along:
    what answers retrieve from when the check chose the other header."""
    from playground.config import ChunkSettings
    from playground.index import SearchRecipe, build_index

    if headers == index.recipe.headers:
        return index
    other = build_index(
        files,
        embed_model=index.embed_model,
        chunk_settings=ChunkSettings(**index.stats.chunk_settings),
        workspace=index.workspace,
        recipe=SearchRecipe(**{**index.recipe.as_dict(), "headers": headers}),
    )
    check = load_check(index.path)
    if check is not None and load_check(other.path) is None:
        save_check(other.path, check, {"files": index.files, "chunk_settings": index.stats.chunk_settings})
    return other
