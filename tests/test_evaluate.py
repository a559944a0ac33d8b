"""The evaluation lab: metrics, intervals, question sets, real runs on the embedded model, resume, cards, CLI, page."""

from __future__ import annotations

import hashlib
import html
import json
import random
import shutil
import threading
from pathlib import Path

import pytest

from playground import heldout
from playground.compare import CONDITIONS, LABELS
from playground.config import GenerationParams, RetrievalSettings
from playground.errors import ConfigError, DocumentError
from playground.evaluate import (
    EvalConfig,
    QuestionResult,
    bootstrap_ci,
    evaluate,
    exact_match,
    generate_questions,
    load_run,
    parse_questions,
    reproduce,
    strict_exact_match,
    summarize,
    token_f1,
    workspace_questions,
    write_card,
)
from playground.evaluate.metrics import embedding_similarity, first_relevant_rank, normalize_answer
from playground.evaluate.run import RANK_DEPTH, relevant_ids
from playground.models import Catalogue

from .helpers import ROOT, SAMPLE_DOCS, FakeBackend, home_at, table_shown

FAST = GenerationParams(max_tokens=48)


# -- metrics and intervals ---------------------------------------------------------------------
def test_correctness_metrics_judge_sentences_and_near_misses():
    gold = "Lindenwerf 27, 9000 Ghent, Belgium"
    answer = "The registered office is at Lindenwerf 27, 9000 Ghent, Belgium."
    assert exact_match(answer, gold) == 1.0 and strict_exact_match(answer, gold) == 0.0
    assert strict_exact_match("lindenwerf 27 9000 ghent belgium", gold) == 1.0
    assert exact_match("Lindenwerf 27, Ghent", gold) == 0.0
    assert 0.5 < token_f1("Lindenwerf 27, Ghent", gold) < 1.0
    assert exact_match("within 2 hours", "2 hours") == 1.0 and exact_match("within 12 hours", "2 hours") == 0.0
    assert exact_match("anything", "") == 0.0
    assert normalize_answer("EUR 1,400") == "eur 1 400"


def test_embedding_similarity_prefers_the_paraphrase(embed_model):
    gold = "Returns are accepted for 45 days after delivery."
    close = embedding_similarity("You can send it back within 45 days of receiving it.", gold, embed_model)
    far = embedding_similarity("The GALE-9 has heated bearings.", gold, embed_model)
    assert close > far + 0.2
    assert embedding_similarity("", gold, embed_model) == 0.0


def test_bootstrap_interval_is_seeded_and_covers_the_true_rate():
    values = [1.0] * 30 + [0.0] * 41
    assert bootstrap_ci(values, seed=7) == bootstrap_ci(values, seed=7)
    assert bootstrap_ci(values, seed=7) != bootstrap_ci(values, seed=8)
    mean, low, high = bootstrap_ci(values)
    assert low < mean < high and mean == pytest.approx(30 / 71)
    assert 0.18 < high - low < 0.28, "about ±2 standard errors of a proportion at n=71"

    rng = random.Random(0)  # coverage: intervals from many samples of a known rate contain it ~95% of the time
    true_rate, trials, covered = 0.3, 300, 0
    for trial in range(trials):
        sample = [float(rng.random() < true_rate) for _ in range(60)]
        _, lo, hi = bootstrap_ci(sample, n=500, seed=trial)
        covered += lo <= true_rate <= hi
    assert 0.88 <= covered / trials <= 0.99, covered / trials
    narrow = bootstrap_ci([1.0, 0.0] * 200)
    assert narrow[2] - narrow[1] < 0.12, "more questions, a narrower interval"


def test_eval_config_validates_and_round_trips():
    config = EvalConfig(limit=5, generation=FAST, conditions=("base", "base+rag"))
    assert EvalConfig.from_dict(json.loads(json.dumps(config.as_dict()))) == config
    with pytest.raises(ConfigError, match=r"EvalConfig.conditions=.*choose from"):
        EvalConfig(conditions=("base", "rag"))
    with pytest.raises(ConfigError, match=r"EvalConfig.limit=-1"):
        EvalConfig(limit=-1)
    with pytest.raises(ConfigError, match="no setting"):
        EvalConfig.from_dict({"temperature": 0})
    assert "0 evaluates them all" in EvalConfig.help("limit")


