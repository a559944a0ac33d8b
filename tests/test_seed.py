"""The sample's index built once by the install step (``python -m playground prepare``) and copied into new homes."""

from __future__ import annotations

import pytest

from playground.index import build_index
from playground.workspace import SAMPLE, open_workspace

pytestmark = pytest.mark.slow


def test_a_new_home_copies_the_prepared_sample_index_instead_of_embedding(embed_model, tmp_path, monkeypatch):
    from playground import seed

    monkeypatch.setattr(seed, "seed_dir", lambda: tmp_path / "seed")
    (key,) = seed.seed_sample()
    assert (tmp_path / "seed" / key / "manifest.json").exists()

    ws = open_workspace(SAMPLE)  # the test's own empty PLAYGROUND_HOME: a person's first start
    before = embed_model.texts_embedded
    said: list[str] = []
    index = build_index(ws.documents(), embed_model=embed_model, chunk_settings=ws.chunk_settings(),
                        workspace=ws.name, progress=lambda f, m: said.append(m))  # fmt: skip
    assert index.key == key and index.stats.status == "loaded"
    assert embed_model.texts_embedded == before, "nothing embedded: the prepared index was copied"
    assert any("install step" in m for m in said)
    assert index.retrieve("When was Nightwren Instruments founded?")[0].file_name == "company_overview.md"


def test_a_prepared_index_that_no_longer_matches_is_never_used(embed_model, tmp_path, monkeypatch):
    from playground import seed

    monkeypatch.setattr(seed, "seed_dir", lambda: tmp_path / "seed")
    seed.seed_sample()
    ws = open_workspace(SAMPLE)
    files = [f for f in ws.documents() if f.file_name != "release_notes.txt"]  # other documents: another key
    index = build_index(files, embed_model=embed_model, chunk_settings=ws.chunk_settings(), workspace=ws.name)
    assert index.stats.status == "built"
