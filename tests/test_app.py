"""Every page through Streamlit's AppTest, on the real embedded model, real files and real indexes."""

from __future__ import annotations

import json
import re

import pytest
import streamlit as st
from streamlit.testing.v1 import AppTest

from playground import ui
from playground.models import Catalogue
from playground.ui import cache

from .helpers import ROOT, SAMPLE_DOCS, FakeBackend, table_shown, write_lora_adapter
from .ollama_replay import unused_url

pytestmark = pytest.mark.slow


@pytest.fixture(autouse=True)
def fresh_process_caches(monkeypatch):
    """Cached resources outlive a test (they are per process): start each test as a fresh server would."""
    monkeypatch.setenv("OLLAMA_HOST", unused_url())
    st.cache_resource.clear()
    st.cache_data.clear()
    ui.LOADS.clear()
    yield
    st.cache_resource.clear()


def page(name: str, **state) -> AppTest:
    """The app (with its navigation and sidebar) opened on one page, with ``state`` in the session."""
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=600)
    for key, value in state.items():
        at.session_state[key] = value
    at.run()
    return at.switch_page(f"pages/{name}").run() if name != "home.py" else at


def html_of(at: AppTest) -> str:
    return " ".join(str(h.proto.body) for h in at.get("html"))


def ask(at: AppTest, question: str | None = None) -> AppTest:
    if question is not None:
        at.text_input(key="question").set_value(question).run()
    return next(b for b in at.button if b.label == "Ask").click().run()


def test_home_shows_both_backends_and_ollama_down_calmly():
    at = page("home.py")
    assert not at.exception
    assert at.success[0].value.startswith("Ready: ")
    assert "`ollama serve`" in at.info[0].value and "\\`" not in at.info[0].value, "a command, not escaped backticks"
    assert not at.error, "Ollama being down is not an error of the page"


def test_sample_workspace_in_one_click_then_four_answers_and_no_reload_on_rerun():
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=600).run()
    assert not at.exception
    next(b for b in at.button if b.label == "Open the sample workspace").click().run()
    assert not at.exception and not at.error
    assert at.title[0].value == "Compare"
    assert "Workspace **sample**: 5 files" in at.caption[0].value
    assert at.text_input(key="question").value.startswith("When did the GALE-9")  # an example is ready
    at.slider[1].set_value(16)  # longest answer, in tokens: keeps the test quick
    ask(at)
    assert not at.exception and not at.error
    html = html_of(at)
    for label in ("Base", "Base+RAG", "Fine-tuned", "Fine-tuned+RAG"):
        assert f">{label}</h4>" in html
    assert [e.label for e in at.expander if e.label.startswith("Sources")] == ["Sources (3)", "Sources (3)"]
    assert "[1] product_catalog.pdf, page" in html  # the right document, its page
    assert "GALE-9" in html  # and its real chunk text
    assert f"background:{ui.COLORS['base+rag']}" in html, "score bars in the condition's colour, not alarm red"
    metrics = [c.value for c in at.caption if "prompt +" in c.value and "tok/s" in c.value]
    assert len(metrics) == 4
    # On a fresh machine the shipped sample fine-tune fills the Fine-tuned slots: the 2×2 is complete.
    assert any(c.value.startswith(ui.cards.plain("embedded:nightwren-sample")) for c in at.caption)
    chart = json.loads(at.get("plotly_chart")[0].proto.spec)
    assert [t["name"] for t in chart["data"]] == ["Base", "Base", "Base+RAG", "Base+RAG", "Fine-tuned",
                                                  "Fine-tuned", "Fine-tuned+RAG", "Fine-tuned+RAG"]  # fmt: skip
    assert chart["data"][2]["marker"]["color"] == ui.COLORS["base+rag"]
    assert len(at.session_state["history"]) == 1

    # A rerun with nothing new (and a visit to another page) loads no model and builds no index.
    loads, model_loads = dict(ui.LOADS), ui.embedded_backend().loads
    embedded_texts = ui.embed_model().texts_embedded
    at.run()
    at.switch_page("pages/documents.py").run()
    at.switch_page("pages/compare.py").run()
    assert not at.exception
    assert ui.embedded_backend().loads == model_loads == 2  # the base, and the base with the sample adapter
    assert ui.embed_model().texts_embedded == embedded_texts
    for loader in ("embed_model", "embedded_backend", "index"):
        assert ui.LOADS[loader] == loads[loader] == 1, loader
    # The answers a person has seen are still there after the reruns and the page switch.
    assert f">{'Fine-tuned+RAG'}</h4>" in html_of(at)
    assert len([c.value for c in at.caption if "prompt +" in c.value and "tok/s" in c.value]) == 4
    at.toggle(key="prompt-base+rag").set_value(True).run()  # showing a prompt keeps the four answers
    assert not at.exception and len(at.get("code")) == 1
    assert [e.label for e in at.expander if e.label.startswith("Sources")] == ["Sources (3)", "Sources (3)"]


