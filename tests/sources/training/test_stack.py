"""Training source: the state machine (order, gate, deploy loop), its trigger, the training job, IAM."""

import json
import re
import tarfile

import pytest

from sources.training.training_steps import TRAIN_SCRIPT
from stacks.images import xgboost_uri
from tests.model_entries import CHURN
from tests.stacks.synth import config_from, render_tokens, synthesize

MODELS = {
    # Two models share the churn dataset; fraud has its own.
    "churn": {
        **CHURN,
        "hosting": {"type": "serverless"},
    },
    "churn-script": {
        "source": "training",
        "dataset": "churn",
        "target": "churned",
        "algorithm": "script",
        "trigger": "manual",
        "hyperparameters": {"objective": "binary:logistic", "num_round": 50, "eval_metric": "auc,logloss"},
        "metric": "validation:logloss",
        "threshold": 0.5,
        "min_improvement": 0.01,
        "hosting": {"type": "async"},
    },
    "fraud": {
        "source": "training",
        "dataset": "fraud",
        "target": "is_fraud",
        "features": ["amount", "merchant"],
        "column_types": {"amount": "double"},
        "validation_fraction": 0.3,
        "min_improvement": 0.02,
        "hosting": {"type": "realtime", "instance_type": "ml.m5.large"},
    },
}
REGION = "eu-west-1"


def training_config():
    return config_from({"environment": "tr", "region": REGION, "models": MODELS})


@pytest.fixture(scope="module")
def app():
    return synthesize(training_config())


def resources(app, part: str, resource_type: str) -> dict[str, dict]:
    """Resources of stack ``mlkit-tr-<part>`` (exact: "churn" is not "dataset-churn")."""
    return app.templates[f"mlkit-tr-{part}"].find_resources(resource_type)


def definition(app, part: str) -> dict:
    (machine,) = resources(app, part, "AWS::StepFunctions::StateMachine").values()
    return json.loads(render_tokens(machine["Properties"]["DefinitionString"]))


def successors(state: dict) -> list[str]:
    found = [choice["Next"] for choice in state.get("Choices", [])]
    found += [state[key] for key in ("Next", "Default") if key in state]
    return found


def reachable(states: dict, start: str, *, cut: tuple[str, str] | None = None) -> set[str]:
    """States reachable from ``start``; ``cut`` removes one edge (from, to)."""
    seen, todo = set(), [start]
    while todo:
        name = todo.pop()
        if name in seen:
            continue
        seen.add(name)
        todo += [n for n in successors(states[name]) if (name, n) != cut]
    return seen


def happy_path(states: dict, start: str) -> list[str]:
    """Follow Next, and for a Choice its first rule, until an end state."""
    path, name = [], start
    while name and name not in path:
        path.append(name)
        state = states[name]
        name = state["Choices"][0]["Next"] if state["Type"] == "Choice" else state.get("Next")
    return path


def statements(app, part: str) -> list[dict]:
    found = []
    for policy in resources(app, part, "AWS::IAM::Policy").values():
        found += policy["Properties"]["PolicyDocument"]["Statement"]
    return found


def deploy_statements(app) -> list[dict]:
    """The environment's deploy Lambda's grants (its managed policies)."""
    found = []
    for policy in resources(app, "deploy", "AWS::IAM::ManagedPolicy").values():
        found += policy["Properties"]["PolicyDocument"]["Statement"]
    return found


def as_list(value) -> list:
    return value if isinstance(value, list) else [value]


def test_one_dataset_stack_per_dataset_and_one_stack_per_model(app):
    assert sorted(app.templates) == [
        "mlkit-tr-api",
        "mlkit-tr-churn",
        "mlkit-tr-churn-script",
        "mlkit-tr-data",
        "mlkit-tr-dataset-churn",
        "mlkit-tr-dataset-fraud",
        "mlkit-tr-deploy",
        "mlkit-tr-fraud",
        "mlkit-tr-operations",
    ]


