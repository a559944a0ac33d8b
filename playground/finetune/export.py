"""A PEFT LoRA adapter written as a GGUF LoRA adapter, the format llama.cpp's ``lora_path`` loads.

The layout follows llama.cpp's own converter (``convert_lora_to_gguf.py``):

- metadata ``general.type = "adapter"``, ``adapter.type = "lora"``, ``adapter.lora.alpha``, plus
  ``general.architecture`` of the base and ``playground.base_model`` (the lineage the embedded
  engine lists it under);
- one pair of tensors per adapted weight, named after the base tensor: ``blk.{i}.attn_q.weight.lora_a``
  (ggml shape ``[n_in, r]``) and ``…lora_b`` (``[r, n_out]``);
- for llama-architecture models, the rows of ``lora_b`` of ``attn_q``/``attn_k`` are permuted the way
  the converter permutes ``q_proj``/``k_proj`` (GGUF stores the rotary halves interleaved); ``lora_a``
  is unchanged, because the permutation only reorders output rows.

llama.cpp scales each update by ``alpha / r`` (r read from ``lora_b``), as PEFT does.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np

from playground.errors import TrainingError
from playground.storage import writing

PERMUTED_ARCHS = ("llama",)  # architectures whose q/k the GGUF converter permutes
_LORA_KEY = re.compile(r"^(?:base_model\.model\.)?(?P<module>.+)\.lora_(?P<ab>[AB])(?:\.\w+)?\.weight$")


def permute_rows(weights: np.ndarray, n_head: int) -> np.ndarray:
    """Reorder output rows from Hugging Face's rotary layout (halves) to GGUF's (interleaved pairs).

    The same permutation llama.cpp's converter applies to ``q_proj``/``k_proj`` (``n_head`` is the
    number of key/value heads for ``k_proj``). Rows of one head ``[a0 a1 b0 b1]`` become ``[a0 b0 a1 b1]``:

    >>> permute_rows(np.arange(4).reshape(4, 1), 1).ravel().tolist()
    [0, 2, 1, 3]
    >>> permute_rows(np.arange(8).reshape(8, 1), 2).ravel().tolist()
    [0, 2, 1, 3, 4, 6, 5, 7]
    """
    rows = weights.shape[0]
    return weights.reshape(n_head, 2, rows // n_head // 2, *weights.shape[1:]).swapaxes(1, 2).reshape(weights.shape)


def lora_tensors(peft_model: Any) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """``{hf module name: (A [r, n_in], B [n_out, r])}`` of a PEFT model, as float32 numpy arrays."""
    from peft import get_peft_model_state_dict

    pairs: dict[str, dict[str, np.ndarray]] = {}
    # The embeddings are never adapted here; saying so skips peft's look for the base model's config file.
    for key, tensor in get_peft_model_state_dict(peft_model, save_embedding_layers=False).items():
        m = _LORA_KEY.match(key)
        if not m:
            continue
        pairs.setdefault(m["module"], {})[m["ab"]] = tensor.detach().float().cpu().numpy()
    missing = [name for name, ab in pairs.items() if set(ab) != {"A", "B"}]
    if missing or not pairs:
        raise TrainingError(f"the adapter has incomplete LoRA weights ({missing[:3] or 'none found'})")
    return {name: (ab["A"], ab["B"]) for name, ab in pairs.items()}


def gguf_tensor_name(arch: str, n_blocks: int, hf_module: str) -> str:
    """The GGUF name of a transformers weight, by gguf's own name map.

    >>> gguf_tensor_name("llama", 30, "model.layers.3.self_attn.q_proj")
    'blk.3.attn_q.weight'
    >>> gguf_tensor_name("llama", 30, "model.layers.0.mlp.down_proj")
    'blk.0.ffn_down.weight'
    """
    import gguf

    arch_ids = {name: key for key, name in gguf.MODEL_ARCH_NAMES.items()}
    if arch not in arch_ids:
        raise TrainingError(f"GGUF knows no architecture {arch!r}: cannot name the adapter's tensors")
    name = gguf.get_tensor_name_map(arch_ids[arch], n_blocks).get_name(f"{hf_module}.weight", try_suffixes=(".weight",))
    if name is None:
        raise TrainingError(f"no GGUF name for {hf_module} in a {arch} model")
    return name


def export_adapter(
    peft_model: Any,
    path: str | Path,
    *,
    base_name: str,
    arch: str = "llama",
    alpha: float,
    dtype: str = "f16",
    name: str | None = None,
    metadata: dict[str, str] | None = None,
) -> Path:
    """Write ``peft_model``'s LoRA weights to ``path`` as a GGUF adapter (``dtype`` "f16" or "f32").

    ``base_name`` is the base model's name in the embedded catalogue (``playground.base_model``);
    ``metadata`` adds ``playground.<key>`` strings (recipe, dataset hash, …).
    """
    from gguf import GGUFWriter

    if dtype not in ("f16", "f32"):
        raise TrainingError(f"adapter dtype must be f16 or f32, not {dtype!r}")
    cfg = peft_model.get_base_model().config
    n_head = int(cfg.num_attention_heads)
    n_kv = int(getattr(cfg, "num_key_value_heads", None) or n_head)
    n_blocks = int(cfg.num_hidden_layers)
    path = Path(path)
    writer = GGUFWriter(None, arch=arch)  # the file is named when it is written (see write_gguf)
    writer.add_string("general.type", "adapter")
    writer.add_string("general.name", name or path.stem)
    writer.add_string("adapter.type", "lora")
    writer.add_float32("adapter.lora.alpha", float(alpha))
    writer.add_string("playground.base_model", base_name)
    writer.add_string("playground.created", datetime.now(UTC).isoformat(timespec="seconds"))
    for key, value in (metadata or {}).items():
        writer.add_string(f"playground.{key}", str(value))
    np_dtype = np.float16 if dtype == "f16" else np.float32
    for module, (a, b) in sorted(lora_tensors(peft_model).items()):
        target = gguf_tensor_name(arch, n_blocks, module)
        if arch in PERMUTED_ARCHS and target.endswith("attn_q.weight"):
            b = permute_rows(b, n_head)
        elif arch in PERMUTED_ARCHS and target.endswith("attn_k.weight"):
            b = permute_rows(b, n_kv)
        # numpy shapes are ggml shapes reversed: A [r, n_in] is ne=[n_in, r], B [n_out, r] is ne=[r, n_out].
        writer.add_tensor(f"{target}.lora_a", np.ascontiguousarray(a, dtype=np_dtype))
        writer.add_tensor(f"{target}.lora_b", np.ascontiguousarray(b, dtype=np_dtype))
    return write_gguf(writer, path)


def write_gguf(writer: Any, path: str | Path) -> Path:
    """Write a prepared ``GGUFWriter`` (made with no path) to ``path`` with the one atomic write.

    A reader (the catalogue, Ollama) never sees half a file, and a failed write leaves the old one.
    """
    with writing(path) as tmp:
        try:
            writer.write_header_to_file(path=tmp)
            writer.write_kv_data_to_file()
            writer.write_tensors_to_file()
        finally:
            writer.close()
    return Path(path)


__all__ = ["export_adapter", "gguf_tensor_name", "lora_tensors", "permute_rows", "write_gguf"]
