"""`make local`'s deploy of a catalogue (benchmarks/catalog.py) at concurrency 1 and at the default
(`deploy.concurrency`), alternating, each sample on a fresh emulator.

Each sample runs mlkit.local_run's deploy step as `make local` does (`cdk synth`, `cdk bootstrap`, then
`cdk deploy` with the config's concurrency, in dependency waves): the only part of `make local` that
concurrency changes. The checks after it take the same time at any concurrency. Several minutes for 50 models.
Usage: python benchmarks/deploy_concurrency.py [--models 50] [--repeats 1]
"""

import argparse
import os
import statistics
import sys
import tempfile
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
from benchmarks.catalog import catalog  # noqa: E402
from benchmarks.report import publish  # noqa: E402
from mlkit.emulator import Emulator  # noqa: E402
from mlkit.local_run import assembly_directory, cdk_environment, deploy, remove_assemblies  # noqa: E402
from mlkit.plan import dependency_waves, read_stacks  # noqa: E402
from mlkit.report import Report  # noqa: E402
from stacks.config import load_config  # noqa: E402
from stacks.config.environment import DEFAULT_DEPLOY_CONCURRENCY  # noqa: E402

STEPS = ("cdk synth", "cdk bootstrap", "cdk deploy")


def sample(config_path: Path) -> tuple[dict[str, float], int]:
    """The seconds of each deploy step for the config at ``config_path``, and its dependency waves."""
    config = load_config(config_path)
    emulator = Emulator(region=config.region)
    report = Report()
    try:
        emulator.start()
        deploy(report, emulator, config, ["-c", f"config={config_path}", "-c", "emulated=true"])
        assembly = assembly_directory(cdk_environment(emulator), "kit")
        waves = len(dependency_waves(read_stacks(assembly, config.environment)))
    finally:
        emulator.stop()
        remove_assemblies(emulator)
    seconds = {row.step: row.seconds for row in report.rows if row.step in STEPS}
    return seconds, waves


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--models", type=int, default=50)
    parser.add_argument("--repeats", type=int, default=1)
    args = parser.parse_args()
    folder = Path(tempfile.mkdtemp(prefix="mlkit-deploy-bench-"))
    # The emulator of `make local-up`, if one runs, is not reused: every sample starts its own.
    os.environ["MLKIT_EMULATOR_STATE"] = str(folder / "emulator.json")
    os.environ.setdefault("MOTO_RECORDER_FILEPATH", str(folder / "moto-recording.jsonl"))
    cases = {}
    for concurrency in (1, DEFAULT_DEPLOY_CONCURRENCY):
        path = folder / f"catalog-{concurrency}.yaml"
        path.write_text(yaml.safe_dump({**catalog(args.models), "deploy": {"concurrency": concurrency}}))
        cases[concurrency] = path
    samples: dict[int, list[dict[str, float]]] = {case: [] for case in cases}
    waves = 0
    for repeat in range(args.repeats):
        order = list(cases) if repeat % 2 == 0 else list(reversed(cases))  # alternating
        for concurrency in order:
            seconds, waves = sample(cases[concurrency])
            samples[concurrency].append(seconds)
            print(f"concurrency {concurrency}: {seconds}", file=sys.stderr, flush=True)
    medians = {
        case: {step: statistics.median(s[step] for s in runs) for step in STEPS}
        for case, runs in samples.items()
    }
    serial, parallel = medians[1], medians[DEFAULT_DEPLOY_CONCURRENCY]
    ratio = serial["cdk deploy"] / parallel["cdk deploy"]
    lines = [
        "## Deploying a catalogue in parallel",
        "",
        f"`python benchmarks/deploy_concurrency.py --models {args.models} --repeats {args.repeats}`: "
        f"`make local`'s deploy step (mlkit.local_run.deploy) for a {args.models}-model catalogue from "
        f"benchmarks/catalog.py ({waves} dependency waves), on a fresh emulator per sample, concurrency 1 "
        f"and {DEFAULT_DEPLOY_CONCURRENCY} (the default) alternating, medians of {args.repeats}.",
        "",
        f"| step | concurrency 1 | concurrency {DEFAULT_DEPLOY_CONCURRENCY} | ratio |",
        "|---|---|---|---|",
        *(
            f"| `{s}` | {serial[s]:.1f} s | {parallel[s]:.1f} s | {serial[s] / parallel[s]:.2f}× |"
            for s in STEPS
        ),
        "",
        f"`cdk deploy` at concurrency {DEFAULT_DEPLOY_CONCURRENCY} is **{ratio:.2f}× faster** than one stack "
        f"at a time ({serial['cdk deploy']:.1f} s → {parallel['cdk deploy']:.1f} s). `cdk synth` and "
        "`cdk bootstrap` run the same at any concurrency: their ratios are this shared machine's noise. "
        "The emulator creates a stack inside its CreateStack call, so what overlaps here is the CLI's and "
        "the emulator's own work per stack, on this machine's cores; on AWS, where a stack waits minutes "
        "for its resources, `make plan` estimates the gain.",
    ]
    publish("deploy-concurrency", lines)


if __name__ == "__main__":
    main()
