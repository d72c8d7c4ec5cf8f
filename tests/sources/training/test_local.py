"""`make local`'s custom-model path: real Spark and XGBoost, the real deploy Lambda and router.

The emulator is moto's server in a thread of this process (tests/mlkit/emulated.py). The stacks the
path reads (data buckets, the models' pipelines) are stand-ins created through moto's CloudFormation
with the shapes `cdk deploy` gives them; the pipeline's two deploy states copy what the deployed
training stack holds (tests/sources/training/test_stack.py asserts those). The router reads the
registry the API stack would deploy for this config.
"""

import io
import json
import random
import tarfile
from contextlib import ExitStack

import numpy as np
import pytest
import yaml

from mlkit import local_endpoint, local_training
from mlkit.local_context import Run
from mlkit.local_run import model_rows
from mlkit.report import FAILED, NOT_EMULATED, OK, SKIPPED, Report, StepFailed
from sources.training import local as training_rows
from sources.training.local_champion import CHALLENGER_STEP, REGISTER_STATE
from stacks import names
from stacks.config import MlKitConfig
from stacks.config.loader import CONFIG_DIR
from stacks.constructs.deploy_steps import SCALE_STATE
from tests.mlkit.emulated import ACCOUNT, REGION, load_router, threaded_emulator
from tests.model_entries import CHURN

# Spark: one JVM per test process, so every Spark test runs in the same xdist worker.
pytestmark = pytest.mark.xdist_group("spark")


@pytest.fixture(scope="module")
def xgb():
    # Imported by the worker that runs these tests, not by every worker at collection (~1.1 s each).
    import xgboost

    return xgboost


DEV_CHURN = yaml.safe_load((CONFIG_DIR / "dev.yaml").read_text())["models"]["churn"]
BUCKETS = {kind: names.bucket_name("dev", kind, ACCOUNT, REGION) for kind in ("raw", "curated", "artifacts")}
CONTAINERS_STATE, DEPLOY_STATE = local_endpoint.state_names()
ENDPOINT = names.endpoint_name("dev", "churn")
IMAGE = "683313688378.dkr.ecr.us-east-1.amazonaws.com/sagemaker-xgboost:3.0-5"
CONFIG = {
    "environment": "dev",
    "region": REGION,
    "models": {
        # dev.yaml's hyperparameters: the one-round challenger loses to them on the sample data (the
        # defaults overfit it: one round beats their 100, and the challenger row fails saying so).
        "churn": {**CHURN, "hyperparameters": DEV_CHURN["hyperparameters"]},
        "churn-automl": {
            "source": "autopilot",
            "dataset": "churn",
            "target": "churned",
            "problem_type": "BinaryClassification",
        },
    },
}
DEPLOY_PARAMETERS = {
    "endpoint_name": names.endpoint_name("dev", "churn"),
    "execution_role_arn": "${ModelRole.Arn}",
    "containers.$": "$.model.containers",
    "variant": {"InitialVariantWeight": 1, "ServerlessConfig": {"MemorySizeInMB": 2048, "MaxConcurrency": 5}},
    "deployment_config": {
        "BlueGreenUpdatePolicy": {
            "TrafficRoutingConfiguration": {"Type": "ALL_AT_ONCE", "WaitIntervalInSeconds": 300},
            "TerminationWaitInSeconds": 60,
            "MaximumExecutionTimeoutInSeconds": 2400,
        },
        "AutoRollbackConfiguration": {
            "Alarms": [{"AlarmName": f"{ENDPOINT}-5xx"}, {"AlarmName": f"{ENDPOINT}-latency"}]
        },
    },
    "tags": {"project": "mlkit", "model": "churn"},
}
PIPELINE = {
    "StartAt": CONTAINERS_STATE,
    "States": {
        CONTAINERS_STATE: {
            "Type": "Pass",
            "ResultPath": "$.model",
            "Parameters": {
                "containers": [
                    {"Image": IMAGE, "ModelDataUrl.$": "$.training.ModelArtifacts.S3ModelArtifacts"}
                ]
            },
            "Next": DEPLOY_STATE,
        },
        DEPLOY_STATE: {"Type": "Pass", "Parameters": DEPLOY_PARAMETERS, "End": True},
        # What the deployed "Apply scaling" state sends for serverless hosting (deploy_steps.py).
        SCALE_STATE: {
            "Type": "Pass",
            "Parameters": {"action": "scale", "endpoint_name": ENDPOINT, "scaling": None},
            "End": True,
        },
        # What local_champion.py reads of "Register model package": the group, the specification and the
        # metadata the stack writes (test_champion_steps.py walks the real one).
        REGISTER_STATE: {
            "Type": "Pass",
            "Parameters": {
                "ModelPackageGroupName": ENDPOINT,
                "ModelApprovalStatus": "Approved",
                "InferenceSpecification": {
                    "Containers": [
                        {"Image": IMAGE, "ModelDataUrl.$": "$.training.ModelArtifacts.S3ModelArtifacts"}
                    ],
                    "SupportedContentTypes": ["text/csv"],
                    "SupportedResponseMIMETypes": ["text/csv"],
                },
                "CustomerMetadataProperties": {
                    "training_job.$": "$.training.TrainingJobName",
                    "metric": "validation:auc",
                    "metric_value.$": "States.Format('{}', $.gate.value)",
                    "validation_data": f"s3://{BUCKETS['curated']}/churn/xgboost/validation/",
                    "min_improvement": "0.0",
                    "champion.$": "$.comparison.champion",
                    "champion_metric_value.$": "$.comparison.champion_metric_value",
                },
            },
            "End": True,
        },
    },
}
SERVICES = ["sagemaker.amazonaws.com", "lambda.amazonaws.com", "states.amazonaws.com"]
ASSUME = {"Statement": [{"Effect": "Allow", "Principal": {"Service": SERVICES}, "Action": "sts:AssumeRole"}]}


