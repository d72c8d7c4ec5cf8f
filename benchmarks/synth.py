"""Synth time of mlkit as ratios to an empty CDK app (one Stack), all measured in the same run.

Each sample is a fresh process, as `cdk synth` runs the app, so jsii start-up is in the floor
and in every measurement. Samples alternate between cases, and each case runs in both bytecode
environments a synth meets (PYTHONDONTWRITEBYTECODE set, as here and in many CI images, and unset),
so every ratio compares processes that shared the machine's state. Wall and CPU seconds both: CPU
seconds (the process tree's) move less when other work shares the machine.
Target (issue 24): the dev config at most 1.4× the empty app in both.
Usage: python benchmarks/synth.py [--repeats 5]
"""

import argparse
import json
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from collections import defaultdict
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
from stacks.bytecode import keep_bytecode
keep_bytecode()  # as app.py does
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
DEV = "dev config (config/dev.yaml)"
EMPTY, BARE = "empty app (one Stack)", "empty app, built-in validation off"
SET, UNSET = "PYTHONDONTWRITEBYTECODE=1", "unset"
WALL, CPU = "wall", "CPU"
TARGET = 1.4


def bytecode_environments(scratch: str) -> dict[str, dict[str, str]]:
    """The two environments every case runs in. Unset, Python would keep bytecode beside the sources;
    here it goes to ``scratch`` instead, so the unset runs leave no .pyc in the venv for the set runs
    to read (which would hide what the variable costs)."""
    base = {
        key: value
        for key, value in os.environ.items()
        if key not in ("PYTHONDONTWRITEBYTECODE", "PYTHONPYCACHEPREFIX")
    }
    return {SET: {**base, "PYTHONDONTWRITEBYTECODE": "1"}, UNSET: {**base, "PYTHONPYCACHEPREFIX": scratch}}


def time_process(
    command: list[str],
    context: dict | None,
    cwd: Path = ROOT,
    outdir: str | None = None,
    environment: dict[str, str] | None = None,
) -> float:
    """Seconds of one fresh process in ``cwd`` (in ``environment``, default this one's); with a CDK
    ``context``, its assembly goes to ``outdir`` (default: a temporary folder)."""
    with tempfile.TemporaryDirectory() as scratch:
        environment = {
            **(os.environ if environment is None else environment),
            "JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION": "20",
        }
        if context is not None:
            environment.update(CDK_OUTDIR=outdir or scratch, CDK_CONTEXT_JSON=json.dumps(context))
        started = time.perf_counter()
        result = subprocess.run(command, cwd=cwd, env=environment, capture_output=True, text=True)
        seconds = time.perf_counter() - started
    if result.returncode:
        raise RuntimeError(f"{' '.join(command)} failed ({context}):\n{result.stderr[-3000:]}")
    return seconds


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


def synth_cases(hf_config: Path) -> dict:
    """The cases, by name: (command, context)."""
    return {
        EMPTY: FLOOR_CASE,
        BARE: ([sys.executable, "-c", EMPTY_APP_NO_VALIDATION], FLOOR_FLAGS),
        "data stack alone": ([sys.executable, "-c", DATA_STACK_ALONE], CDK_FLAGS),
        "data + serverless HF model + api": (
            [sys.executable, "app.py"],
            {**CDK_FLAGS, "config": str(hf_config)},
        ),
        DEV: ([sys.executable, "app.py"], {**CDK_FLAGS, "env": "dev"}),
    }


def children_cpu_seconds() -> float:
    """CPU seconds of this process's finished children, theirs included (jsii's Node processes)."""
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def measure(cases: dict, environments: dict, repeats: int) -> tuple[dict, list[float]]:
    """Median wall and CPU seconds by (measure, case, environment), alternating cases and environments,
    after one uncounted warm-up round (the first synth after an install compiles once), and the image
    module's import seconds. CPU seconds hold when other work shares the machine; wall seconds do not."""
    samples: dict = defaultdict(list)
    images: list[float] = []
    for round_ in range(repeats + 1):
        for name, (command, context) in cases.items():
            for env, environment in environments.items():
                cpu_before = children_cpu_seconds()
                wall = time_process(command, context, environment=environment)
                if round_:
                    samples[WALL, name, env].append(wall)
                    samples[CPU, name, env].append(children_cpu_seconds() - cpu_before)
        if round_:
            images.append(images_cost_seconds())
    return {key: statistics.median(values) for key, values in samples.items()}, images


