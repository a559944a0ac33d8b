"""LoRA training on a GGUF base: transformers dequantizes it, PEFT adds the adapter, a plain loop trains it.

The loop is deliberately small (no ``Trainer``): seeded, one optimizer step per batch,
the loss only on the assistant's tokens (rendered with the model's own chat template,
the one the embedded engine answers with), progress and the loss after every step,
and a ``threading.Event`` to stop between steps. It runs on a GPU when torch sees one,
otherwise on the CPU with ``PLAYGROUND_THREADS`` threads.
"""

from __future__ import annotations

import contextlib
import copy
import hashlib
import json
import math
import random
import shutil
import threading
import time
import warnings
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from playground import config
from playground.config import Progress, no_progress
from playground.errors import DataLeakError, TrainingError
from playground.finetune.dataset import Dataset, Example
from playground.finetune.settings import LoraSettings
from playground.models.base import Message
from playground.storage import replace_dir

IGNORE = -100  # label of a token the loss skips (prompt, padding)
LOAD_SHARE = 0.1  # of train()'s progress bar: a minute the first time a base is read, seconds once it is cached
StepCallback = Callable[[int, float], None]  # (step, loss) after every optimizer step


def device() -> str:
    """Where training runs: the first GPU when torch sees one, else the CPU."""
    import torch

    return "cuda" if torch.cuda.is_available() else "cpu"


def compute_dtype(precision: str, where: str) -> Any:
    """The autocast dtype for ``LoraSettings.precision`` on ``where`` (None: plain float32)."""
    import torch

    if precision == "float32":
        return None
    if precision == "bfloat16":
        return torch.bfloat16
    if where.startswith("cuda"):
        return torch.bfloat16 if torch.cuda.is_bf16_supported() else None
    # Without native bf16 instructions, emulated bf16 is slower than float32.
    native = (
        getattr(torch.cpu, "_is_avx512_bf16_supported", lambda: False)()
        or getattr(torch.cpu, "_is_amx_tile_supported", lambda: False)()
    )
    return torch.bfloat16 if native else None


@dataclass
class Encoded:
    ids: list[int]
    labels: list[int]  # IGNORE except on the assistant's answer (and its end-of-turn token)


@dataclass
class TrainResult:
    """A trained adapter and how it went. ``model`` is the PEFT model (base + LoRA), ready for export."""

    model: Any
    tokenizer: Any
    settings: LoraSettings
    losses: list[tuple[int, float]] = field(default_factory=list)  # (step, loss), one per optimizer step
    steps: int = 0
    total_steps: int = 0
    cancelled: bool = False
    seconds: float = 0.0
    tokens: int = 0  # tokens the model read (prompts and answers)
    answer_tokens: int = 0  # tokens the loss was computed on
    examples: int = 0
    skipped: int = 0  # examples whose prompt alone did not fit max_seq_length
    device: str = "cpu"
    precision: str = "float32"
    step_seconds: list[float] = field(default_factory=list)

    @property
    def final_loss(self) -> float | None:
        """Mean loss of the last few steps (one step alone is noisy)."""
        tail = [loss for _, loss in self.losses[-5:]]
        return sum(tail) / len(tail) if tail else None

    @property
    def tokens_per_s(self) -> float:
        return self.tokens / sum(self.step_seconds) if self.step_seconds else 0.0


# -- the base model --------------------------------------------------------------------------------
# Keep a float32 copy on disk only for bases up to this size (SmolLM2-135M: 540 MB); a bigger one re-reads its GGUF.
CACHE_MAX_BYTES = 2 * 2**30


class _LoadReport:
    """Progress of one base load: its own fraction, the seconds since it began, and what it is doing.

    Sent when the activity changes, else at most once a second, so the CLI prints a line a second, not one a tensor.
    """

    def __init__(self, progress: Progress) -> None:
        self.progress, self.started, self.last = progress, time.perf_counter(), -1.0
        self.how = self.doing = ""

    def __call__(self, fraction: float, doing: str, detail: str = "") -> None:
        now = time.perf_counter()
        if doing != self.doing or now - self.last >= 1.0 or fraction >= 1.0:
            self.doing, self.last = doing, now
            self.progress(
                fraction,
                # no percentage of its own: beside the whole run's bar, "40 %" of the load read as a broken bar
                f"Loading the base model ({self.how}), {now - self.started:.0f} s · "
                f"{doing}{detail}",
            )


