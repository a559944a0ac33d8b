"""Faults a running playground meets: a sick Ollama, damaged model files, a home it cannot write, a kill mid-write.

Each one ends in a message a person can act on, in the place it happened (one card, one file, one page),
while everything else keeps working.
"""

from __future__ import annotations

import errno
import os
import pathlib
import re
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from playground import compare
from playground.compare import Retrieved
from playground.config import GenerationParams
from playground.index import Hit
from playground.models import Catalogue
from playground.models.ollama import OllamaBackend

from .helpers import ROOT, FakeBackend, table_shown
from .ollama_replay import REPLY, OllamaReplay, unused_url

PASSAGE = Hit("n1", "faq.md", None, 1.0, "Paris is the capital of France.", 1)


def _compare(catalogue: Catalogue, finetuned: str) -> list:
    """Base on the healthy fake backend, the fine-tuned slot on the Ollama model under test."""
    base = catalogue.resolve("fake:base")
    tuned = catalogue.resolve(finetuned) if not finetuned.startswith("!") else None
    if tuned is None:  # Ollama is down: it cannot even be listed, so its model is described by hand
        from playground.models import ModelInfo

        tuned = ModelInfo("ollama", finetuned[1:], context_length=4096)
    run = compare("Capital of France?", catalogue=catalogue, base=base, finetuned=tuned, index=Retrieved([PASSAGE]))
    return run.run_all()


@pytest.mark.parametrize(
    ("fault", "says"),
    [
        ("down", "Ollama is not running at .*`ollama serve`"),
        ("missing", r"model mistral:7b is not pulled: `ollama pull mistral:7b`"),
        ("stall", r"timed out after 0\.5 s: check that it is running .* not stuck loading a model"),
        ("drop", "broke off before the answer was complete .* ask again"),
        ("malformed", "sent a reply that is not Ollama's format .* OLLAMA_HOST points at Ollama itself"),
    ],
    ids=["down", "missing", "stall", "drop", "malformed"],
)
def test_an_ollama_fault_shows_in_its_own_columns_and_the_others_finish(fault, says, tmp_path, monkeypatch):
    monkeypatch.setenv("PLAYGROUND_HOME", str(tmp_path))
    with OllamaReplay() as replay:
        replay.stall_s = 1.5
        host = unused_url() if fault == "down" else replay.url
        ollama = OllamaBackend(host=host, timeout=0.5)
        catalogue = Catalogue([FakeBackend(), ollama])
        model = {"down": "!qwen2.5:0.5b", "missing": "!mistral:7b"}.get(fault, "ollama:qwen2.5:0.5b")
        if fault in ("stall", "drop", "malformed"):
            replay.fault("qwen2.5:0.5b", fault)
        results = _compare(catalogue, model)

        base, base_rag, ft, ft_rag = results
        for r in (base, base_rag):  # the other columns finish, with their answers and costs
            assert r.error is None and r.text.startswith("base says") and r.metrics is not None
        for r in (ft, ft_rag):  # the affected column shows a message a person can act on, nothing else
            assert r.error is not None and r.metrics is None
            assert re.search(says, r.error), r.error
            assert not re.match(r"\w+(Error|Exception)\b", r.error), "a library's exception, not a message"
        if fault in ("drop", "malformed"):
            assert ft.text == "", "a broken answer is not kept as if it were whole"
        if fault != "down":  # the server's other models, on the same client, still answer afterwards
            healthy = catalogue.resolve("ollama:llama3.2:1b")
            answer = catalogue.chat(healthy, [{"role": "user", "content": "?"}], GenerationParams()).collect()
            assert answer == "".join(REPLY)


def _adapter(path: Path, base: str) -> Path:
    """A small GGUF LoRA adapter for ``base`` (listed without loading anything)."""
    import numpy as np
    from gguf import GGUFWriter

    writer = GGUFWriter(str(path), arch="llama")
    writer.add_string("general.type", "adapter")
    writer.add_string("adapter.type", "lora")
    writer.add_string("playground.base_model", base)
    writer.add_tensor("blk.0.attn_q.weight.lora_a", np.zeros((64, 576), dtype=np.float32))
    writer.add_tensor("blk.0.attn_q.weight.lora_b", np.zeros((576, 64), dtype=np.float32))
    writer.write_header_to_file()
    writer.write_kv_data_to_file()
    writer.write_tensors_to_file()
    writer.close()
    return path