def test_states_run_glue_train_gate_register_deploy_in_order(app):
    states = definition(app, "churn")
    assert happy_path(states["States"], states["StartAt"]) == [
        "Prepare data?",
        "Run Glue job",
        "Train model",
        "Read metric",
        "Metric reported?",
        "Pick metric",
        "Gate passed?",
        "Find champion",
        "Champion in service?",
        "Describe champion",
        "Champion comparable?",
        "Read champion",
        "Beats the champion?",
        "Register model package",
        "Model containers",
        "Deploy endpoint",
        "Already in service?",
        "Apply scaling",
        "Endpoint in service",
        "Trained",
    ]
    assert states["States"]["Trained"]["Type"] == "Succeed"


def test_prepare_runs_the_datasets_glue_job_only_when_asked(app):
    states = definition(app, "churn-script")["States"]
    choice = states["Prepare data?"]
    conditions = choice["Choices"][0]["And"]
    assert {"Variable": "$.prepare", "BooleanEquals": True} in conditions
    assert choice["Default"] == "Train model"
    glue = states["Run Glue job"]
    assert glue["Resource"].endswith(":states:::glue:startJobRun.sync")
    assert glue["Parameters"] == {"JobName": "mlkit-tr-prepare-churn"}
    assert glue["Next"] == "Train model"
    assert definition(app, "fraud")["States"]["Run Glue job"]["Parameters"] == {
        "JobName": "mlkit-tr-prepare-fraud"
    }


def test_a_failing_gate_never_reaches_register_or_deploy(app):
    states = definition(app, "churn")["States"]
    gate = states["Gate passed?"]
    assert gate["Choices"] == [
        {"Variable": "$.gate.value", "NumericGreaterThanEquals": 0.75, "Next": "Find champion"}
    ]
    assert reachable(states, gate["Default"]) == {"Gate failed"}
    assert states["Gate failed"]["Type"] == "Fail"
    assert "validation:auc" in states["Gate failed"]["CausePath"]
    assert reachable(states, states["Metric reported?"]["Default"]) == {"Metric missing"}
    # Cutting the gate's pass edge leaves no way from the start to register or deploy.
    cut = reachable(states, "Prepare data?", cut=("Gate passed?", "Find champion"))
    assert "Register model package" not in cut and "Deploy endpoint" not in cut


def test_gate_reads_the_configured_metric_and_its_direction(app):
    states = definition(app, "churn-script")["States"]
    assert "MetricName == 'validation:logloss'" in states["Read metric"]["Parameters"]["values.$"]
    assert states["Gate passed?"]["Choices"][0]["NumericLessThanEquals"] == 0.5


def test_training_job_reads_curated_data_and_writes_encrypted_artifacts(app):
    parameters = definition(app, "churn")["States"]["Train model"]["Parameters"]
    assert definition(app, "churn")["States"]["Train model"]["Resource"].endswith("createTrainingJob.sync")
    assert parameters["AlgorithmSpecification"]["TrainingImage"] == xgboost_uri(REGION, version="3.0-5")
    uris = {c["ChannelName"]: c["DataSource"]["S3DataSource"]["S3Uri"] for c in parameters["InputDataConfig"]}
    assert uris["train"] == "s3://mlkit-tr-curated-<AWS::AccountId>-eu-west-1/churn/xgboost/train/"
    assert uris["validation"] == "s3://mlkit-tr-curated-<AWS::AccountId>-eu-west-1/churn/xgboost/validation/"
    assert all(c["ContentType"] == "text/csv" for c in parameters["InputDataConfig"])
    output = parameters["OutputDataConfig"]
    assert output["S3OutputPath"] == "s3://mlkit-tr-artifacts-<AWS::AccountId>-eu-west-1/models/churn/"
    assert output["KmsKeyId"] == parameters["ResourceConfig"]["VolumeKmsKeyId"]
    assert re.fullmatch(r"<mlkit-tr-data:ExportsOutputFnGetAttDataKey\w+>", output["KmsKeyId"])
    assert parameters["HyperParameters"]["eval_metric"] == "auc"
    assert parameters["EnableNetworkIsolation"] is True


def test_training_job_name_is_unique_per_run_and_fits_sagemaker(app):
    name = definition(app, "churn-script")["States"]["Train model"]["Parameters"]["TrainingJobName.$"]
    assert name.startswith("States.Format('mlkit-tr-churn-script-{}{}'") and name.count("States.UUID()") == 2
    # 8 + 4 hex digits of a UUID after the prefix: within SageMaker's 63 characters for the longest labels.
    assert len("mlkit-" + "e" * 12 + "-" + "m" * 24 + "-") + 12 <= 63


