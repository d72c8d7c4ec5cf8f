"""Hugging Face sample for `algorithm: huggingface`: fine-tune a hub checkpoint for classification.

Script mode (SageMaker Hugging Face training container). Hyperparameters: `--base_model` (a hub id,
or a local directory), `--task` (text-classification or image-classification), `--epochs`,
`--learning_rate`, `--batch_size`, `--max_length` (text), `--target` and `--text_column`.
A gated base model needs a hub token: HF_TOKEN, or HF_TOKEN_SECRET naming a Secrets Manager secret.
A plain PyTorch loop, not transformers' Trainer, so the container needs nothing beyond transformers and torch.

The dataset each channel (SM_CHANNEL_TRAIN, SM_CHANNEL_VALIDATION) holds:
- text-classification: CSV files WITH a header, a `text` column (`--text_column`) and the target
  column (`--target`, default `label`); any other column is ignored. Labels may be strings or numbers.
- image-classification: one folder per class, `<channel>/<label>/<image>.png|.jpg|.jpeg`.
Labels are the training channel's, sorted; they become the model's id2label.

It prints `train-loss:…`, `validation-loss:…`, `validation-accuracy:…` and, with two labels,
`validation-auc:…` (jobs/training/metrics.py). The artifact is `save_pretrained` of the model and
its tokenizer or image processor in SM_MODEL_DIR: the Hugging Face inference container serves it
with HF_TASK set to the task and no HF_MODEL_ID, so nothing is downloaded at serving time. It
takes the pipeline's JSON, `{"inputs": "some text"}` (or image bytes for image-classification),
and answers `[{"label": …, "score": …}]`.
"""

import csv
import os
import sys
from pathlib import Path

import numpy as np
import torch

try:  # in the repository and in tests
    from jobs.training import churn_data, metrics
except ModuleNotFoundError:  # in the container, beside this file in the source directory
    import churn_data
    import metrics

TASKS = ("text-classification", "image-classification")
IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg")
HYPERPARAMETERS = {
    "base_model": "distilbert/distilbert-base-uncased",
    "task": "text-classification",
    "epochs": 3,
    "learning_rate": 5e-5,
    "batch_size": 16,
    "max_length": 128,
    "target": "label",
    "text_column": "text",
    "seed": 0,
    "validation_fraction": 0.2,
}
METRICS = ["train:loss", "validation:loss", "validation:accuracy", "validation:auc"]
METRIC_DEFINITIONS = metrics.metric_definitions(METRICS)


def read_text_channel(path: str | Path, text_column: str, target: str) -> tuple[list[str], list[str]]:
    """(texts, labels) from the headered CSV files of a channel."""
    texts, labels = [], []
    for file in churn_data.data_files(path):
        with file.open(newline="", encoding="utf-8") as handle:
            reader = csv.DictReader(handle)
            missing = {text_column, target} - set(reader.fieldnames or [])
            if missing:
                raise ValueError(f"{file}: needs the columns {sorted(missing)}; it has {reader.fieldnames}")
            for row in reader:
                if row[target].strip():
                    texts.append(row[text_column])
                    labels.append(row[target].strip())
    if not texts:
        raise ValueError(f"no labelled rows in {path}")
    return texts, labels


def read_image_channel(path: str | Path) -> tuple[list[Path], list[str]]:
    """(image paths, labels) from a channel of one folder per class."""
    images = sorted(p for p in Path(path).glob("*/*") if p.suffix.lower() in IMAGE_SUFFIXES)
    if not images:
        raise ValueError(f"no images in {path}: expected <label>/<image>.png|.jpg folders")
    return images, [image.parent.name for image in images]


def hub_token() -> str | None:
    """HF_TOKEN, or the secret HF_TOKEN_SECRET names (what the kit sets from token_secret: the token
    itself never sits in the job's definition), read with the job's role."""
    if os.environ.get("HF_TOKEN"):
        return os.environ["HF_TOKEN"]
    secret = os.environ.get("HF_TOKEN_SECRET")
    if not secret:
        return None
    import boto3  # in every SageMaker training container

    return boto3.client("secretsmanager").get_secret_value(SecretId=secret)["SecretString"]


def load_base(hyperparameters: dict, labels: list[str]):
    """The base model with a fresh head for these labels, and its tokenizer or image processor."""
    import transformers

    token = hub_token()
    auto_model, auto_processor = {
        "text-classification": (transformers.AutoModelForSequenceClassification, transformers.AutoTokenizer),
        "image-classification": (
            transformers.AutoModelForImageClassification,
            transformers.AutoImageProcessor,
        ),
    }[hyperparameters["task"]]
    model = auto_model.from_pretrained(
        hyperparameters["base_model"],
        num_labels=len(labels),
        id2label=dict(enumerate(labels)),
        label2id={label: index for index, label in enumerate(labels)},
        ignore_mismatched_sizes=True,  # a checkpoint's own head has other classes
        token=token,
    )
    if hyperparameters["task"] == "image-classification":
        return model, image_processor(hyperparameters["base_model"], token)
    return model, auto_processor.from_pretrained(hyperparameters["base_model"], token=token)