@contextlib.contextmanager
def _quiet_loading(on_tensor: Callable[[int, int], None] | None = None) -> Iterator[None]:
    """No tensor-by-tensor progress bars (they would flood the CLI's stderr) and no library deprecation chatter.

    ``on_tensor(done, total)`` is told, in place of that bar, as transformers dequantizes each tensor of a GGUF.
    """
    from transformers import modeling_gguf_pytorch_utils as gguf_utils
    from transformers.utils import logging as hf_logging

    def counting(items: Sequence[Any], *args: Any, **kwargs: Any) -> Iterator[Any]:
        items = list(items)
        for done, item in enumerate(items):
            if on_tensor is not None:
                on_tensor(done, len(items))
            yield item

    hf_logging.disable_progress_bar()
    original = getattr(gguf_utils, "tqdm", None)
    if original is not None:
        gguf_utils.tqdm = counting
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", FutureWarning)
            yield
    finally:
        if original is not None:
            gguf_utils.tqdm = original
        hf_logging.enable_progress_bar()


def _read_gguf(path: Path, report: _LoadReport) -> tuple[Any, Any]:
    """Tokenizer and float32 model from the GGUF itself, the slow way.

    Most of the time goes to parsing the file's metadata (the vocabulary, 49k tokens in the bundled model,
    is read once for the tokenizer, once for the configuration, once more for the weights) and to mapping
    tensor names; dequantizing is the last tenth. The fractions below follow those shares of the time.
    """
    import torch
    from transformers import AutoConfig, AutoModelForCausalLM, AutoTokenizer

    report.how = "dequantizing the GGUF"
    folder, name = str(path.parent), path.name
    with _quiet_loading(lambda done, total: report(0.75 + 0.1 * done / total, "tensors", f" {done + 1}/{total}")):
        report(0.0, "reading the vocabulary")
        tokenizer = AutoTokenizer.from_pretrained(folder, gguf_file=name)
        report(0.25, "reading the configuration")
        base_config = AutoConfig.from_pretrained(folder, gguf_file=name)
        report(0.4, "mapping the tensors")
        model = AutoModelForCausalLM.from_pretrained(folder, gguf_file=name, config=base_config, dtype=torch.float32)
    return model, tokenizer


def _cache_dir(path: Path) -> Path:
    """Where the float32 copy of the GGUF at ``path`` is kept, named by its path, size and time and the libraries.

    A GGUF replaced in place, or a transformers that maps tensors differently, gets a new folder.
    """
    from importlib.metadata import version

    stat = path.stat()
    key = f"{path.resolve()}|{stat.st_size}|{stat.st_mtime_ns}|{version('transformers')}|{version('gguf')}"
    return config.home() / "cache" / "bases" / hashlib.sha256(key.encode()).hexdigest()[:16]


def _read_cache(folder: Path, report: _LoadReport) -> tuple[Any, Any] | None:
    """The model and tokenizer kept by :func:`_write_cache`, or None when there is none or it cannot be read."""
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer

    if not (folder / "model.safetensors").is_file():
        return None
    report.how = "the float32 copy an earlier run kept"
    report(0.0, f"reading {folder}")
    try:
        with _quiet_loading():
            tokenizer = AutoTokenizer.from_pretrained(str(folder))
            model = AutoModelForCausalLM.from_pretrained(str(folder), dtype=torch.float32)
    except Exception:  # debris of a full disk, a file cut short: the GGUF is still there to read
        return None
    return model, tokenizer


def _write_cache(folder: Path, gguf_path: Path, model: Any, tokenizer: Any) -> None:
    """Keep ``model`` (float32 safetensors) and ``tokenizer`` for later processes; the one base kept on disk."""
    from safetensors.torch import save_model

    def fill(tmp: Path) -> None:
        plain = copy.deepcopy(model.config)
        if hasattr(plain, "quantization_config"):
            del plain.quantization_config  # the weights are plain float32 now: read them without the GGUF loader
        plain.save_pretrained(tmp)
        save_model(model, str(tmp / "model.safetensors"), metadata={"format": "pt"})
        tokenizer.save_pretrained(str(tmp))
        (tmp / "source.json").write_text(json.dumps({"gguf": str(gguf_path.resolve())}), encoding="utf-8")

    if sum(p.numel() * p.element_size() for p in model.parameters()) > CACHE_MAX_BYTES:
        return
    try:
        replace_dir(folder, fill, complete=lambda f: (f / "model.safetensors").is_file())
        for other in folder.parent.iterdir():
            if other != folder and not other.name.startswith("."):
                shutil.rmtree(other, ignore_errors=True)
    except (OSError, ValueError, RuntimeError):
        pass  # a full disk costs the next process the slow load, not this run its adapter


