"""How close each catalogue's stacks come to CloudFormation's per-stack limits (stacks/stack_limits.py).

Synthesizes, as `cdk synth` does (`python app.py`, cdk-nag on), the 300-model mix of benchmarks/catalog.py,
150 stackless Bedrock models, the largest mix the router's own limits accept (found by bisection on the
config's validation), and 1,000 Bedrock models (the router's limits take any number that share a model id),
then reads each stack's template file size and counts from the assembly.
A case the app refuses shows its one-line message. Each synth takes 10-90 s; run by hand.
Usage: python benchmarks/stack_limits.py [--cases mix:300,bedrock:150,...] [--tree DIR] [--no-write]
"""

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
from benchmarks.catalog import catalog, model  # noqa: E402
from benchmarks.report import write_section  # noqa: E402
from benchmarks.synth import CDK_FLAGS  # noqa: E402
from stacks.stack_limits import CLOUDFORMATION, StackSize, shown_bytes, stack_sizes  # noqa: E402

CASES = "mix:300,bedrock:150,mix:max,bedrock:1000,bedrock-long:300"
SHOWN = 3  # the biggest stacks shown per case


def config_of(kind: str, count: int) -> dict:
    """``count`` models of benchmarks/catalog.py's mix, or as many plain Bedrock models (no stack each);
    ``bedrock-long``: with the longest names a config allows (24 characters, environment 12), the most
    every row and alarm can weigh."""
    if kind == "mix":
        return catalog(count)
    if kind == "bedrock-long":
        models = {f"{'b' * 19}-{number:04}": model("bedrock", number) for number in range(count)}
        return {**catalog(0, environment="e" * 12), "models": models}
    models = {f"bedrock-{number:03}": model("bedrock", number) for number in range(count)}
    return {**catalog(0), "models": models}


def case_name(kind: str, count: int) -> str:
    return {
        "mix": f"{count} models (mix)",
        "bedrock": f"{count} Bedrock models (no stack each)",
        "bedrock-long": f"{count} Bedrock models, longest names",
    }[kind]


def largest_accepted_mix(high: int = 2000) -> int:
    """The most models of the mix whose config loads: the router's IAM and environment limits decide."""
    from pydantic import ValidationError

    from stacks.config import MlKitConfig

    def accepted(count: int) -> bool:
        try:
            MlKitConfig.model_validate(catalog(count))
        except ValidationError:
            return False
        return True

    low = 1
    while low < high:
        middle = (low + high + 1) // 2
        low, high = (middle, high) if accepted(middle) else (low, middle - 1)
    return low


def synthesize(tree: Path, config: dict, folder: Path) -> tuple[float, str, list[StackSize]]:
    """Seconds, the app's refusal (stderr's last line, or ""), and the stacks of one fresh `python app.py`."""
    path, outdir = folder / "config.yaml", folder / "out"
    path.write_text(yaml.safe_dump(config, sort_keys=False))
    environment = {
        **os.environ,
        "CDK_OUTDIR": str(outdir),
        "CDK_CONTEXT_JSON": json.dumps({**CDK_FLAGS, "config": str(path)}),
        "JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION": "20",
    }
    started = time.perf_counter()
    result = subprocess.run(
        [sys.executable, "app.py"], cwd=tree, env=environment, capture_output=True, text=True
    )
    seconds = time.perf_counter() - started
    if result.returncode != 0:
        return seconds, result.stderr.strip().splitlines()[-1], []
    return seconds, "", stack_sizes(outdir)


def case_lines(name: str, seconds: float, refused: str, sizes: list[StackSize]) -> list[str]:
    if refused:
        return [f"| {name} | refused ({seconds:.0f} s): `{refused}` | | | |"]
    by_size = sorted(sizes, key=lambda s: s.template_bytes, reverse=True)
    most = max(sizes, key=lambda s: s.resources)
    shown = [s for s in by_size[:SHOWN]] + ([most] if most not in by_size[:SHOWN] else [])
    stacks = "<br>".join(
        f"{s.name}: {s.template_bytes / 1024:.0f} KB, {s.resources} resources" for s in shown
    )
    outputs = max(s.outputs for s in sizes)
    parameters = max(s.parameters for s in sizes)
    return [
        f"| {name} | {len(sizes)} stacks ({seconds:.0f} s) | {stacks} | "
        f"{shown_bytes(by_size[0].template_bytes)}, {most.resources} | {outputs}, {parameters} |"
    ]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument(
        "--cases",
        default=CASES,
        help="kind:count,... (kind mix, bedrock or bedrock-long; count, or max for mix)",
    )
    parser.add_argument("--tree", type=Path, default=ROOT, help="the checkout whose app.py synthesizes")
    parser.add_argument("--no-write", action="store_true", help="print only; leave benchmarks/README.md")
    args = parser.parse_args()
    largest = largest_accepted_mix()
    lines = [
        "## CloudFormation's limits per stack",
        "",
        f"`python benchmarks/stack_limits.py --cases {args.cases}`: one `python app.py` (cdk-nag on) per "
        "catalogue; each stack's template file as CDK writes and uploads it. Limits "
        f"(stacks/stack_limits.py): template {shown_bytes(CLOUDFORMATION.template_bytes)}, "
        f"{CLOUDFORMATION.resources} resources, {CLOUDFORMATION.outputs} outputs, "
        f"{CLOUDFORMATION.parameters} parameters. The largest mix of benchmarks/catalog.py the router's "
        f"limits accept: **{largest} models**.",
        "",
        "| catalogue | stacks (synth) | biggest stacks, and the most resources | largest template, most "
        "resources | most outputs, parameters |",
        "|---|---|---|---|---|",
    ]
    for case in args.cases.split(","):
        kind, count = case.split(":")
        count = largest if count == "max" else int(count)
        with tempfile.TemporaryDirectory(prefix="mlkit-limits-") as folder:
            lines += case_lines(
                case_name(kind, count), *synthesize(args.tree, config_of(kind, count), Path(folder))
            )
        print(lines[-1], flush=True)
    text = "\n".join(lines)
    print(text)
    if not args.no_write:
        write_section("stack-limits", text)


if __name__ == "__main__":
    main()