def test_script_mode_ships_train_py_and_reads_its_printed_metrics(app):
    from jobs.training.train import metric_lines

    parameters = definition(app, "churn-script")["States"]["Train model"]["Parameters"]
    hyper = parameters["HyperParameters"]
    assert hyper["sagemaker_program"] == '"train.py"'
    asset = re.search(r"/([0-9a-f]{64})\.gz", hyper["sagemaker_submit_directory"]).group(1)
    (staged,) = app.outdir.glob(f"asset.{asset}.*")
    with tarfile.open(staged) as archive:
        assert archive.getnames() == ["train.py"]
        shipped = archive.extractfile("train.py").read()
    assert shipped == TRAIN_SCRIPT.read_bytes()
    definitions = {d["Name"]: d["Regex"] for d in parameters["AlgorithmSpecification"]["MetricDefinitions"]}
    for line in metric_lines({"validation:logloss": 0.41, "validation:auc": 0.83}):
        name = "validation:" + line.split("-", 1)[1].split(":", 1)[0]
        assert float(re.search(definitions[name], line).group(1)) in (0.41, 0.83)
    assert parameters["EnableNetworkIsolation"] is False


def test_deploy_retries_busy_and_unavailable_and_uses_the_shared_hosting_settings(app):
    states = definition(app, "churn")["States"]
    deploy = states["Deploy endpoint"]
    retried = [r for r in deploy["Retry"] if "EndpointBusy" in r["ErrorEquals"]]
    assert retried and set(retried[0]["ErrorEquals"]) == {"EndpointBusy", "SageMakerUnavailable"}
    event = deploy["Parameters"]
    assert event["endpoint_name"] == "mlkit-tr-churn"
    assert event["containers.$"] == "$.model.containers"
    assert event["variant"]["ServerlessConfig"] == {"MemorySizeInMB": 2048, "MaxConcurrency": 5}
    assert "kms_key_arn" not in event  # SageMaker rejects a key on serverless configs
    alarms = {
        a["Properties"]["AlarmName"] for a in resources(app, "churn", "AWS::CloudWatch::Alarm").values()
    }
    named = {a["AlarmName"] for a in event["deployment_config"]["AutoRollbackConfiguration"]["Alarms"]}
    assert named == {"mlkit-tr-churn-5xx", "mlkit-tr-churn-latency"}
    # Beside them, the alarms that page (stacks/constructs/model_alarms.py) roll nothing back.
    assert alarms == named | {"mlkit-tr-churn-error-rate", "mlkit-tr-churn-latency-p90"}
    container = states["Model containers"]["Parameters"]["containers"][0]
    assert container["ModelDataUrl.$"] == "$.training.ModelArtifacts.S3ModelArtifacts"
    realtime = definition(app, "fraud")["States"]["Deploy endpoint"]["Parameters"]
    assert re.fullmatch(r"<mlkit-tr-data:ExportsOutputFnGetAttDataKey\w+>", realtime["kms_key_arn"])
    assert realtime["variant"]["InstanceType"] == "ml.m5.large"


def test_deploy_waits_in_a_bounded_loop_until_in_service_on_the_new_config(app):
    states = definition(app, "churn")["States"]
    assert states["Start polling"]["Next"] == "Wait for endpoint"
    assert states["Wait for endpoint"]["Type"] == "Wait"
    assert states["Wait for endpoint"]["Next"] == "Describe endpoint"
    assert states["Describe endpoint"]["Resource"].endswith(":states:::aws-sdk:sagemaker:describeEndpoint")
    choice = states["Endpoint status?"]
    assert choice["Default"] == "Count poll" and states["Count poll"]["Next"] == "Wait for endpoint"
    rules = {c["Next"]: c for c in choice["Choices"]}
    assert {
        "Variable": "$.endpoint.EndpointConfigName",
        "StringEqualsPath": "$.deploy.endpoint_config_name",
    } in (rules["Apply scaling"]["And"])
    assert states["Apply scaling"]["Next"] == "Endpoint in service"
    assert rules["Endpoint failed"]["StringEquals"] == "Failed"
    assert states["Endpoint failed"]["CausePath"] == "$.endpoint.FailureReason"
    assert rules["Endpoint wait timed out"]["NumericGreaterThanEquals"] > 0
    assert states["Deployment rolled back"]["Type"] == "Fail"