def role(logical_id: str) -> dict:
    return {logical_id: {"Type": "AWS::IAM::Role", "Properties": {"AssumeRolePolicyDocument": ASSUME}}}


def state_machine(name: str, definition: dict) -> dict:
    return {
        **role("PipelineRole"),
        **role("ModelRole"),
        "Pipeline": {
            "Type": "AWS::StepFunctions::StateMachine",
            "Properties": {
                "StateMachineName": name,
                "RoleArn": {"Fn::GetAtt": ["PipelineRole", "Arn"]},
                "DefinitionString": {"Fn::Sub": json.dumps(definition)},
            },
        },
    }


def stand_in_stacks() -> dict[str, dict]:
    """What `cdk deploy` leaves in the emulator that the custom-model path reads."""
    data = {
        f"{kind.title()}Bucket": {"Type": "AWS::S3::Bucket", "Properties": {"BucketName": name}}
        for kind, name in BUCKETS.items()
    }
    data_outputs = {f"{kind.title()}BucketName": {"Value": name} for kind, name in BUCKETS.items()}
    pipeline_output = {"StateMachineArn": {"Value": {"Ref": "Pipeline"}}}
    automl = {"StartAt": "Done", "States": {"Done": {"Type": "Succeed"}}}
    return {
        names.data_stack_name("dev"): {"Resources": data, "Outputs": data_outputs},
        names.model_stack_name("dev", "churn"): {
            "Resources": state_machine(names.model_stack_name("dev", "churn"), PIPELINE),
            "Outputs": pipeline_output,
        },
        names.model_stack_name("dev", "churn-automl"): {
            "Resources": state_machine(names.model_stack_name("dev", "churn-automl"), automl),
            "Outputs": pipeline_output,
        },
    }


@pytest.fixture(scope="module")
def config():
    return MlKitConfig.model_validate(CONFIG)


@pytest.fixture(scope="module")
def emulator(tmp_path_factory, config):
    """A moto server thread with the stand-in stacks and the router the API stack would deploy."""
    directory = tmp_path_factory.mktemp("custom-model-run")
    with threaded_emulator(directory) as emulator:
        for name, template in stand_in_stacks().items():
            emulator.clients("cloudformation").create_stack(StackName=name, TemplateBody=json.dumps(template))
        emulator.router = load_router(emulator, config, directory)
        yield emulator


