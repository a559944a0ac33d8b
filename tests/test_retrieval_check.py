"""The retrieval check: every recipe scored on the workspace's own chunks and questions, the best kept,
near-ties broken towards the simplest, the choice saved with the index and loaded back."""

from __future__ import annotations

import json
from pathlib import Path

from playground.config import RetrievalSettings
from playground.documents import load_bytes
from playground.index import build_index
from playground.retrieval_check import (
    Recipe,
    choose,
    chosen_settings,
    load_check,
    probe_questions,
    run_check,
    save_check,
    summary,
)
from playground.vectorstores import unit_rows

TOPICS = {
    "cats.md": (
        "# Cats\n\nCats purr, hunt mice at night and sleep sixteen hours a day.\n",
        "Which pet naps most of the day?",
    ),
    "boats.md": (
        "# Boats\n\nA sailboat needs wind in its sails and a keel below the hull.\n",
        "What vessel is pushed by a breeze?",
    ),
    "bread.md": ("# Bread\n\nFlour, water, yeast and salt, kneaded and baked in an oven.\n", "How do you make a loaf?"),
    "piano.md": (
        "# Piano\n\nEighty-eight keys strike felt hammers on steel strings.\n",
        "Which instrument has black and white keys?",
    ),
    "rain.md": (
        "# Rain\n\nClouds release droplets when water vapour condenses and grows heavy.\n",
        "Why does it drizzle?",
    ),
}


def test_a_clear_winner_is_chosen(embed_model):
    # Questions that share (almost) no word with their file: BM25 finds few, the embeddings find each one.
    files = [load_bytes(name, text.encode()) for name, (text, _) in TOPICS.items()]
    index = build_index(files, embed_model=embed_model, workspace="topics")
    own = [{"question": q, "answer": "", "source": name} for name, (_, q) in TOPICS.items()] * 2
    check = run_check(index, files=files, own_questions=own, max_probes=20)
    assert check.decided_by == "own questions"
    chosen = check.score(check.chosen, "own questions")
    bm25 = check.score(Recipe("bm25", 0.0, check.chosen.headers), "own questions")
    assert chosen and bm25 and chosen["mrr"] >= 0.8 and bm25["mrr"] <= 0.5
    assert check.chosen.mode == "vector"  # hybrid ties it (BM25 adds nothing) and is less simple
    assert "chosen because" in summary(check)


def test_near_tie_goes_to_the_simplest():
    weighted, equal = Recipe("hybrid", 0.7, "title"), Recipe("hybrid", 0.5, "title")
    vector, bare = Recipe("vector", 1.0, "title"), Recipe("vector", 1.0, "none")
    picked, reason = choose({weighted: (0.9, 0.805), equal: (0.9, 0.800), vector: (0.85, 0.80)})
    assert picked == equal and "simplest" in reason  # vector's hit@5 is 0.05 lower: no tie
    assert choose({weighted: (0.9, 0.805), bare: (0.9, 0.797), vector: (0.9, 0.799)})[0] == bare
    assert choose({weighted: (0.9, 0.85), equal: (0.9, 0.80)})[0] == weighted  # past the margin the best wins


def test_weighted_fusion_changes_the_ranking(sample_index, sample_questions):
    changed = 0
    questions = [q["question"] for q in sample_questions[:30]]
    vectors = unit_rows(sample_index.embed_model.get_text_embedding_batch(questions))
    for question, vector in zip(questions, vectors, strict=True):
        ranks = [
            [h.node_id for h in sample_index.search(question, vector, RetrievalSettings(top_k=5, vector_weight=w))]
            for w in (0.1, 0.5, 0.9)
        ]
        changed += len({tuple(r) for r in ranks}) > 1
    assert changed >= 3
    # 0.5 is the equal fusion retrieval always did.
    plain = sample_index.search(questions[0], vectors[0], RetrievalSettings(top_k=5))
    assert [h.score for h in plain] == [
        h.score for h in sample_index.search(questions[0], vectors[0], RetrievalSettings(top_k=5, vector_weight=0.5))
    ]


