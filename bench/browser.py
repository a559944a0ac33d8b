"""Drive the real app in a real browser: ``streamlit run`` on a free port, Debian's Chromium via Playwright.

Shared by the browser test and the end-to-end benchmark, so both measure the same path a person takes:
open the app → open the sample workspace → ask an example question → four answers with sources.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from bench.child import free_port, running

ROOT = Path(__file__).resolve().parent.parent
CHROMIUM = os.environ.get("PLAYGROUND_CHROMIUM") or shutil.which("chromium") or "/usr/bin/chromium"
# Quiet, offline Chromium: no background fetches, no GPU (there is none), sandbox off for root in CI.
CHROMIUM_ARGS = [
    "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--disable-background-networking",
    "--disable-component-update", "--disable-sync", "--no-first-run",
]  # fmt: skip


CARD_TESTID = "stVerticalBlock"  # a bordered st.container is a vertical block


@contextlib.contextmanager
def serve(
    home: Path, port: int | None = None, timeout_s: float = 120.0, warm_up: bool = True
) -> Iterator[tuple[str, float]]:
    """Start ``streamlit run app.py`` with ``PLAYGROUND_HOME=home``; yield (url, seconds until healthy).

    ``warm_up``: load the sample's index and models in the background at start, as a person's server does; a
    test that never opens the sample turns it off, so that work does not compete with its own.
    """
    port = port or free_port()
    env = {**os.environ, "PLAYGROUND_HOME": str(home), "HF_HUB_OFFLINE": "1", "TOKENIZERS_PARALLELISM": "false"}
    env["PLAYGROUND_WARM_UP"] = "1" if warm_up else "0"  # on: a server as a person starts it
    env.setdefault("OLLAMA_HOST", f"http://127.0.0.1:{free_port()}")  # nothing listens there: Ollama is down
    command = [
        sys.executable, "-m", "streamlit", "run", str(ROOT / "app.py"), "--server.port", str(port),
        "--server.address", "127.0.0.1", "--server.headless", "true", "--browser.gatherUsageStats", "false",
    ]  # fmt: skip
    url = f"http://127.0.0.1:{port}"

    def healthy() -> bool:
        with contextlib.suppress(OSError), urllib.request.urlopen(f"{url}/_stcore/health", timeout=2) as answer:
            return bool(answer.status == 200)
        return False

    home.mkdir(parents=True, exist_ok=True)
    log = home / "streamlit.log"
    with running(command, ready=healthy, log=log, timeout_s=timeout_s, env=env, cwd=ROOT) as (_, seconds):
        yield url, seconds


@contextlib.contextmanager
def chromium(width: int = 1400, height: int = 1000) -> Iterator[Any]:
    """A Playwright page in Debian's Chromium (never a downloaded browser build)."""
    from playwright.sync_api import sync_playwright

    if not Path(CHROMIUM).exists():
        raise FileNotFoundError(f"no Chromium at {CHROMIUM}: `apt-get install chromium` (the Makefile does)")
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            page = browser.new_page(viewport={"width": width, "height": height})
            yield page
        finally:
            browser.close()


def ask_sample_question(page: Any, url: str, timeout_s: float = 240.0) -> dict[str, float]:
    """Open the app, open the sample workspace, ask its first example; wait for all four answers.

    Returns seconds from navigation to: the Compare page ready, and the four answers done.
    """
    timeout_ms = timeout_s * 1000
    started = time.perf_counter()
    page.goto(url, timeout=timeout_ms)
    page.get_by_role("button", name="Open the sample workspace").click(timeout=timeout_ms)
    ask = page.get_by_role("button", name="Ask", exact=True)
    ask.wait_for(timeout=timeout_ms)
    page.get_by_text("Workspace sample:").wait_for(timeout=timeout_ms)  # the index is open
    ready = time.perf_counter() - started
    ask.click()
    # The history appears after the last card finished and the cost chart was drawn.
    page.get_by_text("This session's questions (1)").wait_for(timeout=timeout_ms)
    return {"compare_ready_s": ready, "answered_s": time.perf_counter() - started}


def cards(page: Any) -> dict[str, str]:
    """The visible text of each answer card, by condition label."""
    out = {}
    for label in ("Base", "Base+RAG", "Fine-tuned", "Fine-tuned+RAG"):
        heading = page.get_by_role("heading", name=label, exact=True)
        out[label] = heading.locator(f"xpath=ancestor::div[@data-testid='{CARD_TESTID}'][1]").inner_text()
    return out


