"""The pages through Streamlit's AppTest, on the real embedded model and the sample workspace."""

from __future__ import annotations

import pytest
from streamlit.testing.v1 import AppTest

from .conftest import ROOT
from .ollama_replay import unused_url

pytestmark = pytest.mark.slow


def test_home_shows_both_backends_and_ollama_down_calmly(monkeypatch):
    monkeypatch.setenv("OLLAMA_HOST", unused_url())
    at = AppTest.from_file(str(ROOT / "pages/home.py"), default_timeout=120).run()
    assert not at.exception
    assert at.success[0].value.startswith("Ready: ")
    assert "ollama serve" in at.info[0].value
    assert not at.error, "Ollama being down is not an error of the page"


def test_compare_streams_four_answers_with_sources(monkeypatch):
    monkeypatch.setenv("OLLAMA_HOST", unused_url())
    at = AppTest.from_file(str(ROOT / "pages/compare.py"), default_timeout=600).run()
    assert not at.exception and not at.error
    assert "Workspace **sample**" in at.caption[0].value
    at.slider[1].set_value(16)  # longest answer, in tokens: keeps the test quick
    next(b for b in at.button if b.label == "Ask").click().run()
    assert not at.exception and not at.error
    html = " ".join(str(h.proto.body) for h in at.get("html"))
    for label in ("Base", "Base+RAG", "Fine-tuned", "Fine-tuned+RAG"):
        assert f">{label}</h4>" in html
    assert [e.label for e in at.expander if e.label.startswith("Sources")] == ["Sources (3)", "Sources (3)"]
    assert any("this slot runs the base model" in c.value for c in at.caption)
    assert any("prompt +" in c.value and "tok/s" in c.value for c in at.caption)
    assert len(at.session_state["history"]) == 1


def test_a_bad_prompt_template_is_a_message_not_a_traceback(monkeypatch):
    monkeypatch.setenv("OLLAMA_HOST", unused_url())
    at = AppTest.from_file(str(ROOT / "pages/compare.py"), default_timeout=600).run()
    at.text_area[0].set_value("Answer: {question}")
    next(b for b in at.button if b.label == "Ask").click().run()
    assert not at.exception
    assert "needs the placeholder(s) {context}" in at.error[0].value
