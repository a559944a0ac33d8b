"""What test modules share besides fixtures: paths, the scripted backend, a prompt, and a LoRA adapter writer.

Fixtures live in ``conftest.py``; everything a test imports by name lives here, so no test
module imports another one.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from playground.config import GenerationParams
from playground.models.base import Generation, Message, Metrics, ModelInfo

ROOT = Path(__file__).resolve().parent.parent
SAMPLE_DOCS = ROOT / "sample_docs"


@contextlib.contextmanager
def home_at(home: Path) -> Iterator[Path]:
    """``PLAYGROUND_HOME`` set to ``home`` while a module- or session-scoped fixture builds (``monkeypatch`` lives
    one test only), then restored."""
    old = os.environ.get("PLAYGROUND_HOME")
    os.environ["PLAYGROUND_HOME"] = str(home)
    try:
        yield home
    finally:
        if old is None:
            os.environ.pop("PLAYGROUND_HOME", None)
        else:
            os.environ["PLAYGROUND_HOME"] = old


FRANCE: list[Message] = [
    {"role": "system", "content": "You are a helpful assistant."},
    {"role": "user", "content": "What is the capital of France?"},
]


class FakeBackend:
    """A scripted backend: answers with ``reply`` (or echoes the question); ``fail`` names models that raise.

    Core tests use the real embedded engine; this stands in only where a test is about something
    else (error isolation, UI wiring), as simonw/llm does with its mock model.
    """

    name = "fake"

    def __init__(self, reply: str | None = None, fail: dict[str, Exception] | None = None):
        self.reply = reply
        self.fail = fail or {}
        self.calls: list[tuple[str, list[Message]]] = []

    def list_models(self) -> list[ModelInfo]:
        return [
            ModelInfo(backend="fake", name="base", family="fake", context_length=2048),
            ModelInfo(backend="fake", name="tuned", family="fake", context_length=2048, finetuned_from="fake:base"),
        ]

    def chat(self, model: ModelInfo, messages: list[Message], params: GenerationParams) -> Generation:
        counts = Metrics(context_window=model.context_length)

        def pieces() -> Iterator[str]:
            self.calls.append((model.name, messages))
            if model.name in self.fail:
                raise self.fail[model.name]
            text = self.reply if self.reply is not None else f"{model.name} says: {messages[-1]['content'][:60]}"
            counts.prompt_tokens = sum(len(m["content"].split()) for m in messages)
            for word in text.split(" "):
                counts.completion_tokens += 1
                yield word + " "

        return Generation(pieces(), lambda: counts)


def table_shown(table: Any) -> pd.DataFrame:
    """An ``st.table`` (``ui.text_table``) as a person reads it: the page escapes each cell and header so that
    it shows as written; this undoes that escaping.

    >>> import pandas as pd
    >>> class Table: value = pd.DataFrame([{"model": "smollm2\\-135m"}])
    >>> table_shown(Table()).to_dict("records")
    [{'model': 'smollm2-135m'}]
    """
    import re

    def unescape(value: Any) -> Any:
        return re.sub(r"\\(.)", r"\1", value) if isinstance(value, str) else value

    return table.value.map(unescape).rename(columns=unescape)


def write_lora_adapter(path: Path, rank: int = 4, scale: float = 0.3, seed: int = 0) -> Path:
    """A real GGUF LoRA adapter for the bundled model: random low-rank deltas on the q and v projections.

    ``scale`` 0.3 is large enough to change a greedy answer (0.05 is not).
    """
    from gguf import GGUFReader, GGUFWriter

    from playground.models.embedded import BUNDLED_NAME, bundled_model_path

    base = GGUFReader(str(bundled_model_path()))
    rng = np.random.default_rng(seed)
    writer = GGUFWriter(str(path), arch="llama")
    writer.add_string("general.type", "adapter")
    writer.add_string("adapter.type", "lora")
    writer.add_float32("adapter.lora.alpha", float(rank))
    writer.add_string("playground.base_model", BUNDLED_NAME)
    for tensor in base.tensors:
        if not tensor.name.endswith(("attn_q.weight", "attn_v.weight")):
            continue
        n_in, n_out = (int(x) for x in tensor.shape[:2])  # GGUF order: ne0 = inputs, ne1 = outputs
        # numpy shapes are reversed ggml shapes: lora_a is ne=[n_in, r], lora_b is ne=[r, n_out]
        writer.add_tensor(tensor.name + ".lora_a", (rng.standard_normal((rank, n_in)) * scale).astype(np.float32))
        writer.add_tensor(tensor.name + ".lora_b", (rng.standard_normal((n_out, rank)) * scale).astype(np.float32))
    writer.write_header_to_file()
    writer.write_kv_data_to_file()
    writer.write_tensors_to_file()
    writer.close()
    return path