def test_documents_say_when_an_upload_is_renamed_and_leave_missing_pages_empty():
    at = page("documents.py", workspace="renames")
    at.file_uploader[0].set_value(("<b>x</b>.md", b"# Notes\n\nThe lab opened in 2011.", "text/markdown")).run()
    assert not at.exception
    said = [i.value for i in at.info if "saved as" in i.value]
    renamed = f"**{ui.plain('<b>x</b>.md')}** saved as **{ui.plain('b>.md')}** (renamed"
    assert len(said) == 1 and said[0].startswith(renamed)
    table = at.dataframe[0].value
    assert list(table["pages"]) == [""], "a file without pages shows an empty cell, not None"


@pytest.mark.parametrize(
    ("name", "needs"),
    [("claims.py", "the claims are tested on documents"), ("decide.py", "the evidence is measured on documents")],
)
def test_claims_and_decide_in_a_workspace_without_documents_say_what_they_need_them_for(name, needs):
    at = page(name, workspace="empty")
    assert not at.exception
    assert [i.value for i in at.info] == [f"Workspace **empty** has no documents yet: {needs}."]
    assert not at.button, "nothing to run until there are documents"


def test_documents_upload_build_browse_update_and_remove(monkeypatch):
    monkeypatch.setenv("PLAYGROUND_MAX_FILE_MB", "1")
    at = page("documents.py", workspace="mine")
    assert not at.exception
    assert "no documents yet" in at.info[0].value  # the empty state says what to do
    at.file_uploader[0].set_value(
        [
            ("company_overview.md", (SAMPLE_DOCS / "company_overview.md").read_bytes(), "text/markdown"),
            ("policies.docx", (SAMPLE_DOCS / "policies.docx").read_bytes(), "application/octet-stream"),
            ("broken.pdf", b"%PDF-1.7 this is not really a pdf", "application/pdf"),
            ("setup.exe", b"MZ\x90\x00", "application/octet-stream"),
            ("huge.txt", b"word " * 300_000, "text/plain"),
        ]
    )
    at.run()
    assert not at.exception
    assert at.success[0].value.startswith("Added 2 file(s)")
    errors = {e.value.split("**")[1]: e.value for e in at.error}  # names and reasons shown as written (escaped)
    assert set(errors) == {ui.plain(n) for n in ("broken.pdf", "setup.exe", "huge.txt")}
    assert ui.plain("unsupported file type '.exe'") in errors[ui.plain("setup.exe")]
    assert ui.plain("above the 1 MB limit") in errors[ui.plain("huge.txt")]
    table = at.dataframe[0].value
    kept = table[table["status"] == "ok"]
    assert sorted(kept["file"]) == ["company_overview.md", "policies.docx"]
    assert (kept["chunks"] > 0).all()
    assert sorted(table[table["status"] == "refused"]["file"]) == ["broken.pdf", "huge.txt", "setup.exe"]

    # Bad chunk settings are a message naming the field; nothing is saved.
    at.number_input[0].set_value(64)
    at.number_input[1].set_value(100)
    next(b for b in at.button if b.label == "Apply").click().run()
    assert ui.plain("ChunkSettings.chunk_overlap=100") in at.error[-1].value  # messages are shown as written

    assert "No index yet" in at.warning[0].value
    next(b for b in at.button if b.label == "Build index").click().run()
    assert not at.exception
    assert len(at.error) == 3, "only the three refused uploads are still reported"
    assert [m.value for m in at.metric][:2] == ["2", str(len(at.dataframe[1].value))]
    first_build = ui.embed_model().texts_embedded

    # the chunk search, by its label: the vector store's form puts text inputs before it
    next(t for t in at.text_input if t.label == "Search chunks").set_value("Ghent").run()
    found = at.dataframe[1].value
    assert len(found) >= 1 and found["text"].str.contains("Ghent").all()

    # Adding one file re-embeds that file's chunks only.
    at.file_uploader[0].set_value(("release_notes.txt", (SAMPLE_DOCS / "release_notes.txt").read_bytes(), "text/plain"))
    at.run()
    assert "changed since the index was built" in at.warning[0].value
    next(b for b in at.button if b.label == "Update index").click().run()
    assert at.metric[0].value == "3"
    notes_chunks = at.dataframe[0].value.set_index("file").loc["release_notes.txt", "chunks"]
    assert ui.embed_model().texts_embedded - first_build == notes_chunks

    # Removing one needs no embedding at all.
    before = ui.embed_model().texts_embedded
    at.multiselect[0].set_value(["policies.docx"]).run()
    next(b for b in at.button if b.label == "Remove").click().run()
    next(b for b in at.button if b.label == "Update index").click().run()
    assert at.metric[0].value == "2"
    assert ui.embed_model().texts_embedded == before

    # The workspace persists: a new session (a browser reload) sees the same documents and index.
    again = page("documents.py", workspace="mine")
    table = again.dataframe[0].value
    assert sorted(table[table["status"] == "ok"]["file"]) == ["company_overview.md", "release_notes.txt"]
    assert again.metric[0].value == "2"


