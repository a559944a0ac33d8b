"""Fine-tune: the workspace's documents → training data (checked against held-out questions) → LoRA → catalogue."""

import pandas as pd
import streamlit as st

from playground import PlaygroundError, ui
from playground.errors import ConfigError
from playground.finetune.dataset import (
    PARAPHRASE_PROMPT,
    QA_PROMPT,
    Dataset,
    build_dataset,
    edit_dataset,
    import_dataset,
)
from playground.finetune.pipeline import TrainingJob, resolve_base
from playground.finetune.report import loss_figure
from playground.finetune.settings import (
    DEFAULT_PRESET,
    PRECISIONS,
    PRESETS,
    RECIPE_HELP,
    RECIPES,
    TARGET_MODULES,
    DatasetSettings,
    LoraSettings,
)
from playground.finetune.train import base_cached, duration_text, estimate_seconds, planned_steps

ui.via_app(__file__)

st.title("Fine-tune")
st.caption(
    "Teach a model the workspace's documents, the same ones RAG retrieves from: build training data, "
    "train a LoRA adapter, and it joins the catalogue as *fine-tuned from* its base, ready for Compare."
)
ws = ui.workspace()
listing = ui.listing()
for message in listing.errors.values():
    st.info(ui.plain(message), icon=":material/cloud_off:")

preset_name = st.selectbox(
    "Preset",
    list(PRESETS),
    index=list(PRESETS).index(DEFAULT_PRESET),
    key="ft_preset",
)
preset = PRESETS[preset_name]
st.caption(ui.plain(preset.description))  # below the box: in it, the description was cut at any width
d0, l0 = preset.dataset, preset.lora


def _held_out_extra() -> list:
    return [ws.dir]  # the workspace's own questions.jsonl, beside its documents


# -- 1. data ---------------------------------------------------------------------------------------
st.header("1 · Training data")
with st.form("dataset"):
    recipes = st.multiselect(
        "Recipes", RECIPES, list(d0.recipes), help=" ".join(f"**{r}**: {RECIPE_HELP[r]}" for r in RECIPES)
    )
    c1, c2, c3, c4 = st.columns(4)
    per_fact = c1.number_input(
        "Questions per fact", 1, 2, d0.questions_per_fact, help=DatasetSettings.help("questions_per_fact")
    )
    paraphrases = c2.number_input(
        "Paraphrases per fact", 0, 3, d0.paraphrases_per_fact, help=DatasetSettings.help("paraphrases_per_fact")
    )
    raft_share = c3.slider("RAFT share", 0.0, 1.0, d0.raft_share, 0.05, help=DatasetSettings.help("raft_share"))
    p_oracle = c4.slider("P(oracle)", 0.0, 1.0, d0.p_oracle, 0.05, help=DatasetSettings.help("p_oracle"))
    c1, c2, c3 = st.columns(3)
    distractors = c1.number_input("Distractors", 0, 8, d0.distractors, help=DatasetSettings.help("distractors"))
    data_seed = c2.number_input("Seed", 0, 2**31 - 1, d0.seed, key="ft_data_seed", help=DatasetSettings.help("seed"))
    generators = ["", *[m.id for m in listing.models if not m.adapter_path]]
    generator = c3.selectbox(
        "Model-written Q&A",
        generators,
        format_func=lambda i: i or "none",  # a third of 800 px: "none (deterministic extractor)" was cut
        help=DatasetSettings.help("generator"),
    )
    with st.expander("The prompts a model is given"):
        st.code(QA_PROMPT, language=None)
        st.code(PARAPHRASE_PROMPT, language=None)
    build = st.form_submit_button("Build dataset", type="primary")
upload = st.file_uploader('…or import a JSONL dataset (one {"messages": [...]} a line)', type=["jsonl"])

