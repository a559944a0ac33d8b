"""``python -m bench --hostile``: the hostile-input suite read by the playground, with the figures that matter.

* Each hostile file (``scripts/make_hostile_files.py``) read alone through ``load_bytes``, the way an upload
  is: files tried, crashes (an exception out of the reader, or a reader process that died: both must be 0),
  the slowest read and the largest extra memory a read took. A PDF, Word or HTML file is read in a fresh
  worker, whose peak resident memory above its own start is the file's; text is read in the calling
  process, where ``tracemalloc`` counts what the read allocated.
* The overhead of the worker on the good sample documents: one batch read by one worker vs the same parsers
  called in this process (what the playground did before).
* The whole folder (good samples plus every hostile file) through ``python -m playground retrieve``: its wall
  time and the peak resident memory of its process tree (the CLI and its reader, sampled every 50 ms), against
  the goals of 2 minutes and 2 GiB, and whether the good files still answer.
"""

from __future__ import annotations

import contextlib
import importlib.util
import os
import statistics
import subprocess
import sys
import tempfile
import time
import tracemalloc
from collections.abc import Callable
from pathlib import Path
from types import ModuleType
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
GOALS = {"crashes": 0, "folder_s": 120.0, "folder_mib": 2048.0}
QUESTION = "What is the hotel limit for Zurich?"
ANSWER = "EUR 210"  # the fact the good files hold (policies.docx)


