"""Settings explain and check themselves: a bad value fails at once, naming the field and the value."""

from __future__ import annotations

import pytest

from playground import config
from playground.config import ChunkSettings, GenerationParams, RetrievalSettings
from playground.errors import ConfigError


@pytest.mark.parametrize(
    ("make", "message"),
    [
        (lambda: ChunkSettings(chunk_size=8), "ChunkSettings.chunk_size=8: must be 32..8192"),
        (lambda: ChunkSettings(chunk_size=64, chunk_overlap=64), "ChunkSettings.chunk_overlap=64: must be at least 0"),
        (lambda: RetrievalSettings(top_k=0), "RetrievalSettings.top_k=0: must be 1..50"),
        (lambda: RetrievalSettings(mode="fuzzy"), "RetrievalSettings.mode='fuzzy': must be one of ('hybrid',"),
        (lambda: RetrievalSettings(similarity_cutoff=2.0), "RetrievalSettings.similarity_cutoff=2.0: must be a cosine"),
        (lambda: GenerationParams(temperature=-1), "GenerationParams.temperature=-1: must be 0..2"),
        (lambda: GenerationParams(max_tokens=0), "GenerationParams.max_tokens=0: must be 1..8192"),
    ],
)  # fmt: skip
def test_bad_values_name_field_and_value(make, message):
    with pytest.raises(ConfigError) as err:
        make()
    assert str(err.value).startswith(message)


def test_every_field_has_help_text():
    for cls in (ChunkSettings, RetrievalSettings, GenerationParams):
        for name in cls.__dataclass_fields__:
            assert len(cls.help(name)) > 15, f"{cls.__name__}.{name}"


def test_environment_settings(monkeypatch, tmp_path):
    monkeypatch.setenv("PLAYGROUND_HOME", str(tmp_path / "h"))
    assert config.home() == tmp_path / "h" and config.models_dir() == tmp_path / "h" / "models"
    monkeypatch.setenv("PLAYGROUND_N_CTX", "2048")
    assert config.embedded_n_ctx() == 2048
    monkeypatch.setenv("PLAYGROUND_THREADS", "many")
    with pytest.raises(ConfigError, match="PLAYGROUND_THREADS='many' is not a whole number"):
        config.threads()
    monkeypatch.setenv("PLAYGROUND_MAX_FILE_MB", "0")
    with pytest.raises(ConfigError, match="PLAYGROUND_MAX_FILE_MB=0 must be at least 1"):
        config.max_file_bytes()
    monkeypatch.delenv("OLLAMA_HOST", raising=False)
    assert config.ollama_host() == "http://127.0.0.1:11434"
