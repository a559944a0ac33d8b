"""The bundled embedding model's two runtimes: the install step's ONNX export and sentence-transformers."""

from __future__ import annotations

import numpy as np
import pytest

from playground.embeddings import LocalEmbedding, _OnnxEncoder, bundled_minilm_path, export_onnx, exported_path
from playground.errors import ConfigError

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def torch_model() -> LocalEmbedding:
    return LocalEmbedding(runtime="torch")


def test_the_install_step_exported_the_model_and_it_is_the_default(embed_model):
    assert exported_path().exists(), "make runs python -m playground prepare"
    assert embed_model.runtime == "onnx"
    assert LocalEmbedding(runtime="torch").runtime == "torch"


def test_both_runtimes_rank_the_sample_questions_alike(embed_model, torch_model, sample_index, sample_questions):
    texts = [node.get_content() for node in sample_index.nodes]
    questions = [q["question"] for q in sample_questions]
    fast = np.array(embed_model.get_text_embedding_batch(texts))
    slow = np.array(torch_model.get_text_embedding_batch(texts))
    assert np.abs(fast - slow).max() < 1e-5
    assert np.allclose(np.linalg.norm(fast, axis=1), 1.0, atol=1e-5)
    q_fast = np.array([embed_model.get_query_embedding(q) for q in questions])
    q_slow = np.array([torch_model.get_query_embedding(q) for q in questions])
    top_fast = np.argsort(-(q_fast @ fast.T), axis=1, kind="stable")[:, :10]
    top_slow = np.argsort(-(q_slow @ slow.T), axis=1, kind="stable")[:, :10]
    same = int((top_fast == top_slow).all(axis=1).sum())
    assert same == len(questions), f"top-10 rankings identical for {same} of {len(questions)} questions"


def test_an_export_made_here_gives_the_same_vectors_whatever_the_batch(tmp_path, torch_model):
    onnx_file = export_onnx(tmp_path / "minilm.onnx")
    encoder = _OnnxEncoder(onnx_file, bundled_minilm_path())
    texts = ["A short one.", "A much longer sentence about anemometers, rainfall and the calibration of sensors.", ""]
    one_batch = encoder.encode(texts, batch_size=64)
    single = np.concatenate([encoder.encode([t], batch_size=1) for t in texts])
    assert np.abs(one_batch - single).max() < 1e-5, "padding in a batch changes no vector"
    assert np.abs(one_batch - np.array(torch_model.get_text_embedding_batch(texts))).max() < 1e-5


def test_asking_for_onnx_without_an_export_says_what_to_run(monkeypatch, tmp_path):
    monkeypatch.setattr("playground.embeddings.exported_path", lambda: tmp_path / "missing.onnx")
    with pytest.raises(ConfigError, match=r"python -m playground prepare"):
        LocalEmbedding(runtime="onnx")
    assert LocalEmbedding().runtime == "torch", "auto falls back to sentence-transformers"