if build:
    try:
        settings = DatasetSettings(
            recipes=tuple(recipes),
            questions_per_fact=int(per_fact),
            paraphrases_per_fact=int(paraphrases),
            raft_share=float(raft_share),
            p_oracle=float(p_oracle),
            distractors=int(distractors),
            generator=generator,
            seed=int(data_seed),
        )
        cs = ws.chunk_settings()
        chunks = ui.workspace_chunks(ws.name, ws.signature(), (cs.chunk_size, cs.chunk_overlap))
        slot = st.empty()  # the bar goes once the dataset is there
        with slot:
            progress = ui.progress_bar("Building the dataset…")
        dataset = build_dataset(
            chunks,
            settings,
            workspace=ws.name,
            heldout_extra=_held_out_extra(),
            catalogue=ui.catalogue() if generator else None,
            progress=progress,
        )
        slot.empty()
        st.session_state["ft_dataset"] = dataset
    except PlaygroundError as err:
        st.error(ui.plain(str(err)))
elif upload is not None and st.session_state.get("ft_upload") != upload.file_id:
    try:
        text = upload.getvalue().decode("utf-8")
        st.session_state["ft_dataset"] = import_dataset(
            text, workspace=ws.name, heldout_extra=_held_out_extra(), name=upload.name
        )
        st.session_state["ft_upload"] = upload.file_id
    except (PlaygroundError, UnicodeDecodeError) as err:
        st.error(ui.plain(str(err)))

dataset: Dataset | None = st.session_state.get("ft_dataset")
if dataset is None:
    st.info(f"Build a dataset from the {len(ws.file_names())} documents of workspace **{ws.name}**, or import one.")
    st.stop()

report = dataset.leakage
if report.leaks:
    st.warning(report.summary(), icon=":material/shield:")
    with st.expander(f"The {len(report.leaks)} leaking examples"):
        ui.text_table([{"held-out question": k.question, "shared words": k.overlap} for k in report.leaks])
else:
    st.success(report.summary(), icon=":material/shield:")
counts = ", ".join(f"{n} {r}" for r, n in dataset.counts().items())
st.caption(f"{len(dataset.examples)} examples ({counts}) from {dataset.facts} facts · hash `{dataset.hash}`")
for recipe in (r for r in dataset.settings.recipes if not dataset.counts().get(r)):  # chosen, yet none made
    if recipe == "raft":
        why = (
            f"each fact becomes a RAFT example with probability RAFT share ({dataset.settings.raft_share:.2f}), "
            f"and none of the {dataset.facts} facts drew one (about {dataset.facts * dataset.settings.raft_share:.1f}"
            " expected): raise RAFT share for some"
        )
    else:
        why = "no fact gave one, or the question gates and the held-out check removed those made"
    st.caption(f":material/info: **{recipe}** was chosen and made 0 examples: {why}.")
dataset_report = dataset.report()
gates = dataset_report["gates"]
with st.expander("Dataset report: examples per recipe, what each question gate dropped, ten random examples"):
    st.write("Examples per recipe:", dataset_report["per_question_recipe"])
    if isinstance(gates, dict):
        st.caption(
            f"Q&A questions: {gates['kept']} of {gates['made']} passed every gate ({gates['pass_share']:.0%}). "
            "Dropped: "
            + "; ".join(f"{gates['reasons'][g]}: {share:.0%}" for g, share in gates["dropped_share"].items())
        )
    else:
        st.caption(f"Question gates: {gates}.")
    ui.text_table(dataset_report["sample"])  # read whole, wrapped

rows = pd.DataFrame(dataset.rows())
edited = st.data_editor(
    rows,
    num_rows="delete",
    disabled=["recipe", "source"],
    hide_index=True,
    key=f"ft_editor_{dataset.hash}",
    # question and answer start narrow and share the width left, so the editor fits its box at 800 px; a cell
    # opens whole when clicked, to read or edit
    column_config={"question": st.column_config.TextColumn(width=90), "answer": st.column_config.TextColumn(width=90)},
)
if not edited.equals(rows):  # rows keep their index: they can be deleted or edited, not added
    edits = {int(i): (str(row["question"]), str(row["answer"])) for i, row in edited.iterrows()}
    changed = edit_dataset(dataset, edits, workspace=ws.name, heldout_extra=_held_out_extra())
    if st.button(f"Keep the edits ({len(changed.examples)} examples)"):
        st.session_state["ft_dataset"] = changed
        st.rerun()
