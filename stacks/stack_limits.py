"""CloudFormation's hard limits per stack, checked on the synthesized assembly before the app exits 0.

A template's size is exact only once CDK has written it, so this reads the assembly (the stage's nested
one included): the app refuses a breach with one line and removes what the synth wrote, so no
`cdk deploy --app` picks the templates up. The operations parts (stacks/operations_parts.py) keep every
catalogue the router accepts far below the limits (benchmarks/stack_limits.py); this is the backstop.
Plain functions over files, no CDK import.
"""

import json
import shutil
from dataclasses import dataclass
from pathlib import Path

from stacks import names

# AWS's quotas page, "Understand CloudFormation quotas"
# (https://docs.aws.amazon.com/AWSCloudFormation/latest/UserGuide/cloudformation-limits.html): a template
# body of at most 1 MB from S3 (51,200 bytes inline; CDK uploads every template over 50 KB), 500 resources,
# 200 outputs and 200 parameters per stack. None can be raised.
TEMPLATE_BYTES = 1_048_576
RESOURCES = 500
OUTPUTS = 200
PARAMETERS = 200
# CDK throws on more than 500 resources halfway through writing the assembly, with no remedy; this module
# checks that limit with the others instead, so the app turns CDK's own check off (0: none).
CDK_RESOURCE_LIMIT_CONTEXT = {"@aws-cdk/core:stackResourceLimit": 0}
MIB = 1024 * 1024


@dataclass(frozen=True)
class StackLimits:
    template_bytes: int = TEMPLATE_BYTES
    resources: int = RESOURCES
    outputs: int = OUTPUTS
    parameters: int = PARAMETERS


CLOUDFORMATION = StackLimits()


@dataclass(frozen=True)
class StackSize:
    """One synthesized stack: its name, its template file's bytes (the body CDK uploads), its counts."""

    name: str
    template_bytes: int
    resources: int
    outputs: int
    parameters: int


def stack_sizes(outdir: Path) -> list[StackSize]:
    """Every stack of the assembly in ``outdir``, nested assemblies (stages) included."""
    directory = Path(outdir)
    manifest = json.loads((directory / "manifest.json").read_text())
    found = []
    for artifact_id, artifact in manifest.get("artifacts", {}).items():
        properties = artifact.get("properties", {})
        if artifact["type"] == "cdk:cloud-assembly":
            found += stack_sizes(directory / properties["directoryName"])
        elif artifact["type"] == "aws:cloudformation:stack":
            path = directory / properties["templateFile"]
            template = json.loads(path.read_text())
            found.append(
                StackSize(
                    name=properties.get("stackName", artifact_id),
                    template_bytes=path.stat().st_size,
                    resources=len(template.get("Resources", {})),
                    outputs=len(template.get("Outputs", {})),
                    parameters=len(template.get("Parameters", {})),
                )
            )
    return found


def limit_problems(sizes: list[StackSize], limits: StackLimits = CLOUDFORMATION) -> list[str]:
    """One line per stack and limit it breaks: the stack, what it has, the limit, the remedy."""
    problems = []
    for size in sizes:
        breaches = []
        if size.template_bytes > limits.template_bytes:
            breaches.append(
                f"template {shown_bytes(size.template_bytes)}, CloudFormation's limit is "
                f"{shown_bytes(limits.template_bytes)}"
            )
        for count, limit, what in (
            (size.resources, limits.resources, "resources"),
            (size.outputs, limits.outputs, "outputs"),
            (size.parameters, limits.parameters, "parameters"),
        ):
            if count > limit:
                breaches.append(f"{count} {what}, CloudFormation's limit is {limit}")
        problems += [f"{size.name}: {breach}: {remedy(size.name)}" for breach in breaches]
    return problems


def shown_bytes(count: int) -> str:
    """``1.11 MB``, ``1 MB``, or below a tenth of one ``24 KB``."""
    if count < MIB / 10:
        return f"{count / 1024:.0f} KB"
    return f"{count / MIB:.2f}".rstrip("0").rstrip(".") + " MB"


def remedy(stack_name: str) -> str:
    """What a team can change: an environment's stacks grow with its models, the pipeline's with stages."""
    if stack_name == names.DELIVERY_STACK:
        return "deliver fewer environments from one pipeline (delivery.yaml)"
    if stack_name.startswith(f"{names.PROJECT}-"):
        return "move some models to another environment's config"
    return "split this stack's resources across stacks"


def refusal(outdir: Path, limits: StackLimits | None = None) -> str | None:
    """The one line a synth that breaks a limit (default: ``CLOUDFORMATION``'s) is refused with, or None;
    a refused assembly is removed."""
    problems = limit_problems(stack_sizes(outdir), limits or CLOUDFORMATION)
    if not problems:
        return None
    remove_assembly(outdir)
    more = f" (and {len(problems) - 1} more over a limit)" if len(problems) > 1 else ""
    return problems[0] + more


def remove_assembly(outdir: Path) -> None:
    """What this synth wrote into ``outdir``: the manifests, templates, nested assemblies and assets."""
    directory = Path(outdir)
    for path in directory.iterdir():
        if path.is_dir() and path.name.startswith(("assembly-", "asset.")):
            shutil.rmtree(path)
        elif path.name in {"manifest.json", "tree.json", "cdk.out"} or path.name.endswith(
            (".template.json", ".assets.json", "report.json")
        ):
            path.unlink()
