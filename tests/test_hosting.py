"""Hosting mode (PLAYGROUND_PRIVATE=1): one server, many people who must not see each other's documents.

Each AppTest is one browser session of the same server process (the process-wide caches are shared,
as they are between a server's sessions).
"""

from __future__ import annotations

import pytest
import streamlit as st
from streamlit.testing.v1 import AppTest

from playground import config, ui
from playground.errors import ConfigError, WorkspaceError
from playground.workspace import SAMPLE, Workspace, list_workspaces

from .helpers import ROOT, SAMPLE_DOCS
from .ollama_replay import unused_url

pytestmark = pytest.mark.slow

OLLAMA = unused_url()


@pytest.fixture(autouse=True)
def hosting(monkeypatch, embed_model):
    """A server started with PLAYGROUND_PRIVATE=1, its caches fresh (the embedding model loaded once)."""
    from streamlit.runtime.pages_manager import PagesManager
    from streamlit.testing.v1 import app_test

    monkeypatch.setenv("PLAYGROUND_PRIVATE", "1")
    monkeypatch.setenv("OLLAMA_HOST", OLLAMA)
    # Every run through app.py, sidebar and all, as a server runs it (AppTest alone forgets st.navigation).
    monkeypatch.setattr(app_test, "PagesManager", type("ServedPagesManager", (PagesManager,), {}))
    monkeypatch.setattr(PagesManager, "uses_pages_directory", False)
    st.cache_resource.clear()
    st.cache_data.clear()
    monkeypatch.setattr(ui.cache, "embed_model", lambda: embed_model)
    yield
    st.cache_resource.clear()
    st.cache_data.clear()


def session(page: str | None = None, url_workspace: str | None = None, **state) -> AppTest:
    """A new browser session opening the app (``?ws=`` when given), then ``page``."""
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=120)
    if url_workspace:
        at.query_params["ws"] = url_workspace
    for key, value in state.items():
        at.session_state[key] = value
    at.run()
    return at.switch_page(f"pages/{page}").run() if page else at


def shown(at: AppTest) -> str:
    """Everything a session's page shows as text, tables included."""
    kinds = ("title", "markdown", "caption", "info", "warning", "error", "success", "text", "code", "selectbox")
    parts = [str(getattr(e, "value", "")) for kind in kinds for e in at.get(kind)]
    parts += [str(getattr(e, "options", "")) for e in at.get("selectbox")]
    return " ".join(parts + [d.value.to_string() for d in [*at.dataframe, *at.table]])


def upload(at: AppTest, name: str, data: bytes) -> AppTest:
    at.file_uploader[0].set_value([(name, data, "text/markdown")])
    return at.run()


def test_a_bad_setting_is_refused_not_read_as_off(monkeypatch):
    monkeypatch.setenv("PLAYGROUND_PRIVATE", "ture")
    with pytest.raises(ConfigError, match="PLAYGROUND_PRIVATE='ture'"):
        config.private()
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=120).run()
    assert not at.exception and ui.plain("PLAYGROUND_PRIVATE='ture'") in at.error[0].value


def test_each_session_has_its_own_workspace_that_no_other_can_list_or_open_by_url():
    alice = session("documents.py")
    mine = alice.session_state["workspace"]
    assert mine.startswith("private-") and len(mine) > 36, "a name nobody can guess"
    assert "ws" not in alice.query_params, "a private workspace's name never goes into the address bar"
    assert alice.sidebar.selectbox[0].options == ["sample (shared, read-only)", "your own (only you see it)"]
    assert not any(b.label == "New workspace" for b in alice.sidebar.button)
    upload(alice, "alice.md", b"# Alice\n\nThe budget code of Alice's team is AL-7731.\n")
    assert not alice.exception and Workspace(mine).file_names() == ["alice.md"]
    assert mine in list_workspaces(), "it is on the server's disk"

    bob = session("documents.py", url_workspace=mine)  # Bob has Alice's link (or guessed it)
    assert not bob.exception
    theirs = bob.session_state["workspace"]
    assert theirs != mine and theirs.startswith("private-")
    assert "not yours" in bob.sidebar.warning[0].value
    assert not bob.dataframe and "alice.md" not in shown(bob), "nothing of Alice's is shown"
    assert mine not in shown(bob) and "AL-7731" not in shown(bob)

    # Even a page that asks for her workspace by name is refused, not obeyed.
    carol = AppTest.from_function(_open_by_name, args=(mine,), default_timeout=60).run()
    assert not carol.exception
    assert "each session has a workspace of its own" in carol.error[0].value
    assert "workspace" not in carol.session_state, "nothing was opened"


