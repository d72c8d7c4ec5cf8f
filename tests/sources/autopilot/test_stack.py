"""Autopilot source: the synthesized state machine, walked state by state, and its IAM.

The template assertions read the definition as JSON (tokens rendered as <LogicalId>); the walks run
it with tests/stacks/state_machine_walk.py against recorded DescribeAutoMLJobV2 answers, since no
emulator runs AutoML jobs or Step Functions' SDK integrations.
"""

import itertools
import json
import re

import botocore.session
import pytest
from botocore.validate import ParamValidator

from sources.autopilot.steps import MARGIN_SECONDS, MAX_POLLS, job_name_prefix, poll_schedule
from tests.sources.training.test_stack import shared_logical_ids_kept
from tests.stacks.state_machine_walk import TaskFailed, render_definition, run
from tests.stacks.synth import config_from, synthesize

MODELS = {
    # Tuning mode: a 3-container pipeline on an instance endpoint, with a richer inference output.
    "churn-automl": {
        "source": "autopilot",
        "dataset": "churn",
        "target": "churned",
        "problem_type": "BinaryClassification",
        "objective": "AUC",
        "mode": "HYPERPARAMETER_TUNING",
        "max_candidates": 25,
        "max_runtime_per_job": 900,
        "max_total_runtime": 7200,
        "inference_output": ["predicted_label", "probability", "labels"],
        "hosting": {"type": "realtime", "instance_type": "ml.m5.large"},
    },
    # The defaults: ensembling (one container) on serverless; Regression; started by hand.
    "price": {
        "source": "autopilot",
        "dataset": "houses",
        "target": "price",
        "problem_type": "Regression",
        "objective": "RMSE",
        "trigger": "manual",
    },
    # Autopilot infers the problem type and picks the mode. Another target is another dataset:
    # models on one dataset must agree on what it is.
    "segments": {
        "source": "autopilot",
        "dataset": "plans",
        "target": "plan",
        "mode": "AUTO",
        "hosting": {"type": "async"},
    },
}
CONFIG = {"environment": "ap", "region": "us-east-1", "models": MODELS}
IMAGES = "683313688378.dkr.ecr.us-east-1.amazonaws.com"
ARTIFACTS = "s3://mlkit-ap-artifacts/models/churn-automl/autopilot/job"

SKLEARN, DPP = "sagemaker-sklearn-automl:2.5-1-cpu-py3", "data-processor-models/dpp0/output"
XGBOOST_SUPPORTS = "predicted_label,probability,probabilities"
ALL_KEYS = "predicted_label,probability,labels,probabilities"


def container(image: str, artifact: str, registry: str = IMAGES, **environment: str) -> dict:
    return {
        "Image": f"{registry}/{image}",
        "ModelDataUrl": f"{ARTIFACTS}/{artifact}/model.tar.gz",
        "Environment": environment,
    }


# InferenceContainers as DescribeAutoMLJobV2 returns them (shapes from the SageMaker docs).
HPO_CLASSIFICATION = [
    container(SKLEARN, DPP, AUTOML_TRANSFORM_MODE="feature-transform", SAGEMAKER_PROGRAM="sagemaker_serve"),
    container(
        "sagemaker-xgboost:1.7-1",
        "tuning/dpp0-xgb/job-001/output",
        SAGEMAKER_INFERENCE_OUTPUT="predicted_label",
        SAGEMAKER_INFERENCE_SUPPORTED=XGBOOST_SUPPORTS,
    ),
    container(
        SKLEARN,
        DPP,
        AUTOML_TRANSFORM_MODE="inverse-label-transform",
        SAGEMAKER_INFERENCE_INPUT="predicted_label",
        SAGEMAKER_INFERENCE_OUTPUT="predicted_label",
        SAGEMAKER_INFERENCE_SUPPORTED=ALL_KEYS,
        SAGEMAKER_PROGRAM="sagemaker_serve",
    ),
]
HPO_REGRESSION = [
    HPO_CLASSIFICATION[0],
    container("sagemaker-xgboost:1.7-1", "tuning/dpp0-xgb/job-002/output"),
]
ENSEMBLE = [
    container(
        "autogluon-inference:1.1-cpu-py311",
        "sagemaker-automl-candidates/model/WeightedEnsemble-L3",
        "763104351884.dkr.ecr.us-east-1.amazonaws.com",  # the framework (DLC) registry
        MODEL_NAME="WeightedEnsemble-L3",
        SAGEMAKER_INFERENCE_OUTPUT="predicted_label",
        SAGEMAKER_INFERENCE_SUPPORTED=ALL_KEYS,
        SAGEMAKER_PROGRAM="tabular_serve.py",
    )
]


