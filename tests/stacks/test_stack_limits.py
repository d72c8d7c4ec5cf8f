"""CloudFormation's per-stack limits: each stack measured as CDK wrote it, a breach refused in one line."""

import json
import shutil

import pytest

from stacks import names
from stacks.stack_limits import (
    CLOUDFORMATION,
    StackLimits,
    StackSize,
    limit_problems,
    refusal,
    stack_sizes,
)
from tests.stacks.synth import config_from, synthesize

CHAT = {"source": "bedrock", "model_id": "amazon.nova-lite-v1:0"}
MOVE_MODELS = "move some models to another environment's config"


@pytest.fixture(scope="module")
def app():
    return synthesize(config_from({"environment": "limits", "region": "eu-west-1", "models": {"chat": CHAT}}))


def test_every_stack_is_measured_as_the_template_file_cdk_uploads(app):
    sizes = {size.name: size for size in stack_sizes(app.outdir)}  # the stage's nested assembly included
    assert set(sizes) == set(app.raw) and len(sizes) == 3
    for name, template in app.raw.items():
        # CDK writes JSON.stringify(template, undefined, 1): the same bytes as Python's indent=1.
        written = json.dumps(template, indent=1, ensure_ascii=False).encode()
        assert sizes[name].template_bytes == len(written), name
        assert sizes[name].resources == len(template["Resources"]) > 0
        assert (sizes[name].outputs, sizes[name].parameters) == (
            len(template.get("Outputs", {})),
            len(template.get("Parameters", {})),
        )
    assert limit_problems(list(sizes.values())) == []


def test_a_stack_over_each_limit_is_one_line_naming_the_stack_the_limit_and_the_remedy():
    over = StackSize("mlkit-big-operations", 1_163_919, 501, 201, 201)
    assert limit_problems([over]) == [
        f"mlkit-big-operations: template 1.11 MB, CloudFormation's limit is 1 MB: {MOVE_MODELS}",
        f"mlkit-big-operations: 501 resources, CloudFormation's limit is 500: {MOVE_MODELS}",
        f"mlkit-big-operations: 201 outputs, CloudFormation's limit is 200: {MOVE_MODELS}",
        f"mlkit-big-operations: 201 parameters, CloudFormation's limit is 200: {MOVE_MODELS}",
    ]
    limits = CLOUDFORMATION
    at_the_limits = StackSize("mlkit-big-api", limits.template_bytes, 500, 200, 200)
    assert limit_problems([at_the_limits]) == []


def test_the_pipeline_stack_names_its_own_remedy():
    (problem,) = limit_problems([StackSize(names.DELIVERY_STACK, 10, 600, 0, 0)])
    assert problem.endswith(
        "600 resources, CloudFormation's limit is 500: deliver fewer environments from "
        "one pipeline (delivery.yaml)"
    )


def test_a_refused_assembly_is_removed_so_no_deploy_picks_it_up(tmp_path, app):
    # A copy of the synthesized assembly (the shared one stays for other tests), over a small injected limit.
    outdir = tmp_path / "cdk.out"
    shutil.copytree(app.outdir, outdir)
    (outdir / "unrelated.lock").write_text("")  # the CLI's own files stay
    assert refusal(outdir) is None and (outdir / "manifest.json").exists()
    message = refusal(outdir, StackLimits(resources=5))
    assert message.startswith("mlkit-limits-") and "resources, CloudFormation's limit is 5" in message
    assert "\n" not in message and message.endswith("(and 2 more over a limit)")
    assert sorted(path.name for path in outdir.iterdir()) == ["unrelated.lock"]