def run_custom_models(report: Report, run: Run) -> dict[str, dict]:
    """Each training and Autopilot model's rows, as make local runs them; what each model did."""
    return {label: model_rows(report, run, label, model) for label, model in run.config.custom_models.items()}


def new_run(emulator, config, workdir, exits, **fields) -> Run:
    run = Run(config, emulator.clients, emulator, workdir=workdir, exits=exits, **fields)
    run.router, run.router_blocked = emulator.router, None
    return run


@pytest.fixture(scope="module")
def runs(emulator, config, tmp_path_factory, spark):
    """The whole path twice on one emulator, as `make local` twice on a kept one; a stray answer between."""
    first, second = Report(), Report()
    # Both runs reuse the session's Spark (local_spark finds it active), as the job tests do.
    with ExitStack() as exits:
        workdir = tmp_path_factory.mktemp("runs")
        first_outcomes = run_custom_models(first, new_run(emulator, config, workdir / "1", exits))
        # An answer queued and never taken (as a kept emulator can hold) must not reach the router.
        local_endpoint.seed_endpoint_body(emulator.endpoint, "stray,answer", "text/csv")
        second_outcomes = run_custom_models(second, new_run(emulator, config, workdir / "2", exits))
    return (first, first_outcomes), (second, second_outcomes)


def rows(report: Report) -> list[tuple[str, str, str]]:
    return [(row.scope, row.step, row.status) for row in report.rows]


def row(report: Report, scope: str, step: str):
    return next(r for r in report.rows if (r.scope, r.step) == (scope, step))


def test_every_step_runs_for_real_and_automl_is_reported_not_emulated(runs):
    (report, _), _ = runs
    assert rows(report) == [
        ("dataset churn", "upload sample data", OK),
        ("dataset churn", "Glue transform (local Spark)", OK),
        ("churn", "train (local XGBoost)", OK),
        ("churn", "evaluation gate", OK),
        ("churn", "deploy Lambda", OK),
        ("churn", "endpoint config matches hosting", OK),
        ("churn", "autoscaling matches hosting", OK),
        ("churn", "router sends these rows to this endpoint", OK),
        ("churn", CHALLENGER_STEP, OK),
        ("churn", "champion still serving", OK),
        ("churn-automl", "curated CSV with header", OK),
        ("churn-automl", "state machine deployed", OK),
        ("churn-automl", "router sends these rows to this endpoint name", OK),
        ("churn-automl", "AutoML V2 job", NOT_EMULATED),
    ]
    assert "BestCandidate is a placeholder" in row(report, "churn-automl", "AutoML V2 job").detail
    glue = row(report, "dataset churn", "Glue transform (local Spark)").detail
    assert "1000 rows read" in glue and "→ train " in glue


def test_the_glue_outputs_land_in_the_curated_bucket_as_glue_writes_them(runs, emulator):
    keys = local_training.object_keys(emulator.clients("s3"), BUCKETS["curated"], "churn/")
    for prefix in ("churn/xgboost/train/", "churn/xgboost/validation/", "churn/autopilot/", "churn/parquet/"):
        assert any(key.startswith(prefix) for key in keys), prefix
    assert "churn/metadata/schema.json" in keys
    assert not [key for key in keys if key.rsplit("/", 1)[1].startswith(".")], "no Hadoop .crc files"
    # The second run replaced the first one's outputs instead of adding part files beside them.
    assert len([key for key in keys if key.startswith("churn/xgboost/train/")]) == 1


def test_the_locally_trained_model_beats_the_baseline_and_passes_the_gate(runs):
    (report, outcomes), _ = runs
    churn = outcomes["churn"]
    assert churn["baseline"] == pytest.approx(0.5)
    assert churn["metric"] > churn["baseline"] + 0.15
    assert churn["metric"] >= 0.75
    assert row(report, "churn", "train (local XGBoost)").metric == (
        f"validation:auc {churn['metric']:.2f} (baseline 0.50)"
    )
    assert row(report, "churn", "evaluation gate").detail.startswith("validation:auc 0.")


