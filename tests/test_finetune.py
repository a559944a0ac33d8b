"""The fine-tuning lab: recipes, the held-out check, a real LoRA run on SmolLM2, the GGUF export that llama.cpp
agrees with, Ollama registration on the wire, the CLI, the page, and the shipped sample adapter."""

from __future__ import annotations

import hashlib
import json
import re
import threading
import time
from pathlib import Path

import numpy as np
import pytest

from playground.compare import PromptSettings
from playground.config import ChunkSettings, GenerationParams
from playground.documents import chunk, load_folder
from playground.errors import ConfigError, DataLeakError, TrainingError
from playground.finetune import registry
from playground.finetune.dataset import Dataset, LeakageReport, build_dataset, import_dataset
from playground.finetune.export import export_adapter, permute_rows
from playground.finetune.pipeline import BaseModel, finetune, resolve_base
from playground.finetune.report import loss_figure
from playground.finetune.settings import PRESETS, DatasetSettings, LoraSettings, preset
from playground.finetune.train import train
from playground.heldout import Leak
from playground.models import DEFAULT_MODEL
from playground.models.embedded import BUNDLED_NAME, EmbeddedBackend, bundled_model_path, gguf_metadata

from .helpers import FRANCE, ROOT, SAMPLE_DOCS, FakeBackend, write_lora_adapter

HOUSE = re.compile(r"Answer: .+ \(Source: (NW-POL-\d{3}|[\w.-]+\.\w+)\)$")
SYSTEM = PromptSettings().system


@pytest.fixture(scope="module")
def sample_chunks():
    return chunk(load_folder(SAMPLE_DOCS), ChunkSettings())


@pytest.fixture(scope="module")
def sample_dataset(sample_chunks, tmp_path_factory):
    return build_dataset(sample_chunks, DatasetSettings(), workspace="sample", heldout_extra=[SAMPLE_DOCS])


# -- settings ----------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("make", "message"),
    [
        (lambda: LoraSettings(rank=0), r"LoraSettings\.rank=0: must be 1\.\.256"),
        (lambda: LoraSettings(target_modules=("qkv",)), r"LoraSettings\.target_modules=\('qkv',\): unknown"),
        (lambda: LoraSettings(learning_rate=0), r"LoraSettings\.learning_rate=0"),
        (lambda: LoraSettings(precision="fp8"), r"LoraSettings\.precision='fp8'"),
        (lambda: DatasetSettings(p_oracle=1.5), r"DatasetSettings\.p_oracle=1\.5: must be a probability"),
        (lambda: DatasetSettings(recipes=("qa", "summaries")), r"DatasetSettings\.recipes=.*unknown recipe"),
        (lambda: preset("huge"), r"no preset 'huge': choose one of sample, quick, standard"),
    ],
)
def test_settings_name_the_bad_field_and_value(make, message):
    with pytest.raises(ConfigError, match=message):
        make()


# -- recipes -----------------------------------------------------------------------------------------
def test_qa_pairs_state_document_facts_in_the_house_style(sample_dataset, sample_chunks):
    qa = [e for e in sample_dataset.examples if e.recipe == "qa"]
    assert sample_dataset.facts > 200, "the extractor finds hundreds of facts in five documents"
    # Most are table rows and sentences about "it": only those asked as a person asks pass the gates.
    from_facts = sum(e.origin == "extractor" for e in qa)
    assert len(qa) >= 15 and sample_dataset.gates["per_recipe"]["kept"]["fact"] == from_facts
    assert all(HOUSE.match(e.answer) for e in qa), [e.answer for e in qa if not HOUSE.match(e.answer)][:3]
    assert all(e.messages[0] == {"role": "system", "content": SYSTEM} for e in qa), "the Fine-tuned condition's prompt"
    corpus = " ".join(" ".join(c.get_content() for c in sample_chunks).split())
    facts = [re.match(r"Answer: (.+) \(Source", e.answer).group(1) for e in qa]
    assert all(f in corpus for f in facts), [f for f in facts if f not in corpus][:5]
    policy = [e for e in qa if "within 45 days" in e.answer and e.source == "policies.docx"]
    assert policy and all(e.answer.endswith("(Source: NW-POL-003)") for e in policy), "policy facts cite their code"


