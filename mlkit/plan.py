"""`make plan ENV=...`: the stacks of ENV's synthesized cloud assembly in dependency waves, and an estimate
of how long creating them takes, one stack at a time and at the config's `deploy.concurrency`.

Usage: python -m mlkit.plan [--env dev | --config PATH] [--assembly cdk.out] [--concurrency N] [--all]

A wave holds the stacks whose dependencies (the assembly manifest's) are all in earlier waves.
`dependency_waves` is the one source of them: `make plan`, `make local` and `make deploy` (whose progress
lines name each stack's wave, `annotate`) all use it, and `deploy_arguments` gives all three deploy paths
(and the GitHub workflow) the same selection and `--concurrency`.

The estimate: a stack takes the CLI's per-stack overhead plus its longest chain of dependent resources
(CloudFormation creates independent resources at once, so neither the sum nor the slowest resource alone),
each figure from mlkit/deploy_times.py; a wave takes its stacks N at a time, in assembly order; waves run
one after another. That bounds the CLI's schedule from above: it starts a stack as soon as its own
dependencies are done, even before the rest of the previous wave.
"""

import json
import re
import sys
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from mlkit import environment_file
from mlkit.deploy_times import STACK_OVERHEAD_SECONDS, UNLISTED_SECONDS, creation_seconds

FAST, SLOW = 0, 1  # the two ends of each figure (mlkit/deploy_times.py)
SHOWN_PER_WAVE = 2  # stack names printed per wave without --all (make plan ALL=1)


@dataclass(frozen=True)
class AssemblyStack:
    """A stack of a synthesized stage: its CloudFormation name, the stacks it deploys after, its template."""

    name: str
    dependencies: tuple[str, ...]
    template_file: Path

    def template(self) -> dict:
        return json.loads(self.template_file.read_text())


def read_stacks(assembly: Path, environment: str) -> list[AssemblyStack]:
    """The stacks of ``environment``'s stage in the cloud assembly ``assembly`` (cdk.out), in its order."""
    directory = Path(assembly) / f"assembly-{environment}"
    manifest = directory / "manifest.json"
    if not manifest.exists():
        raise FileNotFoundError(
            f"{manifest}: no synthesized stage {environment!r} there (npx cdk synth -c env={environment})"
        )
    artifacts = json.loads(manifest.read_text())["artifacts"]
    stacks = {key: a for key, a in artifacts.items() if a["type"] == "aws:cloudformation:stack"}

    def name(artifact: dict) -> str:
        return artifact["properties"].get("stackName") or artifact["displayName"]

    return [
        AssemblyStack(
            name=name(artifact),
            # Asset manifests are dependencies too; only stacks order a deployment.
            dependencies=tuple(name(stacks[k]) for k in artifact.get("dependencies", ()) if k in stacks),
            template_file=directory / artifact["properties"]["templateFile"],
        )
        for artifact in stacks.values()
    ]


def dependency_waves(stacks: Sequence[AssemblyStack]) -> list[list[AssemblyStack]]:
    """``stacks`` in waves: each stack in the first wave after every stack it depends on."""
    waves: list[list[AssemblyStack]] = []
    placed: set[str] = set()
    remaining = list(stacks)
    while remaining:
        wave = [stack for stack in remaining if set(stack.dependencies) <= placed]
        if not wave:
            cycle = ", ".join(f"{s.name} (after {', '.join(s.dependencies)})" for s in remaining)
            raise ValueError(f"stacks that depend on each other, or on a stack not in the assembly: {cycle}")
        waves.append(wave)
        placed.update(stack.name for stack in wave)
        remaining = [stack for stack in remaining if stack.name not in placed]
    return waves


def wave_labels(waves: Sequence[Sequence[AssemblyStack]]) -> dict[str, str]:
    """Each stack name's wave, as progress lines show it: ``[wave 2/3]``."""
    return {stack.name: f"[wave {n}/{len(waves)}]" for n, wave in enumerate(waves, 1) for stack in wave}


# `cdk deploy` names the stack in parentheses: "dev/Api (mlkit-dev-api): deploying... [3/11]", "✅  dev/Api
# (mlkit-dev-api)", "❌  dev/Api (mlkit-dev-api) failed: ...".
STACK_IN_LINE = re.compile(r"\(([^()\s]+)\)")


def annotate(line: str, labels: Mapping[str, str]) -> str:
    """``line`` of `cdk deploy`'s output with its stack's wave in front, when it names one of ``labels``."""
    for name in STACK_IN_LINE.findall(line):
        if name in labels:
            return f"{labels[name]} {line}"
    return line


def deploy_arguments(config, *options: str) -> list[str]:
    """`cdk deploy`'s arguments for ``config``'s stage, ``options`` (such as --app) before the selection.

    The stage's stacks are named by pattern (`--all` does not select a nested assembly's); the CLI deploys
    ``deploy.concurrency`` of them at once, each only after the stacks it depends on."""
    return ["deploy", *options, f"{config.environment}/*", "--concurrency", str(config.deploy.concurrency)]


def chain_seconds(template: dict, bound: int) -> float:
    """The longest chain of dependent resources in ``template`` (Ref, GetAtt, Sub, DependsOn), in seconds."""
    resources = template.get("Resources", {})
    finished: dict[str, float] = {}

    def finish(logical_id: str) -> float:
        if logical_id not in finished:
            resource = resources[logical_id]
            before = (finish(other) for other in references(resource, resources) if other != logical_id)
            own = creation_seconds(resource["Type"]) or UNLISTED_SECONDS
            finished[logical_id] = own[bound] + max(before, default=0.0)
        return finished[logical_id]

    return max((finish(logical_id) for logical_id in resources), default=0.0)


SUBSTITUTION = re.compile(r"\$\{([A-Za-z0-9]+)[.}]")


