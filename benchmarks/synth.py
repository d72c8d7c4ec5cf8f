"""Synth time of mlkit's default config as a ratio to an empty CDK app, measured in the same run.

Each sample is a fresh process (as `cdk synth` runs the app), so jsii start-up is in both the
floor and the measurement. Samples alternate between the two to share the machine's state.
Usage: python benchmarks/synth.py [--repeats 5] [--env dev]
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

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from benchmarks.report import write_section  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
EMPTY_APP = "import aws_cdk as cdk; app = cdk.App(); cdk.Stack(app, 'Empty'); app.synth()"


def time_process(command: list[str], context: dict) -> float:
    with tempfile.TemporaryDirectory() as outdir:
        environment = {
            **os.environ,
            "CDK_OUTDIR": outdir,
            "CDK_CONTEXT_JSON": json.dumps(context),
            "JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION": "20",
        }
        started = time.perf_counter()
        subprocess.run(command, cwd=ROOT, env=environment, check=True, capture_output=True)
        return time.perf_counter() - started


def measure(cases: dict[str, tuple[list[str], dict]], repeats: int) -> dict[str, float]:
    samples: dict[str, list[float]] = {name: [] for name in cases}
    for _ in range(repeats):
        for name, (command, context) in cases.items():
            samples[name].append(time_process(command, context))
    return {name: statistics.median(values) for name, values in samples.items()}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--env", default="dev")
    args = parser.parse_args()
    feature_flags = json.loads((ROOT / "cdk.json").read_text())["context"]
    # The built-in template validation rejects a stack with no resources, so the floor runs without it.
    floor_flags = {**feature_flags, "@aws-cdk/core:validateAgainstDefaultRules": False}
    cases = {
        "empty app (one Stack)": ([sys.executable, "-c", EMPTY_APP], floor_flags),
        f"mlkit {args.env} config": ([sys.executable, "app.py"], {**feature_flags, "env": args.env}),
    }
    medians = measure(cases, args.repeats)
    floor = medians["empty app (one Stack)"]
    lines = [
        "## Synth time",
        "",
        f"`make bench` (`python benchmarks/synth.py --repeats {args.repeats}`): median of {args.repeats} "
        "fresh-process synths each, alternating, on this machine.",
        "",
        "| app | median synth | ratio to empty app |",
        "|---|---|---|",
    ]
    for name, seconds in medians.items():
        lines.append(f"| {name} | {seconds:.2f} s | {seconds / floor:.2f}× |")
    text = "\n".join(lines)
    print(text)
    write_section("synth", text)


if __name__ == "__main__":
    main()