_BASES: dict[tuple[str, int, int], tuple[Any, Any]] = {}
_BASES_LOCK = threading.Lock()


def _memory_key(path: Path) -> tuple[str, int, int]:
    stat = path.stat()
    return str(path.resolve()), stat.st_size, stat.st_mtime_ns


def base_cached(path: str | Path) -> bool:
    """Whether :func:`load_base` finds ``path``'s model in memory or on disk (seconds rather than a minute)."""
    path = Path(path)
    if not path.is_file():
        return False
    return _memory_key(path) in _BASES or (_cache_dir(path) / "model.safetensors").is_file()


def load_base(path: str | Path, progress: Progress = no_progress) -> tuple[Any, Any]:
    """``(model, tokenizer)`` of a GGUF, dequantized to float32 by transformers.

    The first load parses and dequantizes the GGUF (~40 s for the bundled model on 2 idle cores, twice
    that on a busy machine) and keeps a float32 copy under ``PLAYGROUND_HOME/cache/bases`` that later
    processes read in a few seconds; within a process the model stays in memory. Each call returns a
    fresh copy of the model, because PEFT wraps the layers of the model it is given. ``progress`` hears
    the load's own fraction and elapsed seconds, e.g.
    ``"Loading the base model (dequantizing the GGUF), 31 s · tensors 110/272"``.
    """
    path = Path(path)
    if not path.is_file():
        raise TrainingError(f"the base model file {path} does not exist")
    report = _LoadReport(progress)
    key = _memory_key(path)
    with _BASES_LOCK:
        if key in _BASES:
            report.how = "already in memory"
        else:
            _BASES.clear()  # one base in memory at a time: they are hundreds of MB each
            folder = _cache_dir(path)
            loaded = _read_cache(folder, report)
            if loaded is None:
                try:
                    loaded = _read_gguf(path, report)
                except (ValueError, OSError, KeyError, RuntimeError) as err:
                    raise TrainingError(
                        f"transformers could not load {path.name} for training: {err}. Fine-tuning needs a GGUF of "
                        "a llama, qwen2 or gemma-family model"
                    ) from err
                report(0.85, "keeping a float32 copy for the next run")
                _write_cache(folder, path, *loaded)
            _BASES[key] = loaded
        model, tokenizer = _BASES[key]
        report(0.92, "copying the weights for this run")
        fresh = copy.deepcopy(model)
    report(1.0, "ready")
    return fresh, tokenizer


# -- data ------------------------------------------------------------------------------------------
def encode(messages: list[Message], tokenizer: Any, max_len: int) -> Encoded | None:
    """Token ids of a conversation and labels that train only its last (assistant) message.

    The prompt is tokenized exactly as at answer time (chat template, generation prompt), and the answer
    follows it, so what is learned is what the model later continues with. None if the prompt leaves no
    room for at least a few answer tokens.
    """
    prompt = tokenizer.apply_chat_template(messages[:-1], tokenize=False, add_generation_prompt=True)
    full = tokenizer.apply_chat_template(messages, tokenize=False)
    if not full.startswith(prompt):
        raise TrainingError("the model's chat template renders the answer's prompt differently: cannot mask it")
    prompt_ids = tokenizer(prompt, add_special_tokens=False)["input_ids"]
    answer_ids = tokenizer(full[len(prompt) :], add_special_tokens=False)["input_ids"]
    room = max_len - len(prompt_ids)
    if room < min(8, len(answer_ids)):
        return None
    answer_ids = answer_ids[:room]
    return Encoded(prompt_ids + answer_ids, [IGNORE] * len(prompt_ids) + answer_ids)