def references(resource: dict, resources: Mapping[str, dict]) -> set[str]:
    """The resources of the same template ``resource`` waits for."""
    depends_on = resource.get("DependsOn", [])
    found = {depends_on} if isinstance(depends_on, str) else set(depends_on)
    pending = [resource.get("Properties", {})]
    while pending:
        value = pending.pop()
        if isinstance(value, list):
            pending.extend(value)
        elif isinstance(value, dict):
            if isinstance(value.get("Ref"), str):
                found.add(value["Ref"])
            if isinstance(value.get("Fn::GetAtt"), list):
                found.add(value["Fn::GetAtt"][0])
            sub = value.get("Fn::Sub")
            text = sub[0] if isinstance(sub, list) else sub
            if isinstance(text, str):
                found.update(SUBSTITUTION.findall(text))
            pending.extend(value.values())
    return found & resources.keys()


def stack_seconds(stack: AssemblyStack) -> tuple[float, float]:
    """(fast, slow) seconds to create ``stack``: the CLI's overhead and its longest resource chain."""
    template = stack.template()
    return tuple(STACK_OVERHEAD_SECONDS[bound] + chain_seconds(template, bound) for bound in (FAST, SLOW))


def wave_seconds(durations: Sequence[float], concurrency: int) -> float:
    """A wave's stacks, each started in order as soon as one of ``concurrency`` places is free."""
    places = [0.0] * min(concurrency, max(len(durations), 1))
    for duration in durations:
        soonest = places.index(min(places))
        places[soonest] += duration
    return max(places)


def estimate(
    waves: Sequence[Sequence[AssemblyStack]], durations: Mapping[str, tuple[float, float]], concurrency: int
) -> tuple[float, float]:
    """(fast, slow) seconds to create every wave in turn, ``concurrency`` stacks at once."""
    return tuple(
        sum(wave_seconds([durations[s.name][bound] for s in wave], concurrency) for wave in waves)
        for bound in (FAST, SLOW)
    )


def unlisted_types(stacks: Sequence[AssemblyStack]) -> Counter:
    """Resource types of ``stacks`` that mlkit/deploy_times.py has no figure for, and how many of each."""
    return Counter(
        resource["Type"]
        for stack in stacks
        for resource in stack.template().get("Resources", {}).values()
        if creation_seconds(resource["Type"]) is None
    )


def shown(seconds: float) -> str:
    """A duration as a person reads it: 45s, 12m, 3h05m."""
    if seconds < 90:
        return f"{seconds:.0f}s"
    hours, minutes = divmod(round(seconds / 60), 60)
    return f"{hours}h{minutes:02d}m" if hours else f"{minutes}m"


def span(pair: tuple[float, float]) -> str:
    return f"{shown(pair[FAST])}–{shown(pair[SLOW])}"


def render(config, stacks, *, concurrencies: Sequence[int], every_stack: bool, where: str) -> str:
    """The plan: each wave's stacks and their creation times, then the estimate at each concurrency."""
    waves = dependency_waves(stacks)
    durations = {stack.name: stack_seconds(stack) for stack in stacks}
    heading = f"{config.environment}, {len(stacks)} stacks in {len(waves)} dependency waves ({where})"
    lines = [f"mlkit plan: {heading}"]
    for number, wave in enumerate(waves, 1):
        names = [stack.name for stack in wave]
        listed = names if every_stack else names[:SHOWN_PER_WAVE]
        more = f", … (+{len(names) - len(listed)} more)" if len(listed) < len(names) else ""
        each = (min(durations[n][FAST] for n in names), max(durations[n][SLOW] for n in names))
        count = f"{len(wave)} stack{'s' if len(wave) > 1 else ''}"
        row = f"  wave {number}/{len(waves)}  {count:>10}  each {span(each):<12}"
        lines.append(f"{row} {', '.join(listed)}{more}")
    lines.append("estimated creation time (waves in turn, up to N stacks of a wave at once):")
    for concurrency in concurrencies:
        source = " (deploy.concurrency)" if concurrency == config.deploy.concurrency else ""
        lines.append(f"  concurrency {concurrency}{source}: {span(estimate(waves, durations, concurrency))}")
    overhead = span(STACK_OVERHEAD_SECONDS)
    lines.append(
        f"figures per resource type: mlkit/deploy_times.py; a stack: {overhead} of CLI overhead plus its "
        "longest chain of dependent resources"
    )
    if unlisted := unlisted_types(stacks):
        counted = ", ".join(f"{kind} ×{count}" for kind, count in sorted(unlisted.items()))
        lines.append(f"not in the table, counted at {span(UNLISTED_SECONDS)} each: {counted}")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = environment_file.argument_parser(__doc__, other_file=True)
    parser.add_argument("--assembly", default="cdk.out", help="the synthesized cloud assembly (cdk.out)")
    parser.add_argument("--concurrency", type=int, default=None, help="also estimate at N stacks at once")
    parser.add_argument("--all", action="store_true", help="list every stack of every wave")
    args = parser.parse_args(argv)
    if args.concurrency is not None and args.concurrency < 1:
        parser.error("--concurrency: at least 1 stack at once")
    config = environment_file.load(args)
    if config is None:
        return 2
    try:
        stacks = read_stacks(Path(args.assembly), config.environment)
    except FileNotFoundError as error:
        print(f"mlkit: {error}", file=sys.stderr)
        return 2
    concurrencies = sorted({1, config.deploy.concurrency, *([args.concurrency] if args.concurrency else [])})
    where = str(Path(args.assembly) / f"assembly-{config.environment}")
    print(render(config, stacks, concurrencies=concurrencies, every_stack=args.all, where=where))
    return 0


if __name__ == "__main__":
    sys.exit(main())
