"""Files from the wild: every hostile file gets a clear message of its own, within the reading budget, and the good
files of the same batch still load and answer. The files are made by ``scripts/make_hostile_files.py``, once per
module, and read through the real code path (the worker process, its limits, the chunk budgets)."""

from __future__ import annotations

import importlib.util
import json
import os
import random
import re
import signal
import sys
import threading
from pathlib import Path
from types import ModuleType

import pytest

from playground.config import ChunkSettings, document_limits
from playground.documents import LoadedFile, apply_budgets, load_files, load_folder, upload_name
from playground.parsing import CRASHED, Parser

from .helpers import ROOT, SAMPLE_DOCS


def _generator() -> ModuleType:
    spec = importlib.util.spec_from_file_location("make_hostile_files", ROOT / "scripts" / "make_hostile_files.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # its dataclasses look themselves up there
    spec.loader.exec_module(module)
    return module


GEN = _generator()

# What each hostile file becomes: "text: X" — it loads and its text holds X; otherwise its refusal holds the words.
EXPECTED = {
    "pdf/corrupt.pdf": "could not read PDF: the file is damaged",
    "pdf/truncated.pdf": "cut off",
    "pdf/encrypted.pdf": "password-protected: save an unprotected copy",
    "pdf/fake-header.pdf": "could not read PDF",
    "pdf/no-header.pdf": "is not a PDF: it does not start like one",
    "pdf/empty.pdf": "file is empty",
    "pdf/no-text.pdf": "scanned PDFs need OCR first",
    "pdf/page-tree-loop.pdf": "loops back on itself",
    "pdf/xobject-loop.pdf": "text: again",
    "pdf/reference-chain.pdf": "could not read PDF",
    "pdf/xref-loop.pdf": "text: A page.",
    "pdf/stream-bomb.pdf": "unpacks to far more data than a document holds",
    "pdf/stream-bomb-text.pdf": "page 1 holds 15 MB of drawing instructions",
    "docx/not-a-zip.docx": "is it a real .docx?",
    "docx/old-word.docx": "old Word 97-2003 (.doc) file",
    "docx/truncated.docx": "its zip package cannot be opened",
    "docx/empty-zip.docx": "is missing parts every Word document has",
    "docx/missing-document.docx": "is missing its main text part",
    "docx/missing-content-types.docx": "([Content_Types].xml)",
    "docx/malformed-xml.docx": "damaged XML",
    "docx/entity-expansion.docx": "declares XML entities, which Word never writes",
    "docx/external-entity.docx": "declares XML entities, which Word never writes",
    "docx/bomb-one-node.docx": "unpacks to 200 MB (1,006 times its size)",
    "docx/bomb-many-paragraphs.docx": "probably a decompression bomb",
    "docx/no-text.docx": "no text found in the document",
    "text/empty.txt": "file is empty",
    "text/whitespace.txt": "file is empty",
    "text/bom-only.txt": "file is empty",
    "text/binary.txt": "looks like binary data, not text",
    "text/nul-bytes.txt": "looks like binary data, not text (it contains NUL bytes)",
    "text/executable.md": "looks like binary data, not text",
    "text/control-characters.txt": "of it is control characters",
    "text/utf16-bom.txt": "text: The observatory keeps a night log.",
    "text/utf16-no-bom.txt": "text: The observatory keeps a night log.",
    "text/utf32-bom.md": "text: # Night log",
    "text/mixed-encodings.txt": "text: Crème brûlée, Latin-1.",
    "text/giant-line.txt": "above the 2,000 one file may make (PLAYGROUND_MAX_CHUNKS_PER_FILE)",
    "text/over-text-limit.md": "holds more than 5 MB of text once extracted",
    "text/over-file-limit.txt": "file is 51.0 MB, above the 50 MB limit",
    "html/nested-divs.html": "text: Deep inside.",
    "html/nested-tables.html": "text: cell",
    "html/tag-soup.html": "text: text",
    "html/huge-attribute.html": "text: A paragraph with a large title.",
    "html/scripts-only.html": "no text found: the page shows no text",
    "html/event-handlers.html": "text: Visible text about the dome.",
    "html/javascript-links.html": "text: Open the star chart",
    "html/entity-expansion.html": "text: Laughs.",
    "html/wrong-charset.html": "text: Grüße aus Köln.",
    "html/binary.htm": "looks like binary data, not text",
    "markdown/deep-nesting.md": "text: Quoted five thousand times.",
    "markdown/html-and-links.md": "text: Plain text about the observatory.",
    "names/sub/dir/nested.txt": "text: night shift",
    "names/up\\..\\..\\windows-path.txt": "text: night shift",
    "names/" + "long" * 62 + ".txt": "text: night shift",
    "names/bell\x07\x1b[31mred\x1b[0m.txt": "text: night shift",
    "names/new\nline.md": "text: night shift",
    "names/README": "unsupported file type 'no extension'",
    "names/report.pdf.exe": "unsupported file type '.exe'",
    "names/notes.txt.pdf": "is not a PDF",
    "names/picture.docx": "is not a Word .docx file (it is not a zip package)",
    "names/evil\u202etxt.exe": "unsupported file type '.exe'",
}
# A library's words: what a person cannot act on, and what an attacker learns about the server.
LIBRARY_WORDS = re.compile(
    r"Traceback|Error\b|Exception|errno|xmlCtxt|XML_PARSE_HUGE|amplification|line \d+, column|<string>|"
    r"There is no item|not a zip file|Stream has ended|startxref|LimitReached|pypdf|lxml|docx\.|bs4|zipfile|"
    r"/etc/passwd|root:",
    re.IGNORECASE,
)
ACTION = re.compile(r"\b(save|upload|split|raise|open|export|print|remove|use|needs?|add)\b", re.IGNORECASE)


@pytest.fixture(scope="module")
def folder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The hostile files and the good sample documents side by side, as a person's download folder might be."""
    path = tmp_path_factory.mktemp("hostile")
    GEN.write(path, samples=True)
    return path


@pytest.fixture(scope="module")
def loaded(folder: Path) -> dict[str, LoadedFile]:
    """The whole folder read once, as the CLI reads it, with the chunk budgets applied."""
    return {f.file_name: f for f in apply_budgets(load_folder(folder), ChunkSettings())}


def test_the_suite_is_the_one_the_script_makes(folder: Path) -> None:
    made = GEN.hostile_files()
    assert len(made) >= 40
    assert [h.name for h in made] == list(EXPECTED), "every hostile file has its expected outcome, in order"
    assert {h.kind for h in made} == {"pdf", "docx", "text", "markdown", "html", "name"}
    assert all((folder / h.name).read_bytes() == h.data for h in made), "the same bytes on every run"


def test_every_hostile_file_gets_its_own_clear_outcome(loaded: dict[str, LoadedFile]) -> None:
    for name, expected in EXPECTED.items():
        f = loaded[name]
        if expected.startswith("text: "):
            assert f.ok, f"{name!r} should load: {f.error}"
            assert expected.removeprefix("text: ") in "\n".join(d.text for d in f.documents), name
        else:
            assert not f.ok and not f.documents, f"{name!r} should be refused"
            assert expected in f.error, f"{name!r}: {f.error}"  # type: ignore[operator]


def test_no_refusal_speaks_a_librarys_language_and_each_says_what_to_do(loaded: dict[str, LoadedFile]) -> None:
    refused = {name: f.error for name, f in loaded.items() if f.error}
    assert len(refused) >= 35
    for name, reason in refused.items():
        assert not LIBRARY_WORDS.search(reason), f"{name!r}: {reason}"
        assert reason == "file is empty" or ACTION.search(reason), f"{name!r} says nothing to do: {reason}"
    scripted = [d.text for f in loaded.values() for d in f.documents if f.file_type == "html"]
    assert not any("alert(" in text or "javascript:" in text for text in scripted), "no script text from HTML"


def test_each_file_is_read_within_the_budget_and_the_good_ones_as_before(loaded: dict[str, LoadedFile]) -> None:
    limits = document_limits()
    assert max(f.parse_s for f in loaded.values()) < limits.parse_timeout_s / 2
    peaks = [f.parse_peak_mb for f in loaded.values() if f.parse_peak_mb is not None]
    assert len(peaks) >= 30, "PDF, Word and HTML were read by the worker"
    assert max(peaks) < limits.parse_memory_mb / 2
    samples = {f.file_name: f for f in load_folder(SAMPLE_DOCS)}
    for name, sample in samples.items():
        assert loaded[name].ok and [d.text for d in loaded[name].documents] == [d.text for d in sample.documents]


def test_a_worker_that_overruns_its_time_or_memory_or_dies_costs_only_that_file(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    good = ("fine.html", b"<p>Still read after the trouble.</p>")
    deep = b"<html><body>" + b"<div>" * 300_000 + b"Deep." + b"</div>" * 300_000 + b"</body></html>"
    monkeypatch.setenv("PLAYGROUND_PARSE_TIMEOUT_S", "1")
    slow, after = load_files([("deep.html", deep), good])
    assert slow.error is not None and "took longer than 1 s (PLAYGROUND_PARSE_TIMEOUT_S)" in slow.error
    assert slow.parse_s < 5, "stopped on time, not when it finished"
    assert after.ok, after.error

    monkeypatch.setenv("PLAYGROUND_PARSE_TIMEOUT_S", "60")
    monkeypatch.setenv("PLAYGROUND_PARSE_MEMORY_MB", "256")
    rng = random.Random(0)  # varied words, so the package checks pass: the XML tree is what is big
    words = [f"w{i}" for i in range(2000)]
    block = b"".join(b"<w:p><w:r><w:t>%s</w:t></w:r></w:p>" % " ".join(rng.choices(words, k=8)).encode()
                     for _ in range(12_000))  # fmt: skip
    big = GEN.docx(GEN.Repeated(GEN.BODY_START, block, 45 * GEN.MB // len(block), GEN.BODY_END))
    heavy, after = load_files([("heavy.docx", big), good])
    assert heavy.error is not None and "more than the 256 MB of memory one file may use" in heavy.error
    assert "PLAYGROUND_PARSE_MEMORY_MB" in heavy.error and after.ok

    with Parser(max_text_chars=GEN.MB, timeout_s=60, memory_mb=1024) as parser:
        parser.parse("html", b"<p>warm</p>")
        pid = parser.worker_pid
        assert pid is not None
        threading.Timer(0.3, os.kill, (pid, signal.SIGSEGV)).start()  # a parser crash, as a C bug would cause
        crashed = parser.parse("html", deep)
        assert crashed.error == CRASHED
        assert parser.parse("html", good[1]).parts == [(None, "Still read after the trouble.")]
        assert parser.started == 2, "a new worker took over"


def test_upload_names_never_reach_outside_the_workspace(playground_home: Path) -> None:
    from playground.workspace import Workspace

    ws = Workspace("names")
    results = ws.add([(name, data) for name, data, _ in GEN.upload_only()])
    kept = sorted(p.name for p in ws.docs_dir.iterdir())
    assert kept == sorted({upload_name(n) for n, _, _ in GEN.upload_only()} - {"unnamed"})
    assert all(len(name.encode()) <= 200 and not name.startswith(".") and "\x00" not in name for name in kept)
    assert sorted(ws.file_names()) == kept, "no upload is hidden from the listing"
    everything = {p.relative_to(playground_home).as_posix() for p in playground_home.rglob("*") if p.is_file()}
    assert {f"workspaces/names/documents/{name}" for name in kept} <= everything
    assert all(path.startswith("workspaces/names/") for path in everything), everything
    [unnamed] = [r for r in ws.refused()]
    assert unnamed.file_name == "unnamed" and "unsupported file type 'no extension'" in unnamed.reason
    assert len(results) == len(GEN.upload_only())


@pytest.mark.slow
def test_the_cli_lists_every_refused_file_and_still_answers_from_the_good_ones(
    folder: Path, loaded: dict[str, LoadedFile], capsys: pytest.CaptureFixture[str]
) -> None:
    from playground.__main__ import main

    question = "What is the hotel limit for Zurich?"
    assert main(["retrieve", "--docs", str(folder), "--question", question, "--json", "--quiet"]) == 0
    out, err = capsys.readouterr()
    skipped = dict(re.findall(r"^skipped ('.*?'): (.*)$", err, re.MULTILINE))
    refused = {repr(name): f.error for name, f in loaded.items() if not f.ok}
    assert skipped == refused, "each refused file, with its reason, and nothing else"
    hits = json.loads(out)["hits"]
    assert hits[0]["file_name"] == "policies.docx" and "EUR 210" in hits[0]["text"]


@pytest.mark.slow
def test_the_documents_page_keeps_every_file_of_the_batch_with_its_reason_after_a_reload(monkeypatch) -> None:
    import streamlit as st
    from streamlit.testing.v1 import AppTest

    from .ollama_replay import unused_url

    monkeypatch.setenv("OLLAMA_HOST", unused_url())
    st.cache_resource.clear()
    uploads = [(h.name, h.data) for h in GEN.hostile_files()] + [(n, d) for n, d, _ in GEN.upload_only()]

    def documents_page() -> AppTest:
        at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=600)
        at.session_state["workspace"] = "wild"
        at.run()
        return at.switch_page("pages/documents.py").run()

    at = documents_page()
    at.file_uploader[0].set_value([(name, data, "application/octet-stream") for name, data in uploads])
    at.run()
    assert not at.exception

    def table(at: AppTest) -> dict[str, tuple[str, str]]:
        rows = at.dataframe[0].value
        return {row["file"]: (row["status"], row["error"]) for _, row in rows.iterrows()}

    first = table(at)
    assert set(first) == {upload_name(name) for name, _ in uploads}, "every file of the batch has its row"
    for name, (status, error) in first.items():
        assert (status == "ok") == (not error), f"{name!r}: {status} {error!r}"
        assert not LIBRARY_WORDS.search(error), f"{name!r}: {error}"
    assert first["giant-line.txt"][0] == "error" and "PLAYGROUND_MAX_CHUNKS_PER_FILE" in first["giant-line.txt"][1]
    assert first["bomb-many-paragraphs.docx"][0] == "refused"
    assert first["nested.txt"][0] == "ok" and first["nested-divs.html"][0] == "ok"

    again = documents_page()  # a reload: a new session, nothing but the disk
    assert not again.exception
    assert table(again) == first
    st.cache_resource.clear()