@pytest.fixture
def damaged_models(tmp_path) -> Path:
    """A models folder as a person's can end up: a good adapter beside cut, empty, foreign and orphaned files."""
    from playground.models.embedded import BUNDLED_NAME

    folder = tmp_path / "models"
    folder.mkdir()
    good = _adapter(folder / "style.gguf", BUNDLED_NAME).read_bytes()
    (folder / "cut-short.gguf").write_bytes(good[: len(good) // 2])  # an interrupted download
    (folder / "cut-in-header.gguf").write_bytes(good[:60])
    (folder / "empty.gguf").write_bytes(b"")
    (folder / "saved-page.gguf").write_bytes(b"<!doctype html><title>Download</title>")
    (folder / "folder.gguf").mkdir()
    _adapter(folder / "orphan.gguf", "llama-3-8b-instruct")
    return folder


def test_damaged_model_files_are_listed_as_unusable_with_the_reason(damaged_models):
    from playground.models import EmbeddedBackend

    backend = EmbeddedBackend(models_dir=damaged_models)
    names = [m.name for m in backend.list_models()]
    assert names == ["smollm2-135m-instruct", "style"], "the good files still list, the bad ones do not"
    why = {Path(p).name: reason for p, reason in Catalogue([backend]).listing().unusable.items()}
    assert sorted(why) == ["cut-in-header.gguf", "cut-short.gguf", "empty.gguf", "folder.gguf", "orphan.gguf",
                           "saved-page.gguf"]  # fmt: skip
    assert re.search(r"cut short: 0\.1 MB of the 0\.3 MB its tensors need .* download it again", why["cut-short.gguf"])
    assert "damaged" in why["cut-in-header.gguf"] and "download it again" in why["cut-in-header.gguf"]
    assert why["empty.gguf"].startswith("the file is empty")
    assert why["saved-page.gguf"].startswith("not a GGUF model file (it starts with b'<!do')")
    assert why["folder.gguf"] == "a folder, not a model file"
    assert why["orphan.gguf"] == "a LoRA adapter for llama-3-8b-instruct, which is not among the models: add that model"


@pytest.fixture
def fresh_app(monkeypatch):
    """The app's process-wide caches emptied, as a fresh server has them; Ollama down."""
    import streamlit as st

    monkeypatch.setenv("OLLAMA_HOST", unused_url())
    st.cache_resource.clear()
    st.cache_data.clear()
    yield
    st.cache_resource.clear()
    st.cache_data.clear()


def test_the_pages_list_damaged_model_files_and_keep_working(damaged_models, fresh_app):
    import shutil

    from streamlit.testing.v1 import AppTest

    from playground import config

    shutil.copytree(damaged_models, config.models_dir())
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=120).run()
    assert not at.exception and at.success[0].value == "Ready: 3 model(s)"  # bundled, shipped fine-tune, style
    assert "6 file(s) in the models folder cannot be used" in at.caption[-1].value
    at.switch_page("pages/models.py").run()
    assert not at.exception and not at.error
    assert at.warning[0].value.startswith("6 file(s) in the models folder cannot be used")
    table = at.dataframe[0].value.set_index("file")
    assert table.loc["cut-short.gguf", "why"].startswith("the file is cut short")
    assert "style" in list(table_shown(at.table[0])["model"]), "the good adapter is in the catalogue"


# -- PLAYGROUND_HOME that cannot be written ------------------------------------------------------------
def test_a_home_under_a_file_is_a_clear_error_and_nothing_half_made(tmp_path, monkeypatch):
    from playground.errors import StorageError
    from playground.workspace import Workspace, open_workspace

    (tmp_path / "blocker").write_text("a file where the home's folder should be")
    monkeypatch.setenv("PLAYGROUND_HOME", str(tmp_path / "blocker" / "home"))
    for attempt in (lambda: open_workspace("sample"), lambda: Workspace("mine").add([("a.md", b"# A\n\nText.")])):
        with pytest.raises(
            StorageError, match=r"blocker is a file, not a folder\. Move it away, or set PLAYGROUND_HOME"
        ):
            attempt()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["blocker"]


def test_a_read_only_home_is_a_clear_error(tmp_path, monkeypatch):
    from playground.errors import StorageError
    from playground.workspace import Workspace

    home = tmp_path / "home"
    Workspace("mine").create()  # the fixture's home; this test's own comes next
    monkeypatch.setenv("PLAYGROUND_HOME", str(home))
    Workspace("mine").add([("a.md", b"# A\n\nKept before the disk became read-only.")])
    for folder in (home, *home.rglob("*")):
        if folder.is_dir():
            folder.chmod(0o555)
    try:
        probe = home / "workspaces" / "mine" / "probe"
        try:
            probe.write_text("x")
        except PermissionError:
            pass
        else:  # root (as in many containers) writes whatever the mode says: the chmod proves nothing here
            pytest.skip("running as root: a read-only mode does not stop root's writes (see the tests beside)")
        with pytest.raises(StorageError, match=r"permission denied\. Make it writable, or set PLAYGROUND_HOME"):
            Workspace("mine").add([("b.md", b"# B\n\nNot kept.")])
        assert Workspace("mine").file_names() == ["a.md"], "what was there stays readable"
    finally:
        for folder in (home, *home.rglob("*")):
            if folder.is_dir():
                folder.chmod(0o755)


def test_a_full_disk_is_a_clear_error_and_the_previous_file_stays(tmp_path):
    """A real refusal by the kernel: a file-size limit (RLIMIT_FSIZE, which binds root too) stands in for a
    disk that fills up during the write."""
    script = textwrap.dedent(
        """
        import resource, signal
        from playground.errors import StorageError
        from playground.workspace import Workspace

        ws = Workspace("mine")
        ws.add([("notes.md", b"# Notes\\n\\nThe first version.")])
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # the write then fails with EFBIG instead of killing us
        resource.setrlimit(resource.RLIMIT_FSIZE, (4096, resource.getrlimit(resource.RLIMIT_FSIZE)[1]))
        try:
            ws.add([("notes.md", b"# Notes\\n\\n" + b"A much longer second version. " * 500)])
        except StorageError as err:
            print(err)
        """
    )
    home = tmp_path / "home"
    env = {**os.environ, "PLAYGROUND_HOME": str(home), "PYTHONPATH": str(ROOT)}
    done = subprocess.run([sys.executable, "-c", script], env=env, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert re.match(r"Cannot write .*notes\.md: the file is larger than this system lets a file be", done.stdout)
    docs = home / "workspaces" / "mine" / "documents"
    assert [p.name for p in docs.iterdir()] == ["notes.md"], "no temporary file is left behind"
    assert (docs / "notes.md").read_bytes() == b"# Notes\n\nThe first version."


def test_no_space_left_is_said_as_such(tmp_path, monkeypatch):
    from playground.errors import StorageError
    from playground.storage import write_atomic

    target = write_atomic(tmp_path / "settings.json", "{}")

    def full(self, data):  # what the kernel answers on a full disk (ENOSPC), without filling one
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(pathlib.Path, "write_bytes", full)
    with pytest.raises(StorageError, match=r"the disk is full \(No space left on device\)\. Free some space") as err:
        write_atomic(target, '{"chunk": {}}')
    assert isinstance(err.value, OSError) and err.value.errno == errno.ENOSPC
    monkeypatch.undo()
    assert target.read_text() == "{}" and [p.name for p in tmp_path.iterdir()] == ["settings.json"]


def test_the_app_says_when_its_home_cannot_be_written(tmp_path, monkeypatch, fresh_app):
    from streamlit.testing.v1 import AppTest

    (tmp_path / "blocker").write_text("")
    monkeypatch.setenv("PLAYGROUND_HOME", str(tmp_path / "blocker" / "home"))
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=120).run()
    assert not at.exception
    assert "is a file, not a folder" in at.error[0].value and "PLAYGROUND\\_HOME" in at.error[0].value


# -- a process killed while it writes ----------------------------------------------------------------------
_KILLED = textwrap.dedent(
    """
    import json, os, signal, sys
    from pathlib import Path

    import playground.storage
    from playground.config import ChunkSettings
    from playground.evaluate import run as eval_run
    from playground.finetune import registry
    from playground.finetune.export import write_gguf
    from playground.workspace import Workspace
    from tests.test_faults import EVAL, adapter_writer, fine_tune, evaluate_once

    def die(*args, **kwargs):
        os.kill(os.getpid(), signal.SIGKILL)  # no cleanup, no finally: as a power cut or the OOM killer

    def killed(name, write, replace=True):
        pid = os.fork()
        if pid == 0:
            if replace:  # the new version is on disk beside the old one, not yet renamed into place
                playground.storage.os.replace = die
            write()
            os._exit(0)  # reached only by a write that bypasses the one atomic write
        _, status = os.waitpid(pid, 0)
        print(name, "killed" if os.WIFSIGNALED(status) and os.WTERMSIG(status) == 9 else "NOT KILLED", flush=True)

    home = Path(os.environ["PLAYGROUND_HOME"])
    killed("settings", lambda: Workspace("k").save_chunk_settings(ChunkSettings(300, 30)))
    killed("registry", lambda: registry.save(fine_tune(home, steps=2)))
    killed("adapter", lambda: write_gguf(adapter_writer("other-base"), home / "models" / "style.gguf"))
    killed("eval config", lambda: evaluate_once(EVAL[:1]))

    def torn_second_line():  # killed half-way through writing the second result line
        real, calls = eval_run._append, []

        def append(folder, result):
            calls.append(result)
            if len(calls) == 2:
                with open(folder / eval_run.RESULTS_FILE, "a") as fh:
                    fh.write(json.dumps(result.to_json())[:40])
                die()
            real(folder, result)

        eval_run._append = append
        evaluate_once(EVAL)

    killed("eval results", torn_second_line, replace=False)
    """
)
EVAL = [
    {"question": "What is the hotel limit for Zurich?", "answer": "CHF 240"},
    {"question": "Who signs travel above EUR 5000?", "answer": "the CFO"},
    {"question": "How many days of leave carry over?", "answer": "five"},
]


def fine_tune(home: Path, steps: int):
    from playground.finetune.registry import FineTune

    path = str(home / "models" / "style.gguf")
    return FineTune("style", "embedded:smollm2-135m-instruct", path, "2026-01-01T00:00:00Z", steps=steps)


def adapter_writer(base: str):
    """A prepared GGUFWriter (no path yet) for a small adapter of ``base``, as export_adapter makes one."""
    import numpy as np
    from gguf import GGUFWriter

    writer = GGUFWriter(None, arch="llama")
    writer.add_string("general.type", "adapter")
    writer.add_string("adapter.type", "lora")
    writer.add_string("playground.base_model", base)
    writer.add_tensor("blk.0.attn_q.weight.lora_a", np.zeros((8, 576), dtype=np.float32))
    return writer


def evaluate_once(rows: list[dict[str, str]]):
    from playground.evaluate import EvalConfig, evaluate
    from playground.evaluate.questions import from_rows

    catalogue = Catalogue([FakeBackend(reply="CHF 240")])
    questions = from_rows("kill", rows)
    config = EvalConfig(conditions=("base", "ft"))  # no index here: only the conditions without retrieval
    return evaluate(questions, catalogue=catalogue, base=catalogue.resolve("fake:base"), config=config, workspace="k")


def test_a_process_killed_during_any_write_leaves_the_previous_state_loadable(playground_home):
    """Settings, the fine-tune registry, an exported adapter, an evaluation run's config and its results: each
    killed (SIGKILL) half-way, each still reads as before, and the next write succeeds."""
    from playground.config import ChunkSettings
    from playground.evaluate import load_run
    from playground.finetune import registry
    from playground.finetune.export import write_gguf
    from playground.models.embedded import gguf_metadata, gguf_problem
    from playground.workspace import Workspace

    Workspace("k").save_chunk_settings(ChunkSettings(200, 20))
    registry.save(fine_tune(playground_home, steps=1))
    adapter = write_gguf(adapter_writer("smollm2-135m-instruct"), playground_home / "models" / "style.gguf")
    first = evaluate_once(EVAL[:1])
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    done = subprocess.run([sys.executable, "-c", _KILLED], env=env, capture_output=True, text=True, timeout=300)
    outcome = dict(line.rsplit(" ", 1) for line in done.stdout.splitlines())
    assert outcome == dict.fromkeys(["settings", "registry", "adapter", "eval config", "eval results"], "killed"), (
        done.stdout + done.stderr
    )

    assert Workspace("k").chunk_settings() == ChunkSettings(200, 20)
    assert registry.load(registry.record_path(adapter)).steps == 1
    assert gguf_problem(adapter) is None and gguf_metadata(adapter)["playground.base_model"] == "smollm2-135m-instruct"
    run = load_run(first.run_dir)
    assert [r.qid for r in run.results] == [r.qid for r in first.results] and run.complete
    partial = load_run(
        next(p for p in (playground_home / "workspaces" / "k" / "evals").iterdir() if p != first.run_dir)
    )
    assert len(partial.results) == 1 and not partial.complete, "the first answer was kept, the torn one skipped"
    resumed = evaluate_once(EVAL)  # the same run, resumed: the torn line takes no good result down with it
    assert resumed.run_dir == partial.run_dir and resumed.complete and len(load_run(resumed.run_dir).results) == 3
    Workspace("k").save_chunk_settings(ChunkSettings(300, 30))  # and the debris bothers no later write
    assert Workspace("k").chunk_settings() == ChunkSettings(300, 30)