def batches(lengths: Sequence[int], batch_size: int, rng: random.Random) -> list[list[int]]:
    """Shuffled batches of similar lengths: shuffle, sort within windows of 16 batches, shuffle the batches.

    Less padding than a plain shuffle, still a different order every epoch.

    >>> b = batches([5, 50, 6, 51, 7, 52], 2, random.Random(0))
    >>> sorted(i for batch in b for i in batch)
    [0, 1, 2, 3, 4, 5]
    """
    order = list(range(len(lengths)))
    rng.shuffle(order)
    window = batch_size * 16
    out: list[list[int]] = []
    for start in range(0, len(order), window):
        chunk = sorted(order[start : start + window], key=lambda i: lengths[i])
        out.extend(chunk[i : i + batch_size] for i in range(0, len(chunk), batch_size))
    rng.shuffle(out)
    return out


def collate(items: list[Encoded], pad_id: int) -> dict[str, Any]:
    import torch

    width = max(len(e.ids) for e in items)
    ids = torch.full((len(items), width), pad_id, dtype=torch.long)
    labels = torch.full((len(items), width), IGNORE, dtype=torch.long)
    mask = torch.zeros((len(items), width), dtype=torch.long)
    for row, e in enumerate(items):
        ids[row, : len(e.ids)] = torch.tensor(e.ids)
        labels[row, : len(e.labels)] = torch.tensor(e.labels)
        mask[row, : len(e.ids)] = 1
    return {"input_ids": ids, "attention_mask": mask, "labels": labels}


# -- the step --------------------------------------------------------------------------------------
def answer_loss(model: Any, batch: dict[str, Any]) -> Any:
    """Mean cross-entropy over the answer tokens, computing the vocabulary projection only there.

    The same loss as ``model(**batch).loss``; skipping the prompt's logits saves a third of a small model's work.
    """
    import torch.nn.functional as F

    inner = model.get_base_model() if hasattr(model, "get_base_model") else model
    decoder = getattr(inner, inner.base_model_prefix, None)
    head = inner.get_output_embeddings()
    if decoder is None or head is None or getattr(inner.config, "final_logit_softcapping", None):
        return model(**batch).loss  # an architecture this shortcut does not know: the library's own loss
    hidden = decoder(input_ids=batch["input_ids"], attention_mask=batch["attention_mask"]).last_hidden_state
    targets = batch["labels"][:, 1:]
    keep = targets != IGNORE
    logits = head(hidden[:, :-1][keep])
    return F.cross_entropy(logits.float(), targets[keep])


def train_step(
    model: Any, batch: dict[str, Any], optimizer: Any, scheduler: Any | None = None, dtype: Any = None
) -> float:
    """One optimizer step on one batch (under ``dtype`` autocast when given); returns its loss."""
    import contextlib

    import torch

    device_type = batch["input_ids"].device.type
    with torch.autocast(device_type, dtype=dtype) if dtype is not None else contextlib.nullcontext():
        loss = answer_loss(model, batch)
    loss.backward()
    torch.nn.utils.clip_grad_norm_([p for p in model.parameters() if p.requires_grad], 1.0)
    optimizer.step()
    if scheduler is not None:
        scheduler.step()
    optimizer.zero_grad(set_to_none=True)
    return float(loss.detach())