# -- question sets -------------------------------------------------------------------------------
def test_question_files_import_and_bad_rows_name_their_line():
    jsonl = b'{"question": "How long?", "answer": "3 days"}\n\n{"question": "Who?", "answer": ""}\n'
    with pytest.raises(DocumentError, match=r"^q\.jsonl: line 3: 'answer' is missing or empty$"):
        parse_questions("q.jsonl", jsonl)
    with pytest.raises(DocumentError, match=r"line 2: not valid JSON"):
        parse_questions("q.jsonl", b'{"question": "a", "answer": "b"}\n{"question": \n')
    with pytest.raises(DocumentError, match=r"line 1: the header needs the column\(s\) answer"):
        parse_questions("q.csv", b"question,gold\nWhy?,x\n")
    with pytest.raises(DocumentError, match=r"line 3: repeats the question of line 2"):
        parse_questions("q.csv", b"question,answer\nHow long?,3 days\nhow long,4 days\n")
    with pytest.raises(DocumentError, match=r"use one of \.jsonl, \.csv"):
        parse_questions("q.txt", b"How long? 3 days")
    csv = parse_questions("mine.csv", 'Question,Answer,Source\n"Où, exactement?",Gent,a.md\n'.encode())
    assert csv.name == "mine" and csv.rows() == [{"question": "Où, exactement?", "answer": "Gent", "source": "a.md"}]


def test_the_workspace_set_and_its_hash(sample_questions):
    own = workspace_questions(SAMPLE_DOCS, name="sample")
    assert len(own) == len(sample_questions) == 71
    assert own.rows()[0] == sample_questions[0]
    assert own.sha256 == workspace_questions(SAMPLE_DOCS, name="other").sha256, "the hash is the content's"
    assert own.head(3).sha256 != own.sha256 and len(own.head(3)) == 3 and own.head(0) is own


def test_generated_questions_need_no_model_and_point_at_their_chunk(sample_index):
    made = generate_questions(sample_index.nodes, limit=12)
    again = generate_questions(sample_index.nodes, limit=12)
    assert made.rows() == again.rows(), "deterministic"
    assert len(made) == 12
    by_id = {n.node_id: n for n in sample_index.nodes}
    assert len({q.source for q in made.questions}) >= 4, "spread over the corpus"
    for q in made.questions:
        chunk = by_id[q.chunk_id]
        assert q.source == chunk.metadata["file_name"]
        assert normalize_answer(q.answer) in normalize_answer(chunk.get_content())
        assert "___" not in q.question and q.question.endswith("?"), "a question a person asks, not a blank"
        assert normalize_answer(q.answer) not in normalize_answer(q.question), "the question does not give it away"
        relevant, rule = relevant_ids(sample_index, q)
        assert rule == "answer" and q.chunk_id in relevant


def test_model_written_questions_show_their_prompt_and_keep_only_grounded_answers(sample_index):
    from playground.errors import PlaygroundError
    from playground.evaluate import QUESTION_PROMPT, generate_with_model

    nodes = sample_index.nodes[:6]
    fake = FakeBackend(reply="Question: What does the passage say?\nAnswer: Nightwren")
    catalogue = Catalogue([fake])
    made = generate_with_model(nodes, catalogue=catalogue, model=catalogue.resolve("fake:base"), limit=6)
    assert made.extra["prompt"] == QUESTION_PROMPT and made.origin == "generated by fake:base"
    assert len(fake.calls) == 6 and nodes[0].get_content() in fake.calls[0][1][-1]["content"]
    assert [q.question for q in made.questions] == ["What does the passage say?"], "repeats are dropped"
    assert made.questions[0].chunk_id in {n.node_id for n in nodes if "nightwren" in n.get_content().lower()}

    rambling = Catalogue([FakeBackend(reply="I like sensors.")])
    with pytest.raises(PlaygroundError, match="wrote no usable question"):
        generate_with_model(nodes, catalogue=rambling, model=rambling.resolve("fake:base"), limit=2)


# -- a real run on the embedded model ------------------------------------------------------------
@pytest.fixture(scope="module")
def small_run(tmp_path_factory, embedded, smollm, sample_index, embed_model):
    """Three sample questions through the four conditions on the bundled model (answers capped at 48 tokens)."""
    with home_at(tmp_path_factory.mktemp("eval-home")) as home:
        questions = workspace_questions(SAMPLE_DOCS, name="sample")
        calls: list[tuple[float, str]] = []
        run = evaluate(
            questions,
            catalogue=Catalogue([embedded]),
            base=smollm,
            index=sample_index,
            config=EvalConfig(limit=3, generation=FAST),
            embed_model=embed_model,
            docs=SAMPLE_DOCS,
            progress=lambda f, m: calls.append((f, m)),
        )
        yield run, home, calls


