"""The claims lab on small inputs with the real bundled model and the shipped fine-tune: every experiment runs,
ends in a verdict stated with numbers, stores its result and reloads it; the report round-trips."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import threading

import pytest

from playground.claims import CLAIMS, VERDICTS, ClaimsConfig, Lab, load_result, report_json, run_claim, run_claims
from playground.claims.changes import changed_index, contradicting_index, pick_changes
from playground.claims.forgetting import general_set
from playground.claims.hallucination import make_unanswerable
from playground.claims.report import write_report
from playground.evaluate.questions import UNANSWERABLE, workspace_questions
from playground.models import Catalogue

from .helpers import ROOT, SAMPLE_DOCS, home_at

TINY = ClaimsConfig(
    questions=3, latency_questions=2, unanswerable=2, changed_facts=1, contradicted=1, general=6, max_tokens=40
)


def _corpus(files) -> str:
    return "\n".join(d.text for f in files if f.ok for d in f.documents)


def test_the_general_knowledge_set_is_big_enough():
    questions = general_set()
    assert len(questions) >= 40 and len({q.qid for q in questions.questions}) == len(questions)
    assert all(q.answerable and q.answer for q in questions.questions)


def test_unanswerable_questions_name_nothing_the_documents_hold(sample_files):
    questions = workspace_questions(SAMPLE_DOCS, name="sample")
    made = make_unanswerable(questions, _corpus(sample_files), 12)
    corpus = _corpus(sample_files).lower()
    assert len(made) == 12 and all(q.answer == UNANSWERABLE and not q.answerable for q in made.questions)
    originals = {q.question for q in questions.questions}
    for q in made.questions:
        assert q.question not in originals
        swapped = [w for w in re.findall(r"[A-Za-z][\w-]+", q.question) if w.lower() not in corpus]
        assert swapped, f"every word of {q.question!r} is in the documents"


@pytest.fixture(scope="module")
def lab_home(tmp_path_factory):
    with home_at(tmp_path_factory.mktemp("claims-home")) as home:
        yield home


@pytest.fixture(scope="module")
def lab(lab_home, sample_index, sample_files):
    from playground.models.embedded import EmbeddedBackend

    embedded = EmbeddedBackend()  # the models folder of this home (empty) and the shipped adapters
    return Lab(
        "sample",
        [f for f in sample_files if f.ok],
        sample_index,
        Catalogue([embedded]),
        embedded.get("smollm2-135m-instruct"),
        embedded.get("nightwren-sample"),
        config=TINY,
        questions=workspace_questions(SAMPLE_DOCS, name="sample"),
    )


@pytest.fixture(scope="module")
def results(lab):
    return {r.id: r for r in run_claims(lab)}


@pytest.fixture(autouse=True)
def _in_lab_home(request, monkeypatch):
    """Tests that use the lab read its stored results where it wrote them (not in the per-test home)."""
    if "lab" in request.fixturenames:
        monkeypatch.setenv("PLAYGROUND_HOME", str(request.getfixturevalue("lab_home")))


@pytest.mark.slow
def test_every_claim_but_the_opt_in_one_ends_in_a_verdict_with_numbers(results, lab):
    assert list(results) == [c.id for c in CLAIMS.values() if not c.opt_in]
    for r in results.values():
        assert r.verdict in VERDICTS and r.verdict != "not run", (r.id, r.summary)
        assert re.search(r"\d", r.summary), f"{r.id}: a verdict without numbers: {r.summary}"
        assert r.numbers and r.rows and r.figure and r.seconds >= 0 and r.finished
        assert any("Only" in n for n in r.notes) or r.id == "cost", f"{r.id}: a tiny sample must say so"
        stored = load_result(lab, r.id)
        assert stored is not None and stored.as_dict() == r.as_dict(), "stored as it finished, reloads the same"


@pytest.mark.slow
def test_numbers_match_what_the_experiments_did(results, lab):
    nk = results["new-knowledge"].numbers
    assert nk["questions"] == 3 and set(nk["accuracy"]) == {"base", "base+rag", "ft", "ft+rag"}
    latency = results["latency"].numbers
    assert latency["prompt_tokens"]["base+rag"] > 3 * latency["prompt_tokens"]["base"], "RAG prompts carry passages"
    cost = results["cost"].numbers
    assert cost["index_build_s"] > 0 and cost["index_bytes"] > 0 and cost["chunks"] == len(lab.index.nodes)
    assert cost["training"]["steps"] == 125 and cost["training"]["seconds"] > 0  # the shipped adapter's record
    fresh = results["freshness"].numbers
    assert fresh["changed"] == 1 and fresh["reindex_s"] > 0
    assert 0 < fresh["embedded"] < len(lab.index.nodes), "re-indexing embeds the changed file only"
    hall = results["hallucination"].numbers
    assert hall["unanswerable"] == 2 and set(hall["fabrication"]) == {"base", "base+rag", "ft", "ft+rag"}
    assert results["forgetting"].numbers["questions"] == 6


@pytest.mark.slow
def test_changed_and_contradicting_indexes_hold_the_new_values(lab, results):
    run = lab.core(TINY.latency_questions)
    assert run is not None
    [change] = pick_changes(lab, run, 1, prefer=("ft",))
    index, seconds = changed_index(lab, [change])
    assert seconds > 0
    texts = " ".join(n.get_content() for n in index.nodes if n.metadata.get("file_name") == change.file_name)
    assert change.new in texts and change.old not in texts
    assert lab.index.key != index.key and index.workspace != lab.workspace, "the workspace's own index is untouched"
    contradicted, _ = contradicting_index(lab, [change])
    assert any(change.new in n.get_content() for n in contradicted.nodes if n.metadata["file_name"].startswith("zz-"))


@pytest.mark.slow
def test_a_cancelled_claim_keeps_nothing_and_a_stored_one_is_not_run_again(lab, results):
    stopped = threading.Event()
    stopped.set()
    cancelled = Lab(lab.workspace, lab.files, lab.index, lab.catalogue, lab.base, lab.finetuned,
                    config=ClaimsConfig(**{**TINY.as_dict(), "questions": 5}), questions=lab.questions,
                    cancel=stopped)  # fmt: skip
    assert run_claim(cancelled, "new-knowledge") is None
    assert load_result(cancelled, "new-knowledge") is None
    again = run_claim(lab, "consistency")
    assert again is not None and again.finished == results["consistency"].finished


@pytest.mark.slow
def test_the_report_round_trips(lab, results, tmp_path):
    shown = list(results.values())
    data = json.loads(write_report(lab, shown, tmp_path / "claims.json").read_text())
    assert [c["id"] for c in data["claims"]] == list(results)
    for c in data["claims"]:
        assert set(c) >= {"id", "claim", "source", "verdict", "summary", "numbers"}
        assert c["verdict"] == results[c["id"]].verdict and c["numbers"] == json.loads(
            json.dumps(results[c["id"]].numbers, default=str)
        )
    config = data["config"]
    assert config["models"]["finetuned"]["adapter_sha256"] and config["index"]["files"]["policies.docx"]
    assert config == json.loads(json.dumps(report_json(lab, shown)["config"], default=str))
    page = write_report(lab, shown, tmp_path / "claims.html").read_text()
    assert page.count("plotly.js v") == 1, "plotly inline, once"
    assert not re.search(r"<script[^>]*\bsrc=", page), "no script from the network: the page works offline"
    assert all(f">{r.id}: " in page for r in shown)
    md = write_report(lab, shown, tmp_path / "claims.md").read_text()
    assert md.startswith("# RAG vs fine-tuning") and "| claim | verdict |" in md
    # What it was measured on is a readable list, not a JSON dump with the house style's regular expression
    assert "<h2>Measured on</h2>\n<ul><li>workspace: " in page and "## Measured on\n\n- workspace: " in md
    assert "```json" not in md


@pytest.mark.slow
def test_data_needs_draws_a_learning_curve(lab):
    small = Lab(lab.workspace, lab.files, lab.index, lab.catalogue, lab.base, lab.finetuned,
                config=ClaimsConfig(**{**TINY.as_dict(), "data_steps": 6, "latency_questions": 2}),
                questions=lab.questions)  # fmt: skip
    result = run_claim(small, "data-needs")
    assert result is not None and result.verdict in VERDICTS, result
    points = result.numbers["points"]
    assert len(points) == 3 and [p["steps"] for p in points] == [2, 3, 6]
    assert points[0]["examples"] < points[1]["examples"] < points[2]["examples"]


@pytest.mark.slow
def test_claims_cli_prints_the_json_the_issue_names(tmp_path):
    env = {**os.environ, "PLAYGROUND_HOME": str(tmp_path / "home"), "HF_HUB_OFFLINE": "1"}
    report = tmp_path / "claims.html"
    out = subprocess.run(
        [sys.executable, "-m", "playground", "claims", "--docs", str(SAMPLE_DOCS), "--claim", "consistency",
         "--n-questions", "2", "--json", "--quiet", "--no-ollama", "--report", str(report)],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=600,
    )  # fmt: skip
    assert out.returncode == 0, out.stderr[-2000:]
    data = json.loads(out.stdout)
    [claim] = data["claims"]
    assert claim["id"] == "consistency" and claim["verdict"] in VERDICTS and claim["numbers"]["questions"] == 2
    assert data["config"]["models"]["finetuned"]["id"] == "embedded:nightwren-sample", "the default fine-tune rule"
    assert report.is_file() and "consistency" in report.read_text()
