"""Training step time: the fine-tuning lab's ``train`` loop vs a bare PEFT loop on the same batch.

The project's side is the whole loop as a person runs it (batching, collation, the answer-only
loss, clipping, AdamW, the scheduler, progress and the loss callback), timed from one step's
callback to the next. The bare side is ``loss = model(**batch).loss; loss.backward();
optimizer.step()`` on the same collated batch, with the same LoRA settings and precision. Every
project step trains on the same batch (the example list is one batch long), so both sides do the
same work but for the loss: the project projects only the answer tokens onto the vocabulary.
"""

from __future__ import annotations

import contextlib
import dataclasses
import itertools
import statistics
import time
from typing import Any

from bench import SAMPLE_DOCS, Series, log, timed


def bench_training(reps: int) -> dict[str, Any]:
    import torch
    from peft import get_peft_model

    from playground import ChunkSettings, chunk, load_folder
    from playground.config import threads
    from playground.finetune.dataset import build_dataset
    from playground.finetune.settings import PRESETS
    from playground.finetune.train import collate, compute_dtype, encode, load_base, lora_config, train
    from playground.models.embedded import bundled_model_path

    preset = PRESETS["sample"]
    dataset = build_dataset(chunk(load_folder(SAMPLE_DOCS), ChunkSettings()), preset.dataset, workspace="bench")
    examples = [e for e in dataset.examples if e.recipe == "qa"][: preset.lora.batch_size]  # one typical batch
    settings = dataclasses.replace(preset.lora, epochs=reps + 2, max_steps=0)  # one step an epoch
    base_path = bundled_model_path()
    log(f"training step: a warm-up, then {reps + 1} steps each side, {threads()} torch threads")
    stamps: list[float] = []
    result = train(examples, settings, base_path=base_path, on_step=lambda s, loss: stamps.append(time.perf_counter()))
    ours = Series([b - a for a, b in itertools.pairwise(stamps)])  # step 1 (and the load before it) is the warm-up

    model, tokenizer = load_base(base_path)
    torch.manual_seed(settings.seed)
    model = get_peft_model(model, lora_config(settings, model.config.num_hidden_layers))
    model.train()
    optimizer = torch.optim.AdamW([p for p in model.parameters() if p.requires_grad], lr=settings.learning_rate)
    encoded = [encode(e.messages, tokenizer, settings.max_seq_length) for e in examples]
    batch = collate([e for e in encoded if e is not None], tokenizer.pad_token_id)
    dtype = compute_dtype(settings.precision, "cpu")
    previous = torch.get_num_threads()
    torch.set_num_threads(threads())  # what train() uses

    def bare() -> None:
        with torch.autocast("cpu", dtype=dtype) if dtype is not None else contextlib.nullcontext():
            loss = model(**batch).loss
        loss.backward()
        optimizer.step()
        optimizer.zero_grad(set_to_none=True)

    try:
        bare()  # warm-up
        theirs = Series([timed(bare)[0] for _ in range(reps + 1)])
    finally:
        torch.set_num_threads(previous)
    tokens = int(batch["input_ids"].numel())
    project, raw = statistics.median(ours.times), statistics.median(theirs.times)
    log(f"  training: project {project:.2f} s/step, bare PEFT {raw:.2f} s/step")
    return {
        "batch_size": len(examples),
        "tokens_per_step": tokens,
        "precision": result.precision,
        "threads": threads(),
        "project_s": ours.times,
        "raw_s": theirs.times,
        "ratio": project / raw,
        "ratio_min": ours.min / theirs.min,
        "tokens_per_s": tokens / project,
        "raw_tokens_per_s": tokens / raw,
    }


def training_rows(t: dict[str, Any], row: Any, goal: float) -> list[str]:
    """The benchmark table's lines for :func:`bench_training` (``row`` is the table's row formatter)."""
    return [
        row(f"training step: train() loop ({t['batch_size']} ex., {t['precision']})", t["project_s"]),
        row("  bare PEFT loop, same batch and settings", t["raw_s"], t["ratio"], t["ratio_min"], goal),
        f"  {t['tokens_per_step']} tokens a step on {t['threads']} threads; training tok/s: project"
        f" {t['tokens_per_s']:.0f}, bare {t['raw_tokens_per_s']:.0f}",
    ]


__all__ = ["bench_training", "training_rows"]