def test_the_artifact_is_a_model_tarball_under_the_models_prefix(runs, emulator):
    (_, outcomes), _ = runs
    url = outcomes["churn"]["model_data_url"]
    assert url.startswith(f"s3://{BUCKETS['artifacts']}/models/churn/") and url.endswith("/model.tar.gz")
    key = url.split("/", 3)[3]
    archive = emulator.clients("s3").get_object(Bucket=BUCKETS["artifacts"], Key=key)["Body"].read()
    with tarfile.open(fileobj=io.BytesIO(archive)) as unpacked:
        assert unpacked.getnames() == ["xgboost-model"]


def test_the_deploy_lambda_gets_the_pipelines_event_and_creates_the_endpoint(runs, emulator):
    (_, outcomes), _ = runs
    event = outcomes["churn"]["deploy_event"]
    assert event["containers"] == [{"Image": IMAGE, "ModelDataUrl": outcomes["churn"]["model_data_url"]}]
    assert event["variant"] == DEPLOY_PARAMETERS["variant"] and event["tags"] == DEPLOY_PARAMETERS["tags"]
    assert event["execution_role_arn"].startswith(f"arn:aws:iam::{ACCOUNT}:role/")
    assert outcomes["churn"]["deploy"]["action"] == "created"
    endpoint = emulator.clients("sagemaker").describe_endpoint(
        EndpointName=names.endpoint_name("dev", "churn")
    )
    assert endpoint["EndpointStatus"] == "InService"
    assert endpoint["EndpointConfigName"] == outcomes["churn"]["deploy"]["endpoint_config_name"]


def test_the_router_answers_the_local_models_predictions_for_the_same_rows(runs, emulator, xgb):
    (_, outcomes), _ = runs
    churn = outcomes["churn"]
    assert churn["status"] == 200 and churn["answer"] == churn["expected"]
    key = churn["model_data_url"].split("/", 3)[3]
    archive = emulator.clients("s3").get_object(Bucket=BUCKETS["artifacts"], Key=key)["Body"].read()
    with tarfile.open(fileobj=io.BytesIO(archive)) as unpacked:
        booster = xgb.Booster()
        booster.load_model(bytearray(unpacked.extractfile("xgboost-model").read()))
    features = np.genfromtxt(churn["request"].splitlines(), delimiter=",", ndmin=2)
    assert features.shape == (training_rows.REQUEST_ROWS, booster.num_features())
    predicted = booster.predict(xgb.DMatrix(features, missing=np.nan))
    answered = [float(line) for line in churn["answer"].splitlines()]
    assert answered == pytest.approx(predicted.tolist(), rel=1e-5)
    assert len(set(answered)) > 1, "different rows, different scores: a real model answered"


def test_a_second_run_changes_nothing_and_still_answers_with_real_predictions(runs):
    (_, first), (report, second) = runs
    assert rows(report) == rows(runs[0][0])
    assert second["churn"]["model_data_url"] == first["churn"]["model_data_url"]
    assert second["churn"]["deploy"]["action"] == "unchanged"
    assert row(report, "churn", "deploy Lambda").detail.startswith(f"unchanged: {ENDPOINT} InService")
    assert second["churn"]["answer"] == second["churn"]["expected"] != "stray,answer"


