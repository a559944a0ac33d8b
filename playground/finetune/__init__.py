"""The fine-tuning lab: documents → training data → LoRA → GGUF adapter → catalogue (and Ollama).

    chunks = chunk(load_folder("sample_docs"), ChunkSettings())
    dataset = build_dataset(chunks, PRESETS["sample"].dataset, workspace="sample", heldout_extra=["sample_docs"])
    print(dataset.leakage.summary())              # the held-out check, always part of the result
    base = resolve_base(catalogue.resolve(None))  # the bundled SmolLM2's GGUF
    ft, result = finetune(dataset, PRESETS["sample"].lora, base=base, name="nightwren-sample")
    # ft.model_id ("embedded:nightwren-sample") is now in the catalogue, fine-tuned from the base

Heavy libraries (torch, transformers, peft) load only when training starts.
"""

from playground.finetune.dataset import Dataset, Example, LeakageReport, build_dataset, import_dataset
from playground.finetune.export import export_adapter
from playground.finetune.pipeline import BaseModel, TrainingJob, finetune, resolve_base
from playground.finetune.registry import FineTune, list_finetunes
from playground.finetune.settings import PRESETS, DatasetSettings, LoraSettings, preset
from playground.finetune.train import TrainResult, train

__all__ = [
    "PRESETS",
    "BaseModel",
    "Dataset",
    "DatasetSettings",
    "Example",
    "FineTune",
    "LeakageReport",
    "LoraSettings",
    "TrainResult",
    "TrainingJob",
    "build_dataset",
    "export_adapter",
    "finetune",
    "import_dataset",
    "list_finetunes",
    "preset",
    "resolve_base",
    "train",
]