st.download_button(
    "Download JSONL", dataset.to_jsonl(), file_name=f"{ws.name}-dataset-{dataset.hash}.jsonl", mime="application/jsonl"
)

# -- 2. settings -----------------------------------------------------------------------------------
st.header("2 · LoRA settings")
bases = [m for m in listing.models if not m.adapter_path]
base_id = st.selectbox("Base model", [m.id for m in bases], format_func=lambda i: i, key="ft_base")
c1, c2, c3, c4 = st.columns(4)
rank = c1.number_input("Rank", 1, 256, l0.rank, help=LoraSettings.help("rank"), key=f"ft_rank_{preset_name}")
alpha = c2.number_input("Alpha", 0.5, 1024.0, l0.alpha, help=LoraSettings.help("alpha"), key=f"ft_alpha_{preset_name}")
dropout = c3.number_input(
    "Dropout", 0.0, 0.9, l0.dropout, 0.05, help=LoraSettings.help("dropout"), key=f"ft_dropout_{preset_name}"
)
lr = c4.number_input(
    "Learning rate",
    1e-6,
    1.0,
    l0.learning_rate,
    format="%.0e",
    help=LoraSettings.help("learning_rate"),
    key=f"ft_lr_{preset_name}",
)
c1, c2, c3, c4 = st.columns(4)
epochs = c1.number_input("Epochs", 1, 100, l0.epochs, help=LoraSettings.help("epochs"), key=f"ft_epochs_{preset_name}")
max_steps = c2.number_input(
    "Max steps (0 = all)",
    0,
    1_000_000,
    l0.max_steps,
    help=LoraSettings.help("max_steps"),
    key=f"ft_steps_{preset_name}",
)
batch = c3.number_input(
    "Batch size", 1, 512, l0.batch_size, help=LoraSettings.help("batch_size"), key=f"ft_batch_{preset_name}"
)
seq = c4.number_input(
    "Max sequence length",
    16,
    32768,
    l0.max_seq_length,
    help=LoraSettings.help("max_seq_length"),
    key=f"ft_seq_{preset_name}",
)
c1, c2, c3, c4 = st.columns([2, 1, 1, 1])
top_layers = c4.number_input(
    "Top layers (0 = all)", 0, 1000, l0.top_layers, help=LoraSettings.help("top_layers"), key=f"ft_top_{preset_name}"
)
modules = c1.multiselect(
    "Target modules",
    TARGET_MODULES,
    list(l0.target_modules),
    help=LoraSettings.help("target_modules"),
    key=f"ft_modules_{preset_name}",
)
precision = c2.selectbox(
    "Precision", PRECISIONS, help=LoraSettings.help("precision"), key=f"ft_precision_{preset_name}"
)
lora_seed = c3.number_input("Seed", 0, 2**31 - 1, l0.seed, help=LoraSettings.help("seed"), key=f"ft_seed_{preset_name}")
name = st.text_input("Adapter name", preset.name or f"{ws.name}-ft", key=f"ft_name_{preset_name}")

# -- 3. train --------------------------------------------------------------------------------------
st.header("3 · Train")
job: TrainingJob | None = st.session_state.get("ft_job")
chosen_base = next(m for m in bases if m.id == base_id)
try:
    lora: LoraSettings | None = LoraSettings(
        rank=int(rank), alpha=float(alpha), dropout=float(dropout), target_modules=tuple(modules),
        learning_rate=float(lr), epochs=int(epochs), max_steps=int(max_steps), batch_size=int(batch),
        max_seq_length=int(seq), seed=int(lora_seed), precision=precision, top_layers=int(top_layers),
    )  # fmt: skip
    lora_error = ""
