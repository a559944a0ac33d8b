"""Faults a running playground meets: a sick Ollama, damaged model files, a home it cannot write, a kill mid-write.

Each one ends in a message a person can act on, in the place it happened (one card, one file, one page),
while everything else keeps working.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from playground import compare
from playground.compare import Retrieved
from playground.config import GenerationParams
from playground.index import Hit
from playground.models import Catalogue
from playground.models.ollama import OllamaBackend

from .helpers import ROOT, FakeBackend
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
    assert "style" in list(at.dataframe[1].value["model"]), "the good adapter is in the catalogue"
