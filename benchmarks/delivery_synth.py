"""Synth time of the delivery app against one environment's and an empty app's, measured in the same run.

A pipeline synthesizes every stage's stacks in one app, and cdk-nag runs over each, so its synth grows with
the stages. Cases: the empty app (the floor); the dev config alone (`app.py -c env=dev`, 7 stacks); the
shipped config/delivery.yaml (pipeline over dev, staging and prod as shipped, plus the OIDC stacks); and the
worst case, three stages that are each the whole dev config. Target: three stages ≤ 2.5× one environment.

Each sample is a fresh process, as `cdk synth` runs the app; samples alternate between cases.
Usage: python benchmarks/delivery_synth.py [--repeats 3]
"""

import argparse
import shutil
import statistics
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
from benchmarks.report import publish  # noqa: E402
from benchmarks.synth import CDK_FLAGS, FLOOR_CASE, alternating_samples  # noqa: E402

# Inside the repository: the pipeline's synth step names its delivery file by its path in the repository.
WORKDIR = ROOT / ".cache" / "bench-delivery"
ACCOUNTS = {"dev": "111111111111", "staging": "333333333333", "prod": "222222222222"}


def three_dev_stages() -> Path:
    """A delivery file whose three stages each hold every stack of config/dev.yaml."""
    shutil.rmtree(WORKDIR, ignore_errors=True)
    WORKDIR.mkdir(parents=True)
    dev = (ROOT / "config" / "dev.yaml").read_text()
    for name, account in ACCOUNTS.items():
        text = dev.replace("environment: dev", f"environment: {name}").replace(
            '"111111111111"', f'"{account}"'
        )
        (WORKDIR / f"{name}.yaml").write_text(text)
    delivery = (ROOT / "config" / "delivery.yaml").read_text()
    (WORKDIR / "delivery.yaml").write_text(delivery.replace("$schema=./", "$schema=../../config/"))
    return WORKDIR / "delivery.yaml"


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    app = [sys.executable, "app.py"]
    cases = {
        "empty app (one Stack)": FLOOR_CASE,
        "one environment: dev config (7 stacks)": (app, {**CDK_FLAGS, "env": "dev"}),
        "delivery app, config/delivery.yaml (dev 7 + staging 2 + prod 2 stacks, pipeline, 3 OIDC)": (
            app,
            {**CDK_FLAGS, "delivery": "config/delivery.yaml"},
        ),
        "delivery app, three stages of the whole dev config (3 × 7 stacks, pipeline, 3 OIDC)": (
            app,
            {**CDK_FLAGS, "delivery": str(three_dev_stages().relative_to(ROOT))},
        ),
    }
    samples = alternating_samples(cases, args.repeats)
    medians = {name: statistics.median(values) for name, values in samples.items()}
    floor, one = medians["empty app (one Stack)"], medians["one environment: dev config (7 stacks)"]
    worst = list(medians.values())[-1]
    lines = [
        "## Delivery synth time",
        "",
        f"`python benchmarks/delivery_synth.py --repeats {args.repeats}` (in `make bench`): medians of "
        f"{args.repeats} fresh-process synths per case, alternating, cdk-nag on, on this machine (2 cores).",
        "",
        "| case | median | ratio to empty app | ratio to one environment |",
        "|---|---|---|---|",
        *(
            f"| {name} | {seconds:.2f} s | {seconds / floor:.2f}× | {seconds / one:.2f}× |"
            for name, seconds in medians.items()
        ),
        "",
        f"Three stages of the whole dev config: **{worst / one:.2f}×** one environment's synth "
        "(target ≤ 2.5×).",
    ]
    publish("delivery", lines)


if __name__ == "__main__":
    main()