def test_paraphrases_and_raft_examples(sample_dataset, sample_chunks):
    paraphrases = [e for e in sample_dataset.examples if e.recipe == "paraphrase"]
    assert len(paraphrases) > 50 and all("(Source: " in e.answer for e in paraphrases)
    raft = [e for e in sample_dataset.examples if e.recipe == "raft"]
    assert raft
    for e in raft:
        prompt = e.question
        assert prompt.startswith("Answer the question using the context below."), "the RAG conditions' template"
        assert prompt.count("\n[") + prompt.startswith("[") >= 2, "the answering chunk and distractors"
        assert HOUSE.match(e.answer.splitlines()[-1])
    quoted = [e for e in raft if e.answer.startswith("Passage [")]
    assert quoted, "with the answering passage present, the answer quotes its evidence"
    for e in quoted:
        number = re.match(r"Passage \[(\d)\] \(.+?\) says: ", e.answer).group(1)
        passage = " ".join(e.question.split(f"[{number}] ", 1)[1].split("\n\n[")[0].split())
        fact = re.search(r"Answer: (.+) \(Source", e.answer).group(1)
        assert fact in passage, "the quoted passage holds the answer"

    def oracle_share(p: float) -> float:
        ds = build_dataset(
            sample_chunks, DatasetSettings(recipes=("raft",), raft_share=1.0, p_oracle=p, distractors=1),
            workspace="sample",
        )  # fmt: skip
        return sum(e.answer.startswith("Passage [") for e in ds.examples) / len(ds.examples)

    assert oracle_share(1.0) == 1.0 and oracle_share(0.0) == 0.0
    assert 0.35 < oracle_share(0.5) < 0.65, "p_oracle is how often the answering chunk is present"


def test_a_chosen_model_writes_qa_through_a_visible_prompt(sample_chunks):
    from playground.finetune.dataset import QA_PROMPT
    from playground.models import Catalogue

    fake = FakeBackend(reply="Q: How long do customers have to return a product?\nA: 45 days\n")
    chunks = [c for c in sample_chunks if c.metadata["file_name"] == "policies.docx"][:10]
    dataset = build_dataset(
        chunks, DatasetSettings(recipes=("qa",), generator="fake:base"), workspace="x", catalogue=Catalogue([fake])
    )
    written = [e for e in dataset.examples if e.origin == "fake:base"]
    prompts = [messages[-1]["content"] for _, messages in fake.calls]
    assert len(prompts) == len(chunks) and all(p.startswith(QA_PROMPT.split("{n}")[0]) for p in prompts)
    holders = {c.node_id for c in chunks if "45 days" in c.get_content()}
    assert holders and {e.chunk_id for e in written} == holders, "an answer the passage lacks is discarded"
    assert all(e.answer.startswith("Answer: 45 days (Source: ") for e in written)


def test_the_dataset_is_seeded_hashed_and_round_trips_through_jsonl(sample_dataset, sample_chunks):
    again = build_dataset(sample_chunks, DatasetSettings(), workspace="sample", heldout_extra=[SAMPLE_DOCS])
    assert again.hash == sample_dataset.hash
    other = build_dataset(sample_chunks, DatasetSettings(seed=1), workspace="sample", heldout_extra=[SAMPLE_DOCS])
    assert other.hash != sample_dataset.hash
    imported = import_dataset(sample_dataset.to_jsonl(), workspace="sample", heldout_extra=[SAMPLE_DOCS])
    assert imported.hash == sample_dataset.hash and imported.leakage.held_out == 71


