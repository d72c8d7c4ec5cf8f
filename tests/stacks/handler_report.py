"""Every resource mlkit deploys, by the execution policy that deploys it, against its handler permissions.

The environment policy deploys the stacks of every shipped config, of tests/stacks/test_checks.py's configs,
of the 200-model catalogue, and the delivery app's stage and -oidc stacks; the tooling policy deploys the
pipeline stack and its cross-region support stacks (with delivery.yaml's connection and with a CodeCommit
source).

`.venv/bin/python -m tests.stacks.handler_report` prints the figures; `--write` regenerates
stacks/delivery/handler_permissions.py from the schemas (its diff is the policy's: review it).
"""

import functools
import json
import sys
import tempfile
from collections.abc import Callable
from pathlib import Path

from benchmarks.catalog import catalog
from stacks import names
from stacks.cdk_app import mlkit_app
from stacks.config import MlKitConfig, load_config, load_delivery
from stacks.config.delivery import CodeCommitSource, Source
from stacks.config.loader import CONFIG_DIR, DELIVERY_PATH
from stacks.delivery import handler_permissions
from stacks.delivery.app import build_delivery
from stacks.delivery.execution_policy import ENVIRONMENT_SERVICES, TOOLING_SERVICES, execution_policy
from tests.stacks.handler_schemas import (
    Resource,
    check,
    derive,
    excluded_properties_set,
    stale_entries,
    template_resources,
)
from tests.stacks.synth import CDK_CONTEXT, DeliverySynthesized, config_from, synthesize, synthesize_delivery
from tests.stacks.test_catalog_scale import MODELS
from tests.stacks.test_checks import CONFIGS

ENVIRONMENT, TOOLING = "environment", "tooling"
POLICIES = {
    ENVIRONMENT: execution_policy("111111111111", "us-east-1"),
    TOOLING: execution_policy("444444444444", "us-east-1", tooling=True),
}
SERVICES = {ENVIRONMENT: ENVIRONMENT_SERVICES, TOOLING: TOOLING_SERVICES}
GENERATED = Path(handler_permissions.__file__)


def config_sources() -> dict[str, Callable[[], MlKitConfig]]:
    """The shipped configs, test_checks' configs and the 200-model catalogue (synthesize caches repeats)."""
    shipped = {
        f"config/{path.name}": functools.partial(load_config, path)
        for path in sorted(CONFIG_DIR.glob("*.yaml"))
        if path != DELIVERY_PATH
    }
    return {**shipped, **CONFIGS, "catalogue": lambda: config_from(catalog(MODELS))}


def assembly_resources(raw: dict[str, dict], assembly: Path) -> list[Resource]:
    """The resources of ``raw``'s templates, each stack's region read off the assembly's manifest."""
    manifest = json.loads((assembly / "manifest.json").read_text())
    environments = {  # aws://<account>/<region>
        artifact.get("properties", {}).get("stackName", artifact_id): artifact["environment"]
        for artifact_id, artifact in manifest["artifacts"].items()
        if artifact["type"] == "aws:cloudformation:stack"
    }
    regions = {name: environment.split("/")[-1] for name, environment in environments.items()}
    return [r for name, template in raw.items() for r in template_resources(name, template, regions[name])]


@functools.cache
def codecommit_pipeline() -> tuple[Resource, ...]:
    """The pipeline stack with delivery.yaml's other source, a CodeCommit repository. The source changes the
    pipeline stack only, so one environment is enough (and synthesizes in seconds)."""
    delivery = load_delivery(DELIVERY_PATH)
    source = Source(codecommit=CodeCommitSource(repository=names.PROJECT))
    pipeline = delivery.settings.pipeline.model_copy(update={"source": source})
    variant = delivery._replace(
        settings=delivery.settings.model_copy(update={"pipeline": pipeline, "github": None}),
        environments=delivery.environments[:1],
    )
    with tempfile.TemporaryDirectory(prefix="mlkit-codecommit-synth-") as outdir:
        app = mlkit_app(outdir=outdir, context=CDK_CONTEXT)
        build_delivery(app, variant)
        stacks = app.synth().stacks
        return tuple(
            r for s in stacks for r in template_resources(s.stack_name, s.template, s.environment.region)
        )


