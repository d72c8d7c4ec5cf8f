"""What the operations issue's dashboard rows and alarms add to a synth per model, and what `make cost` adds
to one, as ratios measured in the same run.

Per model: growth per model (N-model synth - 1-model synth) / (N - 1) on this tree and on ``--baseline`` (a
commit before the dashboards and alarms, checked out as a git worktree), both over the empty app; the
difference is what the operations parts cost per model. Cost: `python -m mlkit.cost_report` over the dev
config's assembly, over that assembly's synth.
Usage: python benchmarks/operations_synth.py [--repeats 3] [--models 11] [--baseline edec466]
"""

import argparse
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
from benchmarks.report import write_section  # noqa: E402
from benchmarks.synth import CDK_FLAGS, FLOOR_CASE, time_process  # noqa: E402

BASELINE = "edec466"  # the last commit before the operations issue's stacks
MODELS = {
    "huggingface (serverless)": {
        "source": "huggingface",
        "model_id": "distilbert/distilbert-base-uncased-finetuned-sst-2-english",
        "task": "text-classification",
    },
    "bedrock": {"source": "bedrock", "model_id": "amazon.nova-lite-v1:0"},
}


def config_file(folder: Path, kind: str, count: int) -> str:
    models = {f"m{index}": MODELS[kind] for index in range(count)}
    path = folder / f"{kind.split()[0]}-{count}.yaml"
    path.write_text(yaml.safe_dump({"environment": "bench", "region": "us-east-1", "models": models}))
    return str(path)


def worktree(revision: str) -> Path:
    path = ROOT / ".cache" / f"bench-{revision}"
    if not path.exists():
        subprocess.run(["git", "worktree", "add", "--detach", str(path), revision], cwd=ROOT, check=True)
    return path


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--models", type=int, default=11)
    parser.add_argument("--baseline", default=BASELINE)
    args = parser.parse_args()
    folder, python = Path(tempfile.mkdtemp()), sys.executable
    trees = {"this tree": ROOT, f"baseline {args.baseline}": worktree(args.baseline)}
    cases = {"empty app": (FLOOR_CASE[0], FLOOR_CASE[1], ROOT)}
    for tree, cwd in trees.items():
        for kind in MODELS:
            for count in (1, args.models):
                context = {**CDK_FLAGS, "config": config_file(folder, kind, count)}
                cases[(tree, kind, count)] = ([python, "app.py"], context, cwd)
    dev_assembly = str(folder / "dev-assembly")
    cases["dev synth"] = ([python, "app.py"], {**CDK_FLAGS, "env": "dev"}, ROOT)
    for command, context, cwd in cases.values():  # warm-up: the worktree builds its Powertools layer once
        time_process(command, context, cwd)
    time_process([python, "app.py"], {**CDK_FLAGS, "env": "dev"}, ROOT, outdir=dev_assembly)
    cost_command = [python, "-m", "mlkit.cost_report", "--env", "dev", "--assembly", dev_assembly]
    cases["make cost (dev)"] = (cost_command, None, ROOT)
    samples = {name: [] for name in cases}
    for _ in range(args.repeats):
        for name, (command, context, cwd) in cases.items():
            samples[name].append(time_process(command, context, cwd))
    medians = {name: statistics.median(values) for name, values in samples.items()}
    floor = medians["empty app"]
    lines = [
        "## Operations: dashboard rows and alarms per model, and make cost",
        "",
        f"`python benchmarks/operations_synth.py --repeats {args.repeats} --models {args.models}`: "
        f"medians of {args.repeats} fresh processes per case, alternating; empty app {floor:.2f} s. "
        f"Baseline: {args.baseline}, before the dashboards and alarms, as a git worktree in the same run.",
        "",
        "| models | growth per model, this tree | growth per model, baseline | operations per model |",
        "|---|---|---|---|",
    ]
    for kind in MODELS:
        growth = {
            tree: (medians[(tree, kind, args.models)] - medians[(tree, kind, 1)]) / (args.models - 1) / floor
            for tree in trees
        }
        now, before = growth.values()
        lines.append(f"| {kind} | {now:+.4f}× | {before:+.4f}× | {now - before:+.4f}× |")
    cost, synth = medians["make cost (dev)"], medians["dev synth"]
    lines += [
        "",
        f"`make cost` over the dev assembly: {cost:.2f} s against its synth's {synth:.2f} s: "
        f"**{cost / synth:.1%}** of a synth (target ≤ 10 %). Target per model: ≤ +0.01× of the empty app.",
    ]
    write_section("operations-synth", "\n".join(lines))
    print("\n".join(lines))


if __name__ == "__main__":
    main()