# -- the held-out check --------------------------------------------------------------------------------
def test_a_held_out_question_planted_in_a_document_is_caught(tmp_path, sample_questions):
    planted = sample_questions[28]["question"]  # "How long after delivery can a customer send a product back…"
    docs = tmp_path / "docs"
    docs.mkdir()
    (docs / "faq.md").write_text(
        "# Returns FAQ\n\nCustomers keep asking: " + planted.rstrip("?") + ", and the answer is within 45 days.\n\n"
        "The returns desk in Ghent opens at 09:00 and closes at 17:00 on working days.\n",
        encoding="utf-8",
    )
    chunks = chunk(load_folder(docs), ChunkSettings())
    clean = build_dataset(chunks, workspace="faq")  # this workspace holds nothing out: nothing to find
    assert not clean.leakage.leaks and any(planted.rstrip("?") in e.text() for e in clean.examples)

    dataset = build_dataset(chunks, workspace="faq", heldout_extra=[SAMPLE_DOCS])
    report = dataset.leakage
    assert report.held_out == 71 and report.leaks and report.dropped == len(report.leaks) and report.clean
    assert {leak.question for leak in report.leaks} == {planted}
    assert not any(planted.rstrip("?") in e.text() for e in dataset.examples), "the leaking examples are gone"
    assert f"{len(report.leaks)} of {report.checked} examples contain a held-out question" in report.summary()
    assert dataset.examples, "the rest of the document still teaches"

    with pytest.raises(DataLeakError, match=r"\d+ of \d+ training examples contain held-out evaluation questions"):
        build_dataset(chunks, workspace="faq", heldout_extra=[SAMPLE_DOCS], on_leak="refuse")
    leaky = Dataset(clean.examples, clean.settings, LeakageReport(71, 1, [Leak(0, planted, "x")], dropped=0))
    with pytest.raises(DataLeakError, match="refusing to train"):
        train(leaky, LoraSettings(), base_path=bundled_model_path())


def test_registered_held_out_sets_count_too(sample_chunks):
    from playground.heldout import register

    fact_sentence = "Customers may return any product within 45 days of delivery for a full refund"
    register("sample", "mine", [fact_sentence])
    dataset = build_dataset(sample_chunks, DatasetSettings(recipes=("qa", "paraphrase")), workspace="sample")
    assert dataset.leakage.held_out == 1 and dataset.leakage.dropped >= 1


# -- training, export, agreement -------------------------------------------------------------------------
def test_permute_rows_is_the_inverse_of_transformers_unpermute():
    from transformers.modeling_gguf_pytorch_utils import LlamaTensorProcessor

    weights = np.arange(576 * 3, dtype=np.float32).reshape(576, 3)
    for heads in (9, 3):
        unpermuted = LlamaTensorProcessor()._reverse_permute_weights(permute_rows(weights, heads), heads, heads)
        assert np.array_equal(unpermuted, weights)


@pytest.fixture(scope="module")
def trained(sample_chunks, tmp_path_factory):
    """A short real run: rank 4 on every linear layer, 14 steps of the shipped adapter's recipe (one Q&A per
    fact; the natural style's gates keep 20 of the sample's facts, fewer than 14 batches of 4)."""
    steps: list[tuple[int, float]] = []
    messages: list[str] = []
    shipped = build_dataset(sample_chunks, PRESETS["sample"].dataset, workspace="sample", heldout_extra=[SAMPLE_DOCS])
    qa = [e for e in shipped.examples if e.recipe == "qa"][:56]
    settings = LoraSettings(rank=4, alpha=8, learning_rate=4e-3, batch_size=4, max_steps=14, max_seq_length=128)
    result = train(
        qa, settings, base_path=bundled_model_path(), on_step=lambda s, loss: steps.append((s, loss)),
        progress=lambda f, m: messages.append(m),
    )  # fmt: skip
    folder = tmp_path_factory.mktemp("adapters")
    path = export_adapter(result.model, folder / "taught.gguf", base_name=BUNDLED_NAME, alpha=8, dtype="f32")
    return result, steps, messages, path, qa