@pytest.mark.slow
def test_a_small_real_evaluation_is_scored_and_stored(small_run, sample_index, monkeypatch):
    run, home, calls = small_run
    monkeypatch.setenv("PLAYGROUND_HOME", str(home))  # the fixture's home: the run lives there
    assert run.complete and not run.cancelled and len(run.results) == 3
    assert run.run_dir.parent == home / "workspaces" / "sample" / "evals"
    assert [json.loads(line)["qid"] for line in (run.run_dir / "results.jsonl").read_text().splitlines()] == [
        q.qid for q in run.questions.questions
    ]
    stored = json.loads((run.run_dir / "config.json").read_text())
    assert stored["config"]["limit"] == 3 and stored["questions"]["count"] == 71
    assert stored["index"]["key"] == sample_index.key
    assert calls[-1][0] == 1.0 and any("Base+RAG" in m for _, m in calls)
    assert [f for f, _ in calls] == sorted(f for f, _ in calls), "progress only moves forward"

    for row in run.results:
        answers = row.answers
        assert list(answers) == list(CONDITIONS)
        for answer in answers.values():
            assert answer.error is None and answer.text.strip()
            scores, metrics = answer.scores, answer.metrics
            assert scores is not None and metrics is not None
            assert scores.correct == exact_match(answer.text, row.question.answer)
            assert scores.f1 == round(token_f1(answer.text, row.question.answer), 4)
            assert scores.similarity is not None and 0.0 <= scores.similarity <= 1.0
            assert 0 < metrics.completion_tokens <= 48
        # Without a fine-tune the ft slot is the base model: its answers are the base answers, not generated twice.
        assert answers["ft"].same_as == "base" and answers["ft"].text == answers["base"].text
        assert answers["ft+rag"].text == answers["base+rag"].text
        assert answers["base+rag"].metrics.prompt_tokens > 4 * answers["base"].metrics.prompt_tokens
        retrieval = row.retrieval
        assert retrieval is not None and len(retrieval.ids) == RANK_DEPTH
        assert [p.node_id for p in row.passages] == retrieval.ids[:3], "RAG saw the top of the ranking"
        assert retrieval.rank == first_relevant_rank(retrieval.ids, retrieval.relevant)
        assert retrieval.ids[:3] == [h.node_id for h in sample_index.retrieve(row.question.question)], (
            "the same passages the Compare page retrieves"
        )
        stored = QuestionResult.from_json(json.loads(json.dumps(row.to_json())))
        assert stored == row, "the stored JSON reads back as the same record"

    summary = summarize(run)
    base_correct = [r.correct("base") for r in run.results]
    assert summary.conditions["base"].scores["correct"].mean == pytest.approx(sum(base_correct) / 3)
    assert summary.conditions["ft"].vs_base.mean == 0.0
    kb = summary.known_before
    assert kb["known"]["n"] + kb["unknown"]["n"] == 3
    assert "Base+RAG" in summary.table() and "hit@5" in summary.table()
    assert heldout.held_out("sample") == [q.question for q in workspace_questions(SAMPLE_DOCS).questions], (
        "the evaluated set is registered as held out"
    )


