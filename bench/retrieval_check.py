"""``python -m bench.retrieval_check``: the retrieval check's choice against the fixed default, per corpus.

For each corpus of ``bench.retrieval`` (the sample, CMake's documentation, SQLite's pages), the index is built
as the app builds it, :func:`playground.retrieval_check.run_check` chooses a recipe (probes from the chunks,
and the corpus' own ``questions.jsonl``, which decides), and both the default (hybrid, equal fusion, title
header) and the choice are scored with ``bench.retrieval.scores`` on the corpus' own questions: file-level
hit@5 and MRR over the top 10, as ``python -m bench --retrieval`` reports them.
"""

from __future__ import annotations

import os
import sys
import tempfile
import time
from collections.abc import Callable
from typing import Any

from bench.retrieval import CORPORA, _cached, scores


def run(corpora: list[str] | None = None, log: Callable[[str], None] = print) -> list[dict[str, Any]]:
    from playground.documents import load_folder, load_questions
    from playground.embeddings import LocalEmbedding
    from playground.index import build_index
    from playground.retrieval_check import chosen_settings, index_with_header, run_check

    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    model = _cached(LocalEmbedding())
    rows: list[dict[str, Any]] = []
    log(f"{'corpus':<8}{'recipe':<48}{'hit@5':>7}{'MRR':>7}  decided by / why")
    with tempfile.TemporaryDirectory(prefix="playground-check-") as tmp:
        os.environ["PLAYGROUND_HOME"] = tmp
        for corpus in corpora or list(CORPORA):
            folder = CORPORA[corpus]
            if not folder.is_dir():
                log(f"{corpus:<8}(not here: {folder})")
                continue
            started = time.perf_counter()
            files, questions = load_folder(folder), load_questions(folder)
            index = build_index(files, embed_model=model, workspace=corpus)
            check = run_check(index, files=files, own_questions=questions, held_out=[q["question"] for q in questions])
            default = scores(index, questions)
            chosen_index = index_with_header(index, check.chosen.headers, files)
            chosen = scores(chosen_index, questions, chosen_settings(check))
            seconds = time.perf_counter() - started
            for label, recipe, got in (("default", check.default, default), ("chosen", check.chosen, chosen)):
                rows.append({"corpus": corpus, "which": label, "recipe": recipe.name, **got})
                log(f"{corpus:<8}{label + ': ' + recipe.name:<48}{got['hit@5']:>7.3f}{got['mrr']:>7.3f}")
            log(
                f"{'':<8}{check.decided_by} ({check.own_questions} own questions, {check.probes} probes); "
                f"{check.reason} ({seconds:.0f} s with the build)"
            )
    return rows


if __name__ == "__main__":
    run(sys.argv[1:] or None)
