"""``python -m bench --hostile`` (second part): faults survived and concurrent sessions held.

* Faults: the fault suite (``tests/test_faults.py``) run as it is in ``make test``; each of its cases injects
  one or more faults (a sick Ollama, damaged model files, a home that cannot be written, a kill during a
  write) and passes only when the fault ends in a message a person can act on while the rest keeps working.
  A fault counts as survived when its case passes; a case the machine cannot run (a read-only folder when
  running as root) is reported as not tried, not as survived.
* Sessions: N sessions of one server at once, each uploading a document (and a broken one) to its own
  workspace or to one they share, indexing and asking (answers from a scripted backend, the index and the
  embedding model real): a session is held when it finished without an exception, retrieved its own
  document and, in a workspace of its own, nothing of anyone else's; nothing uploaded may be lost.
* Two answers of the embedded model asked at the same moment: both finish, one after the other.
"""

from __future__ import annotations

import subprocess
import sys
import tempfile
import threading
import time
import traceback
import xml.etree.ElementTree as ET
from collections.abc import Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
SESSION_COUNTS = (10, 30)
# How many faults each case of tests/test_faults.py injects (a case not named here injects one).
FAULTS_PER_CASE = {
    "test_damaged_model_files_are_listed_as_unusable_with_the_reason": 6,  # cut twice, empty, html, dir, orphan
    "test_a_home_under_a_file_is_a_clear_error_and_nothing_half_made": 2,  # the first start, an upload
    "test_a_process_killed_during_any_write_leaves_the_previous_state_loadable": 5,  # settings, registry, adapter, …
}
WORDS = ["amber", "basalt", "cobalt", "dune", "ember", "fjord", "garnet", "harbor", "indigo", "juniper"]


def run_faults_suite(log: Callable[[str], None] = print) -> dict[str, Any]:
    """Run the fault suite in a fresh process; per case: passed, skipped (with why) or failed, and its faults."""
    log("the fault suite (tests/test_faults.py)")
    with tempfile.TemporaryDirectory() as tmp:
        report = Path(tmp) / "faults.xml"
        started = time.perf_counter()
        subprocess.run(
            [sys.executable, "-m", "pytest", "tests/test_faults.py", "-q", "-p", "no:randomly", f"--junitxml={report}"],
            cwd=ROOT,
            capture_output=True,
            check=False,
        )
        seconds = time.perf_counter() - started
        cases = []
        for case in ET.parse(report).getroot().iter("testcase"):
            name = case.get("name", "")
            base = name.split("[")[0]
            skipped = case.find("skipped")
            failed = case.find("failure") is not None or case.find("error") is not None  # (Elements are falsy)
            outcome = "failed" if failed else "skipped" if skipped is not None else "passed"
            why = (skipped.get("message", "") if skipped is not None else "") or ""
            cases.append({"case": name, "faults": FAULTS_PER_CASE.get(base, 1), "outcome": outcome, "why": why})
    return {"cases": cases, "seconds": seconds}


def run_sessions(count: int, embed_model: Any) -> dict[str, Any]:
    """``count`` sessions at once, half in workspaces of their own, half in one they share."""
    import streamlit as st

    from playground import RetrievalSettings, compare
    from playground.models import Catalogue
    from playground.ui import cache
    from playground.workspace import Workspace, open_workspace
    from tests.helpers import FakeBackend

    st.cache_resource.clear()
    cache.embed_model = lambda: embed_model  # type: ignore[assignment]  # the one model every session shares
    catalogue = Catalogue([FakeBackend()])
    base = catalogue.resolve("fake:base")
    own = count // 2
    start = threading.Barrier(count)
    held: dict[int, bool] = {}
    errors: list[str] = []

    def word(i: int) -> str:
        return f"{WORDS[i % len(WORDS)]}{i}"

    def session(i: int) -> None:
        try:
            ws = open_workspace(f"bench-own-{i}" if i < own else "bench-shared")
            doc = f"# Team {word(i)}\n\nThe {word(i)} team's code word is {word(i)}-{i * 7919}.\n".encode()
            start.wait(timeout=120)
            ws.add([(f"s{i}.md", doc), (f"broken-{i}.pdf", b"%PDF-1.7 not a pdf")])
            cs = ws.chunk_settings()
            index = cache.workspace_index(ws.name, ws.signature(), (cs.chunk_size, cs.chunk_overlap))
            run = compare(f"What is the {word(i)} team's code word?", catalogue=catalogue, base=base, index=index,
                          retrieval=RetrievalSettings(top_k=3))  # fmt: skip
            results = run.run_all()
            passages = " ".join(s.text for s in results[1].sources)
            others = [w for j in range(count) if j != i and (w := f"{word(j)}-{j * 7919}") in passages]
            held[i] = (
                all(r.error is None for r in results)
                and f"{word(i)}-{i * 7919}" in passages
                and (i >= own or not others)
            )
        except BaseException:
            errors.append(traceback.format_exc(limit=3))
            held[i] = False

    started = time.perf_counter()
    threads = [threading.Thread(target=session, args=(i,)) for i in range(count)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=600)
    seconds = time.perf_counter() - started
    shared = Workspace("bench-shared")
    lost = sorted({f"s{i}.md" for i in range(own, count)} - set(shared.file_names()))
    refusals_lost = sorted({f"broken-{i}.pdf" for i in range(own, count)} - {r.file_name for r in shared.refused()})
    return {
        "sessions": count,
        "held": sum(held.values()),
        "seconds": seconds,
        "lost_uploads": lost,
        "lost_refusals": refusals_lost,
        "errors": errors[:3],
    }