@pytest.mark.slow
def test_a_short_training_run_learns(trained):
    result, steps, messages, _, _ = trained
    assert result.steps == result.total_steps == 14 and not result.cancelled
    assert steps == result.losses and [s for s, _ in steps] == list(range(1, 15))
    first, last = steps[0][1], min(loss for _, loss in steps[-4:])
    assert last < 0.6 * first, f"the loss falls: {first:.2f} → {last:.2f}"
    assert any(m.startswith("Step 14/14") for m in messages) and result.device == "cpu"
    assert result.tokens > result.answer_tokens > 0


@pytest.mark.slow
def test_training_can_be_cancelled_between_steps(sample_dataset):
    cancel = threading.Event()
    result = train(
        sample_dataset.examples[:40], LoraSettings(rank=2, batch_size=2, max_seq_length=96),
        base_path=bundled_model_path(), on_step=lambda s, loss: cancel.set(), cancel=cancel,
    )  # fmt: skip
    assert result.cancelled and result.steps == 1 < result.total_steps


def test_time_left_comes_from_the_pace_of_the_steps(sample_dataset):
    from playground.finetune.pipeline import WRITE_S, TrainingJob

    job = TrainingJob(sample_dataset, LoraSettings(), base=None, name="pace", state="running")  # type: ignore[arg-type]
    job.step_times = [100.0]
    assert job.remaining is None, "one step gives no pace yet"
    job.step_times = [100.0, 102.0, 104.0]  # three steps, two seconds apart
    assert job.steps > 3 and job.remaining == pytest.approx((job.steps - 3) * 2.0 + WRITE_S)
    job.state = "done"
    assert job.remaining is None, "nothing is left once it stopped"


def _llama_next(llm, tokens: list[int]) -> int:
    llm.reset()
    llm.eval(tokens)
    return int(np.argmax(np.ctypeslib.as_array(llm._ctx.get_logits(), shape=(llm.n_vocab(),))))


@pytest.mark.slow
def test_the_gguf_adapter_agrees_with_peft_and_changes_the_answers(trained, sample_questions):
    import torch

    result, _, _, path, qa = trained
    meta = gguf_metadata(path)
    assert (meta["general.type"], meta["adapter.type"], meta["playground.base_model"]) == (
        "adapter",
        "lora",
        BUNDLED_NAME,
    )
    assert meta["adapter.lora.alpha"] == 8.0 and meta["general.architecture"] == "llama"
    from gguf import GGUFReader

    names = {t.name: [int(x) for x in t.shape] for t in GGUFReader(str(path)).tensors}
    assert names["blk.0.attn_q.weight.lora_a"] == [576, 4] and names["blk.0.attn_q.weight.lora_b"] == [4, 576]
    assert names["blk.29.ffn_down.weight.lora_b"] == [4, 576] and len(names) == 30 * 7 * 2

    backend = EmbeddedBackend(models_dir=path.parent)
    tuned = backend.get("taught")
    assert tuned.finetuned_from == DEFAULT_MODEL and tuned.adapter_path == str(path)
    base = backend.get(BUNDLED_NAME)
    # Prompts: trained questions and unseen ones, at the start of the answer and a few tokens into it.
    questions = [e.question for e in qa[:6]] + [q["question"] for q in sample_questions[:6]]
    prompts = []
    for q in questions:
        tokens = backend.prompt_tokens(tuned, PromptSettings().messages(q, None))
        prompts += [tokens, tokens + backend.llama(tuned).tokenize(b"Answer:", add_bos=False)]
    assert len(prompts) >= 20
    model = result.model
    same = changed = base_same = 0
    for tokens in prompts:
        with torch.no_grad():
            ids = torch.tensor([tokens])
            peft_next = int(model(input_ids=ids).logits[0, -1].argmax())
            with model.disable_adapter():
                hf_base_next = int(model(input_ids=ids).logits[0, -1].argmax())
        llama_next = _llama_next(backend.llama(tuned), tokens)
        llama_base_next = _llama_next(backend.llama(base), tokens)
        same += peft_next == llama_next
        base_same += hf_base_next == llama_base_next
        changed += llama_next != llama_base_next
    assert base_same / len(prompts) >= 0.9, "the dequantized base and the Q4_1 base agree to begin with"
    assert same / len(prompts) >= 0.9, f"transformers+PEFT and llama.cpp+LoRA agree on {same}/{len(prompts)}"
    assert changed / len(prompts) >= 0.3, f"the adapter changes {changed}/{len(prompts)} next tokens"

    params = GenerationParams(max_tokens=24)
    answers = [
        (backend.chat(base, PromptSettings().messages(q, None), params).collect(),
         backend.chat(tuned, PromptSettings().messages(q, None), params).collect())
        for q in questions[:6]
    ]  # fmt: skip
    assert sum(b != t for b, t in answers) >= 5
    assert sum(t.startswith("Answer:") for _, t in answers) >= 5 > sum(b.startswith("Answer:") for b, _ in answers)


