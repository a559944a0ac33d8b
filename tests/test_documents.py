"""Document loading and chunking, on real files made in each test."""

from __future__ import annotations

import hashlib
import io
import itertools
from datetime import UTC, datetime
from pathlib import Path

import docx
import pytest
from fpdf import FPDF
from llama_index.core.schema import Document, MetadataMode
from pypdf import PdfReader, PdfWriter

from playground.config import ChunkSettings
from playground.documents import SUPPORTED_EXTENSIONS, chunk, document_id, load_bytes, load_files, load_folder
from playground.errors import DocumentError

from .helpers import SAMPLE_DOCS


def make_pdf(*pages: str) -> bytes:
    pdf = FPDF()
    pdf.set_creation_date(datetime(2025, 1, 15, tzinfo=UTC))  # the same bytes on every call, whatever the clock
    pdf.set_font("helvetica", size=12)
    for text in pages:
        pdf.add_page()
        if text:
            pdf.multi_cell(0, 8, text)
    return bytes(pdf.output())


def make_docx() -> bytes:
    doc = docx.Document()
    doc.add_heading("Quarterly report", level=1)
    doc.add_paragraph("Sales rose in the north.")
    table = doc.add_table(rows=2, cols=3)
    for row, values in zip(table.rows, [("Region", "Q1", "Q2"), ("North", "10", "12")], strict=True):
        for cell, value in zip(row.cells, values, strict=True):
            cell.text = value
    doc.add_paragraph("The end.")
    out = io.BytesIO()
    doc.save(out)
    return out.getvalue()


def encrypt(pdf: bytes, user_password: str) -> bytes:
    writer = PdfWriter(clone_from=PdfReader(io.BytesIO(pdf)))
    writer.encrypt(user_password=user_password, owner_password="owner")
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()


HTML = b"""<!doctype html><html><head><title>Support hours</title>
<style>body { color: red }</style><script>var secret = "tracking";</script></head>
<body><nav><a href="/">Home</a> | <a href="/about">About</a></nav>
<h1>Help   desk</h1><p>We answer <b>every</b>
   ticket within a day.</p><!-- internal comment -->
<ul><li>Mon-Fri</li><li>9-17</li></ul><noscript>Enable JS</noscript><div hidden>draft</div>
<table><tr><th>Plan</th><th>Reply</th></tr><tr><td>Gold</td><td>1h</td></tr></table>
<pre>line one
  line two</pre></body></html>"""


def test_pdf_pages_keep_their_numbers() -> None:
    loaded = load_bytes("Report.PDF", make_pdf("First page about apples.", "", "Third page about pears."))
    assert loaded.ok, loaded.error
    assert (loaded.file_type, loaded.pages) == ("pdf", 3)
    assert [d.metadata["page"] for d in loaded.documents] == [1, 3]  # the blank page has no document
    assert "apples" in loaded.documents[0].text and "pears" in loaded.documents[1].text
    sha = hashlib.sha256(make_pdf("First page about apples.", "", "Third page about pears.")).hexdigest()
    assert loaded.sha256 == sha
    assert [d.id_ for d in loaded.documents] == [
        document_id(loaded.file_name, sha, 1),
        document_id(loaded.file_name, sha, 3),
    ]
    meta = {"file_name": "Report.PDF", "file_sha256": sha, "file_type": "pdf", "page": 1}
    assert loaded.documents[0].metadata == meta
    assert loaded.chars == sum(len(d.text) for d in loaded.documents)
    assert loaded.as_row() == {
        "file": "Report.PDF", "type": "pdf", "status": "ok", "pages": 3, "chars": loaded.chars, "error": ""
    }  # fmt: skip


def test_pdf_without_text_needs_ocr() -> None:
    loaded = load_bytes("scan.pdf", make_pdf("", ""))
    assert loaded.error == "no text found: scanned PDFs need OCR first"
    assert loaded.pages is None and loaded.documents == []


