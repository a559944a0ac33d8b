"""RAG vs fine-tuning playground: the core library (no Streamlit here; pages call these).

Documents → index → four answers::

    files = load_folder("sample_docs")
    index = build_index(files, embed_model=LocalEmbedding(), workspace="sample")
    catalogue = Catalogue([EmbeddedBackend()])
    run = compare("How long is the returns window?", catalogue=catalogue,
                  base=catalogue.resolve(None), index=index)
    for condition in run.conditions:
        for piece in condition.stream():
            ...
"""

from playground.compare import CONDITIONS, LABELS, CompareRun, ConditionResult, PromptSettings, compare
from playground.config import ChunkSettings, GenerationParams, RetrievalSettings
from playground.documents import LoadedFile, chunk, load_bytes, load_files, load_folder
from playground.embeddings import LocalEmbedding
from playground.errors import (
    BackendError,
    BackendUnavailable,
    ConfigError,
    ContextWindowExceeded,
    DocumentError,
    IndexStoreError,
    ModelNotFound,
    PlaygroundError,
)
from playground.index import Hit, PlaygroundIndex, build_index, load_latest
from playground.models import DEFAULT_MODEL, Catalogue, EmbeddedBackend, Generation, Metrics, ModelInfo

__all__ = [
    "CONDITIONS",
    "DEFAULT_MODEL",
    "LABELS",
    "BackendError",
    "BackendUnavailable",
    "Catalogue",
    "ChunkSettings",
    "CompareRun",
    "ConditionResult",
    "ConfigError",
    "ContextWindowExceeded",
    "DocumentError",
    "EmbeddedBackend",
    "Generation",
    "GenerationParams",
    "Hit",
    "IndexStoreError",
    "LoadedFile",
    "LocalEmbedding",
    "Metrics",
    "ModelInfo",
    "ModelNotFound",
    "PlaygroundError",
    "PlaygroundIndex",
    "PromptSettings",
    "RetrievalSettings",
    "build_index",
    "chunk",
    "compare",
    "load_bytes",
    "load_files",
    "load_folder",
    "load_latest",
]