@pytest.mark.slow
def test_card_round_trip_and_reproduce(small_run, embedded, embed_model, smollm, sample_files, tmp_path, monkeypatch):
    run, home, _ = small_run
    paths = write_card(run, tmp_path / "card")
    card = json.loads(paths["json"].read_text())
    assert card["models"]["base"]["id"] == smollm.id
    assert card["models"]["base"]["sha256"] == hashlib.sha256(Path(smollm.path).read_bytes()).hexdigest()
    assert card["models"]["finetuned"] is None
    assert card["documents"]["files"] == {f.file_name: f.sha256 for f in sample_files}
    assert card["questions"]["sha256"] == workspace_questions(SAMPLE_DOCS).sha256
    assert card["questions"]["evaluated"] == 3 and card["seeds"] == {"generation": 42, "bootstrap": 0}
    assert card["summary"] == summarize(run).as_dict()
    markdown = paths["md"].read_text()
    assert "| Base+RAG |" in markdown and card["models"]["base"]["sha256"][:12] in markdown
    page = paths["html"].read_text()
    assert page.count("plotly.js v") == 1, "plotly's library is embedded once"
    assert "<script src=" not in page and page.count('class="plotly-graph-div"') == 4
    summary = summarize(run)
    assert "Strict EM: exact match" in markdown and "<li>MRR: 1 when that passage came first" in page
    folded = page.index("<details><summary>") < page.index("&quot;config&quot;")
    assert folded, "the JSON is folded"
    if summary.behaviour_rows():  # the behaviour table and its note say the same rows
        assert html.escape(summary.behaviour_rows()[0]["behaviour"]) in page
        titles = [line.split(": ")[0] for line in summary.behaviour_notes()]
        assert titles == [row["behaviour"] for row in summary.behaviour_rows()]
    assert "Known before" in page and "Base already right" in page
    assert page.count('"automargin":true') >= 2 * 4, "each figure's axes make room for their labels"

    monkeypatch.setenv("PLAYGROUND_HOME", str(home))  # the fixture's home: the card's run lives there
    new = reproduce(paths["json"], catalogue=Catalogue([embedded]), embed_model=embed_model)
    before, after = card["summary"], new.as_dict()
    assert after["run_id"] != before["run_id"], "reproduced into a fresh run, not resumed"
    for condition in CONDITIONS:
        for metric in ("correct", "strict_em", "f1", "similarity"):
            assert after["conditions"][condition][metric] == before["conditions"][condition][metric]
    assert after["retrieval"] == before["retrieval"] and after["known_before"] == before["known_before"]
    fresh = load_run(next(p for p in (home / "workspaces" / "sample" / "evals").iterdir() if "reproduced" in p.name))
    assert [r.answers["base+rag"].text for r in fresh.results] == [r.answers["base+rag"].text for r in run.results]


@pytest.mark.slow
def test_reproduce_refuses_changed_documents(small_run, tmp_path):
    run, _, _ = small_run
    paths = write_card(run, tmp_path / "card")
    docs = tmp_path / "docs"
    shutil.copytree(SAMPLE_DOCS, docs)
    (docs / "release_notes.txt").write_text("rewritten", encoding="utf-8")
    with pytest.raises(ConfigError, match=r"differ from the card's \(release_notes\.txt\)"):
        reproduce(paths["json"], docs=docs)


# -- resume, cancel, failures (a scripted backend: this is about storage, not answers) ------------------
def test_resume_after_cancel_answers_only_what_is_missing(sample_index, embed_model):
    fake = FakeBackend()
    catalogue = Catalogue([fake])
    base, tuned = catalogue.resolve("fake:base"), catalogue.resolve("fake:tuned")
    questions = workspace_questions(SAMPLE_DOCS, name="sample").head(4)
    cancel = threading.Event()

    def stop_at_question_3(fraction: float, message: str) -> None:
        if message.startswith("Question 3/"):
            cancel.set()

    kwargs = dict(catalogue=catalogue, base=base, finetuned=tuned, index=sample_index, embed_model=embed_model)
    first = evaluate(questions, **kwargs, progress=stop_at_question_3, cancel=cancel)
    assert first.cancelled and not first.complete
    assert [r.qid for r in first.results] == [q.qid for q in questions.questions[:2]]
    assert len(fake.calls) == 2 * 4 + 1, "two questions, then the cancel stopped question 3 after one answer"
    assert len((first.run_dir / "results.jsonl").read_text().splitlines()) == 2, "a half-done question is not kept"

    fake.calls.clear()
    second = evaluate(questions, **kwargs)
    assert second.run_dir == first.run_dir and second.complete and not second.cancelled
    assert len(fake.calls) == 2 * 4, "only questions 3 and 4 were answered"
    assert second.results[:2] == first.results
    assert [c[0] for c in fake.calls[:4]] == ["base", "base", "tuned", "tuned"], "a fine-tune runs its own answers"
    assert load_run(second.run_dir).results == second.results


