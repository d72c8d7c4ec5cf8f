"""Job-test fixtures; the Spark session itself is tests/conftest.py's, shared with the local-run tests."""

from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
SAMPLE_CSV = ROOT / "sample-data" / "churn.csv"


@pytest.fixture
def write_raw(tmp_path):
    """Write CSV text to a file and return its path (what a raw S3 object would hold)."""

    def write(text: str, name: str = "raw.csv") -> str:
        path = tmp_path / name
        path.write_text(text)
        return str(path)

    return write


@pytest.fixture(scope="session")
def sample_outputs(spark, tmp_path_factory):
    """The transform's outputs for sample-data/churn.csv, written once for the whole session."""
    from jobs.glue.transform import transform, write_outputs

    curated = tmp_path_factory.mktemp("curated")
    result = transform(spark, str(SAMPLE_CSV), "churned")
    paths = write_outputs(result, str(curated))
    return {"curated": curated, "paths": paths, "metadata": result.metadata}


MISSING_MARKERS = ("", "n/a", "na", "nan", "null", "?")


def curated_rows(raw_csv: Path, target: str, seed: int = 42, validation_fraction: float = 0.2) -> dict:
    """The Glue job's xgboost/ layout for a raw CSV, in plain Python (no Spark, ~10 ms for churn).

    It mirrors jobs/glue/transform.py on data like sample-data/churn.csv: trim, missing markers and
    blanks → empty field, drop rows without a target, de-duplicate, drop identifier-like string
    columns, sorted category codes, "yes" → 1, label first. The split is a seeded shuffle rather than
    Spark's randomSplit, so rows land in other splits than on Glue; the format is the same.
    """
    import csv
    import random

    with raw_csv.open(newline="") as handle:
        raw = [{key: value.strip() for key, value in row.items()} for row in csv.DictReader(handle)]
    rows = [row for row in raw if row[target].lower() not in MISSING_MARKERS]
    rows = list({tuple(row.items()): row for row in rows}.values())

    def is_number(value: str) -> bool:
        try:
            float(value)
        except ValueError:
            return value.lower() in MISSING_MARKERS
        return True

    columns = [c for c in rows[0] if c != target]
    categorical = [c for c in columns if not all(is_number(row[c]) for row in rows)]
    features = [c for c in columns if c not in categorical or len({r[c] for r in rows}) <= 0.5 * len(rows)]
    codes = {c: {v: i for i, v in enumerate(sorted({r[c] for r in rows} - {""}))} for c in categorical}

    def encode(row: dict) -> str:
        values = ["1" if row[target].lower() in ("yes", "true", "1") else "0"]
        for c in features:
            value = row[c]
            if c in codes:
                values.append(str(codes[c][value]) if value else "")
            else:
                values.append("" if value.lower() in MISSING_MARKERS else value)
        return ",".join(values)

    random.Random(seed).shuffle(rows)
    cut = int(len(rows) * (1 - validation_fraction))
    return {
        "train": [encode(r) for r in rows[:cut]],
        "validation": [encode(r) for r in rows[cut:]],
        "features": features,
    }


@pytest.fixture(scope="session")
def curated_churn(tmp_path_factory) -> dict:
    """sample-data/churn.csv as the curated train/ and validation/ channels, in Spark-named part files."""
    base = tmp_path_factory.mktemp("curated-churn")
    rows = curated_rows(SAMPLE_CSV, "churned")
    channels = {}
    for channel in ("train", "validation"):
        channels[channel] = base / channel
        channels[channel].mkdir()
        (channels[channel] / "part-00000.csv").write_text("\n".join(rows[channel]) + "\n")
    return {**channels, "features": rows["features"]}


@pytest.fixture
def run_script_mode(curated_churn, tmp_path, monkeypatch, capsys):
    """Run a sample's main() as SageMaker script mode would: SM_* variables, `--name value` arguments.

    Returns (metrics main() returned, the printed log, the model directory).
    """

    def run(module, arguments: list[str] | None = None):
        model_dir = tmp_path / "model"
        monkeypatch.setenv("SM_CHANNEL_TRAIN", str(curated_churn["train"]))
        monkeypatch.setenv("SM_CHANNEL_VALIDATION", str(curated_churn["validation"]))
        monkeypatch.setenv("SM_MODEL_DIR", str(model_dir))
        capsys.readouterr()
        results = module.main(arguments or [])
        return results, capsys.readouterr().out, model_dir

    return run


@pytest.fixture(scope="session")
def churn_baseline(curated_churn) -> dict[str, float]:
    """The majority-class model's validation metrics every sample must beat."""
    from jobs.training import churn_data

    train_labels, _ = churn_data.read_channel(curated_churn["train"])
    validation_labels, _ = churn_data.read_channel(curated_churn["validation"])
    return churn_data.majority_baseline(train_labels, validation_labels)
