"""The one-of-each pieces: typed evaluation records, the atomic write, compare() on retrieved passages,
dataset edits, and the shared index cache under concurrent sessions."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
from pathlib import Path

import pytest

from playground.compare import CONDITIONS, Retrieved, compare
from playground.evaluate.records import EvalRun, QuestionResult
from playground.evaluate.run import RESULTS_FILE, load_run
from playground.index import Hit
from playground.models import Catalogue, ModelInfo, corpus_note, default_finetune
from playground.storage import replace_dir, write_atomic, writing

from .helpers import ROOT, FakeBackend

# A results line exactly as runs were stored before the records were typed (written by the previous version).
STORED_ROW = json.loads("""
{
 "qid": "q1",
 "question": "How long is the warranty?",
 "answer": "24 months",
 "source": "handbook.md",
 "id": "q1",
 "retrieval": {
  "ids": [
   "a",
   "b"
  ],
  "files": [
   "handbook.md",
   "faq.md"
  ],
  "relevant": [
   "a"
  ],
  "relevance": "answer",
  "rank": 1,
  "file_rank": 1,
  "seconds": 0.0123,
  "error": null
 },
 "passages": [
  {
   "rank": 1,
   "node_id": "a",
   "file_name": "handbook.md",
   "page": null,
   "score": 1.0,
   "similarity": 0.61,
   "text": "The warranty lasts 24 months."
  }
 ],
 "conditions": {
  "base": {
   "model": "fake:base",
   "text": "Two years.",
   "error": null,
   "same_as": null,
   "metrics": {
    "latency_s": 0.5,
    "first_token_s": 0.1,
    "prompt_tokens": 30,
    "completion_tokens": 4,
    "tokens_per_s": 8.0
   },
   "scores": {
    "correct": 0.0,
    "strict_em": 0.0,
    "f1": 0.0,
    "similarity": 0.4
   }
  },
  "base+rag": {
   "model": "fake:base",
   "text": "24 months.",
   "error": null,
   "same_as": null,
   "metrics": {
    "latency_s": 0.9,
    "first_token_s": 0.4,
    "prompt_tokens": 120,
    "completion_tokens": 3,
    "tokens_per_s": 7.0
   },
   "scores": {
    "correct": 1.0,
    "strict_em": 1.0,
    "f1": 1.0,
    "similarity": 0.9
   }
  },
  "ft": {
   "model": "fake:tuned",
   "text": "",
   "error": "Ollama is not running",
   "same_as": null,
   "metrics": null,
   "scores": null
  }
 }
}
""")


def test_a_stored_result_reads_into_records_and_writes_back_the_same_json():
    result = QuestionResult.from_json(STORED_ROW)
    assert result.qid == "q1" and result.question.source == "handbook.md"
    assert result.retrieval is not None and result.retrieval.rank == 1 and result.passages[0].similarity == 0.61
    assert result.scored("base+rag") and not result.scored("ft") and result.correct("base+rag") == 1.0
    assert result.failed(["base", "ft"]) and not result.failed(["base", "base+rag"])
    assert result.to_json() == STORED_ROW, "the record is the stored shape, key for key"
    card = result.condition_result("base+rag")
    assert card is not None and card.metrics is not None and card.metrics.context_used == 123
    assert [card.sources[0].text[a:b] for a, b in card.sources[0].used_spans] == ["24"], "what the answer repeats"
    assert result.condition_result("ft+rag") is None


def test_a_run_stored_by_the_previous_version_loads(tmp_path):
    folder = tmp_path / "run"
    folder.mkdir()
    config = {"config": {"base": "fake:base", "conditions": ["base", "base+rag", "ft"], "limit": 0},
              "questions": {"name": "old", "rows": [{"question": STORED_ROW["question"], "answer": "24 months",
                                                     "source": "handbook.md", "id": "q1"}]},
              "created": "2026-11-01T10:00:00+0000"}  # fmt: skip
    (folder / "config.json").write_text(json.dumps(config))
    (folder / RESULTS_FILE).write_text(json.dumps(STORED_ROW) + "\n" + '{"qid": "q2", "quest')  # a torn last line
    run = load_run(folder)
    assert isinstance(run, EvalRun) and run.complete
    assert (
        run.results[0].answers["base"].metrics is not None and run.results[0].answers["base"].metrics.latency_s == 0.5
    )


def test_compare_answers_from_passages_retrieved_beforehand():
    catalogue = Catalogue([FakeBackend()])
    hits = [Hit("a", "handbook.md", None, 1.0, "The warranty lasts 24 months.", 1)]
    run = compare("Warranty?", catalogue=catalogue, base=catalogue.resolve("fake:base"), index=Retrieved(hits))
    results = run.run_all()
    assert [r.condition for r in results] == list(CONDITIONS)
    rag = results[1]
    assert rag.sources[0].text == hits[0].text and "24 months" in rag.messages[-1]["content"]
    failed = compare("Warranty?", catalogue=catalogue, base=catalogue.resolve("fake:base"),
                     index=Retrieved([], error="the index is damaged: rebuild it")).run_all()  # fmt: skip
    assert failed[1].error == "the index is damaged: rebuild it" and failed[0].error is None


def test_the_atomic_write_leaves_the_old_file_when_writing_fails(tmp_path):
    target = write_atomic(tmp_path / "settings.json", '{"v": 1}')
    with pytest.raises(RuntimeError), writing(target) as tmp:
        tmp.write_text('{"v": 2, "half')
        raise RuntimeError("disk full")
    assert target.read_text() == '{"v": 1}'
    assert sorted(p.name for p in tmp_path.iterdir()) == ["settings.json"], "no temporary file is left"
    assert oct(target.stat().st_mode & 0o777) == "0o644"


def test_a_process_killed_while_writing_leaves_the_previous_version(tmp_path):
    target = write_atomic(tmp_path / "registry.json", "old")
    script = (
        "import os, signal, sys\n"
        "from playground.storage import writing\n"
        f"with writing({str(target)!r}) as tmp:\n"
        "    tmp.write_text('new, half written')\n"
        "    os.kill(os.getpid(), signal.SIGKILL)\n"
    )
    done = subprocess.run([sys.executable, "-c", script], cwd=ROOT, env=os.environ.copy(), check=False)
    assert done.returncode == -9
    assert target.read_text() == "old"
    write_atomic(target, "new")  # the next writer is not bothered by the debris
    assert target.read_text() == "new"


def test_a_folder_is_replaced_whole_and_a_complete_one_is_kept(tmp_path):
    target = tmp_path / "index"
    replace_dir(target, lambda d: (d / "manifest.json").write_text("first"))
    replace_dir(target, lambda d: (d / "manifest.json").write_text("second"), complete=lambda p: True)
    assert (target / "manifest.json").read_text() == "first", "an identical finished folder is kept"
    with pytest.raises(ValueError):
        replace_dir(target, lambda d: (_ for _ in ()).throw(ValueError("boom")))
    assert (target / "manifest.json").read_text() == "first"
    assert [p.name for p in tmp_path.iterdir()] == ["index"]


def test_one_rule_picks_the_default_fine_tune():
    docs = {"a.md": "sha-a", "b.pdf": "sha-b"}
    base = ModelInfo("embedded", "smollm2-135m-instruct")
    corpus = {"workspace": "w", "files": docs}
    shipped = ModelInfo("embedded", "nightwren-sample", finetuned_from=base.id,
                        details={"shipped": True, "corpus": corpus})  # fmt: skip
    quick = ModelInfo("embedded", "quick-run", finetuned_from=base.id, details={"corpus": corpus})
    other = ModelInfo("embedded", "other-base")
    assert default_finetune([base, quick, shipped, other], base, docs) == shipped
    assert default_finetune([base, quick, other], base, docs) == quick, "a workspace's own training run comes next"
    assert default_finetune([base, shipped], base, {"harbour.md": "sha-h"}) is None, "trained on other documents"
    assert corpus_note(shipped, docs) is None
    assert "other documents (workspace 'w')" in (corpus_note(shipped, {"harbour.md": "sha-h"}) or "")


def test_dataset_edits_keep_what_is_named_and_are_checked_for_leaks_again(tmp_path):
    from playground.config import ChunkSettings
    from playground.documents import chunk, load_bytes
    from playground.finetune.dataset import build_dataset, edit_dataset

    doc = load_bytes("policy.md", b"# Returns\n\nCustomers may return a product within 45 days of delivery.\n"
                                  b"The warranty covers repairs for 24 months after purchase.\n")  # fmt: skip
    dataset = build_dataset(chunk([doc], ChunkSettings()), workspace="w")
    assert len(dataset.examples) >= 2
    first, second = dataset.examples[0], dataset.examples[1]
    edited = edit_dataset(dataset, {1: (second.question, "Answer: two years")}, workspace="w")
    assert [e.answer for e in edited.examples] == ["Answer: two years"] and edited.examples[0].origin == "edited"
    assert edited.hash != dataset.hash and dataset.examples[0] is first, "the original is left as it was"
    held = tmp_path / "held.jsonl"
    held.write_text(json.dumps({"question": "When can a customer return a bought product to the shop?"}) + "\n")
    leaky = edit_dataset(
        dataset,
        {0: ("When can a customer return a bought product to the shop?", first.answer)},
        workspace="w",
        heldout_extra=[held],
    )
    assert leaky.examples == [] and leaky.leakage.dropped == 1, "an edit that copies a held-out question is dropped"


def test_two_sessions_asking_for_one_index_at_once_build_it_once(tmp_path, monkeypatch, embed_model):
    import streamlit as st

    from playground.ui import cache
    from playground.workspace import open_workspace

    monkeypatch.setattr(cache, "embed_model", lambda: embed_model)
    ws = open_workspace("together").create()
    ws.add([("a.md", b"# A\n\nThe gale sensor reads wind up to 60 m/s."), ("b.md", b"Rain in 0.1 mm steps.")])
    st.cache_resource.clear()
    cache.LOADS.clear()
    got: list[object] = []
    errors: list[BaseException] = []

    def ask() -> None:
        try:
            got.append(cache.workspace_index(ws.name, ws.signature(), (128, 16)))
        except BaseException as err:  # pragma: no cover - reported below
            errors.append(err)

    threads = [threading.Thread(target=ask) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    assert not errors and len(got) == 4
    assert cache.LOADS["index"] == 1 and all(index is got[0] for index in got), "built once, shared"
    st.cache_resource.clear()


def test_pages_hold_widgets_and_rendering_only():
    """No page parses files, checks leakage, builds figures or reads the workspace's folders itself."""
    forbidden = ("check_leakage", "held_out_questions", "go.Figure", "plotly.graph_objects", ".is_file()",
                 "QUESTIONS_FILE", "json.loads", "open(")  # fmt: skip
    for page in sorted(Path(ROOT / "pages").glob("*.py")):
        text = page.read_text()
        assert not [f for f in forbidden if f in text], page.name
