"""Documents: upload, see what each file became, tune chunking, browse chunks and build the index."""

import streamlit as st

from playground import ChunkSettings, PlaygroundError, config, ui
from playground.config import max_file_bytes
from playground.documents import SUPPORTED_EXTENSIONS, apply_budgets
from playground.retrieval_check import AUTOMATIC, check_table, load_check, recipe_names, summary
from playground.vectorstores import STORE_KINDS, VectorStoreSettings

ui.via_app(__file__)

ws = ui.workspace()
read_only = ui.read_only()  # hosting mode's shared sample: shown to everyone, changed by no one
st.title("Documents")
if config.private():  # a hosting server's folders are nobody's business; a private workspace's name is its key
    st.caption("Workspace **sample** (shared)" if read_only else "Your own workspace: only you see it.")
else:
    st.caption(f"Workspace **{ws.name}** · stored in `{ws.dir}`")

# -- upload: each file succeeds or fails alone; the uploader is emptied once its files are kept -------
uploader_key = f"upload-{st.session_state.get('uploads', 0)}"
try:  # the server refuses anything above its own maxUploadSize (.streamlit/config.toml) whatever we accept
    limit_mb = min(max_file_bytes() // (1024 * 1024), st.get_option("server.maxUploadSize"))
except PlaygroundError as err:
    st.error(ui.plain(str(err)))
    st.stop()
uploads = None
if read_only:
    st.info(
        "The **sample** workspace is shared by everyone on this server, so it cannot be changed here. Your own "
        "workspace (in the sidebar) takes your documents, and only you can see it.",
        icon=":material/lock:",
    )
else:
    uploads = st.file_uploader(
        "Add documents",
        accept_multiple_files=True,
        key=uploader_key,
        max_upload_size=limit_mb,  # the drop zone states the real limit, not Streamlit's default
        help=f"Supported: {', '.join(SUPPORTED_EXTENSIONS)}, up to {limit_mb} MB per file. "
        "A file with the name of one already here replaces it.",
    )
if uploads:
    try:
        results = ws.add([(u.name, u.getvalue()) for u in uploads])
    except PlaygroundError as err:  # e.g. PLAYGROUND_HOME is read-only or full: nothing was kept
        st.error(ui.plain(str(err)))
    else:
        st.session_state["last_upload"] = [r.as_row() for r in results]
        # A name that could not be kept as it came (a path, control characters, too long) is changed: say so
        renamed = [(u.name, r.file_name) for u, r in zip(uploads, results, strict=True) if u.name != r.file_name]
        st.session_state["renamed_uploads"] = renamed
        st.session_state["uploads"] = st.session_state.get("uploads", 0) + 1
        st.rerun()
if last := st.session_state.get("last_upload"):
    failed = [r for r in last if r["status"] != "ok"]
    kept = len(last) - len(failed)
    if kept:
        st.success(f"Added {kept} file(s). Build the index below to use them.")
    for sent, saved in st.session_state.get("renamed_uploads", []):
        st.info(
            f"**{ui.plain(sent)}** saved as **{ui.plain(saved)}** (renamed: a stored name keeps only the last part "
            "of a path, no control or hidden-file characters, and at most 200 bytes).",
            icon=":material/drive_file_rename_outline:",
        )
    for row in failed:
        st.error(f"**{ui.plain(row['file'])}** was not added: {ui.plain(row['error'])}")  # a name is text, not Markdown

# -- what each file became: the documents, then the uploads refused (kept on disk, so a reload shows them)
signature = ws.signature()
refused = ws.refused()
settings = ws.chunk_settings()
# A file over a chunk budget is listed as refused with its reason, as the index will leave it out.
files = apply_budgets(ui.workspace_documents(ws.name, signature), settings) if signature else []
chunks = ui.workspace_chunks(ws.name, signature, (settings.chunk_size, settings.chunk_overlap)) if signature else []
per_file: dict[str, int] = {}
for node in chunks:
    per_file[node.metadata["file_name"]] = per_file.get(node.metadata["file_name"], 0) + 1

if not signature:
    st.info(
        "This workspace has no documents yet. Upload PDF, Word, HTML, Markdown or text files above, "
        "or switch to the **sample** workspace in the sidebar."
    )
if files or refused:
    st.subheader(f"{len(files)} document(s)" + (f", {len(refused)} upload(s) refused" if refused else ""))
    rows = [{**f.as_row(), "chunks": per_file.get(f.file_name, 0)} for f in files] + [r.as_row() for r in refused]
    st.dataframe(
        [{k: "" if v is None else v for k, v in row.items()} for row in rows],  # a file without pages: empty, not None
        width="stretch",
        hide_index=True,
        # the reasons go below, wrapped: as a column they pushed the table past its right edge and were cut
        column_order=["file", "type", "status", "pages", "chunks", "chars"],
    )
    if reasons := [{"file": r["file"], "why it was not added": r["error"]} for r in rows if r["error"]]:
        ui.text_table(reasons)
if (
    refused
    and not read_only
    and st.button("Clear refused uploads", help="Forget the uploads that were not added (nothing else changes)")
):
    ws.clear_refused()
    st.session_state.pop("last_upload", None)
    st.session_state.pop("renamed_uploads", None)
    st.rerun()
if not signature:
    st.stop()

with st.expander("Remove documents"):
    doomed = st.multiselect("Documents to remove", ws.file_names())
    if st.button("Remove", disabled=not doomed or read_only):
        for name in doomed:
            try:
                ws.remove(name)
            except PlaygroundError as err:
                st.error(ui.plain(str(err)))
        st.session_state.pop("last_upload", None)
        st.rerun()

# -- chunking and the index ------------------------------------------------------------------------
left, right = st.columns([1, 2])
with left.form("chunking"):
    st.markdown("**Chunking**")
    size = st.number_input(
        "Chunk size (tokens)", 32, 2048, settings.chunk_size, step=16, help=ChunkSettings.help("chunk_size")
    )
    overlap = st.number_input(
        "Overlap (tokens)", 0, 1024, settings.chunk_overlap, step=8, help=ChunkSettings.help("chunk_overlap")
    )
    if st.form_submit_button("Apply", disabled=read_only):
        try:
            ws.save_chunk_settings(ChunkSettings(int(size), int(overlap)))
        except PlaygroundError as err:
            st.error(ui.plain(str(err)))
        else:
            st.rerun()

with right.container(border=True):
    st.markdown("**Index**")
    state = ui.index_state()
    if state == "current":
        index = ui.current_index()
        if index is not None:
            s = index.stats
            cols = st.columns(3)  # three fit a third of 800 px; a fourth cut its value ("128 /…")
            cols[0].metric("Files", s.files)
            cols[1].metric("Chunks", s.chunks)
            cols[2].metric("Build time", f"{s.build_s or s.seconds:.1f} s")
            chunking = s.chunk_settings
            st.caption(
                f"Chunk size {chunking['chunk_size']} tokens, overlap {chunking['chunk_overlap']} · embedding model: "
                f"`{s.embed_model}` · hybrid retrieval (vectors + BM25) · vectors in the {s.vector_store} store · "
                "up to date"
            )
    else:
        st.warning(
            "The documents or settings changed since the index was built: update it."
            if state == "stale"
            else "No index yet: build it to ask questions with retrieval."
        )
        if st.button("Build index" if state == "none" else "Update index", type="primary"):
            with st.status("Indexing…", expanded=True) as status:
                try:
                    index = ui.current_index(progress=ui.progress_bar())
                except PlaygroundError as err:
                    status.update(label="Indexing failed", state="error")
                    st.error(ui.plain(str(err)))
                    st.stop()
                assert index is not None
                s = index.stats
                status.update(
                    label=f"Indexed {s.chunks} chunks in {s.seconds:.1f} s ({s.embedded} embedded, {s.reused} reused)",
                    state="complete",
                    expanded=False,
                )
            st.rerun()

# -- where the vectors live: the index folder, or a vector database (hosting mode: the server's setting) ----
store = ui.vector_store()
with st.expander(f"Vector store: {store.describe()}"):
    if config.private():
        st.caption("Set by this server (PLAYGROUND_VECTOR_STORE); it cannot be changed from the page.")
    else:
        with st.form("vector-store"):
            kinds = list(STORE_KINDS)
            kind = st.selectbox("Store", kinds, index=kinds.index(store.kind), help=VectorStoreSettings.help("kind"))
            url = st.text_input("URL", store.url, help=VectorStoreSettings.help("url") + " Milvus Lite: a .db file.")
            left_col, right_col = st.columns(2)
            prefix = left_col.text_input("Collection prefix", store.prefix, help=VectorStoreSettings.help("prefix"))
            key_env = right_col.text_input("Key from variable", store.key_env, help=VectorStoreSettings.help("key_env"))
            if st.form_submit_button("Use this store", disabled=read_only):
                try:
                    ui.choose_vector_store(VectorStoreSettings(kind, url.strip(), prefix.strip(), key_env.strip()))
                except PlaygroundError as err:
                    st.error(ui.plain(str(err)))
                else:
                    st.rerun()
        st.caption(
            "The next index is built there, reusing the embeddings this workspace already has; BM25 and the "
            "chunks' text stay in the workspace's folder."
        )

# -- chunk browser ------------------------------------------------------------------------------------
st.subheader("Chunks")
query = st.text_input("Search chunks", placeholder="a word or phrase, e.g. warranty")
shown = [n for n in chunks if query.lower() in n.get_content().lower()] if query else chunks
st.caption(f"{len(shown)} of {len(chunks)} chunks" + (f" contain “{ui.plain(query)}”" if query else ""))
picked = st.dataframe(
    [
        {
            "file": n.metadata["file_name"],
            "page": str(n.metadata.get("page") or ""),  # a file without pages: an empty cell (one type: text)
            "chars": f"{n.metadata.get('start_char')}–{n.metadata.get('end_char')}",
            "text": n.get_content(),
        }
        for n in shown[:500]
    ],
    width="stretch",
    hide_index=True,
    # the text starts narrow and takes the width left, so the table fits its box at 800 px; it is a preview:
    # a chunk picked in the table is shown whole below it
    column_config={"text": st.column_config.TextColumn(width=120)},
    on_select="rerun",
    selection_mode="single-row",
    key="chunk_table",
)
if picked.selection.rows:
    node = shown[:500][picked.selection.rows[0]]
    with st.container(border=True):
        start, end = node.metadata.get("start_char"), node.metadata.get("end_char")
        st.caption(f"{ui.plain(node.metadata['file_name'])} · characters {start}–{end}")
        st.markdown(ui.cards.lines(node.get_content()))  # as written: a chunk may hold Markdown or HTML
else:
    st.caption("Pick a chunk in the table to read it whole.")
# What reading left out of each file (menus, footers, cookie notices, image and link lines): shown, so a person
# can see that nothing of their text went with it.
trimmed = [f for f in files if f.ok and f.dropped]
if trimmed:
    lines = sum(len(f.dropped) for f in trimmed)
    with st.expander(f"Dropped as page chrome: {lines} line(s) from {len(trimmed)} file(s)"):
        for f in trimmed:
            st.markdown(f"**{ui.plain(f.file_name)}** · {ui.plain(f.reading)}")
            st.text("\n".join(f.dropped[:200]))  # as text: a dropped line may be Markdown or HTML

# -- retrieval check ----------------------------------------------------------------------------------
if state == "current":
    index = ui.current_index()
    check = load_check(index.path) if index is not None else None
    with st.expander("Retrieval check" + (f": {check.chosen.name}" if check else ""), expanded=check is not None):
        if check is None:
            st.caption(
                "Which retrieval recipe (embeddings, BM25, fused equally or weighted, with or without the title "
                "header) finds these documents' passages best, measured on questions made from the chunks and on "
                "the workspace's own questions. Embeds no answer, calls no language model."
            )
        if st.button("Check retrieval" if check is None else "Check again", disabled=read_only):
            with st.spinner("Checking which retrieval recipe suits these documents…"):
                try:
                    check = ui.retrieval_check(again=True, progress=ui.progress_bar())
                except PlaygroundError as err:
                    st.error(ui.plain(str(err)))
            st.rerun()
        if check is not None:
            st.markdown(ui.plain(summary(check)))
            sets = f"{check.probes} probe questions made from the chunks"
            if check.own_questions:
                sets += f" and the workspace's own {check.own_questions} questions"
            st.caption(f"Measured on {sets}; decided by the {check.decided_by}. " + " ".join(check.notes))
            st.dataframe(check_table(check), hide_index=True, width="stretch")
            picked = ws.retrieval_recipe() or AUTOMATIC
            options = [AUTOMATIC, *recipe_names()]
            choice = st.selectbox(
                "Retrieval recipe",
                options,
                index=options.index(picked) if picked in options else 0,
                format_func=lambda o: f"automatic (chosen: {check.chosen.name})" if o == AUTOMATIC else o,
                disabled=read_only,
                help="Answers retrieve with the check's choice unless you pick a recipe here.",
            )
            if choice != picked:
                ws.save_retrieval_recipe(None if choice == AUTOMATIC else choice)
                st.rerun()