def test_pdf_encrypted_only_against_editing_opens() -> None:
    loaded = load_bytes("locked.pdf", encrypt(make_pdf("Readable by anyone."), user_password=""))
    assert loaded.ok, loaded.error
    assert "Readable by anyone." in loaded.documents[0].text


def test_docx_keeps_paragraphs_and_table_rows_in_order() -> None:
    loaded = load_bytes("report.docx", make_docx())
    assert loaded.ok, loaded.error
    assert loaded.file_type == "docx" and loaded.pages is None
    [doc] = loaded.documents
    assert doc.text == "Quarterly report\nSales rose in the north.\nRegion | Q1 | Q2\nNorth | 10 | 12\nThe end."
    assert doc.metadata["page"] is None and doc.id_.endswith(":p0")


def test_html_keeps_visible_text_only() -> None:
    loaded = load_bytes("page.htm", HTML)
    assert loaded.ok, loaded.error
    text = loaded.documents[0].text
    for hidden in ("color: red", "tracking", "Home", "About", "internal comment", "Enable JS", "draft", "<"):
        assert hidden not in text
    assert text.splitlines()[:2] == ["Support hours", ""]  # the title leads
    assert "# Help desk\n\nWe answer every ticket within a day.\n\n- Mon-Fri\n\n- 9-17\n\n" in text  # blocks, marked
    assert "Plan Reply\n\nGold 1h" in text
    assert "line one\nline two" in text  # <pre> keeps its line breaks
    assert "\n\n\n" not in text


def test_text_encodings_are_detected() -> None:
    latin = "Le café de la gare sert une crème brûlée à la façade rénovée; très apprécié des élèves. " * 3
    files = [
        ("latin1.txt", latin.encode("latin-1")),
        ("bom.md", "\ufeff# Überschrift\n\nGrüße aus Köln".encode()),
        ("plain.TEXT", b"just ascii\r\nwith windows line ends  \r\n"),
    ]
    loaded = load_files(files)
    assert all(f.ok for f in loaded), [f.error for f in loaded]
    assert loaded[0].documents[0].text == latin.strip()
    assert loaded[1].documents[0].text == "# Überschrift\n\nGrüße aus Köln"  # BOM dropped
    assert loaded[2].documents[0].text == "just ascii\nwith windows line ends"
    assert [f.file_type for f in loaded] == ["text", "markdown", "text"]