def test_models_page_lists_lineage_picks_the_fine_tune_and_stays_calm_without_ollama():
    from playground import config

    config.models_dir().mkdir(parents=True, exist_ok=True)
    write_lora_adapter(config.models_dir() / "nightwren-style.gguf")
    at = page("models.py")
    assert not at.exception and not at.error
    assert "The embedded models below keep working" in at.info[0].value
    rows = table_shown(at.table[0]).set_index("model")
    assert rows.loc["nightwren-style", "lineage"] == "fine-tuned from embedded:smollm2-135m-instruct"
    # The sample workspace starts with the fine-tune trained on its documents; another one waits to be chosen.
    assert rows.loc["nightwren-sample", "role"] == "fine-tuned"
    assert rows.loc["nightwren-style", "role"] == ""
    assert rows.loc["smollm2-135m-instruct", "role"] == "base"
    at.selectbox[1].set_value(ui.SAME).run()
    assert at.session_state["ft_model"] == ui.SAME
    assert "run the base model again" in at.caption[0].value
    at.text_input[0].set_value("http://127.0.0.1:99999").run()
    assert "is not a host Ollama could listen on" in at.error[0].value


def test_an_error_in_one_card_stays_in_that_card_and_document_text_stays_text(monkeypatch):
    fake = FakeBackend(fail={"tuned": RuntimeError("the GPU caught fire")})
    listing = Catalogue([fake]).listing()
    monkeypatch.setattr(cache, "model_listing", lambda *servers: listing)
    monkeypatch.setattr(ui, "catalogue", lambda: Catalogue([fake]))
    from playground.workspace import Workspace

    hostile = b"# Vault\n\nThe vault code is 4242. <img src=x onerror=alert(1)> <b>bold</b>\n"
    Workspace("hostile").add([("vault.md", hostile)])
    at = page("compare.py", workspace="hostile", ft_model="fake:tuned")
    assert not at.exception
    assert "Workspace **hostile**: 1 files" in at.caption[0].value
    ask(at, "What is the vault code?")
    assert not at.exception
    fire = ui.cards.plain("RuntimeError: the GPU caught fire")  # shown as written, Markdown escaped
    assert [e.value for e in at.error] == [fire] * 2  # only the two fine-tuned cards
    streamed = [m.value for m in at.markdown if "says\\:" in m.value]  # shown as written: Markdown escaped
    assert len(streamed) == 2 and all(s.startswith("base says\\:") for s in streamed)
    html = html_of(at)
    assert "&lt;img src=x onerror=alert(1)&gt;" in html and "<img" not in html and "<b>bold" not in html


