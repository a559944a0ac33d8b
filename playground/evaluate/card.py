"""Experiment cards: a run's config, models (with file hashes), data and results as JSON, Markdown and HTML.

The JSON card holds everything needed to run the evaluation again: the config, the question set
itself, the documents folder with each file's sha256, and the model ids with the sha256 of their
GGUF files and LoRA adapters. :func:`reproduce` reruns it (refusing when a document or model file
has changed) and returns the new numbers; at temperature 0 with the same seed they are the card's.

The HTML card is one self-contained file: plotly's JavaScript is embedded once, so it opens
offline.
"""

from __future__ import annotations

import html
import json
import platform
import time
from dataclasses import replace
from importlib import metadata
from pathlib import Path
from typing import Any

from playground.config import Progress, no_progress
from playground.errors import ConfigError
from playground.evaluate.questions import from_rows
from playground.evaluate.records import EvalConfig, EvalRun
from playground.evaluate.report import HIT_KS, Summary, figures, summarize
from playground.evaluate.run import evaluate, file_sha256
from playground.index import build_index
from playground.models import Catalogue
from playground.storage import write_atomic
from playground.workspace import load_path, workspace_dir

CARD_VERSION = 1
_PACKAGES = ("llama_cpp_python", "llama-index-core", "sentence-transformers", "torch", "plotly")


def make_card(run: EvalRun, summary: Summary | None = None) -> dict[str, Any]:
    """The card of a run, as a JSON-ready dict."""
    summary = summary or summarize(run)
    meta = run.meta
    index = meta.get("index") or {}
    questions = dict(meta["questions"])
    questions["evaluated"] = len(run.questions)
    questions["evaluated_sha256"] = run.questions.sha256
    return {
        "card_version": CARD_VERSION,
        "title": f"Evaluation of '{questions['name']}' in workspace '{meta.get('workspace', '')}'",
        "created": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
        "run_id": run.run_id,
        "complete": run.complete,
        "config": run.config.as_dict(),
        "seeds": {"generation": run.config.generation.seed, "bootstrap": run.config.seed},
        "models": meta["models"],
        "judge": meta.get("judge"),  # the judging model (with its file hash) and its rubric; None: no judge
        "documents": {
            "path": meta.get("docs"),
            "workspace": meta.get("workspace"),
            "index_key": index.get("key"),
            "chunks": index.get("chunks"),
            "files": index.get("files", {}),
            "dataset_sha256": index.get("dataset_sha256"),
        },
        "questions": questions,
        "summary": summary.as_dict(),
        "environment": {
            "python": platform.python_version(),
            "platform": platform.platform(terse=True),
            **{name: _version(name) for name in _PACKAGES},
        },
    }


def _version(package: str) -> str | None:
    try:
        return metadata.version(package)
    except metadata.PackageNotFoundError:
        return None


def _short(sha: str | None) -> str:
    return sha[:12] if sha else "–"


