"""Synth cost of one change, before and after, in one run: the same configs synthesized by two checkouts.

Each round runs the floor (the empty app) and every case in both trees, in each bytecode environment
(PYTHONDONTWRITEBYTECODE set; unset with bytecode kept in a scratch PYTHONPYCACHEPREFIX); a ratio is
taken against the floor of its own round, so the machine's drift between rounds cancels, then the
median over rounds. Cases: 10 and 30 trained models, 10 and 30 Hugging Face models (growth per model:
the difference / 20), and the 200-model catalogue (benchmarks/catalog.py).
Usage: python benchmarks/trees_synth.py --before OLD_CHECKOUT [--after .] [--repeats 5]
"""

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
from benchmarks.catalog import catalog  # noqa: E402

EMPTY_APP = "import aws_cdk as cdk; app = cdk.App(); cdk.Stack(app, 'Empty'); app.synth()"
TRAINED = {"source": "training", "dataset": "churn", "target": "churned"}
HUGGING_FACE = {
    "source": "huggingface",
    "model_id": "distilbert/distilbert-base-uncased-finetuned-sst-2-english",
    "task": "text-classification",
}
COUNTS = (10, 30)


def configs(folder: Path) -> dict[str, Path]:
    """Config files by case name."""
    found = {}
    for kind, entry in (("trained", TRAINED), ("hf", HUGGING_FACE)):
        for count in COUNTS:
            found[f"{kind}-{count}"] = folder / f"{kind}-{count}.yaml"
            models = {f"m{n}": entry for n in range(count)}
            found[f"{kind}-{count}"].write_text(
                yaml.safe_dump({"environment": "bench", "region": "us-east-1", "models": models})
            )
    found["catalog-200"] = folder / "catalog-200.yaml"
    found["catalog-200"].write_text(yaml.safe_dump(catalog(200)))
    return found


def environments(scratch: str) -> dict[str, dict[str, str]]:
    base = {
        k: v for k, v in os.environ.items() if k not in ("PYTHONDONTWRITEBYTECODE", "PYTHONPYCACHEPREFIX")
    }
    base["JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION"] = "20"
    return {
        "PYTHONDONTWRITEBYTECODE=1": {**base, "PYTHONDONTWRITEBYTECODE": "1"},
        "bytecode kept": {**base, "PYTHONPYCACHEPREFIX": scratch},
    }


def seconds(command: list[str], context: dict, cwd: Path, environment: dict[str, str]) -> float:
    with tempfile.TemporaryDirectory() as outdir:
        environment = {**environment, "CDK_OUTDIR": outdir, "CDK_CONTEXT_JSON": json.dumps(context)}
        started = time.perf_counter()
        subprocess.run(command, cwd=cwd, env=environment, check=True, capture_output=True)
        return time.perf_counter() - started


def measure(trees: dict[str, Path], repeats: int) -> dict[str, dict[str, list[dict]]]:
    """{environment: {tree: [one dict of case -> ratio to that round's floor, per round]}}."""
    flags = json.loads((ROOT / "cdk.json").read_text())["context"]
    floor_flags = {**flags, "@aws-cdk/core:validateAgainstDefaultRules": False}
    cases = configs(Path(tempfile.mkdtemp(prefix="mlkit-trees-")))
    results: dict = {}
    with tempfile.TemporaryDirectory() as scratch:
        for _ in range(repeats):
            for name, environment in environments(scratch).items():
                floor = seconds([sys.executable, "-c", EMPTY_APP], floor_flags, ROOT, environment)
                for tree, path in trees.items():
                    ratios = {
                        case: seconds(
                            [sys.executable, "app.py"], {**flags, "config": str(config)}, path, environment
                        )
                        / floor
                        for case, config in cases.items()
                    }
                    results.setdefault(name, {}).setdefault(tree, []).append({**ratios, "floor": floor})
    return results


def summary(rounds: list[dict]) -> dict[str, float]:
    """Medians over rounds: growth per trained and per HF model, the catalogue, the floor in seconds."""
    low, high = COUNTS

    def growth(kind: str) -> float:
        return statistics.median((r[f"{kind}-{high}"] - r[f"{kind}-{low}"]) / (high - low) for r in rounds)

    return {
        "trained": growth("trained"),
        "hf": growth("hf"),
        "catalog": statistics.median(r["catalog-200"] for r in rounds),
        "catalog_seconds": statistics.median(r["catalog-200"] * r["floor"] for r in rounds),
        "floor": statistics.median(r["floor"] for r in rounds),
    }


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--before", type=Path, required=True)
    parser.add_argument("--after", type=Path, default=ROOT)
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args()
    results = measure({"before": args.before.resolve(), "after": args.after.resolve()}, args.repeats)
    print(f"| bytecode | tree | empty app | per trained model | per HF model | 200 models |\n|{'---|' * 6}")
    for name, by_tree in results.items():
        for tree, rounds in by_tree.items():
            s = summary(rounds)
            print(
                f"| {name} | {tree} | {s['floor']:.2f} s | +{s['trained']:.4f}× | +{s['hf']:.4f}× "
                f"| {s['catalog']:.2f}× ({s['catalog_seconds']:.1f} s) |"
            )


if __name__ == "__main__":
    main()