def test_execution_logging_and_tracing_are_on(app):
    (machine,) = resources(app, "churn", "AWS::StepFunctions::StateMachine").values()
    properties = machine["Properties"]
    assert properties["LoggingConfiguration"]["Level"] == "ALL"
    assert properties["TracingConfiguration"] == {"Enabled": True}
    assert properties["StateMachineName"] == "mlkit-tr-churn"
    # A run outlasts the longest training job (max_runtime, default 3600 s) plus Glue and deployment.
    assert definition(app, "churn")["TimeoutSeconds"] == 3600 + 7 * 3600


def test_on_upload_models_start_when_their_dataset_is_prepared_and_manual_ones_do_not(app):
    (rule,) = resources(app, "churn", "AWS::Events::Rule").values()
    assert rule["Properties"]["EventPattern"] == {
        "source": ["mlkit.dataset"],
        "detail-type": ["Dataset Prepared"],
        "detail": {"environment": ["tr"], "dataset": ["churn"]},
    }
    assert '"prepare":false' in rule["Properties"]["Targets"][0]["InputTransformer"]["InputTemplate"]
    assert resources(app, "churn-script", "AWS::Events::Rule") == {}


def test_model_package_group_per_model_and_registration_into_it(app):
    (group,) = resources(app, "churn", "AWS::SageMaker::ModelPackageGroup").values()
    assert group["Properties"]["ModelPackageGroupName"] == "mlkit-tr-churn"
    register = definition(app, "churn")["States"]["Register model package"]
    assert register["Resource"].endswith(":states:::aws-sdk:sagemaker:createModelPackage")
    assert register["Parameters"]["ModelPackageGroupName"] == "mlkit-tr-churn"


def test_pass_role_names_exactly_the_models_execution_role(app):
    roles = [
        logical
        for logical, role in resources(app, "churn", "AWS::IAM::Role").items()
        if "sagemaker.amazonaws.com" in json.dumps(role["Properties"]["AssumeRolePolicyDocument"])
    ]
    assert len(roles) == 1
    role_name = resources(app, "churn", "AWS::IAM::Role")[roles[0]]["Properties"]["RoleName"]
    assert role_name == "mlkit-tr-churn-model"
    to_sagemaker = {"StringEquals": {"iam:PassedToService": "sagemaker.amazonaws.com"}}
    (training,) = [s for s in statements(app, "churn") if "iam:PassRole" in as_list(s["Action"])]
    assert training["Resource"] == {"Fn::GetAtt": [roles[0], "Arn"]}
    assert training["Condition"] == to_sagemaker
    # Hosting: the environment's deploy Lambda passes each pipeline model's role by its name.
    hosting = [s for s in deploy_statements(app) if "iam:PassRole" in as_list(s["Action"])]
    assert all(statement["Condition"] == to_sagemaker for statement in hosting)
    passed = sorted(render_tokens(r) for s in hosting for r in as_list(s["Resource"]))
    assert passed == [
        f"arn:aws:iam::<AWS::AccountId>:role/mlkit-tr-{model}-model" for model in sorted(MODELS)
    ]


def test_jobs_and_endpoints_are_scoped_by_prefix(app):
    granted = {}
    for statement in statements(app, "churn"):
        for action in as_list(statement["Action"]):
            granted.setdefault(action, []).extend(render_tokens(r) for r in as_list(statement["Resource"]))
    assert granted["sagemaker:CreateTrainingJob"] == [
        "arn:aws:sagemaker:eu-west-1:<AWS::AccountId>:training-job/mlkit-tr-churn-*"
    ]
    # The state machine waits on its own endpoint; the deploy Lambda changes the models' endpoints only.
    assert granted["sagemaker:DescribeEndpoint"] == [
        "arn:aws:sagemaker:eu-west-1:<AWS::AccountId>:endpoint/mlkit-tr-churn"
    ]
    assert "sagemaker:UpdateEndpoint" not in granted
    deployed = [
        render_tokens(r)
        for s in deploy_statements(app)
        if "sagemaker:UpdateEndpoint" in s["Action"]
        for r in as_list(s["Resource"])
    ]
    sagemaker = "arn:aws:sagemaker:eu-west-1:<AWS::AccountId>"
    assert sorted(deployed) == sorted(
        f"{sagemaker}:{kind}/mlkit-tr-{model}{suffix}"
        for model in MODELS
        for kind, suffix in (("endpoint", ""), ("model", "-*"), ("endpoint-config", "-*"))
    )