def card_markdown(card: dict[str, Any], summary: Summary) -> str:
    """The card as Markdown: what was run, on what, and the results table."""
    cfg = card["config"]
    gen, ret = cfg["generation"], cfg["retrieval"]
    lines = [f"# {card['title']}", "", f"Run `{card['run_id']}`, card written {card['created']}."]
    if not card["complete"]:
        lines += ["", f"**Incomplete run**: {summary.n} of {summary.total} questions scored."]
    lines += ["", "## Results", "", summary.table(), "", *(f"- {line}" for line in summary.glossary())]
    lines += ["", "## Models", ""]
    lines += ["| slot | model | file sha256 | adapter sha256 |", "|---|---|---|---|"]
    for slot, m in card["models"].items():
        if m:
            lines.append(
                f"| {slot} | {m['id']} | {_short(m['sha256'] or m.get('digest'))} | {_short(m['adapter_sha256'])} |"
            )
    if not card["models"].get("finetuned"):
        lines.append("| finetuned | (the base model again) | | |")
    docs = card["documents"]
    q = card["questions"]
    lines += [
        "",
        "## Data",
        "",
        f"- Documents: `{docs['path']}` ({len(docs['files'])} files, {docs['chunks']} chunks, "
        f"dataset sha256 `{_short(docs['dataset_sha256'])}`, index `{docs['index_key']}`)",
        *[f"  - {name}: `{_short(sha)}`" for name, sha in docs["files"].items()],
        f"- Questions: '{q['name']}', {q['origin']}; {q['evaluated']} of {q['count']} evaluated "
        f"(set sha256 `{_short(q['sha256'])}`, evaluated `{_short(q['evaluated_sha256'])}`)",
        "",
        "## Settings",
        "",
        f"- Conditions: {', '.join(cfg['conditions'])}",
        f"- Retrieval: top-{ret['top_k']} {ret['mode']}, cutoff {ret['similarity_cutoff']}, "
        f"chunks {cfg['chunk']['chunk_size']}/{cfg['chunk']['chunk_overlap']}, embeddings {cfg['embed_model']}",
        f"- Generation: temperature {gen['temperature']}, seed {gen['seed']}, max {gen['max_tokens']} tokens, "
        f"top-p {gen['top_p']}",
        f"- Bootstrap: {cfg['bootstrap']} resamples, seed {cfg['seed']}; intervals are 95% percentile intervals",
        "- Correct: the normalised gold answer equals the answer or appears in it as whole words",
        *_judge_lines(card),
        *_accepted_lines(card),
        "",
        "## Environment",
        "",
        ", ".join(f"{k} {v}" for k, v in card["environment"].items() if v),
        "",
        "Reproduce: `python -m playground eval --reproduce card.json`",
    ]
    return "\n".join(lines) + "\n"


def _judge_lines(card: dict[str, Any]) -> list[str]:
    """The judge's model and rubric, as Markdown lines; none when no judge ran."""
    judge = card.get("judge")
    if not judge:
        return ["- Judge: none (containment only)"]
    m = judge["model"]
    rubric = ["", "  ```", *[f"  {line}" for line in judge["prompt"].splitlines()], "  ```"]
    return [
        f"- Judge: {m['id']} (file sha256 `{_short(m['sha256'] or m.get('digest'))}`), shown beside "
        "containment, never instead of it; its rubric:",
        *rubric,
    ]


def _accepted_lines(card: dict[str, Any]) -> list[str]:
    """Questions with more than one accepted answer, each with the list.

    >>> _accepted_lines({"questions": {"rows": [{"question": "Q?", "answer": "a", "answers": ["a", "b"]}]}})
    ['', '### Accepted answers', '', '- Q?: Accepted answers: a · b']
    """
    rows = [r for r in card["questions"].get("rows", []) if len(r.get("answers") or []) > 1]
    if not rows:
        return []
    return ["", "### Accepted answers", ""] + [
        f"- {r['question']}: Accepted answers: {' · '.join(r['answers'])}" for r in rows
    ]


PAGE_CSS = (  # the look of every self-contained report page (cards, claims)
    "body{font-family:system-ui,sans-serif;max-width:1100px;margin:2em auto;padding:0 1em;color:#212529}"
    "table{border-collapse:collapse;font-size:0.9em}td,th{border:1px solid #dee2e6;padding:4px 8px;text-align:left}"
    "pre{background:#f8f9fa;padding:1em;overflow:auto;font-size:0.8em}"
)


def html_table(rows: list[dict[str, Any]]) -> str:
    """Rows with the same keys as an HTML table, every cell escaped; "" for no rows.

    >>> html_table([{"a": "<b>"}])
    '<table><thead><tr><th>a</th></tr></thead><tbody><tr><td>&lt;b&gt;</td></tr></tbody></table>'
    """
    if not rows:
        return ""
    esc = html.escape
    heads = "".join(f"<th>{esc(str(h))}</th>" for h in rows[0])
    body = "".join("<tr>" + "".join(f"<td>{esc(str(v))}</td>" for v in r.values()) + "</tr>" for r in rows)
    return f"<table><thead><tr>{heads}</tr></thead><tbody>{body}</tbody></table>"