def describe_answer(status: str, containers: list | None = None, reason: str | None = None) -> dict:
    answer = {"AutoMLJobName": "job", "AutoMLJobStatus": status, "AutoMLJobSecondaryStatus": "Training"}
    if containers is not None:
        answer["BestCandidate"] = {"CandidateName": "job-best", "InferenceContainers": containers}
    if reason is not None:
        answer["FailureReason"] = reason
    return answer


class Recorded:
    """Answers the walked Task states: recorded Describe answers, SageMaker and deploy replies."""

    def __init__(self, describes, *, stop_fails: bool = False):
        self.describes = iter(describes)
        self.stop_fails = stop_fails

    def __call__(self, resource: str, params: dict):
        action = resource.rsplit(":", 1)[-1]
        if action == "createAutoMLJobV2":
            return {"AutoMLJobArn": f"arn:aws:sagemaker:us-east-1:1:automl-job/{params['AutoMLJobName']}"}
        if action == "describeAutoMLJobV2":
            return next(self.describes)
        if action == "stopAutoMLJob":
            if self.stop_fails:
                raise TaskFailed("SageMaker.ValidationException", "The job has already ended")
            return {}
        if action == "createModelPackage":
            return {"ModelPackageArn": "arn:aws:sagemaker:us-east-1:123456789012:model-package/g/1"}
        if "DeployFunction" in resource:
            return {"action": "created", "endpoint_status": "Creating", "endpoint_config_name": "config-1"}
        if action == "describeEndpoint":
            return {"EndpointStatus": "InService", "EndpointConfigName": "config-1"}
        raise AssertionError(f"unexpected task {resource}")


@pytest.fixture(scope="module")
def app():
    return synthesize(config_from(CONFIG))


@pytest.fixture(scope="module")
def definitions(app):
    return {label: render_definition(app.raw[f"mlkit-ap-{label}"]) for label in MODELS}


def all_states(graph: dict) -> dict:
    found = {}
    for name, state in graph["States"].items():
        found[name] = state
        if state["Type"] == "Map":
            found.update(all_states(state.get("ItemProcessor") or state["Iterator"]))
    return found


def walk(definitions, label: str, describes, **options):
    return run(definitions[label], {}, Recorded(describes, **options))


def completed_walk(definitions, label="churn-automl", containers=HPO_CLASSIFICATION):
    answers = [
        describe_answer("InProgress"),
        describe_answer("InProgress"),
        describe_answer("Completed", containers),
    ]
    return walk(definitions, label, answers)


def sdk_inference_containers(containers: list, keys: list) -> list:
    """The sagemaker SDK's AutoML.validate_and_update_inference_response, restated for the test."""
    containers = json.loads(json.dumps(containers))
    supported = [k.strip() for k in containers[-1]["Environment"]["SAGEMAKER_INFERENCE_SUPPORTED"].split(",")]
    assert set(keys) <= set(supported)
    previous = None
    for container in containers:
        offered = container["Environment"].get("SAGEMAKER_INFERENCE_SUPPORTED")
        if not offered:
            previous = None
            continue
        current = ",".join(key for key in keys if key in [k.strip() for k in offered.split(",")]) or None
        if previous:
            container["Environment"]["SAGEMAKER_INFERENCE_INPUT"] = previous
        if current:
            container["Environment"]["SAGEMAKER_INFERENCE_OUTPUT"] = current
        previous = current
    return containers


# ---- stacks and the SDK task's parameters ---------------------------------------------------


def test_one_stack_per_model_and_one_dataset_stack_per_dataset(app):
    assert sorted(app.templates) == [
        "mlkit-ap-api",
        "mlkit-ap-churn-automl",
        "mlkit-ap-data",
        "mlkit-ap-dataset-churn",
        "mlkit-ap-dataset-houses",
        "mlkit-ap-dataset-plans",
        "mlkit-ap-deploy",
        "mlkit-ap-operations",
        "mlkit-ap-price",
        "mlkit-ap-segments",
    ]