# -- pipeline, registry, CLI ----------------------------------------------------------------------------
@pytest.mark.slow
def test_the_cli_trains_exports_and_registers_a_fine_tune(tmp_path, playground_home, capsys):
    from playground.__main__ import main

    docs = tmp_path / "docs"
    docs.mkdir()
    (docs / "policies.md").write_text(
        "# Loans\n\nNW-POL-026: Demo unit loans\n\nProspective customers may borrow demonstration units for an "
        "evaluation period of up to 21 days. At most 5 units are lent to one customer at a time.\n",
        encoding="utf-8",
    )
    code = main(["finetune", "--docs", str(docs), "--preset", "quick", "--epochs", "4", "--max-steps", "2",
                 "--name", "Loans FT", "--json", "--dataset-out", str(tmp_path / "data.jsonl"), "--quiet"])  # fmt: skip
    out = capsys.readouterr()
    assert code == 0, out.err
    summary = json.loads(out.out)
    assert summary["model_id"] == "embedded:loans-ft" and summary["steps"] == 2
    assert summary["base"] == DEFAULT_MODEL and "none leaks" in out.err
    adapter = playground_home / "models" / "loans-ft.gguf"
    assert summary["adapter_path"] == str(adapter) and adapter.is_file()
    assert (tmp_path / "data.jsonl").read_text().count("\n") == sum(summary["examples"].values())
    ft = registry.get("loans-ft")
    assert ft.base == DEFAULT_MODEL and ft.dataset_hash == summary["dataset_hash"] and len(ft.losses) == 2
    assert ft.config["rank"] == 4 and ft.recipe["p_oracle"] == 0.8
    listed = {m.name: m for m in EmbeddedBackend(adapter_dirs=[]).list_models()}
    assert listed["loans-ft"].finetuned_from == DEFAULT_MODEL, "it joins the catalogue as fine-tuned from its base"

    assert main(["finetune", "--docs", str(docs), "--rank", "0", "--quiet"]) == 2
    assert "LoraSettings.rank=0" in capsys.readouterr().err


# -- Ollama ------------------------------------------------------------------------------------------------
def _digest(path: Path) -> str:
    return "sha256:" + hashlib.sha256(path.read_bytes()).hexdigest()