def card_html(card: dict[str, Any], summary: Summary, figs: dict[str, Any]) -> str:
    """One self-contained HTML page: the tables, every figure (plotly embedded once) and the config."""
    esc = html.escape
    table = html_table(summary.rows())
    parts = [
        "<!doctype html><html><head><meta charset='utf-8'>",
        f"<title>{esc(card['title'])}</title>",
        f"<style>{PAGE_CSS}</style></head><body>",
        f"<h1>{esc(card['title'])}</h1>",
        f"<p>Run <code>{esc(card['run_id'])}</code>, card written {esc(card['created'])}. "
        f"{summary.n} of {summary.total} questions scored.</p>",
        "<h2>Results</h2>",
        table,
    ]
    if summary.retrieval:
        r = summary.retrieval
        hits = ", ".join(f"hit@{k} {r[f'hit@{k}']:.2f}" for k in HIT_KS)
        parts.append(f"<p>Retrieval ({r['n']} questions, top {r['depth']}): {esc(hits)}, MRR {r['mrr']:.2f}</p>")
    if summary.agreement is not None:
        parts.append(f"<p>Judge {esc(summary.judge)} against containment: {esc(str(summary.agreement))}</p>")
    parts += [f"<p>{esc(note)}</p>" for note in summary.notes]
    parts.append("<ul>" + "".join(f"<li>{esc(line)}</li>" for line in summary.glossary()) + "</ul>")
    if behaviour := summary.behaviour_rows():
        parts += [f"<h3>Behaviour (house style: {esc(summary.style)})</h3>", html_table(behaviour)]
        parts.append("<ul>" + "".join(f"<li>{esc(line)}</li>" for line in summary.behaviour_notes()) + "</ul>")
    if known := summary.known_before_rows():
        parts += ["<h3>Known before: accuracy on questions Base already answered right, and on the rest</h3>"]
        parts.append(html_table(known))
    if card.get("judge"):
        parts.append(f"<h3>Judge rubric ({esc(card['judge']['model']['id'])})</h3>")
        parts.append(f"<pre>{esc(card['judge']['prompt'])}</pre>")
    several = [r for r in card["questions"].get("rows", []) if len(r.get("answers") or []) > 1]
    if several:
        parts.append("<h3>Accepted answers</h3><ul>")
        parts += [f"<li>{esc(r['question'])}: Accepted answers: {esc(' · '.join(r['answers']))}</li>" for r in several]
        parts.append("</ul>")
    parts.append("<h2>Figures</h2>")
    for i, fig in enumerate(figs.values()):
        fig.update_xaxes(automargin=True)  # long labels widen the margin instead of being cut
        fig.update_yaxes(automargin=True)
        parts.append(fig.to_html(full_html=False, include_plotlyjs=i == 0))  # the library once, inline
    settings = {k: v for k, v in card.items() if k != "summary"}  # the results are shown above
    parts += [
        "<h2>Card</h2>",  # for a reader the settings are folded: the same JSON is the card.json download
        "<details><summary>Everything needed to run it again (the card's JSON)</summary>",
        f"<pre>{esc(json.dumps(settings, indent=2, ensure_ascii=False))}</pre></details>",
        "</body></html>",
    ]
    return "\n".join(parts)


def card_text(run: EvalRun, fmt: str) -> str:
    """The card in one format: ``json``, ``md`` or ``html``."""
    summary = summarize(run)
    card = make_card(run, summary)
    if fmt == "json":
        return json.dumps(card, indent=2, ensure_ascii=False)
    if fmt == "md":
        return card_markdown(card, summary)
    if fmt == "html":
        return card_html(card, summary, figures(run, summary))
    raise ConfigError(f"card format {fmt!r}: use json, md or html")


def write_card(run: EvalRun, out_dir: str | Path) -> dict[str, Path]:
    """Write ``card.json``, ``card.md`` and ``card.html`` into ``out_dir``; returns their paths by format."""
    out = Path(out_dir)
    paths = {fmt: out / f"card.{fmt}" for fmt in ("json", "md", "html")}
    for fmt, path in paths.items():
        write_atomic(path, card_text(run, fmt))  # a card is whole or the previous one: never half a file
    return paths


