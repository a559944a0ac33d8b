"""Models from every backend behind one catalogue.

A backend that cannot be reached (Ollama not running) contributes an error
message instead of models; the others keep working.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

from playground import config
from playground.config import GenerationParams
from playground.errors import BackendError, BackendUnavailable, ConfigError, ModelNotFound
from playground.models.base import Backend, Generation, Message, Metrics, ModelInfo
from playground.models.embedded import BUNDLED_NAME, EmbeddedBackend

DEFAULT_MODEL = f"embedded:{BUNDLED_NAME}"


@dataclass
class Listing:
    models: list[ModelInfo] = field(default_factory=list)
    errors: dict[str, str] = field(default_factory=dict)  # backend name -> what is wrong and what to do
    unusable: dict[str, str] = field(default_factory=dict)  # model file -> why it cannot run (cut short, damaged)


def default_base(models: list[ModelInfo]) -> ModelInfo:
    """The base model a fresh session starts with: the bundled embedded model, else the first listed."""
    return next((m for m in models if m.id == DEFAULT_MODEL), models[0])


def capability_note(model: ModelInfo) -> str | None:
    """What a person should know about the bundled model before reading its answers; None for other models."""
    if model.id != DEFAULT_MODEL:
        return None
    return (
        "The bundled SmolLM2-135M caps the answers, not retrieval: on SQLite's documentation (ten HTML pages in "
        f"bench/data/sqlite_docs) the right page is among the top 5 passages for {SQLITE_HIT5} questions "
        "(`python -m bench --retrieval`), yet on the sample's 30 held-out questions the model answers 30 % right "
        "with retrieval and 0 % without (`python -m playground claims --docs sample_docs`). For answers worth "
        "reading use a larger model: `ollama pull llama3.2:3b`, then choose it as the base model in the sidebar."
    )


# Retrieval's hit@5 on bench/data/sqlite_docs with the default recipe, as `python -m bench --retrieval` prints it
# (0.957); tests/test_retrieval.py checks that retrieval still finds at least this many.
SQLITE_HIT5 = "45 of 47"


def trained_on(model: ModelInfo) -> dict[str, str]:
    """The documents a fine-tune was trained on (file name -> sha256), when its record says; else {}."""
    files = (model.details.get("corpus") or {}).get("files") or {}
    return dict(files) if isinstance(files, dict) else {}


def default_finetune(models: list[ModelInfo], base: ModelInfo, documents: Mapping[str, str]) -> ModelInfo | None:
    """The fine-tuned model a workspace starts with: a fine-tune of ``base`` trained on exactly these
    ``documents`` (file name -> sha256, as uploaded), the shipped one first, else the one trained here; else
    None, and the Fine-tuned slots run the base model again and say so. A fine-tune of other documents is used
    only once someone chooses it. The one rule for the pages, ``ask``, ``eval`` and the bench.

    >>> base = ModelInfo("embedded", "b")
    >>> shipped = ModelInfo("embedded", "s", finetuned_from=base.id,
    ...                     details={"shipped": True, "corpus": {"files": {"a.md": "1"}}})
    >>> trained = ModelInfo("embedded", "t", finetuned_from=base.id, details={"corpus": {"files": {"a.md": "1"}}})
    >>> default_finetune([base, trained, shipped], base, {"a.md": "1"}).name
    's'
    >>> default_finetune([base, trained], base, {"a.md": "1"}).name  # the workspace's own training run
    't'
    >>> default_finetune([base, shipped], base, {"a.md": "2"}) is None  # other documents
    True
    """
    wanted = dict(documents)
    tuned = [m for m in models if m.finetuned_from == base.id and wanted and trained_on(m) == wanted]
    tuned.sort(key=lambda m: not m.details.get("shipped"))  # stable: the listing's order among the rest
    return tuned[0] if tuned else None


def corpus_note(model: ModelInfo, documents: Mapping[str, str], edits: int = 0) -> str | None:
    """What a Fine-tuned card says about the documents its model learned from; None when they are these.

    ``documents`` are the files as uploaded (file name -> sha256) and ``edits`` the fact edits in force on
    them: a fine-tune of these files is still theirs after an edit, and knows the text from before it.

    >>> m = ModelInfo("embedded", "s", details={"corpus": {"workspace": "sample", "files": {"a.md": "1"}}})
    >>> corpus_note(m, {"a.md": "1"}) is None
    True
    >>> print(corpus_note(m, {"a.md": "1"}, edits=1))
    Fine-tuned on these documents, before 1 fact edit: it learned the text as it was.
    >>> print(corpus_note(m, {"b.md": "2"}))
    Fine-tuned on other documents (workspace 'sample'): what it learned, and the sources it names, are not these.
    """
    files = trained_on(model)
    if not files:
        return "No record says which documents this fine-tune learned from: it may name sources that are not here."
    if files == dict(documents):
        if not edits:
            return None
        plural = "s" if edits > 1 else ""
        return f"Fine-tuned on these documents, before {edits} fact edit{plural}: it learned the text as it was."
    where = (model.details.get("corpus") or {}).get("workspace")
    return (
        f"Fine-tuned on other documents{f' (workspace {where!r})' if where else ''}: "
        "what it learned, and the sources it names, are not these."
    )


class Unavailable:
    """A backend that is configured but cannot work (a URL that is none): its listing says why, the others list."""

    def __init__(self, name: str, reason: str):
        self.name, self.reason = name, reason

    def list_models(self) -> list[ModelInfo]:
        raise BackendUnavailable(self.reason)

    def chat(self, model: ModelInfo, messages: list[Message], params: GenerationParams) -> Generation:
        raise BackendUnavailable(self.reason)


def openai_backend(base_url: str | None = None, api_key: str | None = None) -> Backend | None:
    """The backend of the OpenAI-compatible server at ``base_url`` (default: ``OPENAI_BASE_URL``), or None when
    no server is named: the catalogue has that backend only where one is configured.

    >>> openai_backend("") is None
    True
    >>> openai_backend("ftp://gpu").list_models()
    Traceback (most recent call last):
    ...
    playground.errors.BackendUnavailable: OPENAI_BASE_URL='ftp://gpu' is not an http(s) URL: e.g. http://127.0.0.1:8000/v1
    """
    from playground.models.openai import OpenAIBackend

    try:
        url = config.openai_base_url() if base_url is None else base_url.strip()
        return OpenAIBackend(url, api_key) if url else None
    except ConfigError as err:
        return Unavailable(OpenAIBackend.name, str(err))


class Catalogue:
    """The backends in use; lists their models and routes each chat to the right one."""

    def __init__(self, backends: Iterable[Backend]):
        self.backends: dict[str, Backend] = {b.name: b for b in backends}

    def listing(self) -> Listing:
        listing = Listing()
        for name, backend in self.backends.items():
            try:
                listing.models.extend(backend.list_models())
                if isinstance(backend, EmbeddedBackend):
                    listing.unusable.update(backend.unusable())
            except BackendError as err:
                listing.errors[name] = str(err)
        return listing

    def resolve(self, ref: str | None) -> ModelInfo:
        """A model by id (``embedded:smollm2-135m-instruct``) or by a name unique across backends."""
        ref = (ref or DEFAULT_MODEL).strip()
        backend_name, _, rest = ref.partition(":")
        if backend_name in self.backends and rest:
            # Ask only the backend named: an unrelated backend being down must not matter.
            models = self.backends[backend_name].list_models()
            found = [m for m in models if m.name == rest]
        else:
            listing = self.listing()
            models = listing.models
            found = [m for m in models if m.name == ref or m.id == ref]
        if len(found) == 1:
            return found[0]
        names = ", ".join(m.id for m in models) or "none"
        if found:
            raise ModelNotFound(f"{ref!r} is ambiguous: use one of {', '.join(m.id for m in found)}")
        if backend_name == "openai" and backend_name not in self.backends:
            raise ModelNotFound(f"{ref!r}: no OpenAI-compatible server is set: set OPENAI_BASE_URL to its URL")
        raise ModelNotFound(f"no model {ref!r}; available: {names}")

    def chat(self, model: ModelInfo, messages: list[Message], params: GenerationParams) -> Generation:
        try:
            backend = self.backends[model.backend]
        except KeyError:
            raise ModelNotFound(f"{model.id}: the {model.backend} backend is not enabled") from None
        return backend.chat(model, messages, params)


__all__ = [
    "DEFAULT_MODEL",
    "SQLITE_HIT5",
    "Backend",
    "Catalogue",
    "EmbeddedBackend",
    "Generation",
    "Listing",
    "Message",
    "Metrics",
    "ModelInfo",
    "Unavailable",
    "capability_note",
    "corpus_note",
    "default_base",
    "default_finetune",
    "openai_backend",
    "trained_on",
]
