"""What a fine-tune is made of: the dataset recipe and the LoRA settings, each checked before any work.

A bad value fails at once, naming the field and the value (``LoraSettings.rank=0: ...``),
not ten minutes into a training run. :data:`PRESETS` bundles both for common cases; the
``sample`` preset reproduces the adapter shipped with the playground.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any

from playground.config import _Config, _help, _require
from playground.errors import ConfigError

RECIPES = ("qa", "paraphrase", "raft")
RECIPE_HELP = {
    "qa": "Question → short answer in the house style, one per fact the extractor finds (or the model writes).",
    "paraphrase": "The chunk's facts restated in other words, so the facts are learned, not one phrasing.",
    "raft": "Question + the answering chunk + distractor chunks → an answer that quotes its evidence.",
}
# The linear layers of llama-, qwen2- and gemma-style blocks (the names transformers gives them).
PRECISIONS = ("auto", "float32", "bfloat16")
TARGET_MODULES = ("q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj")


@dataclass(frozen=True)
class DatasetSettings(_Config):
    recipes: tuple[str, ...] = _help("Which recipes to mix: qa, paraphrase, raft.", RECIPES)
    questions_per_fact: int = _help(
        "Question phrasings per fact (the first in question_style, then a fill-in-the-gap one).", 2
    )
    question_style: str = _help(
        "How the first question is phrased: natural (a question a person would ask, as the evaluation lab's "
        "generator asks it) or keywords (a wh-word and the sentence's content words: how nightwren-sample was "
        "trained, kept so the sample preset rebuilds it).",
        "natural",
    )
    paraphrases_per_fact: int = _help("Restatements per fact for the paraphrase recipe.", 1)
    facts_per_chunk: int = _help("Most facts taken from one chunk (0 = all it has).", 0)
    raft_share: float = _help("Share of facts that also get a RAFT example (they are long: they cost time).", 0.25)
    p_oracle: float = _help(
        "How often a RAFT example's passages include the chunk that answers it; without it the answer must "
        "come from memory (RAFT's P).",
        0.8,
    )
    distractors: int = _help("Unrelated chunks given beside the answering one in a RAFT example.", 2)
    generator: str = _help(
        "Model that writes extra Q&A and paraphrases from each chunk (e.g. ollama:llama3.2); empty: "
        "the deterministic extractor alone.",
        "",
    )
    seed: int = _help("Seed for sampling distractors, the oracle share and template choices.", 0)

    def __post_init__(self) -> None:
        cls = "DatasetSettings"
        recipes = tuple(self.recipes)
        object.__setattr__(self, "recipes", recipes)
        _require(bool(recipes), cls, "recipes", recipes, f"choose at least one of {RECIPES}")
        bad = [r for r in recipes if r not in RECIPES]
        _require(not bad, cls, "recipes", recipes, f"unknown recipe(s) {bad}: use {RECIPES}")
        _require(1 <= self.questions_per_fact <= 2, cls, "questions_per_fact", self.questions_per_fact, "must be 1..2")
        styles = ("natural", "keywords")
        _require(self.question_style in styles, cls, "question_style", self.question_style, f"use one of {styles}")
        _require(
            0 <= self.paraphrases_per_fact <= 3, cls, "paraphrases_per_fact", self.paraphrases_per_fact, "must be 0..3"
        )
        _require(self.facts_per_chunk >= 0, cls, "facts_per_chunk", self.facts_per_chunk, "must be 0 or more")
        _require(0.0 <= self.raft_share <= 1.0, cls, "raft_share", self.raft_share, "must be 0..1")
        _require(0.0 <= self.p_oracle <= 1.0, cls, "p_oracle", self.p_oracle, "must be a probability in 0..1")
        _require(0 <= self.distractors <= 8, cls, "distractors", self.distractors, "must be 0..8")
        _require(self.seed >= 0, cls, "seed", self.seed, "must be 0 or more")


@dataclass(frozen=True)
class LoraSettings(_Config):
    rank: int = _help("LoRA rank r: the size of each low-rank update. Higher learns more, costs memory.", 8)
    alpha: float = _help("LoRA alpha: updates are scaled by alpha / rank.", 16.0)
    dropout: float = _help("Dropout on the LoRA input during training (0 for short runs).", 0.0)
    target_modules: tuple[str, ...] = _help(
        "Linear layers that get an adapter: " + ", ".join(TARGET_MODULES) + ".", TARGET_MODULES
    )
    top_layers: int = _help(
        "Adapt only the top N transformer blocks (0: all). Backpropagation stops below the lowest adapted block, "
        "so the top half trains about twice as fast, though it learned fewer facts in our sample runs.",
        0,
    )
    learning_rate: float = _help("AdamW learning rate (LoRA tolerates ~1e-4..3e-3).", 1e-3)
    epochs: int = _help("Passes over the dataset.", 2)
    max_steps: int = _help("Stop after this many optimizer steps (0: run every epoch).", 0)
    batch_size: int = _help("Examples per optimizer step.", 8)
    max_seq_length: int = _help(
        "Longest example in tokens: a longer answer is cut; an example whose prompt alone is longer is skipped.", 256
    )
    seed: int = _help("Seed for the adapter's initial weights, shuffling and dropout.", 0)
    precision: str = _help(
        "Compute precision: auto uses bfloat16 where the hardware does it natively (a GPU, or a CPU with "
        "AVX512-BF16/AMX: about 1.6x faster), else float32. The adapter's weights stay float32 either way.",
        "auto",
    )

    def __post_init__(self) -> None:
        cls = "LoraSettings"
        modules = tuple(self.target_modules)
        object.__setattr__(self, "target_modules", modules)
        _require(1 <= self.rank <= 256, cls, "rank", self.rank, "must be 1..256")
        _require(self.alpha > 0, cls, "alpha", self.alpha, "must be above 0")
        _require(0.0 <= self.dropout < 1.0, cls, "dropout", self.dropout, "must be in [0, 1)")
        _require(bool(modules), cls, "target_modules", modules, f"choose at least one of {TARGET_MODULES}")
        bad = [m for m in modules if m not in TARGET_MODULES]
        _require(not bad, cls, "target_modules", modules, f"unknown module(s) {bad}: use {TARGET_MODULES}")
        _require(self.top_layers >= 0, cls, "top_layers", self.top_layers, "must be 0 (all blocks) or more")
        _require(0.0 < self.learning_rate <= 1.0, cls, "learning_rate", self.learning_rate, "must be in (0, 1]")
        _require(1 <= self.epochs <= 100, cls, "epochs", self.epochs, "must be 1..100")
        _require(self.max_steps >= 0, cls, "max_steps", self.max_steps, "must be 0 (no limit) or more")
        _require(1 <= self.batch_size <= 512, cls, "batch_size", self.batch_size, "must be 1..512")
        _require(16 <= self.max_seq_length <= 32768, cls, "max_seq_length", self.max_seq_length, "must be 16..32768")
        _require(self.seed >= 0, cls, "seed", self.seed, "must be 0 or more")
        _require(self.precision in PRECISIONS, cls, "precision", self.precision, f"must be one of {PRECISIONS}")


@dataclass(frozen=True)
class Preset:
    """A named recipe + LoRA settings, and the adapter name it produces by default."""

    description: str
    dataset: DatasetSettings
    lora: LoraSettings
    name: str = ""  # default adapter name ("" = derived from the workspace)


# The times run from Train to the saved adapter, with the bundled SmolLM2-135M on the sample documents, on a
# 2-core AMD EPYC without bfloat16 (float32), one torch thread as the web app uses, other work sharing the
# cores: quick 23 s (6 steps; the base read from the copy an earlier run kept, 3 s of it), sample 508 s
# (125 steps), standard 5 min 46 s (38 steps of the gated natural data; 6 min 57 s with the base's first
# read). train.estimate_seconds scales them to other settings.
PRESETS: dict[str, Preset] = {
    "sample": Preset(
        "The shipped nightwren-sample adapter: rank 8 on every linear layer, all three recipes; about 8 min on a "
        "2-core CPU, measured. Learns the house style; only a few facts fit in that time.",
        # CPU time buys training tokens (~200/s on 2 cores): one keyword question per fact, and few RAFT
        # examples (each is 5x a Q&A example) with one distractor.
        DatasetSettings(
            questions_per_fact=1, paraphrases_per_fact=1, raft_share=0.04, distractors=1, question_style="keywords"
        ),
        # Batches of 4: twice the optimizer steps for the same compute, which memorizes facts sooner.
        # 400 tokens hold a RAFT example: question, two 128-token passages, the quoted answer.
        LoraSettings(rank=8, alpha=16.0, learning_rate=2e-3, epochs=2, max_steps=125, batch_size=4, max_seq_length=400),
        name="nightwren-sample",
    ),
    "quick": Preset(
        "A smoke test: up to six steps of a small adapter (fewer when the data makes fewer batches), to see the "
        "whole path work; about 25 s on a 2-core CPU, measured (the first run on a machine also reads the base "
        "model: 40 s more).",
        DatasetSettings(questions_per_fact=1, raft_share=0.05, distractors=1),
        LoraSettings(rank=4, alpha=8.0, learning_rate=2e-3, epochs=1, max_steps=6, batch_size=4, max_seq_length=160),
    ),
    "standard": Preset(
        "Every recipe in the natural question style, two epochs; only questions that pass the gates are kept "
        "(on the sample: 151 examples, 38 steps); about 6 min on a 2-core CPU, measured on one core with other "
        "work sharing the machine, the base model's first read not counted.",
        DatasetSettings(questions_per_fact=2, paraphrases_per_fact=1, raft_share=0.1, distractors=1),
        LoraSettings(rank=8, alpha=16.0, learning_rate=2e-3, epochs=2, batch_size=8, max_seq_length=256),
    ),
}
# The preset the Fine-tune page opens on and the command line uses unless told: in front of an audience, the
# whole path in well under a minute. The other presets are a choice away.
DEFAULT_PRESET = "quick"


def preset(name: str, **lora_overrides: Any) -> Preset:
    """A preset by name, with LoRA fields overridden (``None`` values are ignored).

    >>> preset("quick", rank=2).lora.rank
    2
    """
    try:
        chosen = PRESETS[name]
    except KeyError:
        raise ConfigError(f"no preset {name!r}: choose one of {', '.join(PRESETS)}") from None
    changes = {k: v for k, v in lora_overrides.items() if v is not None}
    return replace(chosen, lora=replace(chosen.lora, **changes)) if changes else chosen


__all__ = [
    "DEFAULT_PRESET",
    "PRECISIONS",
    "PRESETS",
    "RECIPES",
    "RECIPE_HELP",
    "TARGET_MODULES",
    "DatasetSettings",
    "LoraSettings",
    "Preset",
    "preset",
]
