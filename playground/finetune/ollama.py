"""Register a fine-tune in Ollama: the adapter on its base when Ollama takes it, else a merged model.

The request is the documented one (``POST /api/blobs/sha256:<digest>`` for each file, then
``POST /api/create``)::

    {"model": "nightwren-sample", "from": "llama3.2:1b", "adapters": {"nightwren-sample.gguf": "sha256:…"}}

A base that Ollama does not have (the embedded SmolLM2) is uploaded too and named under ``files``.
When Ollama refuses the adapter (some architectures take no LoRA), the adapter is merged into the
base's weights here and the merged GGUF is created instead, under the same name. Either way the
lineage is recorded, so the Ollama model lists as "fine-tuned from <base>".
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from playground.config import Progress, no_progress
from playground.errors import BackendError, BackendUnavailable, TrainingError
from playground.finetune import registry
from playground.finetune.export import write_gguf
from playground.finetune.pipeline import BaseModel
from playground.finetune.registry import FineTune
from playground.models.ollama import OllamaBackend, record_lineage


@dataclass
class Registration:
    model: str  # the Ollama model name
    method: str  # "adapter" or "merged"
    base: str  # the base model id recorded as lineage
    blobs: dict[str, str] = field(default_factory=dict)  # file name -> digest uploaded
    note: str = ""  # why the fallback was taken


def merge_adapter(adapter_path: str | Path, base_path: str | Path, out_path: str | Path) -> Path:
    """A full GGUF: the base with ``W + alpha/r · B·A`` in every adapted tensor (as F16), the rest copied as is.

    Both files are in GGUF layout, so the adapter's q/k rows already match the base's permuted ones.
    """
    from gguf import GGMLQuantizationType, GGUFReader, GGUFValueType, GGUFWriter
    from gguf.quants import dequantize

    adapter, base = GGUFReader(str(adapter_path)), GGUFReader(str(base_path))
    alpha_field = adapter.fields.get("adapter.lora.alpha")
    if alpha_field is None:
        raise TrainingError(f"{adapter_path} is not a GGUF LoRA adapter (no adapter.lora.alpha)")
    alpha = float(alpha_field.contents())
    lora = {t.name: t for t in adapter.tensors}
    arch = str(base.fields["general.architecture"].contents())
    out_path = Path(out_path)
    writer = GGUFWriter(None, arch=arch)
    for name, f in base.fields.items():
        if name.startswith("GGUF.") or name in ("general.architecture", "general.name", "general.file_type"):
            continue
        if not f.types:
            continue
        sub_type = f.types[-1] if f.types[0] == GGUFValueType.ARRAY else None
        writer.add_key_value(name, f.contents(), f.types[0], sub_type=sub_type)
    writer.add_string("general.name", out_path.stem)  # replaces the base's name
    writer.add_uint32("general.file_type", 1)  # mostly F16
    merged = 0
    for t in base.tensors:
        a, b = lora.get(f"{t.name}.lora_a"), lora.get(f"{t.name}.lora_b")
        if a is None or b is None:
            writer.add_tensor(t.name, t.data, raw_dtype=t.tensor_type)  # quantized bytes, copied as they are
            continue
        weight = dequantize(t.data, t.tensor_type).astype(np.float32)
        a_np = np.asarray(a.data, dtype=np.float32).reshape(int(a.shape[1]), int(a.shape[0]))  # [r, n_in]
        b_np = np.asarray(b.data, dtype=np.float32).reshape(int(b.shape[1]), int(b.shape[0]))  # [n_out, r]
        weight = weight + (alpha / a_np.shape[0]) * (b_np @ a_np)
        writer.add_tensor(t.name, weight.astype(np.float16), raw_dtype=GGMLQuantizationType.F16)
        merged += 1
    if not merged:
        raise TrainingError(f"no tensor of {adapter_path} matches {base_path}: is the adapter for this base?")
    return write_gguf(writer, out_path)


def _refused(err: BackendError) -> bool:
    """Whether Ollama answered (and said no), as opposed to not being reachable at all."""
    return not isinstance(err, BackendUnavailable)


def register_ollama(
    ft: FineTune,
    *,
    base: BaseModel,
    backend: OllamaBackend,
    name: str | None = None,
    progress: Progress = no_progress,
) -> Registration:
    """Create an Ollama model from a fine-tune (adapter on its base, or merged), record lineage and the registry."""
    model = name or ft.name
    adapter = Path(ft.adapter_path)
    blobs: dict[str, str] = {}

    def upload(path: Path) -> str:
        progress(0.1, f"Uploading {path.name} to Ollama")
        blobs[path.name] = backend.upload_blob(path)
        return blobs[path.name]

    adapter_digest = upload(adapter)
    # Ollama has an Ollama base already; any other base goes along as its GGUF file.
    from_, files = (base.name, None) if base.backend == "ollama" else (None, {base.path.name: upload(base.path)})
    progress(0.5, f"Creating {model} in Ollama")
    method, note = "adapter", ""
    try:
        backend.create(model, from_=from_, files=files, adapters={adapter.name: adapter_digest})
    except BackendError as err:
        if not _refused(err):
            raise
        note = f"Ollama refused the adapter ({err}); registered a merged model instead"
        progress(0.6, note)
        merged = merge_adapter(adapter, base.path, adapter.with_name(f"{adapter.stem}-merged.gguf"))
        try:
            backend.create(model, files={merged.name: upload(merged)})
        finally:
            merged.unlink(missing_ok=True)  # Ollama keeps its own copy
        method = "merged"
    record_lineage(model, base.model_id)
    ft.ollama = model
    registry.save(ft)
    progress(1.0, f"Registered {model} in Ollama ({method})")
    return Registration(model, method, base.model_id, blobs, note)


__all__ = ["Registration", "merge_adapter", "register_ollama"]
