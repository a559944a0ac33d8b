"""``python -m bench --retrieval``: how well retrieval finds the right file, on three corpora, lever by lever.

Corpora: the sample (``sample_docs``, 71 questions, written with it) and CMake's own documentation
(``bench/data/cmake_docs``: five reference manuals and the release notes of six versions, 3.20 to 3.25,
79 questions written for this bench, licence in ``bench/data/cmake_docs.LICENSE``): eleven documents on
one subject, where the manuals all speak of targets, properties and packages and the release notes all
list the same kinds of change, as the overlapping web articles that retrieval first missed on do. And
SQLite's documentation (``bench/data/sqlite_docs``: ten prose pages on transactions, locking, WAL, atomic
commit, isolation and temporary files, kept as the HTML pages they ship as, menu bar, search form and footer
included; 47 questions written for this bench and 5 the pages cannot answer, licence in
``bench/data/sqlite_docs.LICENSE``): web pages with their chrome, on one subject seen from ten sides.

Scores, over the top 10 of ``PlaygroundIndex.retrieve`` (hybrid, the app's defaults otherwise):
hit@k = the share of questions with a chunk of the expected file in the top k; MRR = the mean of
1 / rank of the first such chunk (0 when none). ``answer`` = the same for a chunk of that file that
contains the expected answer (the sample's own test measures that). Each lever is measured alone
against the baseline (how retrieval worked before any lever), then the adopted set together.
Embeddings are computed once per distinct text and reused across levers (same model, same text, same
vector), so only the levers' own cost is repeated.
"""

from __future__ import annotations

import contextlib
import os
import tempfile
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
CORPORA = {
    "sample": ROOT / "sample_docs",
    "cmake": ROOT / "bench" / "data" / "cmake_docs",
    "sqlite": ROOT / "bench" / "data" / "sqlite_docs",
}
DEPTH = 10  # ranks looked at for MRR


@dataclass(frozen=True)
class Lever:
    name: str
    recipe: dict[str, Any] = field(default_factory=dict)  # SearchRecipe fields
    retrieval: dict[str, Any] = field(default_factory=dict)  # RetrievalSettings fields


BASELINE = Lever("baseline: before (no headers; BM25 stemmed, no stop words; RRF k=60)", {"headers": "none"})
PREFIXES = {"query_prefix": "query: ", "passage_prefix": "passage: "}
NONE = {"headers": "none"}
LEVERS = [
    Lever("contextual header: document title", {"headers": "title"}),
    Lever("contextual header: title › section (2 levels)", {"headers": "section"}),
    Lever("BM25 without stemming", {**NONE, "stem": False}),
    Lever("BM25 keeping stop words", {**NONE, "stopwords": False}),
    Lever("query/passage prefixes ('query: ', 'passage: ')", {**NONE, **PREFIXES}),
    Lever("fusion k=20 (top ranks count more)", NONE, {"rrf_k": 20}),
    Lever("fusion: BM25 weighted 0.5", NONE, {"bm25_weight": 0.5}),
    Lever("fusion: BM25 weighted 2", NONE, {"bm25_weight": 2.0}),
    Lever("fusion: vectors only", NONE, {"mode": "vector"}),
    Lever("fusion: BM25 only", NONE, {"mode": "bm25"}),
    Lever("title header + BM25 weighted 1.5", {"headers": "title"}, {"bm25_weight": 1.5}),
    Lever("title header + BM25 weighted 2", {"headers": "title"}, {"bm25_weight": 2.0}),
]


def scores(index: Any, questions: Sequence[dict[str, str]], settings: Any = None) -> dict[str, float]:
    """File-level hit@1/3/5 and MRR, and the answer-level hit@5 and MRR, of ``index`` on ``questions``."""
    import re

    from playground.config import RetrievalSettings

    def norm(text: str) -> str:
        return re.sub(r"\s+", " ", text).strip().lower()

    from playground.vectorstores import unit_rows

    settings = replace(settings or RetrievalSettings(), top_k=DEPTH)
    # A question with no source file (one the documents cannot answer) has no right file to find.
    questions = [row for row in questions if row.get("source")]
    # All questions embedded in one batch, as retrieve() embeds one (the bundled model embeds a question as
    # it embeds a passage; the recipe's query prefix is added the same way).
    texts = [index.recipe.query_prefix + row["question"] for row in questions]
    vectors = unit_rows(index.embed_model.get_text_embedding_batch(texts))
    file_ranks: list[int | None] = []
    answer_ranks: list[int | None] = []
    for row, vector in zip(questions, vectors, strict=True):
        hits = index.search(row["question"], vector, settings)
        file_ranks.append(next((h.rank for h in hits if h.file_name == row["source"]), None))
        gold = norm(row.get("answer", ""))
        answer_ranks.append(
            next((h.rank for h in hits if h.file_name == row["source"] and gold and gold in norm(h.text)), None)
        )
    n = len(questions)

    def at(ranks: list[int | None], k: int) -> float:
        return round(sum(1 for r in ranks if r is not None and r <= k) / n, 3)

    def mrr(ranks: list[int | None]) -> float:
        return round(sum(1 / r for r in ranks if r is not None) / n, 3)

    return {
        "n": n,
        "hit@1": at(file_ranks, 1),
        "hit@3": at(file_ranks, 3),
        "hit@5": at(file_ranks, 5),
        "mrr": mrr(file_ranks),
        "answer_hit@5": at(answer_ranks, 5),
        "answer_mrr": mrr(answer_ranks),
        "missed": [q["question"] for q, r in zip(questions, file_ranks, strict=True) if r is None or r > 5],
    }


