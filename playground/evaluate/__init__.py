"""Evaluation lab: held-out questions through all four conditions, scored with confidence intervals.

questions = workspace_questions("sample_docs")
run = evaluate(questions, catalogue=catalogue, index=index, config=EvalConfig(limit=10))
print(summarize(run).table())
write_card(run, "card/")          # JSON, Markdown and a self-contained HTML page
reproduce("card/card.json")       # the same numbers again (temperature 0, fixed seed)
"""

from playground.evaluate.card import make_card, reproduce, reproduce_run, write_card
from playground.evaluate.metrics import (
    bootstrap_ci,
    embedding_similarity,
    exact_match,
    hit_at_k,
    normalize_answer,
    reciprocal_rank,
    strict_exact_match,
    token_f1,
)
from playground.evaluate.questions import (
    QUESTION_PROMPT,
    Question,
    QuestionSet,
    generate_questions,
    generate_with_model,
    load_question_file,
    parse_questions,
    register_for_evaluation,
    workspace_questions,
)
from playground.evaluate.records import Answer, EvalConfig, EvalRun, QuestionResult
from playground.evaluate.report import COLORS, Summary, figures, summarize
from playground.evaluate.run import evaluate, list_runs, load_run

__all__ = [
    "COLORS",
    "QUESTION_PROMPT",
    "Answer",
    "EvalConfig",
    "EvalRun",
    "Question",
    "QuestionResult",
    "QuestionSet",
    "Summary",
    "bootstrap_ci",
    "embedding_similarity",
    "evaluate",
    "exact_match",
    "figures",
    "generate_questions",
    "generate_with_model",
    "hit_at_k",
    "list_runs",
    "load_question_file",
    "load_run",
    "make_card",
    "normalize_answer",
    "parse_questions",
    "reciprocal_rank",
    "register_for_evaluation",
    "reproduce",
    "reproduce_run",
    "strict_exact_match",
    "summarize",
    "token_f1",
    "workspace_questions",
    "write_card",
]
