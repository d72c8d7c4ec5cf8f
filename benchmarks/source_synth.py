"""What one more model of each source adds to a synth, as a ratio to the empty app, in the same run.

Each case is the app (`app.py -c config=...`) on a config of N models of one source beside the data
stack and the API; growth per model = (N-model synth - 1-model synth) / (N - 1) / empty app.
Usage: python benchmarks/source_synth.py [--repeats 3] [--models 6]
"""

import argparse
import statistics
import sys
import tempfile
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
from benchmarks.report import write_section  # noqa: E402
from benchmarks.synth import CDK_FLAGS, FLOOR_CASE, alternating_samples  # noqa: E402

# One model of each source whose per-model cost the catalogue issue bounds (+0.04× the floor).
MODELS = {
    "huggingface": {
        "source": "huggingface",
        "model_id": "distilbert/distilbert-base-uncased-finetuned-sst-2-english",
        "task": "text-classification",
    },
    "pytorch_hub": {
        "source": "pytorch_hub",
        "repo": "pytorch/vision:v0.20.0",
        "entrypoint": "resnet18",
        "task": "image-classification",
    },
    "tensorflow_hub": {
        "source": "tensorflow_hub",
        "handle": "https://www.kaggle.com/models/google/mobilenet-v2/tensorFlow2/100-224-classification/2",
        "task": "image-classification",
    },
    "jumpstart": {"source": "jumpstart", "model_id": "pytorch-ic-mobilenet-v2", "version": "3.0.25"},
    # For comparison: a pipeline with its own deploy Lambda, as each hub model has.
    "training": {"source": "training", "dataset": "churn", "target": "churned"},
    "training (sklearn, tuned)": {
        "source": "training",
        "dataset": "churn",
        "target": "churned",
        "algorithm": "sklearn",
        "tuning": {"max_jobs": 4, "ranges": {"n_estimators": {"type": "integer", "min": 50, "max": 150}}},
    },
}


def config_file(folder: Path, source: str, count: int) -> str:
    models = {f"m{index}": MODELS[source] for index in range(count)}
    path = folder / f"{source}-{count}.yaml"
    path.write_text(yaml.safe_dump({"environment": "bench", "region": "us-east-1", "models": models}))
    return str(path)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--models", type=int, default=6)
    args = parser.parse_args()
    folder = Path(tempfile.mkdtemp())
    cases = {"empty app": FLOOR_CASE}
    for source in MODELS:
        for count in (1, args.models):
            cases[(source, count)] = (
                [sys.executable, "app.py"],
                {**CDK_FLAGS, "config": config_file(folder, source, count)},
            )
    medians = {
        name: statistics.median(values) for name, values in alternating_samples(cases, args.repeats).items()
    }
    floor = medians.pop("empty app")
    lines = [
        "## Synth time per model, by source",
        "",
        f"`python benchmarks/source_synth.py --repeats {args.repeats} --models {args.models}`: medians of "
        f"{args.repeats} fresh-process synths per case, alternating; empty app {floor:.2f} s.",
        "",
        f"| source | 1 model | {args.models} models | growth per model (× empty app) |",
        "|---|---|---|---|",
    ]
    for source in MODELS:
        one, many = medians[(source, 1)], medians[(source, args.models)]
        growth = (many - one) / (args.models - 1) / floor
        lines.append(f"| {source} | {one:.2f} s | {many:.2f} s | +{growth:.4f}× |")
    lines += ["", "Target (catalogue issue): at most +0.04× of the empty app per model, every source."]
    write_section("source-synth", "\n".join(lines))
    print("\n".join(lines))


if __name__ == "__main__":
    main()
