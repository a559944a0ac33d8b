"""``python -m bench [--quick] [--json PATH]``: print the playground's overhead as ratios against the raw engines."""

from __future__ import annotations

import argparse
import json
import statistics
from pathlib import Path
from typing import Any

from bench import GOALS, run
from bench.training import training_rows


def _row(
    label: str,
    times: list[float],
    ratio: float | None = None,
    ratio_min: float | None = None,
    goal: float | None = None,
) -> str:
    cells = f"{label:<48}{statistics.median(times):>8.3f}{min(times):>8.3f}"
    if ratio is not None and ratio_min is not None:
        cells += f"{ratio:>8.3f}{ratio_min:>8.3f}"
    if goal is not None and ratio is not None:
        cells += f"   ≤ {goal:.2f} {'ok' if ratio <= goal else 'OVER'}"
    return cells


def _browser_row(b: dict[str, Any]) -> str:
    goal = GOALS["end_to_end_s"]
    verdict = "ok" if b["total_s"] <= goal else "OVER"
    row = f"{'browser: fresh streamlit run → four answers':<48}{b['total_s']:>8.3f}{b['total_s']:>8.3f}"
    return f"{row}{'':>16}   ≤ {goal:.0f} s {verdict}"


def first_answer_rows(b: dict[str, Any]) -> list[str]:
    """Where a fresh server's seconds go before the four answers, and the answers against the raw engine."""
    return [
        f"  of which: server up {b['server_up_s']:.1f} s, Compare ready {b['compare_ready_s']:.1f} s, "
        f"four answers {b['answers_s']:.1f} s",
        f"  the server's warm-up: {b.get('warm_up') or 'not logged'}",
        _row(
            "  raw create_completion of the same four prompts",
            [b["raw_answers_s"]],
            b["answers_ratio"],
            b["answers_ratio"],
            GOALS["browser_answers"],
        ),
    ]


def table(r: dict[str, Any], reps: int) -> str:
    m, a, i = r["machine"], r["answer"], r["index"]
    tokens = a["completion_tokens"]
    rate = {side: tokens[side] / statistics.median(a[f"{side}_s"]) for side in ("project", "raw")}
    versions = " | ".join(f"{k} {m[k]}" for k in ("llama_cpp", "llama_index.core", "sentence_transformers", "torch"))
    return "\n".join(
        [
            f"machine: {m['cores']} cores, {m['cpu']}, load avg {m['load_avg_1m']} at the end; Python {m['python']}",
            f"libraries: {versions}",
            f"{reps} repetitions after a warm-up, llama.cpp on {a['threads']} threads;"
            " ratio = project / that row (median of paired ratios; min / min)",
            "",
            f"{'measurement':<48}{'median':>8}{'min':>8}{'ratio':>8}{'r(min)':>8}   goal",
            _row("answer: Base+RAG ConditionRun.stream (project)", a["project_s"]),
            _row("  raw Llama.create_completion, same tokens", a["raw_s"], a["ratio"], a["ratio_min"], GOALS["answer"]),
            f"  {a['prompt_tokens']} prompt tokens; completion tokens project {tokens['project']}, raw {tokens['raw']}"
            f" (budget {a['budget']}, same text: {'yes' if a['same_text'] else 'NO'});"
            f" tok/s end to end: project {rate['project']:.1f}, raw {rate['raw']:.1f}",
            _row(f"index: build_index from scratch ({i['chunks']['project']} chunks)", i["project_s"]),
            _row(
                f"  raw SentenceTransformer.encode ({i['chunks']['raw']} texts)",
                i["raw_s"],
                i["ratio_raw"],
                i["ratio_raw_min"],
                GOALS["index_raw"],
            ),
            _row(
                f"  LlamaIndex from_documents, no save ({i['chunks']['stock']} chunks)",
                i["stock_s"],
                i["ratio_stock"],
                i["ratio_stock_min"],
            ),
            _row("index: reload the saved index (cache hit)", i["reload_s"]),
            _browser_row(r["browser"]),
            *first_answer_rows(r["browser"]),
            _row("no-op rerun of Compare (AppTest, after an answer)", r["rerun"]["rerun_s"]),
            f"  reloaded by those reruns: {r['rerun']['reloaded'] or 'nothing'}",
            *training_rows(r["training"], _row, GOALS["training"]),
            f"{'peak RSS (MiB)':<48}{r['peak_rss_mib']:>8.0f}",
        ]
    )


def build_parser() -> argparse.ArgumentParser:
    """The benchmark's options (the documentation's commands are checked against it)."""
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__)
    parser.add_argument("--quick", action="store_true", help="3 repetitions instead of 5 (noisier)")
    parser.add_argument("--json", type=Path, metavar="PATH", help="also write every number as JSON")
    parser.add_argument("--scale", action="store_true", help="only the index at 1k, 10k and 100k chunks, per store")
    parser.add_argument("--scale-sizes", default="1000,10000,100000", metavar="N,N", help="chunk counts for --scale")
    parser.add_argument(
        "--scale-stores", default="embedded,chroma,milvus", metavar="KIND,KIND", help="vector stores for --scale"
    )
    parser.add_argument(
        "--scale-defaults",
        default="",
        metavar="KIND,KIND",
        help="--scale also runs these stores at their integration's own index and search settings, to compare",
    )
    parser.add_argument(
        "--scale-no-embedders", action="store_true", help="--scale without the chunks/s of the embedding models"
    )
    parser.add_argument("--hostile", action="store_true", help="only the hostile-input suite: crashes, time, memory")
    parser.add_argument(
        "--first-answer", action="store_true", help="only a fresh streamlit run → four answers in Chromium, timed"
    )
    parser.add_argument("--retrieval", action="store_true", help="only retrieval quality, lever by lever, 3 corpora")
    return parser


def main() -> None:
    args = build_parser().parse_args()
    if args.first_answer:
        from bench.browser import run_first_answer

        measured = run_first_answer()
        print(_browser_row(measured))
        print("\n".join(first_answer_rows(measured)))
        if args.json:
            args.json.write_text(json.dumps(measured, indent=1))
        return
    if args.retrieval:
        from bench import log
        from bench.retrieval import retrieval_table, run_retrieval

        measured = run_retrieval(log=log)
        print(retrieval_table(measured))
        if args.json:
            args.json.write_text(json.dumps(measured, indent=1))
        return
    if args.hostile:
        from bench import log
        from bench.faults import faults_table, run_faults
        from bench.hostile import hostile_table, run_hostile

        measured = run_hostile(log=log)
        measured["faults"] = run_faults(log=log)  # faults survived, concurrent sessions held
        print(hostile_table(measured))
        print(faults_table(measured["faults"]))
        if args.json:
            args.json.write_text(json.dumps(measured, indent=1))
        return
    if args.scale:
        from bench.scale import run_scale, scale_table

        scaled = run_scale(
            tuple(int(n) for n in args.scale_sizes.split(",")),
            tuple(k for k in args.scale_stores.split(",") if k),
            tuple(k for k in args.scale_defaults.split(",") if k),
            embedders=not args.scale_no_embedders,
        )
        print(scale_table(scaled))
        if args.json:
            args.json.write_text(json.dumps(scaled, indent=1))
        return
    reps = 3 if args.quick else 5
    results = run(reps)
    print(table(results, reps))
    if args.json:
        args.json.write_text(json.dumps({"repetitions": reps, **results}, indent=1))


if __name__ == "__main__":
    main()