def test_an_answer_keeps_its_line_breaks_in_its_card(monkeypatch):
    fake = FakeBackend(reply="Steps:\n- one\n- two")
    listing = Catalogue([fake]).listing()
    monkeypatch.setattr(cache, "model_listing", lambda *servers: listing)
    monkeypatch.setattr(ui, "catalogue", lambda: Catalogue([fake]))
    from playground.workspace import Workspace

    Workspace("lists").add([("steps.md", b"# Steps\n\nFirst one, then two.\n")])
    at = ask(page("compare.py", workspace="lists", ft_model="fake:tuned"), "What are the steps?")
    assert not at.exception
    kept = ui.cards.lines("Steps:\n- one\n- two")  # each newline a hard break: the list stays a list
    assert kept.count("  \n") == 2 and sum(kept in m.value for m in at.markdown) == 4, "in all four cards"


def test_a_bad_prompt_template_is_a_message_not_a_traceback():
    at = page("compare.py")
    at.text_area[0].set_value("Answer: {question}")
    ask(at)
    assert not at.exception
    assert ui.plain("needs the placeholder(s) {context}") in at.error[0].value


def test_refused_uploads_stay_in_the_status_table_after_a_reload_until_cleared():
    at = page("documents.py", workspace="mine")
    uploader = at.file_uploader[0]
    assert uploader.proto.max_upload_size_mb == 50, "the drop zone states our limit, not Streamlit's 200 MB"
    assert "up to 50 MB per file" in uploader.proto.help
    uploader.set_value(
        [
            ("broken.pdf", b"%PDF-1.7 this is not really a pdf", "application/pdf"),
            ("company_overview.md", (SAMPLE_DOCS / "company_overview.md").read_bytes(), "text/markdown"),
        ]
    )
    at.run()
    assert not at.exception

    again = page("documents.py", workspace="mine")  # a reload: a new session, nothing but the disk
    assert not again.exception and not again.error, "the upload's messages belonged to the old session"
    rows = again.dataframe[0].value.set_index("file")
    assert rows.loc["company_overview.md", "status"] == "ok"
    assert rows.loc["broken.pdf", "status"] == "refused"
    assert rows.loc["broken.pdf", "error"], "the reason is kept with it"
    assert "1 upload(s) refused" in again.subheader[0].value

    next(b for b in again.button if b.label == "Clear refused uploads").click().run()
    assert list(again.dataframe[0].value["file"]) == ["company_overview.md"]
    assert not any(b.label == "Clear refused uploads" for b in again.button)
    assert list(page("documents.py", workspace="mine").dataframe[0].value["file"]) == ["company_overview.md"]