# Actions that support no resource-level permission: the only ones allowed on "*" (each acknowledged).
NO_RESOURCE_ACTIONS = {
    "ecr:GetAuthorizationToken",
    "cloudwatch:PutMetricData",
    "xray:PutTraceSegments",
    "xray:PutTelemetryRecords",
    "xray:GetSamplingRules",
    "xray:GetSamplingTargets",
    "logs:CreateLogDelivery",
    "logs:DeleteLogDelivery",
    "logs:DescribeLogGroups",
    "logs:DescribeResourcePolicies",
    "logs:GetLogDelivery",
    "logs:ListLogDeliveries",
    "logs:PutResourcePolicy",
    "logs:UpdateLogDelivery",
    # "Find champion": no ARN documented for it (sources/training/stack.py's LIST_PACKAGES_REASON).
    "sagemaker:ListModelPackages",
}


@pytest.mark.parametrize("part", ["churn", "churn-script", "fraud", "dataset-churn"])
def test_no_star_resource_beyond_actions_without_resource_level_permissions(app, part):
    for statement in statements(app, part):
        if "*" in as_list(statement["Resource"]):
            assert set(as_list(statement["Action"])) <= NO_RESOURCE_ACTIONS, statement
    for statement in statements(app, part):
        if "cloudwatch:PutMetricData" in as_list(statement["Action"]):
            assert statement["Condition"] == {"StringLike": {"cloudwatch:namespace": "/aws/sagemaker/*"}}


def test_execution_role_reads_only_its_dataset_and_writes_only_its_model_prefix(app):
    resources = {}
    for statement in statements(app, "churn"):
        for action in ("s3:GetObject", "s3:PutObject"):
            if action in as_list(statement["Action"]):
                resources.setdefault(action, []).extend(
                    render_tokens(r) for r in as_list(statement["Resource"])
                )
    assert sorted(resources["s3:PutObject"]) == [
        "arn:aws:s3:::mlkit-tr-artifacts-<AWS::AccountId>-eu-west-1/models/churn/*"
    ]
    assert sorted(resources["s3:GetObject"]) == [
        "arn:aws:s3:::mlkit-tr-artifacts-<AWS::AccountId>-eu-west-1/models/churn/*",
        "arn:aws:s3:::mlkit-tr-curated-<AWS::AccountId>-eu-west-1/churn/xgboost/*",
    ]


def test_async_hosting_gets_its_result_prefixes_and_topics(app):
    event = definition(app, "churn-script")["States"]["Deploy endpoint"]["Parameters"]
    output = event["async_config"]["OutputConfig"]
    assert output["S3OutputPath"].endswith("/async-output/churn-script/")
    assert output["S3FailurePath"].endswith("/async-failures/churn-script/")
    assert len(resources(app, "churn-script", "AWS::SNS::Topic")) == 2


def test_stack_outputs_name_the_state_machine_for_make_train(app):
    outputs = app.templates["mlkit-tr-churn"].find_outputs("StateMachineArn")
    assert list(outputs.values())[0]["Value"]["Ref"].startswith("PipelineStateMachine")


# The logical ids the training and Autopilot stacks' shared parts had when each stack built them itself.
SHARED_LOGICAL_IDS = {
    "ModelPackageGroup",
    "PipelineLogs402221E7",
    "PipelineStateMachine1814BD05",
    "PipelineStateMachineRole61BEBDFF",
    "PipelineStateMachineRoleDefaultPolicy24D0EC77",
    "OnDatasetPrepared7D9A634F",
    "StateMachineArn",
    "EndpointName",
}


def shared_logical_ids_kept(template: dict) -> set[str]:
    """ModelPipeline is built as "Default", which CDK leaves out of logical ids: a changed id
    would make CloudFormation replace the named state machine and package group."""
    return SHARED_LOGICAL_IDS - {*template["Resources"], *template["Outputs"]}


def test_shared_parts_keep_their_logical_ids(app):
    assert shared_logical_ids_kept(app.raw["mlkit-tr-churn"]) == set()
