"""The CLI's JSON shapes and messages, run as a person runs it: ``python -m playground ...``."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from playground.__main__ import main

from .helpers import ROOT, SAMPLE_DOCS
from .ollama_replay import OllamaReplay, unused_url

QUESTION = "What is the recommended interval between recalibrations of a humidity sensor?"


def cli(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "playground", *args],
        cwd=ROOT,
        env={**os.environ, **(env or {})},
        capture_output=True,
        text=True,
        timeout=600,
    )


def test_retrieve_json_shape_best_first(capsys):
    assert main(["retrieve", "--docs", str(SAMPLE_DOCS), "--question", QUESTION, "--top-k", "4", "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["question"] == QUESTION
    assert len(out["hits"]) == 4
    for hit in out["hits"]:
        assert {"file_name", "page", "score", "text"} <= set(hit)
        assert isinstance(hit["score"], float) and hit["text"]
    scores = [h["score"] for h in out["hits"]]
    assert scores == sorted(scores, reverse=True)
    assert any("every 18 months" in h["text"] for h in out["hits"])


def test_retrieve_readable_output_and_a_second_run_loads_the_saved_index(capsys, monkeypatch):
    monkeypatch.setattr("playground.index.copy_seed", lambda key, target: False)  # build, not the install's copy
    args = ["retrieve", "--docs", str(SAMPLE_DOCS), "--question", QUESTION, "--top-k", "2"]
    assert main(args) == 0
    first = capsys.readouterr()
    assert first.out.startswith(f"Q: {QUESTION}") and "#1 " in first.out and "#3 " not in first.out
    assert "embedded" in first.err
    assert main(args) == 0
    assert "Loaded" in capsys.readouterr().err


@pytest.mark.slow
def test_ask_json_prints_four_results_with_sources():
    proc = cli("ask", "--docs", str(SAMPLE_DOCS), "--question", QUESTION, "--max-tokens", "24", "--no-ollama", "--json")
    assert proc.returncode == 0, proc.stderr
    out = json.loads(proc.stdout)
    assert out["question"] == QUESTION
    assert [r["condition"] for r in out["results"]] == ["base", "base+rag", "ft", "ft+rag"]
    # As in the web app: the sample documents start with the fine-tune shipped for them.
    assert [r["model"] for r in out["results"]] == ["embedded:smollm2-135m-instruct"] * 2 + [
        "embedded:nightwren-sample"
    ] * 2
    assert out["results"][2]["note"] is None, "trained on these very documents: nothing to warn about"
    for r in out["results"]:
        assert r["text"].strip() and r["error"] is None
        metrics = r["metrics"]
        assert {"latency_s", "first_token_s", "prompt_tokens", "completion_tokens", "tokens_per_s"} <= set(metrics)
        assert metrics["prompt_tokens"] > 0 and 0 < metrics["completion_tokens"] <= 24
    rag = out["results"][1]
    assert rag["sources"] and "policies.docx" in {s["file_name"] for s in rag["sources"]}
    assert {"file_name", "page", "score", "text"} <= set(rag["sources"][0])
    assert out["results"][0]["sources"] == []


@pytest.mark.slow
def test_ask_readable_summary_shows_the_grid(capsys):
    code = main(
        ["ask", "--docs", str(SAMPLE_DOCS), "--question", QUESTION, "--max-tokens", "16", "--no-ollama",
         "--finetuned", "base"]
    )  # fmt: skip
    captured = capsys.readouterr()
    out = captured.out
    assert code == 0
    assert "Fine-tuned slot: the base model again" in captured.err
    lines = out.splitlines()
    # Not a question of the sample's set: no expected answer, so no label carries a verdict.
    assert not any(line.startswith("Expected:") for line in lines)
    assert f"{'Base':<38}  |  Base+RAG" in lines, "the grid's first row: Base beside Base+RAG"
    assert f"{'Fine-tuned':<38}  |  Fine-tuned+RAG" in lines, "its second row: Fine-tuned beside Fine-tuned+RAG"
    assert out.rstrip().splitlines()[-1].strip() and "Reading: " in out
    assert out.count("embedded:smollm2-135m-instruct") == 4, "'--finetuned base' runs the base in every slot"
    assert "No fine-tuned model chosen yet" in out
    assert "Sources: " in out and "tok/s" in out


def test_models_json_lists_the_bundled_model_and_ollama_down_is_a_message():
    proc = cli("models", "--json", env={"OLLAMA_HOST": unused_url()})
    assert proc.returncode == 0, proc.stderr
    out = json.loads(proc.stdout)
    assert "embedded:smollm2-135m-instruct" in [m["id"] for m in out["models"]]
    assert "ollama serve" in out["errors"]["ollama"]


def test_ask_an_ollama_model_while_ollama_is_down_says_how_to_start_it():
    url = unused_url()
    proc = cli(
        "ask", "--docs", str(SAMPLE_DOCS), "--question", QUESTION, "--base", "ollama:llama3.2:1b",
        env={"OLLAMA_HOST": url},
    )  # fmt: skip
    assert proc.returncode == 2
    assert "Ollama is not running at" in proc.stderr and "ollama serve" in proc.stderr
    assert "Traceback" not in proc.stderr


def test_a_missing_docs_folder_is_one_clear_line(capsys):
    assert main(["retrieve", "--docs", "/no/such/folder", "--question", "q"]) == 2
    err = capsys.readouterr().err
    assert err.strip() == "error: /no/such/folder does not exist: give a folder of documents or one document"


def test_the_index_can_use_an_ollama_embedding_model(capsys, monkeypatch):
    with OllamaReplay() as server:
        monkeypatch.setenv("OLLAMA_HOST", server.url)
        args = ["retrieve", "--docs", str(SAMPLE_DOCS), "--question", QUESTION, "--json", "--quiet"]
        assert main([*args, "--embed-model", "ollama:nomic-embed-text"]) == 0
        hits = json.loads(capsys.readouterr().out)["hits"]
        embedded_texts = [t for body in server.bodies("/api/embed") for t in body["input"]]
    assert len(hits) == 3  # the default top-k
    assert QUESTION in embedded_texts, "the question was embedded by Ollama"
    assert len(embedded_texts) > 30, "and so were the chunks"
    assert all(body["model"] == "nomic-embed-text" for body in server.bodies("/api/embed"))


def test_an_unknown_embedding_model_is_refused(capsys):
    args = ["retrieve", "--docs", str(SAMPLE_DOCS), "--question", QUESTION, "--embed-model", "bert"]
    assert main(args) == 2
    assert "use 'all-MiniLM-L6-v2', 'ollama:<model>' or 'openai:<model>'" in capsys.readouterr().err