def test_create_job_parameters_come_from_config(definitions):
    params = definitions["churn-automl"]["States"]["Start Autopilot"]["Parameters"]
    tabular = params["AutoMLProblemTypeConfig"]["TabularJobConfig"]
    assert tabular == {
        "TargetAttributeName": "churned",
        "ProblemType": "BinaryClassification",
        "Mode": "HYPERPARAMETER_TUNING",
        "CompletionCriteria": {
            "MaxCandidates": 25,
            "MaxRuntimePerTrainingJobInSeconds": 900,
            "MaxAutoMLJobRuntimeInSeconds": 7200,
        },
    }
    assert params["AutoMLJobObjective"] == {"MetricName": "AUC"}
    (channel,) = params["AutoMLJobInputDataConfig"]
    assert channel["ContentType"] == "text/csv;header=present" and channel["ChannelType"] == "training"
    assert channel["DataSource"]["S3DataSource"]["S3Uri"].endswith("-us-east-1/churn/autopilot/")
    assert params["OutputDataConfig"]["S3OutputPath"].endswith("-us-east-1/models/churn-automl/autopilot/")
    key = params["OutputDataConfig"]["KmsKeyId"]
    assert "DataKey" in key and params["SecurityConfig"]["VolumeKmsKeyId"] == key
    assert params["RoleArn"].startswith("<AutopilotRole")
    assert definitions["churn-automl"]["States"]["Start Autopilot"]["Resource"].endswith(
        ":states:::aws-sdk:sagemaker:createAutoMLJobV2"
    )


def test_unset_problem_type_and_objective_are_left_to_autopilot(definitions):
    segments = definitions["segments"]["States"]["Start Autopilot"]["Parameters"]
    assert "ProblemType" not in segments["AutoMLProblemTypeConfig"]["TabularJobConfig"]
    assert "AutoMLJobObjective" not in segments
    price = definitions["price"]["States"]["Start Autopilot"]["Parameters"]
    assert price["AutoMLJobObjective"] == {"MetricName": "RMSE"}
    assert price["AutoMLProblemTypeConfig"]["TabularJobConfig"]["Mode"] == "ENSEMBLING"


def test_walked_requests_are_valid_for_the_sagemaker_api(definitions):
    result = completed_walk(definitions)
    service = botocore.session.get_session().get_service_model("sagemaker")
    for operation, action in (
        ("CreateAutoMLJobV2", "createAutoMLJobV2"),
        ("CreateModelPackage", "createModelPackage"),
    ):
        (params,) = result.called(f":{action}")
        report = ParamValidator().validate(params, service.operation_model(operation).input_shape)
        assert not report.has_errors(), report.generate_report()


def test_job_names_are_unique_valid_and_carry_the_model_prefix(definitions):
    names = [completed_walk(definitions).called(":createAutoMLJobV2")[0]["AutoMLJobName"] for _ in range(2)]
    prefix = job_name_prefix("ap", "churn-automl")
    for name in names:
        assert len(name) <= 32 and re.fullmatch(r"[a-zA-Z0-9](-*[a-zA-Z0-9]){0,31}", name), name
        assert name.startswith(f"{prefix}-")
    assert names[0] != names[1]
    prefixes = {job_name_prefix(env, label) for env in ("dev", "prod") for label in ("churn", "churn-automl")}
    assert len(prefixes) == 4 and all(len(p) == 10 for p in prefixes)


# ---- the poll loop ------------------------------------------------------------------------


def test_poll_loop_is_bounded_by_the_runtime_plus_a_margin(definitions):
    states = definitions["churn-automl"]["States"]
    poll_seconds, max_polls = poll_schedule(7200)
    assert poll_seconds * max_polls >= 7200 + MARGIN_SECONDS
    assert states["Wait for Autopilot"] == {
        "Type": "Wait",
        "Seconds": poll_seconds,
        "Next": "Describe Autopilot job",
    }
    assert states["Describe Autopilot job"]["Next"] == "Count Autopilot poll"
    assert states["Count Autopilot poll"]["Parameters"] == {
        "polls.$": "States.MathAdd($.autopilot_wait.polls, 1)"
    }
    choice = states["Autopilot status?"]
    bound = [rule for rule in choice["Choices"] if rule.get("Variable") == "$.autopilot_wait.polls"]
    assert bound == [
        {
            "Variable": "$.autopilot_wait.polls",
            "NumericGreaterThanEquals": max_polls,
            "Next": "Stop Autopilot job",
        }
    ]
    assert choice["Default"] == "Wait for Autopilot"


@pytest.mark.parametrize("runtime", [3600, 14400, 2592000])
def test_poll_schedule_covers_the_runtime_within_the_history_limit(runtime):
    poll_seconds, max_polls = poll_schedule(runtime)
    assert poll_seconds >= 60 and max_polls <= MAX_POLLS
    assert poll_seconds * max_polls >= runtime + MARGIN_SECONDS


