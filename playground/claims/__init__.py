"""Claims lab: what articles say about RAG and fine-tuning, each turned into an experiment with a verdict.

    lab = Lab(workspace, files, index, catalogue, base, finetuned)
    results = run_claims(lab)                    # every claim but the opt-in ones; resumes stored results
    write_report(lab, results, "claims.html")    # one self-contained page (also .md / .json)

Each experiment is a module (evidence, freshness, cost, hallucination, forgetting, data_needs) that
registers its :class:`Claim`; :data:`CLAIMS` keeps them in the order the page and the report show.
"""

# Importing an experiment's module registers its claim.
from playground.claims import cost, data_needs, evidence, forgetting, freshness, hallucination  # noqa: F401
from playground.claims.lab import ClaimsConfig, Lab, held_out
from playground.claims.registry import (
    CLAIMS,
    VERDICTS,
    Claim,
    ClaimResult,
    duration,
    estimate,
    get_claim,
    latest_result,
    load_result,
    run_claim,
    run_claims,
)
from playground.claims.report import report_json, to_html, to_markdown, write_report

ORDER = (
    "new-knowledge",
    "freshness",
    "cost",
    "latency",
    "hallucination",
    "consistency",
    "retrieval-dependence",
    "data-needs",
    "forgetting",
    "combination",
)
_claims = dict(CLAIMS)
CLAIMS.clear()
CLAIMS.update({k: _claims[k] for k in ORDER})  # the order, whatever order the modules registered in

__all__ = [
    "CLAIMS",
    "ORDER",
    "VERDICTS",
    "Claim",
    "ClaimResult",
    "ClaimsConfig",
    "Lab",
    "duration",
    "estimate",
    "get_claim",
    "held_out",
    "latest_result",
    "load_result",
    "report_json",
    "run_claim",
    "run_claims",
    "to_html",
    "to_markdown",
    "write_report",
]
