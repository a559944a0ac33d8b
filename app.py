"""RAG vs fine-tuning playground: page config and navigation over pages/ — nothing else."""

import streamlit as st

st.set_page_config(page_title="RAG vs Fine-tuning Playground", page_icon="🔬", layout="wide")

navigation = st.navigation(
    [
        st.Page("pages/home.py", title="Home", icon="🏠", default=True),
        st.Page("pages/compare.py", title="Compare", icon="⚖️"),
    ]
)
navigation.run()