def test_in_progress_then_completed_registers_and_deploys_the_best_candidate(definitions):
    result = completed_walk(definitions)
    assert result.outcome == "Succeed"
    assert len(result.called(":describeAutoMLJobV2")) == 3
    assert result.visited.count("Wait for Autopilot") == 3
    order = ["Start Autopilot", "Take the best candidate", "Set inference output", "Register model package"]
    order += ["Deploy endpoint", "Endpoint in service", "Deployed"]
    assert [result.visited.index(name) for name in order] == sorted(
        result.visited.index(name) for name in order
    )
    expected = sdk_inference_containers(HPO_CLASSIFICATION, ["predicted_label", "probability", "labels"])
    (package,) = result.called(":createModelPackage")
    assert package["InferenceSpecification"]["Containers"] == expected
    assert package["ModelPackageGroupName"] == "mlkit-ap-churn-automl"
    (deploy,) = deploy_calls(result)
    assert deploy["containers"] == expected


def deploy_calls(result) -> list[dict]:
    """The walk's calls of the deploy Lambda that deploy (not the "Apply scaling" state's)."""
    return [
        params
        for resource, params in result.calls
        if "DeployFunction" in resource and params.get("action") != "scale"
    ]


def test_in_progress_then_failed_fails_with_autopilots_reason(definitions):
    reason = "ClientError: The target column churned has only one class"
    answers = [describe_answer("InProgress"), describe_answer("Failed", reason=reason)]
    result = walk(definitions, "churn-automl", answers)
    assert (result.outcome, result.error) == ("Fail", "AutopilotFailed")
    assert result.cause.endswith(f"is Failed: {reason}")
    assert result.called(":createModelPackage") == [] and "Deploy endpoint" not in result.visited


def test_stopped_without_a_reason_still_fails_with_a_cause(definitions):
    result = walk(definitions, "price", [describe_answer("Stopped")])
    assert (result.outcome, result.error) == ("Fail", "AutopilotFailed")
    assert result.cause.endswith("is Stopped: Autopilot gave no FailureReason")


@pytest.mark.parametrize("stop_fails", [False, True])
def test_reaching_the_bound_stops_the_job_and_fails(definitions, stop_fails):
    _, max_polls = poll_schedule(7200)
    result = walk(
        definitions, "churn-automl", itertools.repeat(describe_answer("InProgress")), stop_fails=stop_fails
    )
    assert (result.outcome, result.error) == ("Fail", "AutopilotTimedOut")
    assert len(result.called(":describeAutoMLJobV2")) == max_polls
    (stop,) = result.called(":stopAutoMLJob")
    assert stop["AutoMLJobName"] == result.called(":createAutoMLJobV2")[0]["AutoMLJobName"]
    assert "7200 s" in result.cause and result.called(":createModelPackage") == []


# ---- inference output ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("containers", "keys"),
    [
        (HPO_CLASSIFICATION, ["predicted_label", "probability", "labels"]),
        (HPO_CLASSIFICATION, ["probabilities", "predicted_label"]),
        (HPO_CLASSIFICATION, ["labels"]),
        (ENSEMBLE, ["predicted_label", "probability", "labels"]),
    ],
    ids=["hpo-three-keys", "hpo-reordered", "hpo-labels-only", "ensemble"],
)
def test_inference_output_matches_the_sagemaker_sdk(containers, keys):
    model = {**MODELS["churn-automl"], "inference_output": keys}
    config = config_from({"environment": "ap", "region": "us-east-1", "models": {"churn-automl": model}})
    definition = render_definition(synthesize(config).raw["mlkit-ap-churn-automl"])
    (package,) = completed_walk({"churn-automl": definition}, containers=containers).called(
        ":createModelPackage"
    )
    assert package["InferenceSpecification"]["Containers"] == sdk_inference_containers(containers, keys)


def test_an_output_the_best_candidate_lacks_fails_before_registering(definitions):
    # An ensemble regressor offers no probability; the config asked a classifier's keys.
    regressor = [{**ENSEMBLE[0], "Environment": {"SAGEMAKER_INFERENCE_SUPPORTED": "predicted_label"}}]
    result = completed_walk(definitions, containers=regressor)
    assert (result.outcome, result.error) == ("Fail", "InferenceOutputUnsupported")
    assert result.called(":createModelPackage") == []
    no_keys = [{**ENSEMBLE[0], "Environment": {}}]
    assert completed_walk(definitions, containers=no_keys).error == "InferenceOutputUnsupported"