def test_bad_files_fail_alone_with_their_own_reason(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PLAYGROUND_MAX_FILE_MB", "1")
    good_pdf = make_pdf("A good page.")
    files = [
        ("good.pdf", good_pdf),
        ("truncated.pdf", good_pdf[: len(good_pdf) // 3]),
        ("garbage.pdf", b"this is not a pdf at all"),
        ("fake.docx", b"plain text pretending to be Word"),
        ("empty.md", b""),
        ("blank.txt", b"  \n\t\n"),
        ("setup.exe", b"MZ\x90\x00"),
        ("data.xyz", b"whatever"),
        ("README", b"no extension"),
        ("huge.txt", b"x" * (2 * 1024 * 1024 + 1)),
        ("secret.pdf", encrypt(good_pdf, user_password="hunter2")),
        ("scripts.html", b"<html><body><script>alert(1)</script></body></html>"),
        ("good.txt", b"Plain good text."),
    ]
    loaded = {f.file_name: f for f in load_files(files)}
    assert list(loaded) == [name for name, _ in files]
    assert loaded["good.pdf"].ok and loaded["good.txt"].ok
    errors = {name: f.error for name, f in loaded.items() if not f.ok}
    supported = ", ".join(SUPPORTED_EXTENSIONS)
    assert errors["truncated.pdf"].startswith("could not read PDF: the file is damaged")  # type: ignore[union-attr]
    assert "cut off" in errors["truncated.pdf"]  # type: ignore[operator]
    assert errors["garbage.pdf"].startswith("is not a PDF: it does not start like one")  # type: ignore[union-attr]
    assert "is it a real .docx?" in errors["fake.docx"]  # type: ignore[operator]
    assert errors["empty.md"] == errors["blank.txt"] == "file is empty"
    convert = "save or convert it to one of those"
    assert errors["setup.exe"] == f"unsupported file type '.exe': supported are {supported}; {convert}"
    assert errors["data.xyz"] == f"unsupported file type '.xyz': supported are {supported}; {convert}"
    assert errors["README"] == (
        f"unsupported file type 'no extension': supported are {supported}; add the extension of its format to its name"
    )
    assert errors["huge.txt"] == (
        "file is 2.0 MB, above the 1 MB limit: split it, or raise PLAYGROUND_MAX_FILE_MB to accept larger files"
    )
    assert "password-protected" in errors["secret.pdf"]  # type: ignore[operator]
    assert errors["scripts.html"].startswith("no text found: the page shows no text")  # type: ignore[union-attr]
    assert len(errors) == len(files) - 2
    for failed in (f for f in loaded.values() if not f.ok):
        assert not failed.documents and failed.chars == 0 and failed.as_row()["status"] == "error"
    assert loaded["data.xyz"].file_type == "xyz" and loaded["data.xyz"].size_bytes == 8


def long_text() -> str:
    paragraphs = [
        f"Paragraph {i} is on topic {i % 7}. " + "".join(f"It has sentence {i}-{j}. " for j in range(i % 5 + 3))
        for i in range(60)
    ]
    paragraphs[10] = " ".join(f"clause {i},, then;; more" for i in range(60)) + "."  # split at punctuation
    paragraphs[11] = " ".join(f"Wait... what {i}?! Yes." for i in range(40))  # a paragraph longer than a chunk
    paragraphs[20] = " ".join(f"w{i}" for i in range(400))  # one sentence longer than a chunk
    return "\n\n\n".join(paragraphs) + "\n"


def check_chunks(doc: Document, size: int, overlap: int) -> list:
    from llama_index.core.utils import get_tokenizer

    tokens = get_tokenizer()
    nodes = chunk([doc], ChunkSettings(chunk_size=size, chunk_overlap=overlap))
    starts = [n.metadata["start_char"] for n in nodes]
    assert starts == sorted(set(starts))  # each chunk starts after the previous one
    for i, node in enumerate(nodes):
        start, end = node.metadata["start_char"], node.metadata["end_char"]
        assert doc.text[start:end] == node.text
        assert (node.start_char_idx, node.end_char_idx) == (start, end)
        assert node.node_id == f"{doc.id_}:c{i}" and node.ref_doc_id == doc.id_
        assert len(tokens(node.text)) <= size + 8  # the splitter counts tokens per piece; joins may add a few
        assert node.get_content(metadata_mode=MetadataMode.EMBED) == node.text
        assert node.get_content(metadata_mode=MetadataMode.LLM) == node.text
    return nodes


@pytest.mark.parametrize(("size", "overlap"), [(64, 0), (64, 16), (128, 32)])
def test_chunks_respect_size_and_map_back_to_the_text(size: int, overlap: int) -> None:
    doc = Document(text=long_text(), id_="doc", metadata={"file_name": "long.txt", "file_sha256": "ab", "page": None})
    nodes = check_chunks(doc, size, overlap)
    assert len(nodes) > 20
    covered = 0  # no gaps: every character but whitespace is in some chunk
    for node in nodes:
        assert not doc.text[covered : node.metadata["start_char"]].strip()
        covered = max(covered, node.metadata["end_char"])
    assert covered == len(doc.text.rstrip())
    overlaps = [a.metadata["end_char"] - b.metadata["start_char"] for a, b in itertools.pairwise(nodes)]
    assert max(overlaps) > 0 if overlap else max(overlaps) < 0


@pytest.mark.parametrize(("size", "overlap"), [(64, 0), (64, 16)])
def test_repeated_text_gets_offsets_in_order(size: int, overlap: int) -> None:
    text = "The same line again. " * 100 + "\n\n\n" + "Wait,, what;; really, " * 60 + "."
    nodes = check_chunks(Document(text=text, id_="rep"), size, overlap)
    if not overlap:  # without overlap each chunk starts where the previous ended: exact even here
        assert nodes[-1].metadata["end_char"] == len(text.rstrip())


def test_chunks_of_loaded_files_are_deterministic_and_keep_metadata() -> None:
    files = [("a.pdf", make_pdf("Apples are red. " * 60, "Pears are green. " * 60)), ("bad.xyz", b"?")]
    settings = ChunkSettings(chunk_size=64, chunk_overlap=8)
    first, second = chunk(load_files(files), settings), chunk(load_files(files), settings)
    assert [n.node_id for n in first] == [n.node_id for n in second]
    assert [n.text for n in first] == [n.text for n in second]
    sha = hashlib.sha256(files[0][1]).hexdigest()
    assert {n.metadata["page"] for n in first} == {1, 2}  # nothing from the failed file
    for node in first:
        page = node.metadata["page"]
        assert node.node_id.startswith(document_id(node.metadata["file_name"], sha, page) + ":c")
        assert node.metadata["file_name"] == "a.pdf" and node.metadata["file_sha256"] == sha
        assert set(node.excluded_embed_metadata_keys) == set(node.excluded_llm_metadata_keys) == set(node.metadata)
        assert node.get_content(metadata_mode=MetadataMode.EMBED) == node.text
    assert chunk([], settings) == []


def test_small_metadata_does_not_shrink_chunks() -> None:
    text = "One short sentence here. " * 200
    plain = chunk([Document(text=text, id_="x")], ChunkSettings(chunk_size=64, chunk_overlap=0))
    tagged = load_bytes("a-rather-long-file-name-that-would-cost-tokens.txt", text.encode())
    assert [n.text for n in chunk([tagged], ChunkSettings(chunk_size=64, chunk_overlap=0))] == [n.text for n in plain]


def test_folder_skips_hidden_files_and_questions(tmp_path: Path) -> None:
    (tmp_path / "sub").mkdir()
    (tmp_path / ".git").mkdir()
    (tmp_path / "b.md").write_text("# B")
    (tmp_path / "a.txt").write_text("A")
    (tmp_path / "sub" / "c.html").write_bytes(HTML)
    (tmp_path / "sub" / "notes.xyz").write_text("?")
    (tmp_path / "questions.jsonl").write_text('{"question": "q"}\n')
    (tmp_path / "sub" / "questions.jsonl").write_text('{"question": "q"}\n')
    (tmp_path / ".hidden.txt").write_text("hidden")
    (tmp_path / ".git" / "config.txt").write_text("hidden")
    loaded = load_folder(tmp_path)
    assert [f.file_name for f in loaded] == ["a.txt", "b.md", "sub/c.html", "sub/notes.xyz"]
    assert [f.ok for f in loaded] == [True, True, True, False]
    with pytest.raises(DocumentError, match="no such folder"):
        load_folder(tmp_path / "missing")


def test_sample_docs_all_load() -> None:
    """The shipped sample: every document in it loads and chunks (a missing or broken one fails, never skips)."""
    loaded = load_folder(SAMPLE_DOCS)
    assert [f.file_name for f in loaded] == [
        "company_overview.md", "policies.docx", "product_catalog.pdf", "release_notes.txt", "support_handbook.html"
    ]  # fmt: skip
    assert all(f.ok for f in loaded), [f.as_row() for f in loaded if not f.ok]
    nodes = chunk(loaded, ChunkSettings())
    assert {n.metadata["file_name"] for n in nodes} == {f.file_name for f in loaded}