def test_new_workspace_dialog_creates_it_and_closes_on_documents(monkeypatch):
    # AppTest forgets after each run that st.navigation took over (a server remembers), so its reruns skip
    # app.py and the sidebar; a subclass takes AppTest's reset and every run goes through app.py, as served.
    from streamlit.runtime.pages_manager import PagesManager
    from streamlit.testing.v1 import app_test

    monkeypatch.setattr(app_test, "PagesManager", type("ServedPagesManager", (PagesManager,), {}))
    monkeypatch.setattr(PagesManager, "uses_pages_directory", False)
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=600).run()
    next(b for b in at.sidebar.button if b.label == "New workspace").click().run()
    assert len(at.get("dialog")) == 1 and [t.label for t in at.text_input] == ["Name"]
    next(b for b in at.button if b.label == "Create").click().run()
    assert "Give the workspace a name." in at.warning[0].value and at.session_state["workspace"] == "sample"
    at.text_input[0].set_value("Contracts 2026")
    next(b for b in at.button if b.label == "Create").click().run()
    assert not at.exception and not at.error
    assert at.title[0].value == "Documents" and "Workspace **contracts-2026**" in at.caption[0].value
    assert at.session_state["workspace"] == "contracts-2026" and at.query_params["ws"] == "contracts-2026"
    assert at.sidebar.selectbox[0].value == "contracts-2026"
    assert not at.get("dialog") and not any(b.label == "Create" for b in at.button), "the dialog is closed"
    at.run()
    assert at.title[0].value == "Documents" and not at.get("dialog"), "and stays closed"


def test_the_shipped_server_config_follows_the_browser_theme_watches_nothing_and_states_our_limit(monkeypatch):
    import tomllib

    from playground.config import max_file_bytes

    shipped = tomllib.loads((ROOT / ".streamlit" / "config.toml").read_text())
    assert "theme" not in shipped, "a person's dark setting is followed, not overridden"
    assert shipped["server"]["fileWatcherType"] == "none" and shipped["server"]["runOnSave"] is False
    monkeypatch.delenv("PLAYGROUND_MAX_FILE_MB", raising=False)
    assert shipped["server"]["maxUploadSize"] * 1024 * 1024 == max_file_bytes()


@pytest.fixture
def served(monkeypatch):
    """AppTest whose every run goes through app.py and its sidebar, as a server's does (see the dialog test)."""
    from streamlit.runtime.pages_manager import PagesManager
    from streamlit.testing.v1 import app_test

    monkeypatch.setattr(app_test, "PagesManager", type("ServedPagesManager", (PagesManager,), {}))
    monkeypatch.setattr(PagesManager, "uses_pages_directory", False)

    def open_page(name: str, **state) -> AppTest:
        return page(name, **state)

    return open_page


def submit(at: AppTest, label: str) -> AppTest:
    return next(b for b in at.button if b.label == label).click().run()


FOUNDED = "On what date was Nightwren Instruments established?"


def test_the_freshness_form_proposes_the_document_that_holds_the_fact_and_undo_starts_it_again(served):
    at = served("compare.py")
    at.slider[1].set_value(16)  # longest answer, in tokens: keeps the test quick
    ask(at, FOUNDED)
    assert not at.exception and not at.error
    # The expected answer is in company_overview.md, not in the files of the first passages (release notes).
    assert at.selectbox(key="edit_file").value == "company_overview.md"
    assert at.text_input(key="edit_old").value == "9 March 2011"
    # A mistake is said where the person is looking, in their words, and the section stays open.
    at.text_input(key="edit_new").set_value("9 March 2011")
    submit(at, "Change it and ask again")
    assert at.session_state["fact_edit_open"] is True
    assert [e.value for e in at.error] == [
        ui.plain("The new text is the same as the text to change ('9 March 2011'): type the new value")
    ]
    at.selectbox(key="edit_file").set_value("release_notes.txt")
    at.text_input(key="edit_new").set_value("14 November 2025")
    submit(at, "Change it and ask again")
    said = "'9 March 2011' is not in release_notes.txt. It is in company_overview.md: choose that document."
    assert [e.value for e in at.error] == [ui.plain(said)]
    from playground.workspace import Workspace

    assert Workspace("sample").edits() == [], "nothing was changed"

    # The document proposed, the new value typed: changed and asked again on the first try.
    at.selectbox(key="edit_file").set_value("company_overview.md")
    submit(at, "Change it and ask again")
    assert not at.exception and not at.error
    assert [e.new for e in Workspace("sample").edits()] == ["14 November 2025"]
    assert any("Before and after the change" in m.value for m in at.markdown)
    # The shipped fine-tune was trained on these files: it still is theirs, from before the edit.
    lineage = [c.value for c in at.caption if ui.plain("Fine-tuned on") in c.value]
    note = "Fine-tuned on these documents, before 1 fact edit: it learned the text as it was."
    assert lineage == [ui.plain(note)] * 2
    assert any(ui.plain("14 November 2025") in c.value for c in at.caption if c.value.startswith("Expected answer"))
    assert at.text_input(key="edit_old").value == "14 November 2025" and at.text_input(key="edit_new").value == ""
    # Under before and after, the lesson: what each answer did with the change (the fine-tune cannot follow it).
    from playground.readout import change_lesson

    lesson = change_lesson(at.session_state["compare_shown"], Workspace("sample").edits())
    assert any(line.startswith("Fine-tuned") for line in lesson), lesson
    assert "\n\n".join(ui.cards.plain(line) for line in lesson) in [i.value for i in at.info]

    # Undo: the answers from before the change come back, and the form starts again from them.
    submit(at, "Undo every change")
    assert not at.exception and Workspace("sample").edits() == []
    expected = [c.value for c in at.caption if c.value.startswith("Expected answer")]
    assert expected == [f"Expected answer (from the workspace's question set): {ui.plain('9 March 2011')}"]
    assert not [c.value for c in at.caption if ui.plain("Fine-tuned on") in c.value]
    assert at.text_input(key="edit_old").value == "9 March 2011" and at.text_input(key="edit_new").value == ""
    assert at.selectbox(key="edit_file").value == "company_overview.md"

    # Settings changed after asking: the answers say what they were made with.
    at.slider[0].set_value(5).run()
    assert any(w.value.startswith("Made with top-k 3 (now 5)") for w in at.warning)