def image_processor(base_model: str, token: str | None):
    """AutoImageProcessor, which in transformers 5 wants torchvision (the HF containers have it);
    without torchvision, the checkpoint's own slow (PIL) processor, which does the same resizing."""
    import transformers

    try:
        return transformers.AutoImageProcessor.from_pretrained(base_model, token=token)
    except ImportError:
        config, _ = transformers.ImageProcessingMixin.get_image_processor_dict(base_model, token=token)
        slow = config["image_processor_type"].removesuffix("Fast")
        return getattr(transformers, slow).from_pretrained(base_model, token=token)


def encode(processor, task: str, inputs: list, max_length: int) -> dict:
    """A batch of texts or image paths as the model's tensors."""
    if task == "text-classification":
        return processor(inputs, padding=True, truncation=True, max_length=max_length, return_tensors="pt")
    from PIL import Image

    images = [Image.open(path).convert("RGB") for path in inputs]
    return processor(images=images, return_tensors="pt")


def batches(count: int, size: int, generator: torch.Generator | None = None):
    order = torch.randperm(count, generator=generator) if generator is not None else torch.arange(count)
    return [indexes.tolist() for indexes in order.split(size)]


def run_epoch(model, processor, inputs, label_ids, hyperparameters, optimizer=None, generator=None):
    """One pass: trains when an optimizer is given; returns (mean loss, class probabilities)."""
    model.train(optimizer is not None)
    total_loss, probabilities = 0.0, np.zeros((len(inputs), model.config.num_labels))
    for indexes in batches(len(inputs), hyperparameters["batch_size"], generator):
        encoded = encode(
            processor, hyperparameters["task"], [inputs[i] for i in indexes], hyperparameters["max_length"]
        )
        with torch.set_grad_enabled(optimizer is not None):
            output = model(**encoded, labels=torch.as_tensor([label_ids[i] for i in indexes]))
        if optimizer is not None:
            optimizer.zero_grad()
            output.loss.backward()
            optimizer.step()
        total_loss += float(output.loss.detach()) * len(indexes)
        probabilities[indexes] = torch.softmax(output.logits.detach(), dim=-1).numpy()
    return total_loss / len(inputs), probabilities


def read_channels(hyperparameters: dict, train_dir, validation_dir):
    if hyperparameters["task"] == "text-classification":

        def read(path):
            return read_text_channel(path, hyperparameters["text_column"], hyperparameters["target"])
    else:
        read = read_image_channel
    if validation_dir is not None and Path(validation_dir).is_dir():
        return read(train_dir), read(validation_dir)
    return held_out(*read(train_dir), hyperparameters)


def held_out(inputs: list, labels: list, hyperparameters: dict) -> tuple[tuple, tuple]:
    """(train, validation) from one channel, a seeded split: the kit's pipeline gives a text model the
    dataset's headered CSV (<dataset>/autopilot/, raw text kept) as its only channel."""
    order = np.random.default_rng(hyperparameters["seed"]).permutation(len(labels))
    count = max(1, round(len(labels) * hyperparameters["validation_fraction"]))
    validation, train = order[:count], order[count:]
    pick = lambda rows, chosen: [rows[i] for i in chosen]  # noqa: E731
    return (pick(inputs, train), pick(labels, train)), (pick(inputs, validation), pick(labels, validation))


def train(
    train_dir: str | Path,
    validation_dir: str | Path,
    model_dir: str | Path | None = None,
    hyperparameters: dict | None = None,
) -> dict[str, float]:
    """Fine-tune on train_dir, score validation_dir; save_pretrained into model_dir when given."""
    values = churn_data.with_defaults(hyperparameters, HYPERPARAMETERS)
    if values["task"] not in TASKS:
        raise ValueError(f"task {values['task']!r} is not one of {list(TASKS)}")
    torch.manual_seed(values["seed"])
    (train_inputs, train_labels), (validation_inputs, validation_labels) = read_channels(
        values, train_dir, validation_dir
    )
    labels = sorted(set(train_labels))
    unknown = sorted(set(validation_labels) - set(labels))
    if len(labels) < 2 or unknown:
        raise ValueError(
            f"training labels {labels} need two or more classes, covering validation's {unknown}"
        )
    model, processor = load_base(values, labels)
    train_ids = [labels.index(label) for label in train_labels]
    validation_ids = [labels.index(label) for label in validation_labels]
    optimizer = torch.optim.AdamW(model.parameters(), lr=values["learning_rate"])
    generator = torch.Generator().manual_seed(values["seed"])
    for _ in range(values["epochs"]):
        train_loss, _ = run_epoch(model, processor, train_inputs, train_ids, values, optimizer, generator)
    validation_loss, probabilities = run_epoch(model, processor, validation_inputs, validation_ids, values)
    results = {
        "train:loss": train_loss,
        "validation:loss": validation_loss,
        "validation:accuracy": float(np.mean(probabilities.argmax(axis=1) == np.asarray(validation_ids))),
    }
    if len(labels) == 2:
        results["validation:auc"] = churn_data.roc_auc(np.asarray(validation_ids), probabilities[:, 1])
    if model_dir is not None:
        model.save_pretrained(model_dir)
        processor.save_pretrained(model_dir)
    return results


def main(argv: list[str] | None = None) -> dict[str, float]:
    """Script-mode entry point."""
    hyperparameters = churn_data.parse_hyperparameters(
        sys.argv[1:] if argv is None else argv, HYPERPARAMETERS
    )
    paths = churn_data.script_mode_paths()
    results = train(paths["train"], paths["validation"], paths["model"], hyperparameters)
    metrics.report_all(results)
    return results


if __name__ == "__main__":
    main()