def generator() -> ModuleType:
    spec = importlib.util.spec_from_file_location("make_hostile_files", ROOT / "scripts" / "make_hostile_files.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


def _read_alone(name: str, data: bytes) -> dict[str, Any]:
    from playground.config import ChunkSettings
    from playground.documents import apply_budgets, load_bytes
    from playground.parsing import CRASHED

    in_process = Path(name).suffix.lower() in (".txt", ".text", ".md", ".markdown")
    peak = None
    if in_process:  # a read of its own, counted by tracemalloc (which slows it down, so it is not the timed one)
        tracemalloc.start()
        with contextlib.suppress(Exception):  # a crash is caught by the timed read below
            load_bytes(name, data)
        peak = tracemalloc.get_traced_memory()[1] / 2**20
        tracemalloc.stop()
    started = time.perf_counter()
    try:
        loaded = load_bytes(name, data)  # no parser given: a fresh worker, so its peak memory is this file's
        [loaded] = apply_budgets([loaded], ChunkSettings())  # as indexing would: a file over a chunk budget is out
    except Exception as err:  # a crash of the reader: what this bench is here to catch
        return {"file": name, "seconds": time.perf_counter() - started, "crash": f"{type(err).__name__}: {err}"}
    return {
        "file": name,
        "seconds": time.perf_counter() - started,
        "extra_mib": loaded.parse_peak_mb if loaded.parse_peak_mb is not None else peak or 0.0,
        "where": "in-process" if in_process else "worker",
        "ok": loaded.ok,
        "error": loaded.error or "",
        "crash": "reader died" if loaded.error == CRASHED else "",
    }


def _overhead(samples: list[tuple[str, bytes]], reps: int = 5) -> dict[str, float]:
    """One batch of the sample documents: read by one worker vs the same parsers in this process."""
    from playground.documents import FILE_TYPES, reader
    from playground.parsing import read_here

    typed = [(FILE_TYPES[Path(name).suffix.lower()], data) for name, data in samples]
    worker, here = [], []
    for _ in range(reps):
        started = time.perf_counter()
        with reader() as parser:
            for file_type, data in typed:
                parser.parse(file_type, data)
        worker.append(time.perf_counter() - started)
        started = time.perf_counter()
        for file_type, data in typed:
            read_here(file_type, data, 10**9)
        here.append(time.perf_counter() - started)
    return {"worker_s": statistics.median(worker), "in_process_s": statistics.median(here)}


def _tree_rss_mib(pid: int) -> float:
    """Resident memory of a process and all its descendants, from /proc (Linux)."""
    total, todo = 0, [pid]
    while todo:
        current = todo.pop()
        try:
            with open(f"/proc/{current}/status") as status:
                total += next((int(line.split()[1]) for line in status if line.startswith("VmRSS:")), 0)
            for task in os.listdir(f"/proc/{current}/task"):
                with open(f"/proc/{current}/task/{task}/children") as children:
                    todo += [int(child) for child in children.read().split()]
        except (OSError, ValueError):
            continue
    return total / 1024


def _folder_through_cli(folder: Path, home: Path) -> dict[str, Any]:
    command = [sys.executable, "-m", "playground", "retrieve", "--docs", str(folder), "--question", QUESTION]
    env = {**os.environ, "PLAYGROUND_HOME": str(home), "HF_HUB_OFFLINE": "1"}
    started, peak = time.perf_counter(), 0.0
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
        proc = subprocess.Popen(command, stdout=out, stderr=err, env=env, cwd=ROOT)
        while proc.poll() is None:
            peak = max(peak, _tree_rss_mib(proc.pid))
            time.sleep(0.05)
        seconds = time.perf_counter() - started
        out.seek(0)
        err.seek(0)
        stdout, stderr = out.read().decode(errors="replace"), err.read().decode(errors="replace")
    first_hit = stdout.split("#2")[0]
    return {
        "seconds": seconds,
        "peak_tree_mib": peak,
        "returncode": proc.returncode,
        "skipped": sum(line.startswith("skipped ") for line in stderr.splitlines()),
        "answers": "policies.docx" in first_hit and ANSWER in first_hit,
    }


def run_hostile(log: Callable[[str], None] = print) -> dict[str, Any]:
    gen = generator()
    hostile = gen.hostile_files()
    samples = [(p.name, p.read_bytes()) for p in sorted(gen.SAMPLE_DOCS.iterdir()) if p.suffix != ".jsonl"]
    log(f"reading {len(hostile)} hostile files one by one")
    rows = [_read_alone(h.name, h.data) for h in hostile]
    log("the worker's overhead on the sample documents")
    overhead = _overhead(samples)
    with tempfile.TemporaryDirectory() as tmp:
        folder, home = Path(tmp) / "folder", Path(tmp) / "home"
        gen.write(folder, samples=True)
        log(f"the folder ({len(hostile) + len(samples)} files) through python -m playground retrieve")
        cli = _folder_through_cli(folder, home)
    return {"files": rows, "samples": len(samples), "overhead": overhead, "cli": cli}


def hostile_table(r: dict[str, Any]) -> str:
    rows = r["files"]
    crashes = [row for row in rows if row.get("crash")]
    refused = [row for row in rows if not row.get("ok") and not row.get("crash")]
    slowest = max(rows, key=lambda row: row["seconds"])
    largest = max(rows, key=lambda row: row.get("extra_mib", 0.0))
    o, cli = r["overhead"], r["cli"]

    def verdict(ok: bool) -> str:
        return "ok" if ok else "OVER"

    lines = [
        f"hostile files tried: {len(rows)} ({len(refused)} refused with a reason, "
        f"{len(rows) - len(refused) - len(crashes)} read), each alone as an upload is",
        f"  crashes: {len(crashes)} (goal {GOALS['crashes']}: {verdict(len(crashes) <= GOALS['crashes'])})",
        *(f"    {row['file']!r}: {row['crash']}" for row in crashes),
        f"  slowest read: {slowest['file']!r} {slowest['seconds']:.2f} s (a fresh reader's start included)",
        f"  largest extra memory: {largest['file']!r} {largest.get('extra_mib', 0.0):.0f} MiB "
        f"({largest.get('where', '?')})",
        f"reading the {r['samples']} sample documents as one batch: in a worker {o['worker_s']:.2f} s, "
        f"in this process {o['in_process_s']:.2f} s (+{o['worker_s'] - o['in_process_s']:.2f} s a batch)",
        f"the folder (samples + hostile files) through `retrieve`: {cli['seconds']:.1f} s "
        f"(goal ≤ {GOALS['folder_s']:.0f} s: {verdict(cli['seconds'] <= GOALS['folder_s'])}), "
        f"peak memory of its process tree {cli['peak_tree_mib']:.0f} MiB "
        f"(goal ≤ {GOALS['folder_mib']:.0f}: {verdict(cli['peak_tree_mib'] <= GOALS['folder_mib'])})",
        f"  {cli['skipped']} files listed as skipped with their reason; exit code {cli['returncode']}; "
        f"the good files still answer ({ANSWER} from policies.docx first): {'yes' if cli['answers'] else 'NO'}",
    ]
    return "\n".join(lines)