def test_the_fine_tuned_choice_belongs_to_each_workspace_and_its_own_adapter_comes_first(served):
    from playground import config
    from playground.edits import as_uploaded
    from playground.finetune.registry import FineTune, save
    from playground.workspace import Workspace

    mine = Workspace("mine")
    mine.add([("company_overview.md", (SAMPLE_DOCS / "company_overview.md").read_bytes())])
    at = served("models.py")
    assert at.session_state["ft_model"] == "embedded:nightwren-sample"
    at.sidebar.selectbox[0].set_value("mine").run()
    assert at.session_state["ft_model"] == ui.SAME, "nothing trained on its documents yet"

    # An adapter is trained on exactly its files (written as the Fine-tune page writes one, with its record).
    config.models_dir().mkdir(parents=True, exist_ok=True)
    adapter = write_lora_adapter(config.models_dir() / "mine-tune.gguf")
    corpus = {"workspace": "mine", "files": as_uploaded(mine.documents())}  # as the Fine-tune page records it
    save(FineTune("mine-tune", "embedded:smollm2-135m-instruct", str(adapter), "2026-12-01T10:00:00", corpus=corpus))
    ui.model_listing.clear()  # as the Fine-tune page does when training ends
    at.run()
    assert at.session_state["ft_model"] == "embedded:mine-tune", "the adapter trained on exactly its files"
    at.sidebar.selectbox[0].set_value("sample").run()
    assert at.session_state["ft_model"] == "embedded:nightwren-sample", "not the other workspace's adapter"
    at.selectbox(key="_pick_ft").set_value(ui.SAME).run()
    at.sidebar.selectbox[0].set_value("mine").run()
    assert at.session_state["ft_model"] == "embedded:mine-tune"
    # A reload (a new session) keeps each workspace's choice.
    assert page("models.py").session_state["ft_model"] == ui.SAME
    assert page("models.py", workspace="mine").session_state["ft_model"] == "embedded:mine-tune"