def test_probes_never_include_held_out_questions(sample_index):
    probes = probe_questions(sample_index, limit=50)
    assert probes
    held = [probes[0]["question"], probes[-1]["question"].upper()]
    kept = probe_questions(sample_index, limit=50, held_out=held)
    texts = {p["question"].lower() for p in kept}
    assert not texts & {h.lower() for h in held}
    assert len(kept) >= len(probes) - 2


def test_the_choice_is_saved_loaded_and_overridable(sample_index, sample_files, sample_questions, tmp_path: Path):
    check = run_check(sample_index, files=sample_files, own_questions=sample_questions, max_probes=40)
    save_check(tmp_path, check)
    back = load_check(tmp_path)
    assert back is not None and back.chosen == check.chosen and back.rows == check.rows
    assert load_check(tmp_path / "missing") is None
    assert chosen_settings(back).mode == check.chosen.mode
    assert chosen_settings(back, override="BM25 only, no header").mode == "bm25"
    assert chosen_settings(None, RetrievalSettings(top_k=4)) == RetrievalSettings(top_k=4)
    # On the sample the choice never lowers MRR or hit@5 (on the set that decided) below the default's.
    decided = "own questions"
    got, default = check.score(check.chosen, decided), check.score(check.default, decided)
    assert got and default and got["mrr"] >= default["mrr"] - 0.01 and got["hit@5"] >= default["hit@5"] - 0.01
    assert {r["set"] for r in check.rows} == {"probes", "own questions"}


def test_a_workspace_keeps_its_check_and_a_person_overrides_it(embed_model):
    from playground.retrieval_check import answer_settings, index_with_header, workspace_check, workspace_headers
    from playground.workspace import Workspace

    files = [load_bytes(name, text.encode()) for name, (text, _) in TOPICS.items()]
    ws = Workspace("topics-ws").create()
    rows = [
        {"question": q + end, "answer": "x", "source": name} for end in ("", " ") for name, (_, q) in TOPICS.items()
    ]
    (ws.dir / "questions.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
    index = build_index(files, embed_model=embed_model, workspace=ws.name)
    check = workspace_check(index, ws, files)
    assert check.own_questions == 10 and check.decided_by == "own questions"
    assert load_check(index.path) is not None  # kept with the index: the next visit measures nothing
    assert answer_settings(index, ws).mode == check.chosen.mode
    assert workspace_headers(ws) == check.chosen.headers
    other = index_with_header(index, check.chosen.headers, files)
    assert other.recipe.headers == check.chosen.headers and load_check(other.path) is not None
    ws.save_retrieval_recipe("BM25 only, title header")
    assert answer_settings(index, ws).mode == "bm25" and workspace_headers(ws) == "title"
    ws.save_retrieval_recipe(None)
    assert answer_settings(index, ws).mode == check.chosen.mode


def test_retrieve_json_carries_the_check_and_mode_overrides_it(capsys):
    from playground.__main__ import main

    from .helpers import SAMPLE_DOCS

    args = ["retrieve", "--docs", str(SAMPLE_DOCS), "--question", "How long is the warranty?", "--json", "--quiet"]
    assert main(args) == 0
    check = json.loads(capsys.readouterr().out)["retrieval_check"]
    assert check["decided_by"] == "own questions" and check["own_questions"] == 71 and not check["overridden"]
    assert check["used"]["mode"] == check["chosen"]["mode"] and check["used"]["headers"] == check["chosen"]["headers"]
    assert main([*args, "--mode", "vector"]) == 0
    again = json.loads(capsys.readouterr().out)["retrieval_check"]
    assert again["overridden"] and again["used"]["mode"] == "vector" and again["rows"] == check["rows"]  # kept
