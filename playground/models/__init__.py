"""Models from every backend behind one catalogue.

A backend that cannot be reached (Ollama not running) contributes an error
message instead of models; the others keep working.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

from playground.config import GenerationParams
from playground.errors import BackendError, ModelNotFound
from playground.models.base import Backend, Generation, Message, Metrics, ModelInfo
from playground.models.embedded import BUNDLED_NAME, EmbeddedBackend

DEFAULT_MODEL = f"embedded:{BUNDLED_NAME}"


@dataclass
class Listing:
    models: list[ModelInfo] = field(default_factory=list)
    errors: dict[str, str] = field(default_factory=dict)  # backend name -> what is wrong and what to do


def default_base(models: list[ModelInfo]) -> ModelInfo:
    """The base model a fresh session starts with: the bundled embedded model, else the first listed."""
    return next((m for m in models if m.id == DEFAULT_MODEL), models[0])


def default_finetune(models: list[ModelInfo], base: ModelInfo) -> ModelInfo | None:
    """The fine-tuned model that goes with ``base``: its fine-tune when exactly one is listed, else None
    (the Fine-tuned slots then run the base model again, and say so). The one rule for the UI and the CLI."""
    tuned = [m for m in models if m.finetuned_from == base.id]
    return tuned[0] if len(tuned) == 1 else None


class Catalogue:
    """The backends in use; lists their models and routes each chat to the right one."""

    def __init__(self, backends: Iterable[Backend]):
        self.backends: dict[str, Backend] = {b.name: b for b in backends}

    def listing(self) -> Listing:
        listing = Listing()
        for name, backend in self.backends.items():
            try:
                listing.models.extend(backend.list_models())
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
        raise ModelNotFound(f"no model {ref!r}; available: {names}")

    def chat(self, model: ModelInfo, messages: list[Message], params: GenerationParams) -> Generation:
        try:
            backend = self.backends[model.backend]
        except KeyError:
            raise ModelNotFound(f"{model.id}: the {model.backend} backend is not enabled") from None
        return backend.chat(model, messages, params)


__all__ = [
    "DEFAULT_MODEL",
    "Backend",
    "Catalogue",
    "EmbeddedBackend",
    "Generation",
    "Listing",
    "Message",
    "Metrics",
    "ModelInfo",
    "default_base",
    "default_finetune",
]