def test_failed_answers_are_retried_and_left_out_of_the_scores(sample_index, embed_model):
    from playground.errors import BackendUnavailable

    questions = workspace_questions(SAMPLE_DOCS, name="sample").head(2)
    down = FakeBackend(fail={"tuned": BackendUnavailable("Ollama is not running at http://x: start it")})
    catalogue = Catalogue([down])
    kwargs = dict(
        base=catalogue.resolve("fake:base"), finetuned=catalogue.resolve("fake:tuned"), index=sample_index,
        embed_model=embed_model,
    )  # fmt: skip
    run = evaluate(questions, catalogue=catalogue, **kwargs)
    summary = summarize(run)
    assert summary.conditions["ft"].errors == 2 and summary.conditions["ft"].n == 0
    assert summary.conditions["base"].n == 2 and any("failed" in note for note in summary.notes)

    up = FakeBackend()
    again = evaluate(questions, catalogue=Catalogue([up]), **kwargs)
    assert len(up.calls) == 2 * 4 and summarize(again).conditions["ft"].errors == 0


# -- retrieval metrics against LlamaIndex's own evaluator ------------------------------------------------
def test_hit_rate_and_mrr_agree_with_llamaindex_retriever_evaluator(sample_index, embed_model):
    from llama_index.core.base.base_retriever import BaseRetriever
    from llama_index.core.evaluation import RetrieverEvaluator
    from llama_index.core.schema import NodeWithScore, QueryBundle

    questions = workspace_questions(SAMPLE_DOCS, name="sample")
    config = EvalConfig(base="fake:base", conditions=("base", "base+rag"))
    fake = Catalogue([FakeBackend(reply="no idea")])
    run = evaluate(questions, catalogue=fake, index=sample_index, config=config, embed_model=embed_model)
    ours = summarize(run).retrieval
    assert ours["n"] == 71 and ours["hit@5"] >= 0.9

    by_id = {n.node_id: n for n in sample_index.nodes}
    stored = {r.question.question: r.retrieval for r in run.results}

    class Stored(BaseRetriever):
        """The run's own retrievals, cut to the first k, as LlamaIndex nodes."""

        def __init__(self, k: int):
            super().__init__()
            self.k = k

        def _retrieve(self, query_bundle: QueryBundle) -> list[NodeWithScore]:
            ids = stored[query_bundle.query_str].ids[: self.k]
            return [NodeWithScore(node=by_id[i], score=1.0 / rank) for rank, i in enumerate(ids, start=1)]

    for k in (1, 3, 5):
        evaluator = RetrieverEvaluator.from_metric_names(["hit_rate", "mrr"], retriever=Stored(k))
        results = [evaluator.evaluate(q, expected_ids=stored[q].relevant) for q in stored]
        hit_rate = sum(r.metric_vals_dict["hit_rate"] for r in results) / len(results)
        assert hit_rate == pytest.approx(ours[f"hit@{k}"], abs=1e-4)
        if k == RANK_DEPTH:
            mrr = sum(r.metric_vals_dict["mrr"] for r in results) / len(results)
            assert mrr == pytest.approx(ours["mrr"], abs=1e-4)
    # The stored ranking is the index's ranking: the same retrieval, not a copy that drifted.
    q = next(iter(stored))
    assert stored[q].ids == [h.node_id for h in sample_index.retrieve(q, RetrievalSettings(top_k=RANK_DEPTH))]


# -- the command line and the page -----------------------------------------------------------------------
@pytest.mark.slow
def test_cli_eval_json_holds_intervals_and_retrieval(capsys, tmp_path):
    from playground.__main__ import main

    args = ["eval", "--docs", str(SAMPLE_DOCS), "--questions", str(SAMPLE_DOCS / "questions.jsonl"), "--limit", "3"]
    code = main([*args, "--max-tokens", "24", "--no-ollama", "--json", "--quiet", "--card", str(tmp_path / "card")])
    out = json.loads(capsys.readouterr().out)
    assert code == 0
    summary = out["summary"]
    assert summary["n"] == 3 and list(summary["conditions"]) == list(CONDITIONS)
    for condition in summary["conditions"].values():
        for metric in ("correct", "strict_em", "f1", "similarity"):
            ci = condition[metric]
            assert ci["low"] <= ci["mean"] <= ci["high"]
        assert condition["latency_s"] > 0 and condition["prompt_tokens"] > 0
    assert {"hit@1", "hit@3", "hit@5", "mrr"} <= set(summary["retrieval"])
    assert Path(out["run_dir"], "results.jsonl").is_file() and Path(out["card"]["html"]).is_file()