def table(medians: dict, measure_: str) -> list[str]:
    """One row per case: in each environment, its median seconds and its ratios to both floors."""
    columns = " | ".join(f"{env}: {measure_} | × empty app | × validation off" for env in (SET, UNSET))
    rows = [f"| case | {columns} |", "|---" * 7 + "|"]
    for name in dict.fromkeys(name for kind, name, _ in medians if kind == measure_):
        cells = (
            f"{medians[measure_, name, env]:.2f} s | {ratio(medians, measure_, name, env, EMPTY):.2f}× "
            f"| {ratio(medians, measure_, name, env, BARE):.2f}×"
            for env in (SET, UNSET)
        )
        rows.append(f"| {name} | {' | '.join(cells)} |")
    return rows


def ratio(medians: dict, measure_: str, name: str, env: str, floor: str, floor_env: str = "") -> float:
    """``name`` in ``env`` over ``floor`` in ``floor_env`` (default: the same environment)."""
    return medians[measure_, name, env] / medians[measure_, floor, floor_env or env]


def verdict(medians: dict, measure_: str) -> str:
    """The dev config against the target in both environments, and against the bare floor."""
    ratios = [ratio(medians, measure_, DEV, env, EMPTY) for env in (SET, UNSET)]
    strict = ratio(medians, measure_, DEV, SET, EMPTY, UNSET)  # the set case against the faster floor
    bare = [ratio(medians, measure_, DEV, env, BARE) for env in (SET, UNSET)]
    met = "met" if max(*ratios, strict) <= TARGET else "NOT met"
    return (
        f"- {measure_}: dev **{ratios[0]:.2f}×** the empty app with `{SET}`, **{ratios[1]:.2f}×** with it "
        f"unset, {strict:.2f}× set against the empty app unset (target ≤ {TARGET}×: {met}); against the bare "
        f"floor (empty app, validation off) {bare[0]:.2f}× / {bare[1]:.2f}×."
    )


def report(medians: dict, images: list[float], repeats: int) -> str:
    """The README section: the wall and CPU tables, then the target's verdicts."""
    image_share = statistics.median(images) / medians[WALL, EMPTY, UNSET]
    return "\n".join(
        [
            "## Synth time",
            "",
            f"`make bench` (`python benchmarks/synth.py --repeats {repeats}`): medians of {repeats} "
            "fresh-process synths per case and bytecode environment, all alternating, after one warm-up "
            "round, on this machine (2 cores). Unset, bytecode goes to a scratch `PYTHONPYCACHEPREFIX` "
            "(as it would beside the sources). Ratios are to the empty app, and to the empty app with "
            "validation off, in the same environment. CPU: the process's and its children's (jsii's Node).",
            "",
            *table(medians, WALL),
            "",
            *table(medians, CPU),
            "",
            verdict(medians, WALL),
            verdict(medians, CPU),
            f"- Importing the image table's module (`stacks.images`, on every config load): "
            f"{statistics.median(images) * 1000:.1f} ms ({image_share:.3f}× the empty app).",
        ]
    )


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as scratch:
        hf_config = Path(scratch) / "bench.yaml"
        hf_config.write_text(HUGGINGFACE_CONFIG)
        environments = bytecode_environments(str(Path(scratch) / "pycache"))
        medians, images = measure(synth_cases(hf_config), environments, args.repeats)
    text = report(medians, images, args.repeats)
    print(text)
    write_section("synth", text)


if __name__ == "__main__":
    main()
