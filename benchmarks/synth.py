"""Synth time of mlkit as ratios to an empty CDK app (one Stack), all measured in the same run.

Each sample is a fresh process, as `cdk synth` runs the app, so jsii start-up is in the floor
and in every measurement. Samples alternate between cases to share the machine's state.
Usage: python benchmarks/synth.py [--repeats 5]
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

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
from benchmarks.report import write_section  # noqa: E402

EMPTY_APP = "import aws_cdk as cdk; app = cdk.App(); cdk.Stack(app, 'Empty'); app.synth()"
# The feature flags `cdk synth` applies, from cdk.json; the built-in template validation rejects a stack
# with no resources, so the floor (the empty app, shared by every synth benchmark) runs without that rule.
CDK_FLAGS = json.loads((ROOT / "cdk.json").read_text())["context"]
FLOOR_FLAGS = {**CDK_FLAGS, "@aws-cdk/core:validateAgainstDefaultRules": False}
FLOOR_CASE = ([sys.executable, "-c", EMPTY_APP], FLOOR_FLAGS)
# The same with CDK's built-in CloudFormation validation off, as mlkit's app runs (stacks/cdk_app.py):
# a second floor, so the ratios show what that setting saves and what the kit's own work costs.
EMPTY_APP_NO_VALIDATION = EMPTY_APP.replace("cdk.App()", "cdk.App(builtin_cloud_formation_validation=False)")
DATA_STACK_ALONE = """
from stacks.cdk_app import mlkit_app
from stacks.config import load_config, select_config_path
from stacks.data_stack import DataStack
from stacks.nag import add_nag_checks
app = mlkit_app()
DataStack(app, "Data", config=load_config(select_config_path(env="dev")))
add_nag_checks(app)
app.synth()
"""
# What the image table's module costs every synth: JumpStart's spec check imports it whenever the config
# model loads (it reads its table only for a SageMaker model). Timed alone, in a fresh process.
IMAGES_MODULE = """
import time
started = time.perf_counter()
import stacks.images
print(time.perf_counter() - started)
"""


# The default config as the Hugging Face issue left it: the data stack, one serverless HF model and the API.
HUGGINGFACE_CONFIG = """
environment: bench
region: us-east-1
removal: destroy
models:
  sentiment:
    source: huggingface
    model_id: distilbert/distilbert-base-uncased-finetuned-sst-2-english
    task: text-classification
    hosting: {type: serverless, memory_mb: 3072, max_concurrency: 5}
"""


def time_process(
    command: list[str], context: dict | None, cwd: Path = ROOT, outdir: str | None = None
) -> float:
    """Seconds of one fresh process in ``cwd``; with a CDK ``context``, its assembly goes to ``outdir``
    (default: a temporary folder)."""
    with tempfile.TemporaryDirectory() as scratch:
        environment = {**os.environ, "JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION": "20"}
        if context is not None:
            environment.update(CDK_OUTDIR=outdir or scratch, CDK_CONTEXT_JSON=json.dumps(context))
        started = time.perf_counter()
        subprocess.run(command, cwd=cwd, env=environment, check=True, capture_output=True)
        return time.perf_counter() - started


def alternating_samples(cases: dict, repeats: int) -> dict:
    """``repeats`` fresh-process seconds per case, each round running every case in turn."""
    samples: dict = {name: [] for name in cases}
    for _ in range(repeats):
        for name, (command, context) in cases.items():
            samples[name].append(time_process(command, context))
    return samples


def images_cost_seconds() -> float:
    """In-process seconds that importing stacks.images takes."""
    output = subprocess.run(
        [sys.executable, "-c", IMAGES_MODULE], cwd=ROOT, check=True, capture_output=True, text=True
    ).stdout
    return float(output.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args()
    hf_config = Path(tempfile.mkdtemp()) / "bench.yaml"
    hf_config.write_text(HUGGINGFACE_CONFIG)
    cases = {
        "empty app (one Stack)": FLOOR_CASE,
        "empty app, built-in validation off": ([sys.executable, "-c", EMPTY_APP_NO_VALIDATION], FLOOR_FLAGS),
        "data stack alone": ([sys.executable, "-c", DATA_STACK_ALONE], CDK_FLAGS),
        "data + serverless HF model + api": (
            [sys.executable, "app.py"],
            {**CDK_FLAGS, "config": str(hf_config)},
        ),
        "dev config (config/dev.yaml: 10 stacks, 6 models of 5 sources)": (
            [sys.executable, "app.py"],
            {**CDK_FLAGS, "env": "dev"},
        ),
    }
    samples: dict[str, list[float]] = {name: [] for name in cases}
    images: list[float] = []
    for _ in range(args.repeats):
        for name, (command, context) in cases.items():
            samples[name].append(time_process(command, context))
        images.append(images_cost_seconds())
    medians = {name: statistics.median(values) for name, values in samples.items()}
    floor = medians["empty app (one Stack)"]
    bare_floor = medians["empty app, built-in validation off"]
    lines = [
        "## Synth time",
        "",
        f"`make bench` (`python benchmarks/synth.py --repeats {args.repeats}`): medians of {args.repeats} "
        "fresh-process synths per case, alternating, on this machine (2 cores).",
        "",
        "| case | median | ratio to empty app | ratio to empty app, validation off |",
        "|---|---|---|---|",
        *(
            f"| {name} | {seconds:.2f} s | {seconds / floor:.2f}× | {seconds / bare_floor:.2f}× |"
            for name, seconds in medians.items()
        ),
        f"| importing the image table's module (`stacks.images`, on every config load) | "
        f"{statistics.median(images) * 1000:.1f} ms | {statistics.median(images) / floor:.3f}× "
        f"| {statistics.median(images) / bare_floor:.3f}× |",
    ]
    text = "\n".join(lines)
    print(text)
    write_section("synth", text)


if __name__ == "__main__":
    main()