def lr_factor(step: int, total: int) -> float:
    """Linear warm-up over the first tenth, then cosine decay to a tenth of the peak.

    >>> [round(lr_factor(s, 20), 2) for s in (0, 1, 2, 10, 19)]
    [0.33, 0.67, 1.0, 0.59, 0.1]
    """
    warmup = max(1, total // 10)
    if step < warmup:
        return (step + 1) / (warmup + 1)
    progress = (step - warmup) / max(1, total - warmup - 1)
    return 0.1 + 0.9 * 0.5 * (1 + math.cos(math.pi * min(progress, 1.0)))


def lora_config(settings: LoraSettings, n_layers: int | None = None) -> Any:
    """PEFT's config for ``settings``; ``n_layers`` (the model's block count) is needed for ``top_layers``."""
    from peft import LoraConfig

    layers = None
    if settings.top_layers and n_layers:
        if settings.top_layers > n_layers:
            raise TrainingError(f"LoraSettings.top_layers={settings.top_layers}: the model has only {n_layers} blocks")
        layers = list(range(n_layers - settings.top_layers, n_layers))
    return LoraConfig(
        layers_to_transform=layers,
        r=settings.rank,
        lora_alpha=settings.alpha,  # type: ignore[arg-type]  # annotated int; scaling is alpha / r either way
        lora_dropout=settings.dropout,
        target_modules=list(settings.target_modules),
        bias="none",
        task_type="CAUSAL_LM",
    )


# -- how long it takes -----------------------------------------------------------------------------
# Measured on a 2-core AMD EPYC (AVX2, no bfloat16: float32) shared with other work, the bundled SmolLM2-135M,
# one torch thread (the web app's setting on 2 cores): a step costs STEP_S plus TOKEN_S per token of its batch.
# 20 steps at a quiet moment fit 0.2 s + 8.2 ms/token (within 5 %); whole runs, the cores busier, took
# 15-35 % longer (quick: 6 steps in 20 s; sample: 125 steps in 505 s), so the constants sit between.
# Two threads on idle cores take about 0.75 of that; on cores busy with other work, several times more.
CPU_STEP_S = 0.25
CPU_TOKEN_S = 0.0095
CPU_LOAD_S = {"gguf": 40.0, "cache": 6.0}  # reading the base: its GGUF the first time, the float32 copy later
WRITE_S = 2.0  # exporting the GGUF adapter


def example_tokens(example: Example) -> float:
    """About how many tokens an example is, from its characters (SmolLM2's tokenizer and chat template, ±10 %).

    >>> round(example_tokens(Example("qa", [{"role": "user", "content": "x" * 343}])))
    112
    """
    return 12.3 + sum(len(m["content"]) for m in example.messages) / 3.43


def duration_text(seconds: float) -> str:
    """A duration as a person reads it.

    >>> [duration_text(s) for s in (4.4, 59.6, 185, 3725)]
    ['4 s', '1 min 00 s', '3 min 05 s', '1 h 02 min']
    """
    whole = round(seconds)
    if whole < 60:
        return f"{whole} s"
    if whole < 3600:
        return f"{whole // 60} min {whole % 60:02d} s"
    return f"{whole // 3600} h {whole % 3600 // 60:02d} min"


def planned_steps(settings: LoraSettings, examples: int) -> int:
    """The optimizer steps ``settings`` make of ``examples``: one per batch, each epoch, capped by max_steps.

    >>> quick = LoraSettings(epochs=1, max_steps=6, batch_size=4, max_seq_length=160)
    >>> planned_steps(quick, 14), planned_steps(quick, 400)  # 14 examples are 4 batches, fewer than the cap
    (4, 6)
    """
    steps = math.ceil(examples / settings.batch_size) * settings.epochs
    return min(steps, settings.max_steps) if settings.max_steps else steps


def estimate_seconds(
    settings: LoraSettings, examples: Sequence[Example], base_path: str | Path | None = None, where: str = "cpu"
) -> float | None:
    """About how long a fine-tune takes on a 2-core CPU, from Train to the saved adapter.

    The measured per-step time (``CPU_STEP_S``, ``CPU_TOKEN_S``) times the steps ``settings`` make of
    ``examples``, plus reading the base (its GGUF, or the copy :func:`load_base` keeps) and writing the
    adapter. ``base_path`` None: the bundled model, already cached. None for another base or off the
    CPU, where nothing was measured.

    >>> quick = LoraSettings(epochs=1, max_steps=6, batch_size=4, max_seq_length=160)
    >>> examples = [Example("qa", [{"role": "user", "content": "x" * 220}])] * 400
    >>> round(estimate_seconds(quick, examples))  # 6 steps of 4 × 76 tokens, the base read from its copy
    27
    >>> estimate_seconds(quick, examples, where="cuda") is None
    True
    """
    from playground.models.embedded import bundled_model_path

    cached = True
    if base_path is not None:
        if Path(base_path).resolve() != bundled_model_path().resolve():
            return None
        cached = base_cached(base_path)
    if not where.startswith("cpu") or not examples:
        return None
    tokens = sum(min(example_tokens(e), settings.max_seq_length) for e in examples) / len(examples)
    steps = planned_steps(settings, len(examples))
    step = CPU_STEP_S + CPU_TOKEN_S * min(settings.batch_size, len(examples)) * tokens
    return CPU_LOAD_S["cache" if cached else "gguf"] + steps * step + WRITE_S


def train(
    data: Dataset | Sequence[Example],
    settings: LoraSettings,
    *,
    base_path: str | Path,
    progress: Progress = no_progress,
    on_step: StepCallback | None = None,
    cancel: threading.Event | None = None,
    run_on: str | None = None,
    threads: int | None = None,
) -> TrainResult:
    """Train a LoRA adapter on ``data`` over the GGUF at ``base_path``.

    A :class:`Dataset` whose leakage check still has leaking examples is refused
    (:class:`~playground.errors.DataLeakError`). ``cancel`` stops after the current step; the
    result then has ``cancelled=True`` and the adapter as trained so far. ``threads``: torch's CPU
    threads (default ``PLAYGROUND_THREADS``, else every core).
    """
    import torch
    from peft import get_peft_model

    if isinstance(data, Dataset):
        if not data.leakage.clean:
            raise DataLeakError(
                f"refusing to train: {len(data.leakage.leaks) - data.leakage.dropped} examples contain held-out "
                "evaluation questions; rebuild the dataset with leaking examples dropped"
            )
        examples = list(data.examples)
    else:
        examples = list(data)
    if not examples:
        raise TrainingError("the dataset is empty: build it from documents first")
    started = time.perf_counter()
    where = run_on or device()
    threads_before = torch.get_num_threads()
    torch.set_num_threads(threads or config.threads())
    try:
        base, tokenizer = load_base(base_path, lambda f, m: progress(LOAD_SHARE * f, m))
        encoded = [encode(e.messages, tokenizer, settings.max_seq_length) for e in examples]
        kept = [e for e in encoded if e is not None]
        if not kept:
            raise TrainingError(
                f"no example fits LoraSettings.max_seq_length={settings.max_seq_length}: raise it (RAFT examples "
                "need about 150 tokens per passage)"
            )
        rng = random.Random(settings.seed)
        torch.manual_seed(settings.seed)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", FutureWarning)  # peft asks transformers a deprecated question
            # LoRA A is drawn from torch's seeded generator.
            model = get_peft_model(base, lora_config(settings, base.config.num_hidden_layers))
        model.to(where)
        model.train()
        lengths = [len(e.ids) for e in kept]
        total = planned_steps(settings, len(kept))
        optimizer = torch.optim.AdamW(
            [p for p in model.parameters() if p.requires_grad], lr=settings.learning_rate, weight_decay=0.0
        )
        scheduler = torch.optim.lr_scheduler.LambdaLR(optimizer, lambda s: lr_factor(s, total))
        dtype = compute_dtype(settings.precision, where)
        pad_id = tokenizer.pad_token_id if tokenizer.pad_token_id is not None else tokenizer.eos_token_id
        result = TrainResult(
            model,
            tokenizer,
            settings,
            total_steps=total,
            examples=len(kept),
            skipped=len(encoded) - len(kept),
            device=where,
        )
        precision = "bfloat16" if dtype is not None else "float32"
        progress(
            LOAD_SHARE,
            f"Training {total} steps on {where} ({precision}): {len(kept)} examples, batch {settings.batch_size}",
        )
        result.precision = precision
        step = 0
        while step < total:
            for batch_ids in batches(lengths, settings.batch_size, rng):
                if step >= total:
                    break
                if cancel is not None and cancel.is_set():
                    result.cancelled = True
                    break
                items = [kept[i] for i in batch_ids]
                batch = {k: v.to(where) for k, v in collate(items, pad_id).items()}
                t0 = time.perf_counter()
                loss = train_step(model, batch, optimizer, scheduler, dtype)
                result.step_seconds.append(time.perf_counter() - t0)
                if not math.isfinite(loss):
                    raise TrainingError(
                        f"the loss became {loss} at step {step + 1}: lower LoraSettings.learning_rate="
                        f"{settings.learning_rate}"
                    )
                step += 1
                result.steps = step
                result.losses.append((step, loss))
                result.tokens += sum(len(e.ids) for e in items)
                result.answer_tokens += int((batch["labels"] != IGNORE).sum())
                if on_step is not None:
                    on_step(step, loss)
                progress(LOAD_SHARE + (1 - LOAD_SHARE) * step / total, f"Step {step}/{total} · loss {loss:.3f}")
            if result.cancelled:
                break
        model.eval()
        result.seconds = time.perf_counter() - started
        return result
    finally:
        torch.set_num_threads(threads_before)


__all__ = [
    "IGNORE",
    "Encoded",
    "TrainResult",
    "answer_loss",
    "base_cached",
    "device",
    "duration_text",
    "encode",
    "estimate_seconds",
    "example_tokens",
    "load_base",
    "planned_steps",
    "train",
    "train_step",
]