def deployed(delivery: DeliverySynthesized) -> dict[str, list[Resource]]:
    """Every resource the tests synthesize, by the policy that deploys it."""
    environment: list[Resource] = []
    apps = {}  # by folder: a config listed twice (config/dev.yaml and test_checks' dev) counts once
    for load in config_sources().values():
        app = synthesize(load())
        apps[app.directory] = app
    for directory, app in apps.items():
        environment += assembly_resources(app.raw, directory)
    top = assembly_resources(delivery.raw, delivery.outdir)
    tooling = [r for r in top if r.stack.startswith(names.DELIVERY_STACK)] + list(codecommit_pipeline())
    environment += [r for r in top if not r.stack.startswith(names.DELIVERY_STACK)]
    for stage, raw in delivery.stages.items():
        environment += assembly_resources(raw, delivery.outdir / f"assembly-{names.DELIVERY_STACK}-{stage}")
    return {ENVIRONMENT: environment, TOOLING: tooling}


def derived(resources: dict[str, list[Resource]]) -> dict[str, tuple[tuple, dict]]:
    return {kind: derive(resources[kind], SERVICES[kind].values()) for kind in (ENVIRONMENT, TOOLING)}


def committed() -> dict[str, tuple[tuple, dict]]:
    """What handler_permissions holds, in ``derived``'s shape."""
    return {
        ENVIRONMENT: (handler_permissions.ENVIRONMENT_TYPES, handler_permissions.ENVIRONMENT_ACTIONS),
        TOOLING: (handler_permissions.TOOLING_TYPES, handler_permissions.TOOLING_ACTIONS),
    }


HEADER = '''"""Generated by `.venv/bin/python -m tests.stacks.handler_report --write`: do not edit by hand.

Per execution policy: the resource types mlkit deploys, and the actions CloudFormation's create, update and
delete handlers call for them (cfn-lint's resource provider schemas) beyond the policy's service wildcards,
less tests/stacks/handler_schemas.py's exclusions, by the IAM resource each acts on ("*": any).
tests/stacks/test_execution_policy.py fails when this differs from what the schemas and templates give.
"""
'''


def _tuple(items: tuple[str, ...], indent: str) -> list[str]:
    """A tuple of strings as source lines, the first to follow ``name = ``; one item stays on its line."""
    if len(items) == 1:
        return [f'("{items[0]}",)']
    return ["(", *(f'{indent}    "{item}",' for item in items), f"{indent})"]


def render(values: dict[str, tuple[tuple, dict]]) -> str:
    """handler_permissions' source for ``derived``'s output (ruff-format clean)."""
    lines = [HEADER]
    for kind in (ENVIRONMENT, TOOLING):
        types, actions = values[kind]
        first, *rest = _tuple(types, "")
        lines += [f"{kind.upper()}_TYPES = {first}", *rest, f"{kind.upper()}_ACTIONS = {{"]
        for group, listed in actions.items():
            first, *rest = _tuple(listed, "    ")
            lines += [
                f'    "{group}": {first}' + ("" if rest else ","),
                *rest[:-1],
                *(f"{r}," for r in rest[-1:]),
            ]
        lines.append("}")
    return "\n".join(lines) + "\n"


def figures(resources: dict[str, list[Resource]]) -> str:
    """Per policy: what was checked, allowed, excluded (with why) and missing; then any stale entry."""
    out = []
    for kind, policy in POLICIES.items():
        report = check(resources[kind], policy)
        calls = report.needed.calls
        triples = {
            name: sum(len(calls[key]) for key in keys)
            for name, keys in (("allowed", report.allowed), ("excluded", report.excluded))
        }
        out += [
            f"{kind} policy: {len(resources[kind])} resources of {len(report.needed.types)} types",
            f"  handler permissions: {len({a for _, a in calls})} distinct actions, "
            f"{len(calls)} (type, action) pairs, {report.needed.total} (type, operation, action) in all",
            f"  allowed: {len(report.allowed)} pairs ({triples['allowed']}); excluded: {len(report.excluded)}"
            f" pairs ({triples['excluded']}); missing: {len(report.missing)}",
            *(
                f"    excluded {t} {a}: {', '.join(e.properties) or 'no property'}: {e.reason}"
                for (t, a), e in report.excluded.items()
            ),
            *(f"    MISSING {m}" for m in report.missing),
        ]
    out += [f"stale: {entry}" for entry in stale_entries(resources, POLICIES)]
    out += [f"property set: {entry}" for r in resources.values() for entry in excluded_properties_set(r)]
    return "\n".join(out)


def main(argv: list[str]) -> int:
    resources = deployed(synthesize_delivery(DELIVERY_PATH))
    print(figures(resources))
    if "--write" in argv:
        GENERATED.write_text(render(derived(resources)))
        print(f"wrote {GENERATED}")
    elif derived(resources) != committed():
        print(f"{GENERATED} differs from the schemas: run with --write and review the diff")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