def _cached(model: Any) -> Any:
    """The embedding model with a cache by text: the levers re-embed the same chunks many times."""
    from llama_index.core.base.embeddings.base import BaseEmbedding
    from pydantic import PrivateAttr

    class Cached(BaseEmbedding):
        _inner: Any = PrivateAttr()
        _memo: dict[str, list[float]] = PrivateAttr(default_factory=dict)
        _queries: dict[str, list[float]] = PrivateAttr(default_factory=dict)

        def __init__(self) -> None:
            super().__init__(model_name=model.model_name, embed_batch_size=256)
            self._inner = model

        def _get_text_embeddings(self, texts: list[str]) -> list[list[float]]:
            todo = [t for t in dict.fromkeys(texts) if t not in self._memo]
            if todo:
                self._memo.update(zip(todo, self._inner.get_text_embedding_batch(todo), strict=True))
            return [self._memo[t] for t in texts]

        def _get_text_embedding(self, text: str) -> list[float]:
            return self._get_text_embeddings([text])[0]

        def _get_query_embedding(self, query: str) -> list[float]:
            if query not in self._queries:
                self._queries[query] = self._inner.get_query_embedding(query)
            return self._queries[query]

        async def _aget_query_embedding(self, query: str) -> list[float]:
            return self._get_query_embedding(query)

    return Cached()


def run_retrieval(levers: Sequence[Lever] | None = None, log: Callable[[str], None] = print) -> dict[str, Any]:
    """Every lever on every corpus, in a temporary PLAYGROUND_HOME."""
    from playground.config import RetrievalSettings
    from playground.documents import load_folder, load_questions
    from playground.embeddings import LocalEmbedding
    from playground.index import SearchRecipe, build_index

    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    levers = [BASELINE, *(LEVERS if levers is None else levers), adopted()]
    model = _cached(LocalEmbedding())
    rows: list[dict[str, Any]] = []
    with tempfile.TemporaryDirectory(prefix="playground-retrieval-") as tmp:
        old = os.environ.get("PLAYGROUND_HOME")
        os.environ["PLAYGROUND_HOME"] = tmp
        try:
            for corpus, folder in CORPORA.items():
                files, questions = load_folder(folder), load_questions(folder)
                for i, lever in enumerate(levers):
                    started = time.perf_counter()
                    recipe = SearchRecipe(**{**SearchRecipe().as_dict(), **lever.recipe})
                    index = build_index(files, embed_model=model, workspace=f"{corpus}-{i}", recipe=recipe)
                    settings = {k: v for k, v in lever.retrieval.items() if k in RetrievalSettings.__dataclass_fields__}
                    with _weighted(lever.retrieval.get("bm25_weight")):
                        got = scores(index, questions, RetrievalSettings(**settings))
                    rows.append({"corpus": corpus, "lever": lever.name, "chunks": index.stats.chunks, **got})
                    seconds = time.perf_counter() - started
                    log(f"{corpus:<7}{got['hit@5']:>6.3f}{got['mrr']:>7.3f}  {lever.name} ({seconds:.0f} s)")
        finally:
            if old is None:
                os.environ.pop("PLAYGROUND_HOME", None)
            else:
                os.environ["PLAYGROUND_HOME"] = old
    return {"rows": rows}


@contextlib.contextmanager
def _weighted(bm25_weight: float | None) -> Iterator[None]:
    """Fuse the vector and BM25 rankings with BM25 weighted ``bm25_weight`` (a lever not in the settings)."""
    import playground.index as index_module

    if bm25_weight is None:
        yield
        return
    plain = index_module.reciprocal_rank_fusion

    def fuse(rankings: Any, k: int = 60, weights: Any = None) -> Any:
        return plain(rankings, k, [1.0, bm25_weight] if len(rankings) == 2 else None)

    index_module.reciprocal_rank_fusion = fuse  # type: ignore[assignment]
    try:
        yield
    finally:
        index_module.reciprocal_rank_fusion = plain


def adopted() -> Lever:
    """The defaults as they are now (SearchRecipe() and RetrievalSettings()): what the app retrieves with."""
    return Lever("adopted: the defaults now (SearchRecipe, RetrievalSettings)")


def retrieval_table(result: dict[str, Any]) -> str:
    rows = result["rows"]
    levers = list(dict.fromkeys(r["lever"] for r in rows))
    by = {(r["corpus"], r["lever"]): r for r in rows}
    out = [
        "Retrieval: right file in the top 5 (hit@5) and mean reciprocal rank (MRR) over the top 10; answer = a chunk",
        "of that file containing the expected answer. sample: 71 questions, cmake: 79 (bench/data/cmake_docs),",
        "sqlite: 47 with an answer in the pages (bench/data/sqlite_docs, HTML with its chrome)",
        f"{'lever':<70}" + "".join(f"{name + ' hit@5':>13}{'MRR':>7}{'answer':>8}" for name in CORPORA),
    ]
    for lever in levers:
        cells = ""
        for corpus in CORPORA:
            r = by.get((corpus, lever))
            cells += f"{r['hit@5']:>13.3f}{r['mrr']:>7.3f}{r['answer_hit@5']:>8.3f}" if r else f"{'':>28}"
        out.append(f"{lever[:69]:<70}{cells}")
    out.append(
        "cross-encoder reranker: not measured. No installed package ships one's weights (sentence-transformers has"
        " the code only), and nothing is downloaded at run time"
    )
    return "\n".join(out)


__all__ = ["BASELINE", "CORPORA", "LEVERS", "Lever", "adopted", "retrieval_table", "run_retrieval", "scores"]
