"""Every state machine the kit synthesizes, checked by implementations it did not write: LocalStack's ASL
parser, jsonpath-ng, LocalStack's intrinsic grammar, and botocore's input shapes (tests/stacks/asl_check.py).

Figures: ``.venv/bin/python -m tests.stacks.test_state_machine_definitions`` prints the machines parsed and
the tasks validated, per config and by integration.
"""

import dataclasses
import functools
import json
from collections import Counter

import pytest

from stacks.config import load_config
from stacks.config.loader import CONFIG_DIR, DELIVERY_PATH
from tests.stacks.asl_check import Outcome, check_machine, check_machines, states_of
from tests.stacks.asl_integrations import FUNCTION_ARN, sdk_service
from tests.stacks.asl_machines import Machine, state_machines
from tests.stacks.synth import synthesize
from tests.stacks.test_checks import CONFIGS

# test_checks' configs (every source: training, tuning, Autopilot, hub packaging, Glue, Processing and Data
# Wrangler preparation, JumpStart) and every shipped config, including those test_checks does not name.
ALL_CONFIGS = {
    **CONFIGS,
    **{
        path.stem: functools.partial(load_config, path)
        for path in sorted(CONFIG_DIR.glob("*.yaml"))
        if path.name != DELIVERY_PATH.name and path.stem not in CONFIGS
    },
}


@functools.cache
def machines_of(name: str) -> tuple[Machine, ...]:
    config = ALL_CONFIGS[name]()
    return tuple(state_machines(synthesize(config), config.region))


@functools.cache
def outcome_of(name: str) -> Outcome:
    return check_machines(list(machines_of(name)))


def showcase(name: str) -> Machine:
    (machine,) = [m for m in machines_of("showcase") if m.name == f"mlkit-showcase-{name}"]
    return machine


def mutated(machine: Machine, change) -> Machine:
    """``machine`` with ``change(definition)`` applied."""
    definition = machine.definition
    change(definition)
    return dataclasses.replace(machine, text=json.dumps(definition, indent=1))


def rename(mapping: dict, old: str, new: str) -> None:
    mapping[new] = mapping.pop(old)


@pytest.mark.parametrize("name", list(ALL_CONFIGS))
def test_every_state_machine_parses_and_its_tasks_match_botocore(name):
    machines, outcome = machines_of(name), outcome_of(name)
    assert outcome.findings == []
    # Every Task state was reached, nested ones (Map item processors) included.
    assert sum(outcome.tasks.values()) == sum(m.text.count('"Type": "Task"') for m in machines)


def test_the_sources_with_pipelines_have_state_machines_checked():
    """Guards against checking nothing: the configs with pipelines yield machines and validated tasks."""
    for name in ("showcase", "training", "autopilot", "hub", "dataset-prep", "training-algorithms"):
        outcome = outcome_of(name)
        assert outcome.machines > 0, name
        assert any(label.startswith(("optimized:", "aws-sdk:")) for label in outcome.tasks), name


# ---- a mutated definition goes red -----------------------------------------------------------------


def test_a_malformed_path_names_the_machine_state_and_parameter():
    machine = mutated(
        showcase("churn"),
        lambda d: d["States"]["Register model package"]["Parameters"].update(
            {"ModelPackageDescription.$": "$.foo["}
        ),
    )
    (finding,) = check_machine(machine).findings
    assert finding.startswith("state machine mlkit-showcase-churn: state 'Register model package': ")
    assert "Parameters.ModelPackageDescription.$: '$.foo[' is not a valid JSONPath" in finding