def test_default_output_deploys_the_containers_as_autopilot_made_them(definitions):
    assert not any(name.startswith("Set inference output") for name in all_states(definitions["price"]))
    result = completed_walk(definitions, "price", HPO_REGRESSION)
    assert result.outcome == "Succeed"
    (deploy,) = deploy_calls(result)
    assert deploy["containers"] == HPO_REGRESSION


# ---- the deploy step ----------------------------------------------------------------------


def test_deploy_step_sends_the_container_list_and_waits_for_in_service(definitions):
    states = definitions["churn-automl"]["States"]
    assert states["Register model package"]["Next"] == "Deploy endpoint"
    payload = states["Deploy endpoint"]["Parameters"]
    assert payload["containers.$"] == "$.best.containers"
    assert payload["endpoint_name"] == "mlkit-ap-churn-automl"
    assert payload["variant"] == {
        "InstanceType": "ml.m5.large",
        "InitialInstanceCount": 1,
        "InitialVariantWeight": 1,
    }
    assert payload["execution_role_arn"].startswith("<ModelRole")
    assert states["Endpoint in service"]["Next"] == "Deployed"
    serverless = definitions["price"]["States"]["Deploy endpoint"]["Parameters"]["variant"]
    assert "ServerlessConfig" in serverless


# ---- IAM, trigger, resources --------------------------------------------------------------


def statements(app, label: str, logical_prefix: str) -> list[dict]:
    found = []
    for logical_id, resource in app.raw[f"mlkit-ap-{label}"]["Resources"].items():
        if resource["Type"] == "AWS::IAM::Policy" and logical_id.startswith(logical_prefix):
            found += resource["Properties"]["PolicyDocument"]["Statement"]
    return found


def actions(statement: dict) -> list[str]:
    return [statement["Action"]] if isinstance(statement["Action"], str) else statement["Action"]


def actions_on(found: list[dict], action: str) -> list:
    return [statement["Resource"] for statement in found if action in actions(statement)]


def test_state_machine_may_touch_only_this_models_jobs_package_and_roles(app):
    found = statements(app, "churn-automl", "PipelineStateMachineRole")
    prefix = job_name_prefix("ap", "churn-automl")
    for action in ("sagemaker:CreateAutoMLJobV2", "sagemaker:DescribeAutoMLJobV2", "sagemaker:StopAutoMLJob"):
        (resource,) = actions_on(found, action)
        assert json.dumps(resource).endswith(f':automl-job/{prefix}*"]]}}'), resource
    (package,) = actions_on(found, "sagemaker:CreateModelPackage")
    assert json.dumps(package).endswith(':model-package/mlkit-ap-churn-automl/*"]]}')
    passed = [json.dumps(r) for r in actions_on(found, "iam:PassRole")]
    assert passed == ['{"Fn::GetAtt": ["AutopilotRoleD2ACAA4E", "Arn"]}']
    every_action = [action for statement in found for action in actions(statement)]
    assert "sagemaker:*" not in every_action and "iam:*" not in every_action


def test_autopilot_role_reads_this_dataset_and_writes_this_models_prefix(app):
    document = json.dumps(statements(app, "churn-automl", "AutopilotRole"))
    assert "/churn/autopilot/*" in document and "/models/churn-automl/autopilot/*" in document
    prefix = job_name_prefix("ap", "churn-automl")
    for kind in ("training-job", "processing-job"):
        assert f":{kind}/{prefix}*" in document
    assert '"s3:*"' not in document and '"sagemaker:*"' not in document


def test_upload_rule_only_for_on_upload_models(app):
    rules = app.resources("churn-automl", "AWS::Events::Rule")
    (rule,) = rules.values()
    assert rule["Properties"]["EventPattern"]["detail"] == {"environment": ["ap"], "dataset": ["churn"]}
    assert app.resources("price", "AWS::Events::Rule") == {}


def test_shared_parts_keep_their_logical_ids(app):
    assert shared_logical_ids_kept(app.raw["mlkit-ap-churn-automl"]) == set()


def test_package_group_exists_before_the_state_machine_and_timeout_covers_the_bound(app):
    template = app.raw["mlkit-ap-churn-automl"]["Resources"]
    (group_id,) = [k for k, r in template.items() if r["Type"] == "AWS::SageMaker::ModelPackageGroup"]
    assert template[group_id]["Properties"]["ModelPackageGroupName"] == "mlkit-ap-churn-automl"
    (machine,) = [r for r in template.values() if r["Type"] == "AWS::StepFunctions::StateMachine"]
    assert group_id in machine["DependsOn"]
    definition = render_definition(app.raw["mlkit-ap-churn-automl"])
    assert definition["TimeoutSeconds"] > 7200 + MARGIN_SECONDS