def _open_by_name(name: str) -> None:
    """A page that asks for a workspace by name (as the sidebar's picker or a crafted request would)."""
    import streamlit as st

    from playground import PlaygroundError
    from playground.ui import state  # imported here: AppTest runs this function's body alone, as a script

    try:
        state.set_workspace(name)
    except PlaygroundError as err:
        st.error(str(err))


def test_the_sample_is_shared_and_read_only():
    at = session("documents.py", url_workspace=SAMPLE)
    assert not at.exception and at.session_state["workspace"] == SAMPLE
    assert at.query_params["ws"] == SAMPLE, "the sample's link is still a link"
    assert not at.file_uploader and "shared by everyone on this server" in at.info[0].value
    with pytest.raises(WorkspaceError, match="shared by everyone on this server and cannot be changed"):
        Workspace(SAMPLE).add([("mine.md", b"# Mine\n\nText.")])
    with pytest.raises(WorkspaceError):
        Workspace(SAMPLE).remove("faq.md")
    assert sorted(Workspace(SAMPLE).file_names()) == sorted(
        p.name for p in SAMPLE_DOCS.iterdir() if p.name != "questions.jsonl" and not p.name.startswith(".")
    )


def test_hosts_cannot_be_pointed_elsewhere_from_a_page():
    at = session("models.py", ollama_host="http://169.254.169.254:80", openai_base_url="http://10.0.0.1/v1")
    assert not at.exception
    assert not at.text_input, "no host, URL or key field"
    assert "cannot be changed from the page" in at.caption[0].value
    home = session()
    assert f"**Ollama** at `{OLLAMA}`" in [m.value for m in home.markdown], "the server's own host, nothing else"
    assert "169.254" not in shown(at) + shown(home) and "10.0.0.1" not in shown(at) + shown(home)


def test_the_upload_limit_shown_is_the_one_enforced(monkeypatch):
    monkeypatch.setenv("PLAYGROUND_MAX_FILE_MB", "1")
    at = session("documents.py")
    uploader = at.file_uploader[0]
    assert uploader.proto.max_upload_size_mb == 1 and "up to 1 MB per file" in uploader.proto.help
    upload(at, "big.md", b"# Big\n\n" + b"word " * 220_000)  # 1.05 MB
    assert not at.exception
    assert "above the 1 MB limit" in at.error[0].value
    upload(at, "small.md", b"# Small\n\n" + b"word " * 150_000)  # 0.7 MB
    assert Workspace(at.session_state["workspace"]).file_names() == ["small.md"]


def test_the_vector_store_is_the_servers_to_say(monkeypatch, tmp_path):
    lite = str(tmp_path / "hosted" / "vectors.db")  # Milvus Lite: the engine a Milvus server runs, in one file
    monkeypatch.setenv("PLAYGROUND_VECTOR_STORE", f"milvus {lite}")
    at = upload(session("documents.py"), "company_overview.md", (SAMPLE_DOCS / "company_overview.md").read_bytes())
    assert f"Vector store: milvus at {lite}" in [e.label for e in at.expander]
    assert "cannot be changed from the page" in shown(at)
    assert not any(b.label == "Use this store" for b in at.button) and not any(s.label == "Store" for s in at.selectbox)
    with pytest.raises(WorkspaceError, match="PLAYGROUND_VECTOR_STORE"):
        ui.state.choose_vector_store(ui.state.VectorStoreSettings())
    at = next(b for b in at.button if b.label == "Build index").click().run()
    assert not at.exception and not at.error
    assert any(f"vectors in the milvus at {lite} store" in c.value for c in at.caption)