def read_card(path: str | Path) -> dict[str, Any]:
    try:
        card = json.loads(Path(path).read_text(encoding="utf-8"))
    except OSError as err:
        raise ConfigError(f"cannot read the card {path}: {err.strerror or err}") from None
    except json.JSONDecodeError as err:
        raise ConfigError(f"{path} is not a card (not JSON: {err.msg} at line {err.lineno})") from None
    if not isinstance(card, dict) or card.get("card_version") != CARD_VERSION:
        raise ConfigError(f"{path} is not an experiment card of version {CARD_VERSION}")
    return card


def reproduce_run(
    card_path: str | Path,
    *,
    catalogue: Catalogue | None = None,
    embed_model: Any = None,
    docs: str | Path | None = None,
    progress: Progress = no_progress,
    run_dir: str | Path | None = None,
) -> EvalRun:
    """Run a card's evaluation again, from scratch, into a new run folder.

    The documents (``docs``, default the card's folder) and model files must hash as the card
    says; otherwise the numbers could not be compared and this raises :class:`ConfigError`.
    """
    card = read_card(card_path)
    config = EvalConfig.from_dict(card["config"])
    recorded = card["documents"]
    folder = docs or recorded.get("path")
    if not folder:
        raise ConfigError("the card names no documents folder: give the documents it was run on")
    files = load_path(folder)
    found = {f.file_name: f.sha256 for f in files if f.ok}
    if found != recorded["files"]:
        changed = sorted(n for n in set(found) | set(recorded["files"]) if found.get(n) != recorded["files"].get(n))
        raise ConfigError(
            f"the documents in {folder} differ from the card's ({', '.join(changed)}): "
            "reproduce on the documents the card was made from"
        )
    if embed_model is None:
        from playground.embeddings import embedding_model

        embed_model = embedding_model(config.embed_model)
    if catalogue is None:
        from playground.models import EmbeddedBackend

        backends: list[Any] = [EmbeddedBackend()]
        if any(m and m["id"].startswith("ollama:") for m in card["models"].values()):
            from playground.models.ollama import OllamaBackend

            backends.append(OllamaBackend())
        if any(m and m["id"].startswith("openai:") for m in card["models"].values()):
            from playground.models import openai_backend

            if openai := openai_backend():  # else resolving the model says that no such backend is set up
                backends.append(openai)
        catalogue = Catalogue(backends)
    models = {}
    for slot, recorded_model in card["models"].items():
        if not recorded_model:
            continue
        model = catalogue.resolve(recorded_model["id"])
        for path_key, sha_key in (("path", "sha256"), ("adapter_path", "adapter_sha256")):
            path = getattr(model, path_key)
            if recorded_model.get(sha_key) and (not path or file_sha256(path) != recorded_model[sha_key]):
                raise ConfigError(
                    f"{model.id}: its {path_key.replace('_', ' ')} differs from the card's (sha256 "
                    f"{_short(recorded_model[sha_key])}): the card's numbers came from another file"
                )
        models[slot] = model
    workspace = recorded.get("workspace") or "default"
    index = build_index(files, embed_model=embed_model, chunk_settings=config.chunk, workspace=workspace)
    q = card["questions"]
    questions = from_rows(q["name"], q["rows"], q.get("origin", ""))
    if run_dir is None:
        stamp = time.strftime("%Y%m%d-%H%M%S")
        run_dir = workspace_dir(workspace) / "evals" / f"{card['run_id']}-reproduced-{stamp}"
        n = 1
        while Path(run_dir).exists():  # a fresh folder: reproducing must generate, never resume
            n += 1
            run_dir = workspace_dir(workspace) / "evals" / f"{card['run_id']}-reproduced-{stamp}-{n}"
    return evaluate(
        questions,
        catalogue=catalogue,
        base=models["base"],
        finetuned=models.get("finetuned"),
        index=index,
        config=replace(config),
        embed_model=embed_model,
        docs=folder,
        workspace=workspace,
        progress=progress,
        run_dir=run_dir,
    )


def reproduce(card_path: str | Path, **kwargs: Any) -> Summary:
    """Run a card's evaluation again (see :func:`reproduce_run`) and return the new summary."""
    return summarize(reproduce_run(card_path, **kwargs))


__all__ = [
    "card_html",
    "card_markdown",
    "card_text",
    "make_card",
    "read_card",
    "reproduce",
    "reproduce_run",
    "write_card",
]