@pytest.mark.parametrize(
    ("expression", "expected"),
    [
        ("States.Format('{}', $.x", "is not a valid intrinsic call"),  # unclosed: the parser alone accepts it
        ("States.Format('{}', $.x[)", "is not a valid intrinsic call"),
        ("States.ArrayGetItem($.a, States.MathAdd($.i[, 1))", "is not a valid intrinsic call"),
        ("States.Fromat('{}', $.x)", "is not a valid intrinsic call"),  # the ASL parser refuses it too
        ("$$.Execution.Id]", "is not a valid JSONPath"),
        ("training.TrainingJobName", "is neither a JSONPath"),
    ],
)
def test_a_malformed_intrinsic_call_or_path_goes_red(expression, expected):
    machine = mutated(
        showcase("churn"),
        lambda d: d["States"]["Register model package"]["Parameters"].update(
            {"ModelPackageDescription.$": expression}
        ),
    )
    where = "state 'Register model package': Parameters.ModelPackageDescription.$: "
    findings = check_machine(machine).findings
    assert any(where in f and expected in f for f in findings), findings


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        (
            lambda d: d["States"]["Run Glue job"].update(Next="Train modle"),
            "state 'Run Glue job': Next 'Train modle'",
        ),
        (
            lambda d: d["States"]["Gate passed?"].update(Default="Gate faild"),
            "state 'Gate passed?': Default 'Gate faild'",
        ),
        (
            lambda d: d["States"]["Metric reported?"]["Choices"][0].update(Next="Pick"),
            "state 'Metric reported?': Choices[0].Next 'Pick'",
        ),
        (lambda d: d.update(StartAt="Prepare"), "StartAt 'Prepare'"),
    ],
)
def test_a_transition_to_a_missing_state_goes_red(change, expected):
    (finding,) = check_machine(mutated(showcase("churn"), change)).findings
    assert finding == f"state machine mlkit-showcase-churn: {expected} names no state" + (
        "" if expected.startswith("StartAt") else " of its graph"
    )


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        (
            lambda rule: rule.update(Condition="{% $states.input.gate.value > $max([1, 2]) %}"),
            "Choices[0].Condition: JSONata beyond the walker's subset at '$max([1, 2])'",
        ),
        (
            lambda rule: rule.update(Condition="{% $states.input.gate.value > (1 %}"),
            "Choices[0].Condition: JSONata beyond the walker's subset: expected )",
        ),
    ],
)
def test_a_jsonata_condition_the_walker_cannot_read_goes_red(change, expected):
    machine = mutated(showcase("churn"), lambda d: change(d["States"]["Beats the champion?"]["Choices"][0]))
    (finding,) = check_machine(machine).findings
    assert finding == f"state machine mlkit-showcase-churn: state 'Beats the champion?': {expected}"


def test_a_jsonata_state_other_than_a_choice_goes_red():
    machine = mutated(
        showcase("churn"), lambda d: d["States"]["Read champion"].update(QueryLanguage="JSONata")
    )
    findings = check_machine(machine).findings
    expected = "only JSONata Choice states are checked here, not Pass"
    assert any("state 'Read champion': QueryLanguage JSONata: " + expected in f for f in findings), findings


def test_a_map_state_cannot_go_to_a_state_outside_its_item_processor():
    def change(definition):
        (mapper,) = [s for s in definition["States"].values() if s["Type"] == "Map"]
        first = mapper["ItemProcessor"]["StartAt"]
        mapper["ItemProcessor"]["States"][first]["Default"] = "Register model package"  # an outer state

    findings = check_machine(mutated(showcase("churn-automl"), change)).findings
    assert findings == [
        "state machine mlkit-showcase-churn-automl: state 'Has a previous container?': "
        "Default 'Register model package' names no state of its graph"
    ]


def test_a_wrong_sagemaker_parameter_name_goes_red():
    machine = mutated(
        showcase("churn"),
        lambda d: rename(d["States"]["Train model"]["Parameters"], "TrainingJobName.$", "TrainingJobNam.$"),
    )
    findings = check_machine(machine).findings
    prefix = "state machine mlkit-showcase-churn: state 'Train model': sagemaker.CreateTrainingJob: "
    missing, unknown = findings
    assert missing == prefix + 'Missing required parameter in input: "TrainingJobName"'
    assert unknown.startswith(prefix + 'Unknown parameter in input: "TrainingJobNam", must be one of: ')


def _as_lambda_invoke(parameter: str):
    """The deploy step as the optimized lambda:invoke (the kit calls the function ARN directly)."""

    def change(definition):
        state = definition["States"]["Deploy endpoint"]
        state["Parameters"] = {parameter: state["Resource"], "Payload": state["Parameters"]}
        state["Resource"] = "arn:aws:states:::lambda:invoke"

    return change


@pytest.mark.parametrize(
    ("machine", "change", "expected"),
    [
        (
            "churn",
            lambda d: rename(d["States"]["Run Glue job"]["Parameters"], "JobName", "JobNam"),
            "state 'Run Glue job': glue.StartJobRun: Unknown parameter in input: \"JobNam\"",
        ),
        (
            "churn",
            _as_lambda_invoke("FunctionNam"),
            'lambda.Invoke: Unknown parameter in input: "FunctionNam"',
        ),
        (
            "dataset-churn",
            lambda d: rename(d["States"]["Announce dataset prepared"]["Parameters"], "Entries", "Entrys"),
            'events.PutEvents: Unknown parameter in input: "Entrys"',
        ),
        (
            "resnet",
            lambda d: rename(
                next(s for s in d["States"].values() if "s3:" in s.get("Resource", ""))["Parameters"],
                "Bucket",
                "Buckt",
            ),
            's3.ListObjectsV2: Unknown parameter in input: "Buckt"',
        ),
    ],
    ids=["glue", "lambda", "events", "aws-sdk-s3"],
)
def test_a_wrong_parameter_name_in_another_service_goes_red(machine, change, expected):
    findings = check_machine(mutated(showcase(machine), change)).findings
    assert any(expected in f for f in findings), findings
    assert all(f.startswith(f"state machine mlkit-showcase-{machine}: state '") for f in findings)


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        (
            lambda d: d["States"]["Train model"]["Parameters"]["ResourceConfig"].update(InstanceCount="1"),
            "Invalid type for parameter ResourceConfig.InstanceCount, value: 1, type: <class 'str'>",
        ),
        (
            lambda d: d["States"]["Train model"]["Parameters"].pop("RoleArn"),
            'Missing required parameter in input: "RoleArn"',
        ),
    ],
)
def test_a_wrong_static_type_or_missing_member_goes_red(change, expected):
    (finding,) = check_machine(mutated(showcase("churn"), change)).findings
    assert "state 'Train model': sagemaker.CreateTrainingJob: " + expected in finding


