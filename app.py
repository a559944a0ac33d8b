"""RAG vs fine-tuning playground: page config, navigation over pages/ and the shared workspace picker."""

import streamlit as st

from playground import PlaygroundError, ui

st.set_page_config(page_title="RAG vs Fine-tuning Playground", page_icon=":material/science:", layout="wide")

navigation = st.navigation(
    [
        st.Page("pages/home.py", title="Home", icon=":material/home:", default=True),
        st.Page("pages/documents.py", title="Documents", icon=":material/description:"),
        st.Page("pages/models.py", title="Models", icon=":material/memory:"),
        st.Page("pages/compare.py", title="Compare", icon=":material/compare:"),
        st.Page("pages/finetune.py", title="Fine-tune", icon=":material/model_training:"),
        st.Page("pages/evaluate.py", title="Evaluate", icon=":material/monitoring:"),
    ]
)

with st.sidebar:
    names = ui.workspaces()
    current = ui.workspace_name()
    if current not in names:
        names.append(current)
    chosen = st.selectbox("Workspace", names, index=names.index(current), help="Documents and index live here.")
    if chosen != current:
        ui.set_workspace(chosen)
    st.query_params["ws"] = ui.workspace_name()  # navigation drops the URL's parameters: put it back
    with st.popover("New workspace", width="stretch"):
        new = st.text_input("Name", placeholder="e.g. contracts-2026")
        if st.button("Create", disabled=not new.strip()):
            try:
                ui.set_workspace(new)
                ui.workspace().create()
            except PlaygroundError as err:
                st.error(str(err))
            else:
                st.switch_page("pages/documents.py")

st.session_state["_app_ran"] = True  # see ui.via_app
navigation.run()
