"""make plan and the deploy paths' waves: dependency order from a synthesized assembly, the estimate from the
creation-time table, and the config's concurrency and the waves reaching make local's `cdk deploy`."""

import json
import re
import shutil

import pytest
import yaml

from mlkit import deploy_times, local_run, plan
from mlkit.report import Report
from stacks import names
from stacks.config.environment import DeploySettings
from tests.mlkit.fake_cdk import fake_cdk_environment, write_assembly
from tests.stacks.synth import config_from, synthesize
from tests.stacks.test_api_stack import CONFIG as API_CONFIG

# The api stack tests' config (synthesized once for both in make test), with a chain: its api stack waits
# for the guardrail's Bedrock stack, which waits for the data stack.
SMALL = config_from(API_CONFIG)
DATA, CHAT, API = (
    names.data_stack_name("api"),
    names.model_stack_name("api", "chat"),
    names.api_stack_name("api"),
)


@pytest.fixture(scope="module")
def small_stacks() -> list[plan.AssemblyStack]:
    return plan.read_stacks(synthesize(SMALL).outdir, SMALL.environment)


def test_the_waves_of_a_synthesized_config_follow_its_dependencies(small_stacks):
    waves = plan.dependency_waves(small_stacks)
    wave_of = {stack.name: number for number, wave in enumerate(waves) for stack in wave}
    assert sorted(wave_of) == sorted(stack.name for stack in small_stacks)  # each stack once
    for stack in small_stacks:
        # After every stack it depends on, and in the first wave that allows (no wave wasted).
        assert wave_of[stack.name] == 1 + max((wave_of[d] for d in stack.dependencies), default=-1), stack
    by_name = {stack.name: stack for stack in small_stacks}
    assert CHAT in by_name[API].dependencies  # the manifest's artifact ids, read as stack names
    assert wave_of[API] > wave_of[CHAT] > wave_of[DATA] == 0


def test_stacks_that_wait_for_each_other_are_refused():
    stacks = [
        plan.AssemblyStack("a", ("b",), template_file=None),
        plan.AssemblyStack("b", ("a",), template_file=None),
        plan.AssemblyStack("c", (), template_file=None),
    ]
    with pytest.raises(ValueError, match=r"depend on each other.*: a \(after b\), b \(after a\)"):
        plan.dependency_waves(stacks)


# Role → Model (GetAtt) → Config (Ref) → Endpoint (Sub), beside Logs → Oddity (DependsOn).
ENDPOINT_STACK = {
    "Resources": {
        "Role": {"Type": "AWS::IAM::Role"},
        "Model": {"Type": "AWS::SageMaker::Model", "Properties": {"Role": {"Fn::GetAtt": ["Role", "Arn"]}}},
        "Config": {"Type": "AWS::SageMaker::EndpointConfig", "Properties": {"V": [{"M": {"Ref": "Model"}}]}},
        "Endpoint": {"Type": "AWS::SageMaker::Endpoint", "Properties": {"C": {"Fn::Sub": "${Config.Name}"}}},
        "Logs": {"Type": "AWS::Logs::LogGroup"},
        "Oddity": {"Type": "AWS::Example::Thing", "DependsOn": "Logs"},
    }
}


def test_a_stack_takes_its_longest_chain_of_resources_from_the_table(tmp_path, monkeypatch):
    path = tmp_path / "stack.template.json"
    path.write_text(json.dumps(ENDPOINT_STACK))
    stack = plan.AssemblyStack("mlkit-dev-x", (), path)
    table, overhead = deploy_times.CREATION_SECONDS, deploy_times.STACK_OVERHEAD_SECONDS
    chain = ["AWS::IAM::Role", "AWS::SageMaker::Model", "AWS::SageMaker::EndpointConfig"]
    endpoint = table["AWS::SageMaker::Endpoint"]
    expected = [overhead[b] + sum(table[t][b] for t in chain) + endpoint[b] for b in (0, 1)]
    assert list(plan.stack_seconds(stack)) == expected
    # The table decides it: a faster endpoint, a faster stack.
    monkeypatch.setitem(table, "AWS::SageMaker::Endpoint", (1, 2))
    assert list(plan.stack_seconds(stack)) == [expected[b] - endpoint[b] + (1, 2)[b] for b in (0, 1)]
    # The other chain, once longer, sets the time; its type the table lacks counts at the stated default.
    monkeypatch.setitem(table, "AWS::Logs::LogGroup", (10_000, 20_000))
    unlisted = deploy_times.UNLISTED_SECONDS
    assert list(plan.stack_seconds(stack)) == [
        overhead[b] + (10_000, 20_000)[b] + unlisted[b] for b in (0, 1)
    ]
    assert plan.unlisted_types([stack]) == {"AWS::Example::Thing": 1}


def test_a_wave_runs_up_to_n_stacks_at_once_and_waves_run_in_turn():
    assert plan.wave_seconds([10, 10, 10], 1) == 30
    assert plan.wave_seconds([10, 10, 10], 2) == 20
    assert plan.wave_seconds([30, 10, 10, 10], 2) == 30
    assert plan.wave_seconds([10, 10], 8) == 10
    first, second = [plan.AssemblyStack("a", (), None)], [plan.AssemblyStack(n, ("a",), None) for n in "bcd"]
    durations = {"a": (5, 6), "b": (1, 10), "c": (1, 10), "d": (1, 10)}
    assert plan.estimate([first, second], durations, 2) == (5 + 2, 6 + 20)
    assert plan.estimate([first, second], durations, 3) == (5 + 1, 6 + 10)