# ---- the analysers and the integration table -------------------------------------------------------


def test_localstack_refuses_what_the_asl_grammar_does_not_allow():
    machine = mutated(showcase("churn"), lambda d: d["States"]["Train model"].update(TimeoutSecond=60))
    (finding,) = check_machine(machine).findings
    assert "ASL parser: line" in finding and "(at '\"TimeoutSecond\": 60')" in finding


def test_an_express_machine_is_parsed_by_the_express_analyser():
    machine = dataclasses.replace(showcase("churn"), express=True)  # its tasks wait for jobs (.sync)
    findings = check_machine(machine).findings
    assert findings and "Express state machine does not support" in findings[0]


@pytest.mark.parametrize(
    ("resource", "expected"),
    [
        (
            "arn:aws:states:::aws-sdk:sagemaker:describeEndpointz",
            "botocore's sagemaker has no operation DescribeEndpointz",
        ),
        (
            "arn:aws:states:::aws-sdk:sagemaker:describeEndpoint.sync",
            "AWS SDK integrations do not support .sync",
        ),
        (
            "arn:aws:states:::aws-sdk:sagemakr:describeEndpoint",
            "botocore has no service for the SDK name 'sagemakr'",
        ),
        (
            "arn:aws:states:::glue:startJobRunz.sync",
            "not recognized",
        ),  # LocalStack knows Glue's optimized APIs
        ("arn:aws:states::describeEndpoint", "is neither a Lambda function ARN nor an integration ARN"),
    ],
)
def test_an_unknown_integration_goes_red(resource, expected):
    machine = mutated(showcase("churn"), lambda d: d["States"]["Describe endpoint"].update(Resource=resource))
    findings = check_machine(machine).findings
    assert any(expected in f for f in findings), findings


def test_sdk_names_are_service_ids_and_parameters_pascal_case():
    assert (sdk_service("sfn"), sdk_service("eventbridge"), sdk_service("s3")) == (
        "stepfunctions",
        "events",
        "s3",
    )

    def describe_execution(parameters):
        def change(definition):
            state = definition["States"]["Describe endpoint"]
            state.update(Resource="arn:aws:states:::aws-sdk:sfn:describeExecution", Parameters=parameters)

        return check_machine(mutated(showcase("churn"), change)).findings

    assert describe_execution({"ExecutionArn.$": "$$.Execution.Id"}) == []  # the API's member is executionArn
    assert any(
        'Unknown parameter in input: "ExecutionArm"' in f for f in describe_execution({"ExecutionArm": "x"})
    )


def test_documented_differences_apply_to_optimized_integrations_only():
    # lambda:invoke takes the payload as JSON (connect-lambda.html); the SDK's Invoke takes a blob.
    assert check_machine(mutated(showcase("churn"), _as_lambda_invoke("FunctionName"))).findings == []

    def as_sdk_call(definition):
        _as_lambda_invoke("FunctionName")(definition)
        definition["States"]["Deploy endpoint"]["Resource"] = "arn:aws:states:::aws-sdk:lambda:invoke"

    findings = check_machine(mutated(showcase("churn"), as_sdk_call)).findings
    assert len(findings) == 1 and "lambda.Invoke: Invalid type for parameter Payload" in findings[0]


def test_the_kit_task_resources_render_as_arns():
    resources = {
        state["Resource"]
        for machine in machines_of("showcase")
        for _, state in states_of(machine.definition)
        if state["Type"] == "Task"
    }
    assert resources and all(
        r.startswith("arn:aws:states:::") or FUNCTION_ARN.fullmatch(r) for r in resources
    )


# ---- figures ---------------------------------------------------------------------------------------


def figures() -> str:
    total, lines = Outcome(), []
    for name in ALL_CONFIGS:
        outcome = outcome_of(name)
        total.add(outcome)
        tasks = ", ".join(f"{label} {count}" for label, count in sorted(outcome.tasks.items()))
        lines.append(
            f"{name}: {outcome.machines} machines, {sum(outcome.tasks.values())} tasks ({tasks or '-'})"
        )
    by_label = Counter(total.tasks)
    lines.append(
        f"total: {total.machines} machines, {sum(by_label.values())} tasks, {len(total.findings)} findings"
    )
    lines += [f"  {label}: {count}" for label, count in sorted(by_label.items())]
    return "\n".join(lines)


if __name__ == "__main__":
    print(figures())