except PlaygroundError as err:
    lora, lora_error = None, str(err)
seconds = estimate_seconds(lora, dataset.examples, chosen_base.path) if lora and chosen_base.path else None
if seconds is not None:
    once = "" if base_cached(chosen_base.path) else ", ~40 s of it reading the base model once (later runs keep a copy)"
    steps = planned_steps(lora, len(dataset.examples)) if lora else 0  # the same count the run states
    st.caption(
        f"{steps} steps ({len(dataset.examples)} examples in batches of {lora.batch_size if lora else 0}, "
        f"up to the max steps), about **{duration_text(seconds)}** on a 2-core CPU (measured per step there)"
        f"{once}; faster on more cores."
    )
if st.button("Train", type="primary", disabled=bool(job and job.running)):
    try:
        if lora is None:
            raise ConfigError(lora_error)  # the bad field and value, as the settings named them
        base = resolve_base(chosen_base, ui.catalogue())
        corpus = {"workspace": ws.name, "files": ui.documents()}  # so only this workspace offers it as its own
        job = TrainingJob(dataset, lora, base, name, corpus=corpus).start()
        st.session_state["ft_job"] = job
    except PlaygroundError as err:
        st.error(ui.plain(str(err)))


@st.fragment(run_every=1.0 if job is not None and job.running else None)
def live(job: TrainingJob) -> None:
    """Redrawn every second while the job runs: progress with the time since Train, the loss curve, Cancel."""
    fraction = min(job.fraction, 1.0)
    left = job.remaining
    when = f"{duration_text(job.elapsed)} since Train" + (f", about {duration_text(left)} left" if left else "")
    # The percentage is the bar's own: a phase's own share beside the whole run's bar read as a broken bar
    st.progress(fraction, text=f"{fraction:.0%} · {job.message or 'Starting…'} — {when}")
    if job.losses:
        st.plotly_chart(loss_figure(list(job.losses)), key="ft_loss")
    if job.running:
        if st.button("Cancel", help="Stop after the current step; what was trained so far is saved."):
            job.cancel()
        return
    if job.error:
        st.error(ui.plain(job.error))
    elif job.finetune is not None:
        ft = job.finetune
        verb = "Cancelled, saved what was trained" if ft.cancelled else "Done"
        st.success(
            f"{verb}: **{ui.plain(ft.model_id)}**, fine-tuned from {ui.plain(ft.base)} — {ft.steps} steps, "
            f"{duration_text(job.elapsed)} from Train to the saved adapter. "
            f"Adapter: `{ft.adapter_path}`. Pick it as the fine-tuned model on **Compare**."
        )
    if st.session_state.get("ft_seen") != id(job):  # once, so the rest of the page sees the end
        st.session_state["ft_seen"] = id(job)
        ui.model_listing.clear()  # the catalogue now has one more model
        st.rerun(scope="app")


if job is not None:
    live(job)

# -- 4. register -----------------------------------------------------------------------------------
if job is not None and job.finetune is not None and not job.running:
    st.header("4 · Register in Ollama")
    ft = job.finetune
    ollama_name = st.text_input("Ollama model name", ft.ollama or ft.name)
    st.caption(
        "Creates the model from the adapter on its base (uploading the base when Ollama does not have it); if "
        "Ollama refuses an adapter for this architecture, a merged model is created instead."
    )
    if st.button("Register in Ollama"):
        from playground.finetune.ollama import register_ollama

        try:
            with st.spinner("Uploading and creating…"):
                registration = register_ollama(
                    ft, base=job.base, backend=ui.ollama_backend(ui.ollama_host()), name=ollama_name
                )
            st.success(
                f"Registered **{ui.plain('ollama:' + registration.model)}** ({registration.method}). "
                f"{ui.plain(registration.note)}"
            )
            ui.model_listing.clear()
        except PlaygroundError as err:
            st.error(ui.plain(str(err)))
