"""One fine-tune end to end: base model → training → GGUF adapter in the models folder → registry record.

Used by the CLI (in the foreground) and by the Fine-tune page (as a :class:`TrainingJob` in a
background thread that the page polls, so the loss curve draws live and Cancel works).
"""

from __future__ import annotations

import re
import threading
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from playground import config
from playground.config import Progress, no_progress
from playground.errors import PlaygroundError, TrainingError
from playground.finetune import registry
from playground.finetune.dataset import Dataset
from playground.finetune.export import export_adapter
from playground.finetune.registry import FineTune
from playground.finetune.settings import LoraSettings
from playground.finetune.train import WRITE_S, StepCallback, TrainResult, planned_steps, train
from playground.models import Catalogue, ModelInfo
from playground.models.embedded import gguf_metadata
from playground.models.ollama import OllamaBackend
from playground.workspace import slug

TRAINABLE_ARCHS = ("llama", "qwen2", "gemma", "gemma2", "gemma3", "mistral")


@dataclass(frozen=True)
class BaseModel:
    """The model a fine-tune starts from, and the GGUF file that holds its weights."""

    model_id: str  # catalogue id, recorded as lineage
    name: str  # what the adapter's metadata names as its base (``playground.base_model``)
    path: Path
    arch: str
    backend: str = "embedded"


def ollama_model_file(show: dict[str, Any]) -> Path | None:
    """The GGUF behind an Ollama model, from ``/api/show``'s modelfile ``FROM`` line, when it is a local file.

    >>> ollama_model_file({"modelfile": "# Modelfile\\nFROM /tmp\\nTEMPLATE x"})
    PosixPath('/tmp')
    >>> ollama_model_file({"modelfile": "FROM llama3.2:1b"}) is None
    True
    """
    for match in re.finditer(r"^FROM\s+(.+?)\s*$", str(show.get("modelfile") or ""), re.M):
        path = Path(match.group(1).strip('"'))
        if path.is_absolute() and path.exists():
            return path
    return None


def resolve_base(model: ModelInfo, catalogue: Catalogue | None = None) -> BaseModel:
    """The GGUF to train on for a catalogue model: an embedded model's file, or the blob behind an Ollama model."""
    if model.adapter_path:
        raise TrainingError(f"{model.id} is itself a fine-tune: train from its base, {model.finetuned_from}")
    ollama = catalogue.backends.get("ollama") if catalogue is not None else None
    if model.backend == "embedded" and model.path:
        path = Path(model.path)
    elif model.backend == "ollama" and isinstance(ollama, OllamaBackend):
        found = ollama_model_file(ollama.show(model.name))
        if found is None:
            raise TrainingError(
                f"the weights of {model.id} are not on this machine: fine-tuning an Ollama model needs Ollama "
                "running locally (its modelfile's FROM line must name a file here)"
            )
        path = found
    else:
        raise TrainingError(
            f"{model.id} has no GGUF file this machine can read: choose an embedded or local Ollama model"
        )
    arch = str(gguf_metadata(path).get("general.architecture", ""))
    if arch not in TRAINABLE_ARCHS:
        raise TrainingError(
            f"{model.id} is a {arch or 'unknown'}-architecture model; fine-tuning supports {', '.join(TRAINABLE_ARCHS)}"
        )
    return BaseModel(model.id, model.name, path, arch, model.backend)


def finetune(
    dataset: Dataset,
    lora: LoraSettings,
    *,
    base: BaseModel,
    name: str,
    out_dir: str | Path | None = None,
    corpus: dict[str, Any] | None = None,
    adapter_dtype: str = "f16",
    progress: Progress = no_progress,
    on_step: StepCallback | None = None,
    cancel: threading.Event | None = None,
    threads: int | None = None,
) -> tuple[FineTune, TrainResult]:
    """Train, write ``<out_dir>/<name>.gguf`` (default: the models folder) and record it in the registry.

    ``corpus`` (``{"workspace": name, "files": {file name: sha256}}``) records which documents the data
    came from: a workspace offers a fine-tune as its own only when it was trained on its documents.
    ``threads``: torch's CPU threads (default ``PLAYGROUND_THREADS``, else every core).
    """
    name = slug(name)
    result = train(
        dataset,
        lora,
        base_path=base.path,
        progress=lambda f, m: progress(0.97 * f, m),
        on_step=on_step,
        cancel=cancel,
        threads=threads,
    )
    if result.steps == 0:
        raise TrainingError("training was cancelled before its first step: there is no adapter to save")
    target = Path(out_dir or config.models_dir()) / f"{name}.gguf"
    progress(0.98, f"Writing the GGUF adapter to {target}")
    export_adapter(
        result.model,
        target,
        base_name=base.name,
        arch=base.arch,
        alpha=lora.alpha,
        dtype=adapter_dtype,
        name=name,
        metadata={"base_id": base.model_id, "dataset_hash": dataset.hash},
    )
    ft = FineTune(
        name=name,
        base=base.model_id,
        adapter_path=str(target),
        created=datetime.now(UTC).isoformat(timespec="seconds"),
        recipe=dataset.settings.as_dict(),
        dataset_hash=dataset.hash,
        examples=result.examples,
        config=lora.as_dict(),
        losses=result.losses,
        steps=result.steps,
        seconds=round(result.seconds, 1),
        device=result.device,
        cancelled=result.cancelled,
        leakage=dataset.leakage.summary(),
        corpus=corpus or {},
    )
    registry.save(ft)
    progress(1.0, f"Saved {target.name}: {result.steps} steps in {result.seconds:.0f} s")
    return ft, result