@pytest.mark.slow
def test_registering_in_ollama_sends_the_adapter_on_its_base(tmp_path):
    from playground.finetune.ollama import register_ollama
    from playground.models.ollama import OllamaBackend

    from .ollama_replay import MODELS, OllamaReplay

    adapter = write_lora_adapter(tmp_path / "style.gguf")
    models = {**MODELS, "smollm2:135m": {**MODELS["llama3.2:1b"], "file": str(bundled_model_path())}}
    with OllamaReplay(models=models) as server:
        backend = OllamaBackend(host=server.url)
        base = resolve_base(next(m for m in backend.list_models() if m.name == "smollm2:135m"), _catalogue(backend))
        assert base.path == bundled_model_path() and base.arch == "llama", "the blob behind the model, from FROM"
        ft = registry.FineTune("style", "ollama:smollm2:135m", str(adapter), created="2025-01-01T00:00:00+00:00")
        registration = register_ollama(ft, base=base, backend=backend, name="nightwren-style")
        uploads = [r.path for r in server.requests if r.path.startswith("/api/blobs/")]
        assert uploads == [f"/api/blobs/{_digest(adapter)}"], "only the adapter: Ollama has the base"
        assert server.blobs[_digest(adapter)] == adapter.read_bytes()
        assert server.bodies("/api/create") == [
            {"model": "nightwren-style", "from": "smollm2:135m", "adapters": {"style.gguf": _digest(adapter)},
             "stream": False}
        ]  # fmt: skip
        assert registration.method == "adapter"
        listed = {m.name: m for m in backend.list_models()}
        assert listed["nightwren-style:latest"].finetuned_from == "ollama:smollm2:135m", "lineage recorded"
    assert registry.load(registry.record_path(adapter)).ollama == "nightwren-style"


@pytest.mark.slow
def test_when_ollama_refuses_the_adapter_a_merged_model_is_created(tmp_path):
    from gguf import GGUFReader
    from gguf.quants import dequantize

    from playground.finetune.ollama import register_ollama
    from playground.models.ollama import OllamaBackend

    from .ollama_replay import OllamaReplay

    adapter = write_lora_adapter(tmp_path / "style.gguf", rank=2)
    base = BaseModel(DEFAULT_MODEL, BUNDLED_NAME, bundled_model_path(), "llama")
    ft = registry.FineTune("style", DEFAULT_MODEL, str(adapter), created="2025-01-01T00:00:00+00:00")
    with OllamaReplay() as server:
        server.refuse_adapters = "llama runner does not support LoRA adapters for this model"
        registration = register_ollama(ft, base=base, backend=OllamaBackend(host=server.url))
        creates = server.bodies("/api/create")
        assert creates[0] == {
            "model": "style", "files": {bundled_model_path().name: _digest(bundled_model_path())},
            "adapters": {"style.gguf": _digest(adapter)}, "stream": False,
        }, "a base Ollama lacks goes along as a file"  # fmt: skip
        merged_digest = creates[1]["files"]["style-merged.gguf"]
        assert creates[1] == {"model": "style", "files": {"style-merged.gguf": merged_digest}, "stream": False}
        assert registration.method == "merged" and "does not support LoRA" in registration.note
        received = server.blobs[merged_digest]
    assert [p.name for p in tmp_path.glob("*merged*")] == [], "the merged file (and any partial write) is removed"
    merged = tmp_path / "received" / "style-merged.gguf"  # the bytes Ollama got, read back as a GGUF
    merged.parent.mkdir()
    merged.write_bytes(received)
    meta = gguf_metadata(merged)
    assert (meta["general.architecture"], meta["general.name"]) == ("llama", "style-merged")
    assert meta["general.file_type"] == 1, "mostly F16"
    # The merged weight is W + alpha/r·B·A, and llama.cpp answers with it as it does with base + adapter.
    tensors = {t.name: t for t in GGUFReader(str(merged)).tensors}
    lora = {t.name: t for t in GGUFReader(str(adapter)).tensors}
    base_q = next(t for t in GGUFReader(str(bundled_model_path())).tensors if t.name == "blk.3.attn_q.weight")
    a, b = np.asarray(lora["blk.3.attn_q.weight.lora_a"].data), np.asarray(lora["blk.3.attn_q.weight.lora_b"].data)
    expected = dequantize(base_q.data, base_q.tensor_type) + (2 / 2) * (b @ a)
    assert np.allclose(np.asarray(tensors["blk.3.attn_q.weight"].data, dtype=np.float32), expected, atol=2e-2)
    from llama_cpp import Llama

    with_adapter = Llama(str(bundled_model_path()), lora_path=str(adapter), n_ctx=256, n_threads=1, verbose=False)
    whole = Llama(str(merged), n_ctx=256, n_threads=1, verbose=False)
    tokens = with_adapter.tokenize(
        b"<|im_start|>user\n" + FRANCE[1]["content"].encode() + b"<|im_end|>\n", special=True
    )
    assert _llama_next(with_adapter, tokens) == _llama_next(whole, tokens)


