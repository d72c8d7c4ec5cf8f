"""Synth time as the catalogue grows: catalogues of N models (every source and hosting type, cdk-nag on)
as ratios to an empty CDK app measured in the same run, and the growth per added model.

Each sample is a fresh `python app.py` process, as `cdk synth` runs it; samples alternate between cases.
Usage: python benchmarks/catalog_synth.py [--sizes 8,50,100,200] [--repeats 2]
"""

import argparse
import statistics
import sys
import tempfile
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
from benchmarks.catalog import catalog  # noqa: E402
from benchmarks.report import publish  # noqa: E402
from benchmarks.synth import CDK_FLAGS, FLOOR_CASE, alternating_samples  # noqa: E402


def slope(points: list[tuple[int, float]]) -> float:
    """Least-squares growth of the ratio per model."""
    mean_x = statistics.mean(x for x, _ in points)
    mean_y = statistics.mean(y for _, y in points)
    return sum((x - mean_x) * (y - mean_y) for x, y in points) / sum((x - mean_x) ** 2 for x, _ in points)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--sizes", default="8,50,100,200")
    parser.add_argument("--repeats", type=int, default=2)
    args = parser.parse_args()
    sizes = [int(size) for size in args.sizes.split(",")]
    folder = Path(tempfile.mkdtemp(prefix="mlkit-catalog-"))
    cases = {"empty app": FLOOR_CASE}
    for size in sizes:
        path = folder / f"catalog-{size}.yaml"
        path.write_text(yaml.safe_dump(catalog(size)))
        cases[size] = ([sys.executable, "app.py"], {**CDK_FLAGS, "config": str(path)})
    samples = alternating_samples(cases, args.repeats)
    floor = statistics.median(samples.pop("empty app"))
    ratios = {size: statistics.median(values) / floor for size, values in samples.items()}
    growth = slope(list(ratios.items()))
    lines = [
        "## Synth time as the catalogue grows",
        "",
        f"`python benchmarks/catalog_synth.py --sizes {args.sizes} --repeats {args.repeats}`: "
        "catalogues from benchmarks/catalog.py (every source and hosting type in turn), "
        "`python app.py` with cdk-nag, "
        f"medians of {args.repeats} fresh processes, alternating with the floor (empty app: {floor:.2f} s).",
        "",
        "| models | median | ratio to empty app |",
        "|---|---|---|",
        *(f"| {size} | {ratio * floor:.1f} s | {ratio:.2f}× |" for size, ratio in ratios.items()),
        "",
        f"Growth per added model (least squares over the sizes): **+{growth:.4f}×** of the floor "
        "(target ≤ +0.04×). Target for 100 models: ≤ 5×.",
    ]
    publish("catalog", lines)


if __name__ == "__main__":
    main()
