"""RAG vs fine-tuning playground: page config, navigation over pages/ and the shared workspace picker."""

import streamlit as st

from playground import PlaygroundError, config, ui

st.set_page_config(page_title="RAG vs Fine-tuning Playground", page_icon=":material/science:", layout="wide")


def _vote() -> None:
    from playground.ui.arena import voter_page

    voter_page(st.query_params.get("ws", ""), st.query_params.get("round", ""))


if "round" in st.query_params:  # a voter's link: that round alone, no navigation, sidebar or workspace
    st.navigation([st.Page(_vote, title="Vote", icon=":material/how_to_vote:")], position="hidden").run()
    st.stop()

navigation = st.navigation(
    [
        st.Page("pages/home.py", title="Home", icon=":material/home:", default=True),
        st.Page("pages/documents.py", title="Documents", icon=":material/description:"),
        st.Page("pages/models.py", title="Models", icon=":material/memory:"),
        st.Page("pages/compare.py", title="Compare", icon=":material/compare:"),
        st.Page("pages/claims.py", title="Claims", icon=":material/fact_check:"),
        st.Page("pages/decide.py", title="Decide", icon=":material/assistant_direction:"),
        st.Page("pages/arena.py", title="Arena", icon=":material/how_to_vote:"),
        st.Page("pages/finetune.py", title="Fine-tune", icon=":material/model_training:"),
        st.Page("pages/evaluate.py", title="Evaluate", icon=":material/monitoring:"),
    ]
)


HOSTED_NAMES = {ui.SAMPLE: "sample (shared, read-only)"}


def _show_new_workspace(shown: bool = True) -> None:
    st.session_state["new_workspace_dialog"] = shown


def _hide_new_workspace() -> None:
    _show_new_workspace(False)


# A dialog, not a popover: a popover stayed open over the Documents page after Create. The dialog is
# drawn while the session says so (one opened by a button's click alone is gone on the next full rerun).
@st.dialog("New workspace", on_dismiss=_hide_new_workspace)
def new_workspace() -> None:
    with st.form("new-workspace", border=False):
        name = st.text_input("Name", placeholder="e.g. contracts-2026")
        created = st.form_submit_button("Create", type="primary")
    if created and not name.strip():
        st.warning("Give the workspace a name.")
    elif created:
        try:
            ui.set_workspace(name)
            ui.workspace().create()
        except PlaygroundError as err:
            st.error(ui.plain(str(err)))
        else:
            _hide_new_workspace()
            st.switch_page("pages/documents.py")  # a full rerun, without the dialog


with st.sidebar:
    try:
        names = ui.workspaces()  # the first start makes the sample workspace: the first write to PLAYGROUND_HOME
    except PlaygroundError as err:  # a home that cannot be written: one clear message instead of a traceback
        st.error(ui.plain(str(err)))
        st.stop()
    current = ui.workspace_name()
    if current not in names:
        names.append(current)
    hosting = config.private()  # a shared server: this session's own workspace and the shared sample, no others
    # A keyed picker set from the session each run: switching twice in a row switches twice (a picker whose
    # default moved with the workspace was a new widget, and the second choice was lost).
    st.session_state["_pick_workspace"] = current
    st.selectbox(
        "Workspace",
        names,
        key="_pick_workspace",
        on_change=lambda: ui.set_workspace(st.session_state["_pick_workspace"]),
        format_func=lambda n: HOSTED_NAMES.get(n, "your own (only you see it)") if hosting else n,
        help="Documents and index live here.",
    )
    ui.mirror_in_url()  # navigation drops the URL's parameters: put it back
    if ui.refused_workspace():
        st.warning("The link named a workspace that is not yours: on this server each session has its own.")
    if not hosting:  # in hosting mode a session keeps to its one private workspace
        st.button("New workspace", icon=":material/add:", width="stretch", on_click=_show_new_workspace)
    if st.session_state.get("new_workspace_dialog") and not hosting:
        new_workspace()

# Once per server (per workspace): models and index load while the first page is read. In hosting mode every
# session's own workspace starts empty: the models and the shared sample's index are what is worth loading.
ui.warm_up(ui.SAMPLE if hosting else ui.workspace_name())
st.session_state["_app_ran"] = True  # see ui.via_app
navigation.run()