def bench_end_to_end(index: Any, root: Path) -> dict[str, Any]:
    """A fresh ``streamlit run`` → four answers in Chromium, and the same four prompts on the raw engine.

    ``total_s`` is what a newcomer waits: server start, first page, the sample workspace made and
    indexed, models loaded, four answers streamed. ``answers_ratio`` compares the Ask → four answers
    part with raw ``Llama.create_completion`` of the same four prompts (cold cache each).
    """
    from bench import cold, log
    from playground import GenerationParams, compare
    from playground.models import default_finetune
    from playground.workspace import SAMPLE, open_workspace

    log("end to end: fresh streamlit run → four answers in Chromium")
    started = time.perf_counter()
    with serve(root / "e2e-home") as (url, up_s), chromium(height=1900) as page:
        steps = ask_sample_question(page, url, timeout_s=600)
        total_s = time.perf_counter() - started
        text = cards(page)
    log(f"  server up {up_s:.1f}s, compare ready {steps['compare_ready_s']:.1f}s, total {total_s:.1f}s")

    # The same four prompts on the raw engine: the app's default models and settings, and its thread count
    # (all cores but one: the browser renders on the other), so the ratio is the app's own overhead.
    from playground import config
    from playground.models import Catalogue, EmbeddedBackend

    backend = EmbeddedBackend(n_threads=config.app_threads())
    catalogue = Catalogue([backend])
    base = catalogue.resolve(None)
    tuned = default_finetune(catalogue.listing().models, base, index.files)  # the app's own default
    question = open_workspace(SAMPLE).questions()[0]["question"]
    params = GenerationParams()
    run = compare(question, catalogue=catalogue, base=base, finetuned=tuned, index=index, generation=params)
    raw_s = 0.0
    for condition in run.conditions:
        model = tuned if tuned and condition.condition.startswith("ft") else base
        llm = backend.llama(model)
        tokens = backend.prompt_tokens(model, condition.result.messages)
        sampler = {"temperature": 0.0, "top_p": params.top_p, "top_k": 40, "min_p": 0.05, "repeat_penalty": 1.0}
        cold(llm)
        start = time.perf_counter()
        llm.create_completion(prompt=tokens, max_tokens=params.max_tokens, seed=params.seed, **sampler)
        raw_s += time.perf_counter() - start
    answers_s = steps["answered_s"] - steps["compare_ready_s"]
    log_text = (root / "e2e-home" / "streamlit.log").read_text(errors="replace")
    warm_up = [line.split(": ", 1)[1] for line in log_text.splitlines() if line.startswith("playground warm-up")]
    return {
        "warm_up": warm_up[0] if warm_up else None,
        "server_up_s": up_s,
        "compare_ready_s": steps["compare_ready_s"],
        "answers_s": answers_s,
        "total_s": total_s,
        "raw_answers_s": raw_s,
        "answers_ratio": answers_s / raw_s,
        "answered": all(len(body.split("\n\n")) > 3 for body in text.values()),
    }


def run_first_answer() -> dict[str, Any]:
    """``python -m bench --first-answer``: only the end-to-end path, with the index its raw comparison needs."""
    import tempfile

    from bench import SAMPLE_DOCS

    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
    with tempfile.TemporaryDirectory(prefix="playground-first-") as tmp:
        root = Path(tmp)
        os.environ["PLAYGROUND_HOME"] = str(root / "home")
        from playground import LocalEmbedding, build_index, load_folder

        index = build_index(load_folder(SAMPLE_DOCS), embed_model=LocalEmbedding(), workspace="bench")
        return bench_end_to_end(index, root)


def bench_rerun(root: Path, reps: int = 5) -> dict[str, Any]:
    """A rerun with nothing new on the Compare page after an answer: seconds, and what it (re)loaded."""
    from streamlit.testing.v1 import AppTest

    from bench import log
    from playground import ui

    os.environ["PLAYGROUND_HOME"] = str(root / "rerun-home")
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=600).run()
    at.switch_page("pages/compare.py").run()
    at.slider[1].set_value(16)
    next(b for b in at.button if b.label == "Ask").click().run()
    before = dict(ui.LOADS)
    times = []
    for _ in range(reps):
        start = time.perf_counter()
        at.run()
        times.append(time.perf_counter() - start)
    loaded = {k: v - before.get(k, 0) for k, v in ui.LOADS.items() if v != before.get(k, 0)}
    log(f"no-op rerun: {min(times) * 1000:.0f} ms (min of {reps}); reloaded: {loaded or 'nothing'}")
    return {"rerun_s": times, "reloaded": loaded}
