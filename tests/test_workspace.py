"""Workspaces remember the uploads they refused, so a reload still says which files were not added and why."""

from __future__ import annotations

import json

import pytest

from playground.workspace import Workspace

from .helpers import SAMPLE_DOCS

GOOD = ("notes.md", b"# Notes\n\nThe gale sensor reads wind up to 60 m/s.\n")
BROKEN = ("report.pdf", b"%PDF-1.7 this is not really a pdf")


def test_refused_uploads_are_recorded_on_disk_and_read_back_by_a_new_instance():
    ws = Workspace("mine")
    results = ws.add([GOOD, BROKEN, ("setup.exe", b"MZ\x90\x00")])
    assert [r.ok for r in results] == [True, False, False]
    assert ws.file_names() == ["notes.md"], "only what parsed is kept as a document"

    again = Workspace("mine")  # a reload: nothing but the disk
    refused = again.refused()
    assert [(r.file_name, r.size_bytes, r.file_type) for r in refused] == [
        ("report.pdf", len(BROKEN[1]), "pdf"),
        ("setup.exe", 4, "exe"),
    ]
    assert refused[0].reason == results[1].error and "unsupported file type '.exe'" in refused[1].reason
    assert refused[0].when.endswith("+00:00")
    stored = json.loads((ws.dir / "refused.json").read_text())
    assert [row["file_name"] for row in stored] == ["report.pdf", "setup.exe"]
    assert refused[0].as_row() == {
        "file": "report.pdf",
        "type": "pdf",
        "status": "refused",
        "pages": None,
        "chars": None,
        "error": refused[0].reason,
    }
    assert set(refused[0].as_row()) == set(results[0].as_row()), "one status table for both"


def test_a_later_good_upload_of_the_name_clears_its_refusal_and_a_new_refusal_replaces_the_old():
    ws = Workspace("mine")
    ws.add([BROKEN, ("empty.txt", b"  \n")])
    ws.add([("empty.txt", b"")])  # refused again: still one record, the latest, last
    assert [r.file_name for r in ws.refused()] == ["report.pdf", "empty.txt"]
    ws.add([("report.pdf", (SAMPLE_DOCS / "product_catalog.pdf").read_bytes())])
    assert [r.file_name for r in ws.refused()] == ["empty.txt"]
    assert "report.pdf" in ws.file_names()


def test_clearing_refusals_by_name_or_all():
    ws = Workspace("mine")
    ws.add([BROKEN, ("a.exe", b"x"), ("b.exe", b"y")])
    ws.clear_refused(["a.exe"])
    assert [r.file_name for r in ws.refused()] == ["report.pdf", "b.exe"]
    ws.clear_refused()
    assert ws.refused() == [] and not (ws.dir / "refused.json").exists()
    ws.add([GOOD])  # nothing refused: no record is written
    assert not (ws.dir / "refused.json").exists()


def test_a_damaged_record_reads_as_none_and_is_replaced_by_the_next_refusal():
    ws = Workspace("mine").create()
    (ws.dir / "refused.json").write_text("{not json")
    assert ws.refused() == []
    ws.add([BROKEN])
    assert [r.file_name for r in ws.refused()] == ["report.pdf"]


def test_a_fact_edit_keeps_the_fine_tune_of_these_documents_theirs_and_speaks_to_the_person():
    from playground.edits import FactEdit, as_uploaded
    from playground.errors import ConfigError
    from playground.models import corpus_note, trained_on
    from playground.models.embedded import EmbeddedBackend
    from playground.workspace import open_workspace

    ws = open_workspace("sample")
    shipped = EmbeddedBackend().get("nightwren-sample")  # the adapter shipped for the sample
    uploaded = as_uploaded(ws.documents())
    assert trained_on(shipped) == uploaded and corpus_note(shipped, uploaded) is None
    ws.add_edit(FactEdit("company_overview.md", "9 March 2011", "14 November 2025"))
    edited = {f.file_name: f.sha256 for f in ws.documents()}
    assert edited["company_overview.md"] != uploaded["company_overview.md"], "the index sees a changed file"
    assert as_uploaded(ws.documents()) == uploaded, "the file as uploaded is still the one it was trained on"
    assert corpus_note(shipped, as_uploaded(ws.documents()), len(ws.edits())) == (
        "Fine-tuned on these documents, before 1 fact edit: it learned the text as it was."
    )
    with pytest.raises(ConfigError, match=r"^The new text is the same as the text to change \('60 days'\)"):
        FactEdit("policies.docx", "60 days", "60 days")
    with pytest.raises(ConfigError, match=r"^The text to change is empty"):
        FactEdit("policies.docx", " ", "x")
