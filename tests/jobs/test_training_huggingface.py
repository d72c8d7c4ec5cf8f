"""The Hugging Face fine-tuning script, run for real on tiny, randomly initialized local models.

No hub download: the base models are built here (2 layers, hidden size 32) and the hub is switched
off. The churn data has no text or images, so the data is synthetic: a word (or a colour) decides
the label. The artifact is then served as the HF inference container does: `pipeline(HF_TASK, model_dir)`.
"""

import csv
import random

import numpy as np
import pytest

from jobs.training import metrics

pytestmark = pytest.mark.xdist_group("torch")


@pytest.fixture(scope="module")
def sample():
    # Imported by the worker that runs these tests, not by every worker at collection (torch, ~1.7 s each).
    from jobs.training import huggingface_train

    return huggingface_train


POSITIVE, NEGATIVE = ["great", "love", "happy", "fast"], ["awful", "hate", "slow", "broken"]
FILLER = ["the", "service", "was", "and", "app", "support"]


@pytest.fixture(autouse=True)
def offline_hub(monkeypatch):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setenv("TRANSFORMERS_OFFLINE", "1")


@pytest.fixture
def tiny_bert(tmp_path):
    from transformers import BertConfig, BertForSequenceClassification, BertTokenizer

    vocab = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", *POSITIVE, *NEGATIVE, *FILLER]
    base = tmp_path / "tiny-bert"
    BertTokenizer(vocab={word: index for index, word in enumerate(vocab)}).save_pretrained(base)
    config = BertConfig(
        vocab_size=len(vocab),
        hidden_size=32,
        num_hidden_layers=2,
        num_attention_heads=2,
        intermediate_size=64,
        max_position_embeddings=32,
    )
    BertForSequenceClassification(config).save_pretrained(base)
    return base


def write_text_channel(path, rows: int, seed: int) -> None:
    generator = random.Random(seed)
    path.mkdir()
    with (path / "data.csv").open("w", newline="") as handle:
        writer = csv.DictWriter(handle, ["id", "text", "churned"])
        writer.writeheader()
        for index in range(rows):
            label = generator.choice(["yes", "no"])
            words = [*generator.sample(FILLER, 3), generator.choice(NEGATIVE if label == "yes" else POSITIVE)]
            generator.shuffle(words)
            writer.writerow({"id": index, "text": " ".join(words), "churned": label})


def test_text_classification_fine_tunes_and_serves_without_the_hub(
    sample, tiny_bert, tmp_path, monkeypatch, capsys
):
    write_text_channel(tmp_path / "train", 160, seed=1)
    write_text_channel(tmp_path / "validation", 40, seed=2)
    monkeypatch.setenv("SM_CHANNEL_TRAIN", str(tmp_path / "train"))
    monkeypatch.setenv("SM_CHANNEL_VALIDATION", str(tmp_path / "validation"))
    monkeypatch.setenv("SM_MODEL_DIR", str(tmp_path / "model"))
    arguments = ["--base_model", str(tiny_bert), "--target", "churned", "--epochs", "5"]
    capsys.readouterr()
    results = sample.main([*arguments, "--learning_rate", "0.001", "--max_length", "16"])
    log = capsys.readouterr().out
    assert results["validation:accuracy"] >= 0.9 and results["validation:auc"] >= 0.9  # majority: ~0.5
    assert metrics.read_metrics(log, sample.METRIC_DEFINITIONS) == pytest.approx(results, abs=1e-6)

    from transformers import pipeline

    served = pipeline("text-classification", model=str(tmp_path / "model"))  # what HF_TASK does
    answers = served(["the service was awful", "love the app"])
    assert [answer["label"] for answer in answers] == ["yes", "no"]


def test_image_classification_reads_one_folder_per_class(sample, tmp_path):
    # transformers 5's AutoImageProcessor wants torchvision, which the HF images ship and this venv
    # cannot (its wheel must match the exact torch build): the script falls back to the slow processor.
    from PIL import Image
    from transformers import ViTConfig, ViTForImageClassification, ViTImageProcessor

    base = tmp_path / "tiny-vit"
    ViTImageProcessor(size={"height": 32, "width": 32}).save_pretrained(base)
    config = ViTConfig(
        image_size=32, patch_size=8, hidden_size=32, num_hidden_layers=2, num_attention_heads=2,
        intermediate_size=64,
    )  # fmt: skip
    ViTForImageClassification(config).save_pretrained(base)
    generator = np.random.default_rng(0)
    for channel, count in (("train", 24), ("validation", 8)):
        for label, colour in (("red", (220, 30, 30)), ("blue", (30, 30, 220))):
            (tmp_path / channel / label).mkdir(parents=True)
            for index in range(count):
                pixels = np.clip(np.array(colour) + generator.normal(0, 20, (32, 32, 3)), 0, 255)
                Image.fromarray(pixels.astype("uint8")).save(tmp_path / channel / label / f"{index}.png")
    hyperparameters = {
        "base_model": str(base),
        "task": "image-classification",
        "epochs": 3,
        "learning_rate": 1e-3,
    }
    results = sample.train(tmp_path / "train", tmp_path / "validation", tmp_path / "model", hyperparameters)
    assert results["validation:accuracy"] >= 0.9

    from transformers import pipeline

    model_dir = str(tmp_path / "model")
    # The inference DLC's pipeline finds the processor itself (torchvision there); here it is given.
    served = pipeline(
        "image-classification", model=model_dir, image_processor=ViTImageProcessor.from_pretrained(model_dir)
    )
    top = served(Image.new("RGB", (32, 32), (220, 30, 30)))[0]
    assert top["label"] == "red"


def test_an_unknown_task_and_a_missing_column_are_refused(sample, tiny_bert, tmp_path):
    write_text_channel(tmp_path / "train", 10, seed=1)
    with pytest.raises(ValueError, match="not one of"):
        sample.train(tmp_path / "train", tmp_path / "train", None, {"task": "summarization"})
    with pytest.raises(ValueError, match=r"needs the columns \['label'\]"):
        sample.train(tmp_path / "train", tmp_path / "train", None, {"base_model": str(tiny_bert)})


def test_one_channel_is_split_into_train_and_validation(sample, tiny_bert, tmp_path):
    """The pipeline gives a text model only the dataset's headered CSV: a seeded fifth is held out."""
    write_text_channel(tmp_path / "all", 200, seed=3)
    hyperparameters = {"base_model": str(tiny_bert), "target": "churned", "epochs": 5, "max_length": 16}
    results = sample.train(
        tmp_path / "all", tmp_path / "missing", None, {**hyperparameters, "learning_rate": 0.001}
    )
    assert results["validation:accuracy"] >= 0.9
    values = {**sample.HYPERPARAMETERS, **hyperparameters}
    (train, train_labels), (validation, validation_labels) = sample.read_channels(
        values, tmp_path / "all", None
    )
    assert (len(train), len(validation)) == (160, 40)
    assert len(train_labels) + len(validation_labels) == 200