def test_cli_eval_bad_question_file_is_one_line(capsys, tmp_path):
    from playground.__main__ import main

    bad = tmp_path / "q.jsonl"
    bad.write_text('{"question": "a", "answer": "b"}\n{"answer": "c"}\n', encoding="utf-8")
    assert main(["eval", "--docs", str(SAMPLE_DOCS), "--questions", str(bad)]) == 2
    assert capsys.readouterr().err.strip() == "error: q.jsonl: line 2: 'question' is missing or empty"


@pytest.mark.slow
def test_evaluate_page_runs_two_questions_and_plots_the_four_conditions(monkeypatch):
    from streamlit.testing.v1 import AppTest

    from .ollama_replay import unused_url

    monkeypatch.setenv("OLLAMA_HOST", unused_url())
    at = AppTest.from_file(str(ROOT / "pages/evaluate.py"), default_timeout=600).run()
    assert not at.exception and not at.error
    assert any("71 questions" in c.value for c in at.caption)
    at.number_input(key="eval_limit").set_value(2)
    at.slider(key="eval_max_tokens").set_value(16)
    next(b for b in at.button if b.label == "Run evaluation").click().run()
    assert not at.exception and not at.error

    charts = {c.proto.id.rsplit("eval_fig_", 1)[-1]: json.loads(c.proto.spec) for c in at.get("plotly_chart")}
    assert set(charts) == {"accuracy", "cost", "heatmap", "ranks"}
    labels = list(LABELS.values())
    assert [t["name"] for t in charts["accuracy"]["data"]] == labels
    assert [a["text"].split(" (")[0] for a in charts["accuracy"]["layout"]["annotations"]] == labels, "the 2×2"
    assert [t["name"] for t in charts["cost"]["data"]] == labels
    heatmap = charts["heatmap"]["data"]
    assert [t["name"] for t in heatmap] == labels and all(len(t["y"]) == 2 for t in heatmap)
    assert at.selectbox(key="eval_question").options == heatmap[0]["y"], "every heatmap row opens its question"
    assert sum(1 for h in at.get("html") if ">Base+RAG</h4>" in str(h.proto.body)) == 1
    assert [b.label for b in at.get("download_button")] == ["Card (MD)", "Card (JSON)", "Card (HTML)"]
    table = next(t for t in map(table_shown, at.table) if "measure" in t.columns).set_index("measure")
    assert list(table.columns) == labels and set(table.loc["n"]) == {"2"}, "a column per condition"
    assert "model" not in table.index and any(c.value.startswith("Models: Base, Base\\+RAG") for c in at.caption)
    assert any("**Correct**: the answer contains" in c.value for c in at.caption), "a plain line per measure shown"


def test_cost_figure_names_every_condition_when_points_coincide():
    from playground.evaluate.report import ConditionSummary, Interval, Summary, cost_figure

    def condition(name: str, latency: float, correct: float) -> ConditionSummary:
        cost: dict[str, float | None] = {
            "latency_s": latency,
            "first_token_s": 0.1,
            "prompt_tokens": 80.0,
            "tokens_per_s": 20.0,
        }
        scores = {"correct": Interval(correct, correct - 0.1, correct + 0.1)}
        return ConditionSummary(name, "m", 10, 0, scores, cost)

    # Base and Fine-tuned on one spot, Fine-tuned+RAG a hair from Base+RAG.
    spots = {"base": (1.0, 0.3), "ft": (1.0, 0.3), "base+rag": (2.0, 0.8), "ft+rag": (2.01, 0.8)}
    summary = Summary("r", "q", 10, 10, {c: condition(c, *spots[c]) for c in CONDITIONS})
    fig = cost_figure(summary)

    assert fig.layout.showlegend is True
    assert [t.name for t in fig.data] == list(LABELS.values()), "each condition once, in the legend"
    assert all(t.showlegend is not False for t in fig.data)
    assert len({(t.marker.color, t.marker.symbol) for t in fig.data}) == 4, "four marks a person can tell apart"
    hover = {t.name: t.hovertemplate for t in fig.data}
    assert all(f"<b>{label}</b>" in hover[label] for label in LABELS.values())
    assert "same spot as Fine-tuned" in hover["Base"] and "same spot as Base+RAG" in hover["Fine-tuned+RAG"]
    assert "same spot as Fine-tuned+RAG" in hover["Base+RAG"] and "Base+RAG" not in hover["Base"]