def run_two_answers() -> dict[str, Any]:
    """Two answers of the embedded model asked at once (two sessions): both finish, serialised."""
    from playground.config import GenerationParams
    from playground.models import EmbeddedBackend

    backend = EmbeddedBackend(models_dir=Path("/nonexistent"))
    model = backend.get("smollm2-135m-instruct")
    backend.llama(model)  # loaded before the clock
    spans: dict[str, tuple[float, float]] = {}
    question = [{"role": "user", "content": "Name three colours."}]

    def answer(name: str) -> None:
        stamps = [time.perf_counter() for _ in backend.chat(model, question, GenerationParams(max_tokens=16))]
        spans[name] = (stamps[0], stamps[-1])

    threads = [threading.Thread(target=answer, args=(n,)) for n in ("a", "b")]
    started = time.perf_counter()
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=300)
    first, second = sorted(spans.values()) if len(spans) == 2 else ((0.0, 0.0), (0.0, 0.0))
    ended = max((s[1] for s in spans.values()), default=started)
    return {"finished": len(spans), "serialised": first[1] < second[0], "seconds": ended - started}


def run_faults(log: Callable[[str], None] = print) -> dict[str, Any]:
    import os

    from playground.embeddings import LocalEmbedding

    suite = run_faults_suite(log)
    embed = LocalEmbedding()
    sessions = []
    for count in SESSION_COUNTS:
        with tempfile.TemporaryDirectory() as home:
            os.environ["PLAYGROUND_HOME"] = home
            log(f"{count} sessions at once: upload, index, ask")
            sessions.append(run_sessions(count, embed))
    log("two embedded answers at once")
    return {"suite": suite, "sessions": sessions, "two_answers": run_two_answers()}


def faults_table(r: dict[str, Any]) -> str:
    cases = r["suite"]["cases"]
    tried = [c for c in cases if c["outcome"] != "skipped"]
    survived = sum(c["faults"] for c in tried if c["outcome"] == "passed")
    lines = [
        f"faults survived: {survived} of {sum(c['faults'] for c in tried)} injected "
        f"({len(tried)} cases of tests/test_faults.py, {r['suite']['seconds']:.0f} s)",
        *(f"  FAILED {c['case']}" for c in tried if c["outcome"] != "passed"),
        *(f"  not tried: {c['case']} ({c['why']})" for c in cases if c["outcome"] == "skipped"),
    ]
    for s in r["sessions"]:
        lines.append(
            f"concurrent sessions held: {s['held']} of {s['sessions']} (upload, index, ask at once; half in one "
            f"shared workspace) in {s['seconds']:.1f} s; uploads lost {len(s['lost_uploads'])}, "
            f"refusals lost {len(s['lost_refusals'])}"
        )
        lines += [f"  {e.strip().splitlines()[-1]}" for e in s["errors"]]
    two = r["two_answers"]
    lines.append(
        f"two embedded answers asked at once: {two['finished']} of 2 finished, "
        f"{'one after the other' if two['serialised'] else 'OVERLAPPING'}, {two['seconds']:.1f} s"
    )
    return "\n".join(lines)


__all__ = ["faults_table", "run_faults"]