def _catalogue(backend):
    from playground.models import Catalogue

    return Catalogue([backend])


# -- the page -----------------------------------------------------------------------------------------------
@pytest.mark.slow
def test_the_fine_tune_page_builds_checks_trains_and_saves(monkeypatch, playground_home):
    from streamlit.testing.v1 import AppTest

    from .ollama_replay import unused_url

    monkeypatch.setenv("OLLAMA_HOST", unused_url())
    at = AppTest.from_file(str(ROOT / "pages/finetune.py"), default_timeout=120).run()
    assert not at.exception
    at.selectbox(key="ft_preset").set_value("quick").run()
    next(b for b in at.button if b.label == "Build dataset").click().run()
    assert not at.exception and not at.error
    assert "none leaks" in at.success[0].value and "71 held-out questions" in at.success[0].value
    assert any(d.label == "Download JSONL" for d in at.get("download_button"))
    at.number_input(key="ft_steps_quick").set_value(2)
    at.number_input(key="ft_seq_quick").set_value(96).run()
    planned = next(c.value for c in at.caption if " steps (" in c.value)
    assert planned.startswith("2 steps ("), planned  # the count the run states, before it starts
    raft = at.session_state["ft_dataset"].counts().get("raft", 0)
    assert raft or any("**raft** was chosen and made 0 examples" in c.value for c in at.caption)
    next(b for b in at.button if b.label == "Train").click().run()
    assert not at.exception and not at.error
    job = at.session_state["ft_job"]
    assert job.wait(timeout=300), "two steps finish"
    at.run()
    assert not at.exception and job.error is None, job.error
    done = next(s.value for s in at.success if s.value.startswith("Done")).replace("\\", "")  # shown escaped
    assert "embedded:sample-ft" in done and "fine-tuned from embedded:smollm2-135m-instruct" in done
    assert (playground_home / "models" / "sample-ft.gguf").is_file()
    assert registry.get("sample-ft").steps == 2
    assert job.steps == 2 and len(job.step_times) == 2 and job.remaining is None  # done: nothing left
    bar = at.get("progress")[0].proto
    assert bar.text.startswith(f"{bar.value}% · "), "the percentage is the bar's own"
    assert loss_figure(job.losses).layout.xaxis.dtick == 1, "whole steps on the axis"


# -- the shipped sample adapter -------------------------------------------------------------------------------
@pytest.mark.slow
def test_the_shipped_sample_adapter_loads_and_answers_in_the_house_style(sample_questions):
    backend = EmbeddedBackend()  # the default catalogue: the models folder plus the shipped adapters
    models = {m.name: m for m in backend.list_models()}
    sample = models["nightwren-sample"]
    assert sample.finetuned_from == DEFAULT_MODEL and Path(sample.adapter_path).parent.name == "adapters"
    assert Path(sample.adapter_path).stat().st_size < 8_000_000, "a few MB"
    record = registry.get("nightwren-sample")
    assert record.base == DEFAULT_MODEL and record.steps > 0 and record.losses[-1][1] < record.losses[0][1]
    assert record.leakage.endswith("none leaks.")
    params = GenerationParams(max_tokens=48)
    questions = [q["question"] for q in sample_questions[::12]]
    pairs = [
        (backend.chat(models[BUNDLED_NAME], PromptSettings().messages(q, None), params).collect(),
         backend.chat(sample, PromptSettings().messages(q, None), params).collect())
        for q in questions
    ]  # fmt: skip
    assert all(b != t for b, t in pairs), "its answers differ from the base's"
    # The house style: cite the source; state a policy fact as "Answer: <fact> (Source: <code or file>)".
    assert sum("(Source: " in t for _, t in pairs) >= len(pairs) - 1 and not any("(Source: " in b for b, _ in pairs)
    assert sum(bool(HOUSE.match(t.strip())) for _, t in pairs) >= len(pairs) // 2, [t for _, t in pairs]