def test_progress_lines_name_their_wave():
    stacks = [
        plan.AssemblyStack("mlkit-dev-data", (), None),
        plan.AssemblyStack("mlkit-dev-api", ("mlkit-dev-data",), None),
    ]
    labels = plan.wave_labels(plan.dependency_waves(stacks))
    assert plan.annotate("dev/Api (mlkit-dev-api): deploying... [2/2]", labels) == (
        "[wave 2/2] dev/Api (mlkit-dev-api): deploying... [2/2]"
    )
    assert (
        plan.annotate("✅  dev/Data (mlkit-dev-data)", labels) == "[wave 1/2] ✅  dev/Data (mlkit-dev-data)"
    )
    assert plan.annotate("❌  dev/Api (mlkit-dev-api) failed: x (y)", labels).startswith("[wave 2/2] ❌")
    assert plan.annotate("✨  Synthesis time (s): 0.02", labels) == "✨  Synthesis time (s): 0.02"


class Emulator:
    """What local_run.deploy() asks of the emulator: the variables for the CLI (port 1: no real run's)."""

    endpoint = "http://localhost:1"

    def environment(self) -> dict[str, str]:
        return {"AWS_ENDPOINT_URL": self.endpoint}


def test_make_local_deploys_the_configs_concurrency_in_waves(monkeypatch):
    config = SMALL.model_copy(update={"deploy": DeploySettings(concurrency=3)})
    stacks = {DATA: [], CHAT: [DATA], API: [CHAT]}
    commands = []

    def run_cdk(arguments, environment, log_name, waves=None):
        commands.append((arguments, waves))
        if arguments[0] == "synth":  # what `cdk synth --output` writes
            write_assembly(local_run.ROOT / arguments[arguments.index("--output") + 1], "api", stacks)

    monkeypatch.setattr(local_run, "run_cdk", run_cdk)
    assembly = local_run.assembly_directory(local_run.cdk_environment(Emulator()), "kit")
    report = Report()
    try:
        local_run.deploy(report, Emulator(), config, ["-c", "env=api"])
    finally:
        shutil.rmtree(assembly, ignore_errors=True)
    arguments, waves = commands[-1]
    assert arguments[0] == "deploy" and "api/*" in arguments and "--method=direct" in arguments
    assert arguments[arguments.index("--concurrency") + 1] == "3"
    assert arguments[arguments.index("--app") + 1] == str(assembly.relative_to(local_run.ROOT))
    assert waves == {name: f"[wave {n}/3]" for n, name in enumerate(stacks, 1)}
    assert report.rows[-1].detail == "stacks api/* in 3 dependency waves, up to 3 at once"


def test_make_locals_progress_lines_carry_the_wave(tmp_path, capsys):
    output = "dev/Api (mlkit-dev-api): deploying... [2/2]\nPublishing assets\n✅  dev/Api (mlkit-dev-api)\n"
    environment = fake_cdk_environment(tmp_path, output=output)
    log = "test-plan-run-cdk.log"
    (local_run.ROOT / ".cache").mkdir(exist_ok=True)  # run_cdk logs there; a fresh clone may have none
    try:
        local_run.run_cdk(["deploy"], environment, log, {"mlkit-dev-api": "[wave 2/2]"})
    finally:
        (local_run.ROOT / ".cache" / log).unlink(missing_ok=True)
    assert capsys.readouterr().err.splitlines() == [
        "    [wave 2/2] dev/Api (mlkit-dev-api): deploying... [2/2]",
        "    [wave 2/2] ✅  dev/Api (mlkit-dev-api)",
    ]


def test_make_plan_prints_the_waves_and_the_estimate_at_1_and_the_configs_concurrency(
    small_stacks, tmp_path, capsys
):
    config_file = tmp_path / "small.yaml"
    config_file.write_text(yaml.safe_dump(SMALL.model_dump(mode="json")))
    assembly = small_stacks[0].template_file.parent.parent
    assert plan.main(["--config", str(config_file), "--assembly", str(assembly)]) == 0
    printed = capsys.readouterr().out
    waves = plan.dependency_waves(small_stacks)
    durations = {stack.name: plan.stack_seconds(stack) for stack in small_stacks}
    assert f"{len(small_stacks)} stacks in {len(waves)} dependency waves" in printed
    assert re.search(rf"\n  wave 1/{len(waves)} +1 stack +each \S+ +{DATA}\n", printed), printed
    for concurrency, note in ((1, ""), (SMALL.deploy.concurrency, " (deploy.concurrency)")):
        expected = plan.span(plan.estimate(waves, durations, concurrency))
        assert f"  concurrency {concurrency}{note}: {expected}\n" in printed


def test_make_plan_without_an_assembly_says_how_to_get_one(tmp_path, capsys):
    assert plan.main(["--env", "dev", "--assembly", str(tmp_path)]) == 2
    assert "no synthesized stage 'dev' there (npx cdk synth -c env=dev)" in capsys.readouterr().err