def test_the_first_model_is_registered_and_a_weaker_challenger_is_kept_out(runs, emulator):
    (report, outcomes), (second, _) = runs
    sagemaker = emulator.clients("sagemaker")
    packages = sagemaker.list_model_packages(ModelPackageGroupName=ENDPOINT, SortBy="CreationTime")
    statuses = [p["ModelApprovalStatus"] for p in packages["ModelPackageSummaryList"]]
    assert statuses == ["Approved", "Rejected", "Rejected"]  # the champion; each run's challenger
    champion_arn = outcomes["churn"]["champion_arn"]
    assert "no champion: the first model" in row(report, "churn", "evaluation gate").detail
    assert f"already the champion {champion_arn}" in row(second, "churn", "evaluation gate").detail
    challenger = row(report, "churn", CHALLENGER_STEP).detail
    assert "does not beat the champion (0." in challenger and "+min_improvement 0.0)" in challenger
    rejected = sagemaker.describe_model_package(ModelPackageName=outcomes["churn"]["challenger_arn"])
    properties = rejected["CustomerMetadataProperties"]
    assert (properties["champion"], properties["metric"]) == (champion_arn, "validation:auc")
    assert rejected["ModelPackageDescription"].startswith("Kept out by the gate: validation:auc 0.")
    assert float(properties["metric_value"]) < float(properties["champion_metric_value"])
    assert champion_arn in row(report, "churn", "champion still serving").detail


def test_a_failed_gate_keeps_the_model_from_deploy_and_route(runs, emulator, config, tmp_path):
    strict = config.models["churn"].model_copy(update={"threshold": 0.99})
    report = Report()
    with ExitStack() as exits:  # the curated data of the runs above is in the emulator: train only
        run = new_run(emulator, config, tmp_path, exits, buckets=dict(BUCKETS))
        training_rows.run_training_model(report, run, "churn", strict, None)
    assert [r.status for r in report.rows] == [OK, FAILED] + [SKIPPED] * (len(report.rows) - 2)
    assert [r.step for r in report.rows][-2:] == [CHALLENGER_STEP, "champion still serving"]
    assert "is below the threshold 0.99: the model is not deployed" in report.rows[1].detail
    assert report.rows[1].detail.startswith("validation:auc 0.")
    assert {r.detail for r in report.rows[2:]} == {"needs 'evaluation gate', which failed"}


def test_without_java_spark_steps_are_skipped_with_the_hint_and_the_rest_runs(
    emulator, config, monkeypatch, tmp_path
):
    monkeypatch.setattr(local_training.shutil, "which", lambda name: None)

    def no_spark():
        raise AssertionError("Spark must not start without Java")

    monkeypatch.setattr(local_training, "local_spark", no_spark)
    report = Report()
    with ExitStack() as exits:
        run_custom_models(report, new_run(emulator, config, tmp_path, exits))
    statuses = {(r.scope, r.step): r.status for r in report.rows}
    assert statuses[("dataset churn", "upload sample data")] == OK
    assert statuses[("churn-automl", "state machine deployed")] == OK
    assert statuses[("churn-automl", "AutoML V2 job")] == NOT_EMULATED
    skipped = [r for r in report.rows if r.status == SKIPPED]
    assert [(r.scope, r.step) for r in skipped] == [
        ("dataset churn", "Glue transform (local Spark)"),
        ("churn", "train (local XGBoost)"),
        ("churn", "evaluation gate"),
        ("churn", "deploy Lambda"),
        ("churn", "endpoint config matches hosting"),
        ("churn", "autoscaling matches hosting"),
        ("churn", "router sends these rows to this endpoint"),
        ("churn", CHALLENGER_STEP),
        ("churn", "champion still serving"),
        ("churn-automl", "curated CSV with header"),
    ]
    assert all("apt-get install openjdk-17-jre-headless" in r.detail for r in skipped)
    assert all(r.detail.startswith("needs the Glue transform's output") for r in skipped[1:])
    assert not report.failed


def test_a_java_that_does_not_run_counts_as_missing(monkeypatch):
    monkeypatch.setattr(local_training.shutil, "which", lambda name: "/bin/false")
    problem = local_training.java_problem()
    assert problem.startswith("`java -version` failed (CalledProcessError)") and "openjdk-17" in problem