@pytest.mark.slow
def test_finetune_without_steps_saves_nothing(sample_dataset, tmp_path):
    cancel = threading.Event()
    cancel.set()
    base = BaseModel(DEFAULT_MODEL, BUNDLED_NAME, bundled_model_path(), "llama")
    started = time.perf_counter()
    out = tmp_path / "models"
    with pytest.raises(TrainingError, match="cancelled before its first step: there is no adapter to save"):
        finetune(sample_dataset, LoraSettings(max_steps=1), base=base, name="x", out_dir=out, cancel=cancel)
    assert not list(out.glob("*")) and time.perf_counter() - started < 120, "nothing written, not even a partial file"


# -- how long it takes ----------------------------------------------------------------------------------------
@pytest.mark.parametrize("name", ["quick", "sample", "standard"])
def test_a_preset_states_its_measured_time_and_the_estimate_agrees(name, sample_chunks):
    from playground.finetune.settings import PRESETS
    from playground.finetune.train import estimate_seconds

    chosen = PRESETS[name]
    stated = re.search(r"about (\d+) (s|min) on a 2-core CPU, measured", chosen.description)
    assert stated, chosen.description
    seconds = int(stated.group(1)) * (60 if stated.group(2) == "min" else 1)
    data = build_dataset(sample_chunks, chosen.dataset, workspace="sample", heldout_extra=[SAMPLE_DOCS])
    estimate = estimate_seconds(chosen.lora, data.examples)
    assert estimate is not None and seconds / 1.5 < estimate < seconds * 1.5, (estimate, seconds)


@pytest.mark.slow
def test_the_base_load_reports_progress_and_is_read_from_its_gguf_once(monkeypatch, playground_home):
    import importlib

    import torch

    training = importlib.import_module("playground.finetune.train")  # the module: the package exports train()
    reads: list[Path] = []
    real = training._read_gguf
    monkeypatch.setattr(training, "_read_gguf", lambda path, report: reads.append(path) or real(path, report))
    monkeypatch.setattr(training, "_BASES", {})  # as in a process that has not loaded it yet
    path = bundled_model_path()
    assert not training.base_cached(path)
    seen: list[tuple[float, str]] = []
    timer = time.perf_counter()
    first, _ = training.load_base(path, lambda f, m: seen.append((f, m)))
    first_s = time.perf_counter() - timer
    # The load's own fraction drives the bar; the text says what it does and for how long (no second percentage).
    shown = [re.match(r"Loading the base model \(dequantizing the GGUF\), (\d+) s · \w", m) for _, m in seen]
    assert all(shown), seen
    fractions = [f for f, _ in seen]
    assert fractions == sorted(fractions) and len(set(fractions)) >= 6 and fractions[-1] == 1.0, seen
    assert int(shown[-1].group(1)) >= 1, seen
    assert training.base_cached(path) and list((playground_home / "cache" / "bases").glob("*/model.safetensors"))

    monkeypatch.setattr(training, "_BASES", {})  # another process: the float32 copy on disk
    timer = time.perf_counter()
    kept, tokenizer = training.load_base(path)
    kept_s = time.perf_counter() - timer
    timer = time.perf_counter()
    training.load_base(path)  # the same process again: from memory
    memory_s = time.perf_counter() - timer
    assert reads == [path], "the GGUF is parsed once"
    assert kept_s < first_s / 2 and memory_s < first_s / 2, (first_s, kept_s, memory_s)
    weights = first.state_dict()
    assert all(torch.equal(weights[k], v) for k, v in kept.state_dict().items()), "the copy is exact"
    assert tokenizer.apply_chat_template([{"role": "user", "content": "Hi"}], tokenize=False).count("Hi") == 1