@dataclass
class TrainingJob:
    """A fine-tune running in a background thread; read its fields from any thread while it runs.

    It trains on ``PLAYGROUND_THREADS``, else all cores but one (:func:`playground.config.app_threads`):
    beside a browser and the server redrawing every second, torch's threads on every core wait for each
    other; on a busy 2-core machine one thread trained 4x faster than two (23 s against 90 s for the quick preset).
    """

    dataset: Dataset
    lora: LoraSettings
    base: BaseModel
    name: str
    out_dir: Path | None = None
    corpus: dict[str, Any] = field(default_factory=dict)
    state: str = "pending"  # pending, running, done, cancelled, failed
    fraction: float = 0.0
    message: str = ""
    losses: list[tuple[int, float]] = field(default_factory=list)
    error: str | None = None
    finetune: FineTune | None = None
    result: TrainResult | None = None
    started: float = 0.0  # time.time() at start
    ended: float = 0.0  # time.time() once it stopped, however it stopped
    step_times: list[float] = field(default_factory=list)  # time.time() at the end of each step
    _cancel: threading.Event = field(default_factory=threading.Event, repr=False)
    _thread: threading.Thread | None = field(default=None, repr=False)

    def start(self) -> TrainingJob:
        self.state, self.started = "running", time.time()
        self._thread = threading.Thread(target=self._run, name=f"finetune-{self.name}", daemon=True)
        self._thread.start()
        return self

    def cancel(self) -> None:
        """Stop after the current step; what was trained so far is still saved."""
        self._cancel.set()

    @property
    def running(self) -> bool:
        return self.state in ("pending", "running")

    @property
    def steps(self) -> int:
        """The steps this run makes (the figure the page and the progress message both state)."""
        return planned_steps(self.lora, len(self.dataset.examples))

    @property
    def remaining(self) -> float | None:
        """Seconds left, from the pace of the steps so far; None until two steps give a pace, and once stopped."""
        done = len(self.step_times)
        if not self.running or done < 2:
            return None
        pace = (self.step_times[-1] - self.step_times[0]) / (done - 1)
        return max(self.steps - done, 0) * pace + WRITE_S

    def _on_step(self, step: int, loss: float) -> None:
        self.losses.append((step, loss))
        self.step_times.append(time.time())

    @property
    def elapsed(self) -> float:
        """Seconds since it started, every phase included (reading the base, training, writing); 0 before."""
        if not self.started:
            return 0.0
        return (self.ended or time.time()) - self.started

    def wait(self, timeout: float | None = None) -> bool:
        if self._thread is not None:
            self._thread.join(timeout)
        return not self.running

    def _progress(self, fraction: float, message: str) -> None:
        self.fraction, self.message = fraction, message

    def _run(self) -> None:
        try:
            self.finetune, self.result = finetune(
                self.dataset,
                self.lora,
                base=self.base,
                name=self.name,
                out_dir=self.out_dir,
                corpus=self.corpus,
                progress=self._progress,
                on_step=self._on_step,
                cancel=self._cancel,
                threads=config.app_threads(),
            )
            self.state = "cancelled" if self.finetune.cancelled else "done"
        except PlaygroundError as err:
            self.error, self.state = str(err), "failed"
        except Exception as err:  # the page shows it; a background thread has nobody else to tell
            self.error, self.state = f"{type(err).__name__}: {err}", "failed"
        finally:
            self.ended = time.time()


__all__ = ["TRAINABLE_ARCHS", "BaseModel", "TrainingJob", "finetune", "ollama_model_file", "resolve_base"]