def test_the_gate_compares_in_the_metrics_direction_and_names_the_numbers(config):
    model = config.models["churn"]
    assert (
        training_rows.gate_verdict(model, {"validation:auc": 0.8})
        == "validation:auc 0.8000 >= threshold 0.75: deploy"
    )
    with pytest.raises(StepFailed, match=r"validation:auc 0.7000 is below the threshold 0.75"):
        training_rows.gate_verdict(model, {"validation:auc": 0.7})
    with pytest.raises(StepFailed, match=r"training reported no validation:auc \(it reported train:auc\)"):
        training_rows.gate_verdict(model, {"train:auc": 0.9})
    logloss = model.model_copy(
        update={
            "metric": "validation:logloss",
            "threshold": 0.5,
            "hyperparameters": {"eval_metric": "logloss"},
        }
    )
    assert training_rows.gate_verdict(logloss, {"validation:logloss": 0.4}).startswith(
        "validation:logloss 0.4000 <="
    )
    with pytest.raises(StepFailed, match="is above the threshold 0.5"):
        training_rows.gate_verdict(logloss, {"validation:logloss": 0.6})


def test_the_deploy_event_fills_the_pipelines_paths_like_step_functions():
    event = local_endpoint.deploy_event(PIPELINE, "s3://bucket/models/churn/x/output/model.tar.gz")
    assert event["containers"] == [
        {"Image": IMAGE, "ModelDataUrl": "s3://bucket/models/churn/x/output/model.tar.gz"}
    ]
    assert (
        "containers.$" not in event and event["deployment_config"] == DEPLOY_PARAMETERS["deployment_config"]
    )
    with pytest.raises(StepFailed, match=f"the deployed pipeline has no state '{DEPLOY_STATE}'"):
        local_endpoint.deploy_event({"States": {CONTAINERS_STATE: {}}}, "s3://b/k")
    with pytest.raises(StepFailed, match="the pipeline reads \\$.training.Nope"):
        local_endpoint.resolve({"x.$": "$.training.Nope"}, {"training": {}})


def test_packaging_is_byte_stable_and_serves_what_the_booster_predicts(xgb):
    rng = np.random.default_rng(3)
    features = rng.normal(size=(60, 3))
    labels = (features[:, 0] > 0).astype(float)
    booster = xgb.train({"nthread": 1, "objective": "binary:logistic"}, xgb.DMatrix(features, labels), 5)
    archive = local_training.package_model(booster)
    assert archive == local_training.package_model(booster)
    key = local_training.archive_key("churn", archive)
    assert key.startswith("models/churn/local-") and key.endswith("/output/model.tar.gz")
    request = "\n".join(",".join(f"{value:.4f}" for value in line) for line in features[:4])
    served = [
        float(v) for v in local_training.predict_csv(local_training.load_archive(archive), request).split()
    ]
    parsed = np.array([[float(v) for v in line.split(",")] for line in request.splitlines()])
    assert served == pytest.approx(booster.predict(xgb.DMatrix(parsed)).tolist(), rel=1e-5)


def test_request_rows_drop_the_label_and_vary_between_runs(tmp_path):
    (tmp_path / "part-0.csv").write_text("".join(f"{i % 2},{i},{i * 2}.5,\n" for i in range(40)))
    picks = {local_training.feature_rows(tmp_path, 3, random.Random(seed)) for seed in range(5)}
    assert len(picks) > 1
    for request in picks:
        lines = request.splitlines()
        assert len(lines) == 3 and all(len(line.split(",")) == 3 for line in lines)
        assert all(line.split(",")[1].endswith(".5") for line in lines)


def test_a_router_pointed_at_another_endpoint_fails_the_training_route_check(
    runs, emulator, config, monkeypatch, tmp_path
):
    (_, outcomes), _ = runs
    models = emulator.router.SETTINGS.models
    monkeypatch.setitem(models, "churn", models["churn"]._replace(endpoint_name=f"{ENDPOINT}-WRONG"))
    report = Report()
    with ExitStack() as exits:
        run = new_run(emulator, config, tmp_path, exits, buckets=dict(BUCKETS))
        trained = outcomes["churn"]["trained"]
        report.attempt(
            "churn",
            "route",
            None,
            lambda row: training_rows.route_predictions(
                row, run, "churn", config.models["churn"], trained, {}
            ),
        )
    assert report.rows[0].status == FAILED
    assert f"endpoint '{ENDPOINT}-WRONG', not '{ENDPOINT}'" in report.rows[0].detail