def test_answers_stay_with_their_workspace_and_the_box_and_the_link_follow_them(served):
    from playground.workspace import Workspace

    Workspace("mine").add([("company_overview.md", (SAMPLE_DOCS / "company_overview.md").read_bytes())])
    at = served("compare.py")
    at.slider[1].set_value(16)
    ask(at, FOUNDED)
    assert at.query_params["q"] == FOUNDED
    # Back from another page: the box holds the question the grid answers (not the first example).
    at.switch_page("pages/documents.py").run()
    at.switch_page("pages/compare.py").run()
    assert at.text_input(key="question").value == FOUNDED
    assert any(c.value.startswith("Answers to:") for c in at.caption)
    # Another workspace: its own (no) answers, a link without the other's question, and a word on where they are.
    at.sidebar.selectbox[0].set_value("mine").run()
    assert not at.exception and "q" not in at.query_params and "compare_shown" not in at.session_state
    assert not any(c.value.startswith("Answers to:") for c in at.caption)
    assert any("The answers asked in **sample** are kept there" in c.value for c in at.caption)
    at.sidebar.selectbox[0].set_value("sample").run()
    assert at.text_input(key="question").value == FOUNDED and at.query_params["q"] == FOUNDED
    assert any(c.value.startswith("Answers to:") for c in at.caption)


def test_a_long_question_is_linked_by_its_comparison_and_a_base_slot_says_it_runs_the_base():
    from playground.readout import comparison_id

    long = ("What is the return window for a product? " + "Please answer with the number of days. " * 10).strip()
    at = page("compare.py", ft_model=ui.SAME)
    at.slider[1].set_value(16)
    ask(at, long)
    assert not at.exception and not at.error
    assert "q" not in at.query_params and at.query_params["c"] == comparison_id(long)
    described = [c.value for c in at.caption if " — The base model again" in c.value]
    assert len(described) == 2 and "(no fine-tune chosen)" in described[0]
    # The link opens it: a new session with the same address has the question and its answers.
    fresh = AppTest.from_file(str(ROOT / "app.py"), default_timeout=600)
    fresh.query_params["ws"], fresh.query_params["c"] = "sample", comparison_id(long)
    fresh.run()
    fresh.switch_page("pages/compare.py").run()
    assert fresh.text_input(key="question").value == long
    assert any(c.value.startswith("Answers to:") for c in fresh.caption)


def test_evaluate_opens_on_a_run_of_its_own_question_set_not_on_the_claims_page_runs(embedded, smollm):
    from playground import GenerationParams
    from playground.evaluate import EvalConfig, evaluate
    from playground.evaluate.questions import Question, QuestionSet

    general = QuestionSet("general knowledge", (Question("What is the capital of France?", "Paris"),))
    config = EvalConfig(conditions=("base",), limit=1, generation=GenerationParams(max_tokens=8))
    evaluate(general, catalogue=Catalogue([embedded]), base=smollm, config=config, workspace="sample")
    at = page("evaluate.py")
    assert not at.exception and any("71 questions" in c.value for c in at.caption)
    stored = next(s for s in at.selectbox if s.label == "Stored run")
    assert stored.value is None and len(stored.options) == 1, "the Claims page's run is offered, not opened"
    assert any(c.value.startswith("No run of this question set yet") for c in at.caption)


def _seconds(text: str) -> float:
    """``3 min 05 s`` (or ``4.2 s``) in seconds."""
    minutes = re.search(r"(\d+) min", text)
    return (int(minutes[1]) * 60 if minutes else 0) + float(re.search(r"([\d.]+) s\b", text.split("min")[-1])[1])


def test_claims_run_all_says_its_time_and_why_the_cards_add_up_to_more():
    at = page("claims.py")
    assert not at.exception
    assert any(b.label == "Run all (9 to do)" for b in at.button), "the button's label is short: it is never cut"
    said = next(c.value for c in at.caption if c.value.startswith("Run all: about"))
    cards = [c.value for c in at.caption if "here, run alone." in c.value]  # the opt-in card is not in Run all
    apart = sum(_seconds(c.rsplit("About ", 1)[1]) for c in cards)
    added = re.search(r"Their cards add up to (.+?): each card", said)
    assert added and abs(_seconds(added[1]) - apart) <= len(cards), (added, apart)
    assert _seconds(said.split("**")[1]) < apart and "measures each piece once" in said

