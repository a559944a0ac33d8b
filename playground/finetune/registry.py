"""The registry of fine-tunes: what each adapter was trained from, how, and how the training went.

An adapter lives in ``$PLAYGROUND_HOME/models/<name>.gguf``, where the embedded engine lists it
as "fine-tuned from <base>" (and Compare offers it); its record sits beside it as
``<name>.finetune.json``. Adapters shipped with the playground (``playground/adapters/``) carry
their records the same way.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path
from typing import Any

from playground import config
from playground.errors import ModelNotFound
from playground.models import embedded
from playground.storage import write_atomic

RECORD_SUFFIX = embedded.RECORD_SUFFIX
SHIPPED_ADAPTERS = embedded.SHIPPED_ADAPTERS


@dataclass
class FineTune:
    """One trained adapter and its lineage."""

    name: str  # the model name in the catalogue (the adapter file's stem)
    base: str  # the base model's id, e.g. "embedded:smollm2-135m-instruct"
    adapter_path: str
    created: str  # ISO 8601, UTC
    recipe: dict[str, Any] = field(default_factory=dict)  # DatasetSettings
    dataset_hash: str = ""
    examples: int = 0
    config: dict[str, Any] = field(default_factory=dict)  # LoraSettings
    losses: list[tuple[int, float]] = field(default_factory=list)  # (step, loss)
    steps: int = 0
    seconds: float = 0.0
    device: str = "cpu"
    cancelled: bool = False
    leakage: str = ""  # the held-out check's summary line
    corpus: dict[str, Any] = field(default_factory=dict)  # {"workspace": name, "files": {file name: sha256}}
    ollama: str | None = None  # the Ollama model it was registered as, if any

    @property
    def model_id(self) -> str:
        return f"embedded:{self.name}"

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> FineTune:
        known = {f.name for f in fields(cls)}
        ft = cls(**{k: v for k, v in data.items() if k in known})
        ft.losses = [(int(s), float(loss)) for s, loss in ft.losses]
        return ft


def record_path(adapter_path: str | Path) -> Path:
    """Where an adapter's record lives: beside it.

    >>> record_path("/m/nightwren-sample.gguf").name
    'nightwren-sample.finetune.json'
    """
    path = Path(adapter_path)
    return path.with_name(path.stem + RECORD_SUFFIX)


def save(ft: FineTune) -> Path:
    """Write (or replace) a fine-tune's record beside its adapter; the adapter path is stored relative to it."""
    path = record_path(ft.adapter_path)
    data = ft.as_dict() | {"adapter_path": Path(ft.adapter_path).name}
    return write_atomic(path, json.dumps(data, indent=1))


def load(path: str | Path) -> FineTune:
    path = Path(path)
    data = json.loads(path.read_text(encoding="utf-8"))
    ft = FineTune.from_dict(data)
    ft.adapter_path = str(path.parent / Path(ft.adapter_path).name)
    return ft


def folders() -> list[Path]:
    """Where fine-tunes are found: the models folder first (it wins on a name clash), then the shipped ones."""
    return [config.models_dir(), SHIPPED_ADAPTERS]


def list_finetunes() -> list[FineTune]:
    """Every recorded fine-tune whose adapter file exists, newest first; unreadable records are skipped."""
    seen: dict[str, FineTune] = {}
    for folder in folders():
        for path in sorted(folder.glob(f"*{RECORD_SUFFIX}")) if folder.is_dir() else []:
            try:
                ft = load(path)
            except (OSError, ValueError, TypeError):
                continue
            if Path(ft.adapter_path).is_file():
                seen.setdefault(ft.name, ft)
    return sorted(seen.values(), key=lambda ft: ft.created, reverse=True)


def get(name: str) -> FineTune:
    for ft in list_finetunes():
        if name in (ft.name, ft.model_id):
            return ft
    raise ModelNotFound(
        f"no fine-tune named {name!r}: train one on the Fine-tune page or with `python -m playground finetune`"
    )


__all__ = [
    "RECORD_SUFFIX",
    "SHIPPED_ADAPTERS",
    "FineTune",
    "folders",
    "get",
    "list_finetunes",
    "load",
    "record_path",
    "save",
]
