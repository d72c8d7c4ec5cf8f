"""Dataset stack: the Glue job (properties, code assets, encryption, IAM) and its once-per-upload pipeline;
the Processing and Data Wrangler ways of preparing (requests, KMS, IAM, the same event)."""

import json
import re

import aws_cdk as cdk
import pytest
from aws_cdk import aws_kms as kms
from aws_cdk import aws_s3 as s3

from stacks.constructs.glue_prepare_job import GLUE_CODE, GluePrepareJob, job_arguments
from stacks.constructs.processing_prepare_job import (
    CURATE_STATE,
    FLOW_STATE,
    NAME_RUN_STATE,
    PROCESSING_STATE,
    processing_job_prefix,
)
from stacks.dataset_stack import CURATED_OUTPUTS
from stacks.images import processing_uri
from tests.sources.training.test_stack import (
    as_list,
    definition,
    resources,
    statements,
    training_config,
)
from tests.stacks.synth import config_from, render_tokens, synthesize


@pytest.fixture(scope="module")
def app():
    return synthesize(training_config())


def only(app, part, resource_type):
    (resource,) = resources(app, part, resource_type).values()
    return resource["Properties"]


def test_glue_job_is_glue5_flex_with_bounded_workers_and_continuous_logs(app):
    job = only(app, "dataset-churn", "AWS::Glue::Job")
    assert (job["Name"], job["GlueVersion"], job["WorkerType"]) == ("mlkit-tr-prepare-churn", "5.0", "G.1X")
    assert (job["ExecutionClass"], job["NumberOfWorkers"], job["MaxRetries"]) == ("FLEX", 2, 0)
    assert job["Command"]["Name"] == "glueetl"
    arguments = job["DefaultArguments"]
    assert arguments["--enable-continuous-cloudwatch-log"] == "true"
    assert arguments["--enable-glue-datacatalog"] == "true"
    assert render_tokens(arguments["--raw_path"]) == "s3://mlkit-tr-raw-<AWS::AccountId>-eu-west-1/churn/"
    assert (
        render_tokens(arguments["--curated_path"])
        == "s3://mlkit-tr-curated-<AWS::AccountId>-eu-west-1/churn/"
    )
    assert (arguments["--target"], arguments["--database"], arguments["--table"]) == (
        "churned",
        "mlkit_tr_curated",
        "churn",
    )


def test_job_arguments_come_from_the_first_model_of_the_dataset(app):
    arguments = only(app, "dataset-fraud", "AWS::Glue::Job")["DefaultArguments"]
    assert json.loads(arguments["--column_types"]) == {"amount": "double"}
    assert json.loads(arguments["--features"]) == ["amount", "merchant"]
    assert arguments["--validation_fraction"] == "0.3"
    assert "--column_types" not in only(app, "dataset-churn", "AWS::Glue::Job")["DefaultArguments"]


def test_script_and_transform_ship_as_assets_the_entrypoint_can_import(app):
    job = only(app, "dataset-churn", "AWS::Glue::Job")
    script = render_tokens(job["Command"]["ScriptLocation"]).rsplit("/", 1)[1]
    assert (app.outdir / f"asset.{script}").read_text() == (GLUE_CODE / "glue_job.py").read_text()
    library = render_tokens(job["DefaultArguments"]["--extra-py-files"]).rsplit("/", 1)[1]
    assert library.endswith(".zip")
    staged = app.outdir / f"asset.{library.removesuffix('.zip')}"
    assert sorted(p.name for p in staged.iterdir()) == ["transform.py"]  # zipped at publish: import transform


def test_security_configuration_encrypts_s3_logs_and_bookmarks_with_the_data_key(app):
    job = only(app, "dataset-churn", "AWS::Glue::Job")
    ((logical, security),) = resources(app, "dataset-churn", "AWS::Glue::SecurityConfiguration").items()
    assert job["SecurityConfiguration"] == {"Ref": logical}
    encryption = security["Properties"]["EncryptionConfiguration"]
    key = encryption["S3Encryptions"][0]["KmsKeyArn"]
    assert "DataKey" in key["Fn::ImportValue"]
    assert encryption["S3Encryptions"] == [{"S3EncryptionMode": "SSE-KMS", "KmsKeyArn": key}]
    assert encryption["CloudWatchEncryption"] == {"CloudWatchEncryptionMode": "SSE-KMS", "KmsKeyArn": key}
    assert encryption["JobBookmarksEncryption"] == {"JobBookmarksEncryptionMode": "CSE-KMS", "KmsKeyArn": key}


def test_data_key_lets_cloudwatch_logs_encrypt_this_accounts_log_groups_only(app):
    policy = only(app, "data", "AWS::KMS::Key")["KeyPolicy"]["Statement"]
    logs = [s for s in policy if s.get("Principal") == {"Service": "logs.eu-west-1.amazonaws.com"}]
    assert len(logs) == 1  # once, however many datasets: Glue's job logs and every other log group
    condition = logs[0]["Condition"]["ArnLike"]["kms:EncryptionContext:aws:logs:arn"]
    assert render_tokens(condition) == "arn:aws:logs:eu-west-1:<AWS::AccountId>:log-group:*"


def test_glue_role_reads_raw_and_writes_curated_under_its_dataset_only(app):
    granted = {}
    for statement in statements(app, "dataset-churn"):
        for action in as_list(statement["Action"]):
            if action.startswith(("s3:", "glue:Create", "glue:Update")):
                granted.setdefault(action, set()).update(
                    render_tokens(r) for r in as_list(statement["Resource"])
                )
    raw = "arn:aws:s3:::mlkit-tr-raw-<AWS::AccountId>-eu-west-1"
    curated = "arn:aws:s3:::mlkit-tr-curated-<AWS::AccountId>-eu-west-1"
    assert granted["s3:PutObject"] == granted["s3:DeleteObject"] == {f"{curated}/churn/*"}
    assert {r for r in granted["s3:GetObject"] if "cdk-" not in r} == {f"{raw}/churn/*", f"{curated}/churn/*"}
    assert granted["s3:ListBucket"] == {raw, curated}
    assert granted["glue:CreateTable"] >= {
        "arn:aws:glue:eu-west-1:<AWS::AccountId>:table/mlkit_tr_curated/churn",
        "arn:aws:glue:eu-west-1:<AWS::AccountId>:database/mlkit_tr_curated",
    }
    assert not any(r.endswith(":table/*") or r.endswith("database/*") for r in granted["glue:CreateTable"])
    listing = [s for s in statements(app, "dataset-churn") if s["Action"] == "s3:ListBucket"]
    assert listing[0]["Condition"] == {"StringLike": {"s3:prefix": ["churn/", "churn/*"]}}


def test_an_upload_under_the_raw_prefix_starts_the_prepare_pipeline(app):
    rule = only(app, "dataset-churn", "AWS::Events::Rule")
    pattern = rule["EventPattern"]
    assert pattern["source"] == ["aws.s3"] and pattern["detail-type"] == ["Object Created"]
    assert render_tokens(pattern["detail"]["bucket"]["name"][0]) == "mlkit-tr-raw-<AWS::AccountId>-eu-west-1"
    assert pattern["detail"]["object"]["key"] == [{"prefix": "churn/"}]
    (machine,) = resources(app, "dataset-churn", "AWS::StepFunctions::StateMachine")
    assert rule["Targets"][0]["Arn"] == {"Ref": machine}


def test_prepare_pipeline_runs_glue_then_announces_what_training_rules_match(app):
    machine = definition(app, "dataset-churn")
    states = machine["States"]
    assert machine["StartAt"] == "Run Glue job"
    assert states["Run Glue job"]["Resource"].endswith(":states:::glue:startJobRun.sync")
    assert states["Run Glue job"]["Parameters"] == {"JobName": "mlkit-tr-prepare-churn"}
    assert any(
        "Glue.ConcurrentRunsExceededException" in r["ErrorEquals"] for r in states["Run Glue job"]["Retry"]
    )
    assert states["Run Glue job"]["Next"] == "Announce dataset prepared"
    (entry,) = states["Announce dataset prepared"]["Parameters"]["Entries"]
    assert states["Announce dataset prepared"]["Next"] == "Prepared"
    # The event it puts is exactly what the on_upload training model's rule waits for.
    (rule,) = [r["Properties"] for r in resources(app, "churn", "AWS::Events::Rule").values()]
    pattern = rule["EventPattern"]
    assert [entry["Source"]] == pattern["source"] and [entry["DetailType"]] == pattern["detail-type"]
    for field, allowed in pattern["detail"].items():
        assert entry["Detail"][field] in allowed


def test_glue_job_runs_queue_instead_of_failing_on_bursts_of_uploads(app):
    assert only(app, "dataset-churn", "AWS::Glue::Job")["JobRunQueuingEnabled"] is True


def test_curated_layout_matches_what_the_transform_writes():
    from jobs.glue.transform import OUTPUTS

    assert CURATED_OUTPUTS == OUTPUTS


@pytest.mark.parametrize("workers", [1, 11])
def test_workers_are_bounded(workers):
    stack = cdk.Stack(cdk.App(), "Probe")
    with pytest.raises(ValueError, match="outside 2..10"):
        GluePrepareJob(
            stack,
            "Job",
            job_name="probe",
            dataset="d",
            key=kms.Key(stack, "Key"),
            raw_bucket=s3.Bucket.from_bucket_name(stack, "Raw", "raw"),
            curated_bucket=s3.Bucket.from_bucket_name(stack, "Curated", "curated"),
            database="db",
            table="d",
            arguments={},
            workers=workers,
        )


def test_job_arguments_leave_out_unset_options():
    definition = config_from(
        {
            "environment": "x",
            "region": "eu-west-1",
            "models": {"m": {"source": "training", "dataset": "d", "target": "y"}},
        }
    ).datasets["d"]
    arguments = job_arguments(
        dataset="d", raw_bucket="r", curated_bucket="c", database="db", table="d", definition=definition
    )
    assert arguments == {
        "--raw_path": "s3://r/d/",
        "--curated_path": "s3://c/d/",
        "--target": "y",
        "--database": "db",
        "--table": "d",
        "--validation_fraction": "0.2",
    }


# ---- prepare: processing and data_wrangler ------------------------------------------------------

FLOW_NODE = "c7e4b2d1-9f6a-4e8c-a3b5-2d1f0e9c8b7a"
PREPARE_CONFIG = {
    "environment": "dp",
    "region": "eu-west-1",
    "models": {
        "churn": {"source": "training", "dataset": "churn", "target": "churned"},
        "fraud": {
            "source": "training",
            "dataset": "fraud",
            "target": "fraud",
            "column_types": {"amount": "double"},
        },
    },
    "datasets": {
        "fraud": {"prepare": "processing", "instance_type": "ml.m5.2xlarge", "max_runtime": 7200},
        "churn": {"prepare": "data_wrangler", "flow": "sample-data/churn.flow", "output_node": FLOW_NODE},
    },
}
RAW = "mlkit-dp-raw-<AWS::AccountId>-eu-west-1"
CURATED = "mlkit-dp-curated-<AWS::AccountId>-eu-west-1"


@pytest.fixture(scope="module")
def prepared():
    return synthesize(config_from(PREPARE_CONFIG))


def prepare_states(prepared, dataset: str) -> dict:
    (machine,) = prepared.resources(f"dataset-{dataset}", "AWS::StepFunctions::StateMachine").values()
    return json.loads(render_tokens(machine["Properties"]["DefinitionString"]))


def dataset_statements(prepared, dataset: str) -> list[dict]:
    policies = prepared.resources(f"dataset-{dataset}", "AWS::IAM::Policy").values()
    return [s for p in policies for s in p["Properties"]["PolicyDocument"]["Statement"]]


def granted(statements: list[dict], action: str) -> set[str]:
    return {
        render_tokens(r) for s in statements if action in as_list(s["Action"]) for r in as_list(s["Resource"])
    }


def test_processing_runs_the_glue_transform_on_the_spark_image_then_announces(prepared):
    machine = prepare_states(prepared, "fraud")
    assert machine["StartAt"] == PROCESSING_STATE
    state = machine["States"][PROCESSING_STATE]
    assert state["Resource"] == "arn:<AWS::Partition>:states:::sagemaker:createProcessingJob.sync"
    assert state["Next"] == "Announce dataset prepared"
    request = state["Parameters"]
    assert request["AppSpecification"]["ImageUri"] == processing_uri("spark", "eu-west-1")
    entrypoint = request["AppSpecification"]["ContainerEntrypoint"]
    assert entrypoint[:3] == ["smspark-submit", "--py-files", "/opt/ml/processing/input/py-files"]
    glue_arguments = job_arguments(
        dataset="fraud",
        raw_bucket=RAW,
        curated_bucket=CURATED,
        database="-",
        table="-",
        definition=config_from(PREPARE_CONFIG).datasets["fraud"],
    )
    glue_arguments = {k: v for k, v in glue_arguments.items() if k not in ("--database", "--table")}
    arguments = [render_tokens(a) for a in request["AppSpecification"]["ContainerArguments"]]
    assert dict(zip(arguments[::2], arguments[1::2], strict=True)) == glue_arguments
    assert [i["InputName"] for i in request["ProcessingInputs"]] == ["code", "py-files"]
    cluster = request["ProcessingResources"]["ClusterConfig"]
    assert (cluster["InstanceType"], cluster["VolumeSizeInGB"]) == ("ml.m5.2xlarge", 30)
    assert "DataKey" in cluster["VolumeKmsKeyId"]
    assert request["StoppingCondition"] == {"MaxRuntimeInSeconds": 7200}
    assert request["ProcessingJobName.$"].startswith(
        f"States.Format('{processing_job_prefix('dp', 'fraud')}-"
    )
    assert prepared.resources("dataset-fraud", "AWS::Glue::Job") == {}


def test_a_flow_runs_on_the_data_wrangler_image_then_the_transform_curates_its_output(prepared):
    machine = prepare_states(prepared, "churn")
    assert machine["StartAt"] == NAME_RUN_STATE
    states = machine["States"]
    assert [states[NAME_RUN_STATE]["Next"], states[FLOW_STATE]["Next"], states[CURATE_STATE]["Next"]] == [
        FLOW_STATE,
        CURATE_STATE,
        "Announce dataset prepared",
    ]
    flow = states[FLOW_STATE]["Parameters"]
    assert flow["ProcessingJobName.$"] == "$.flow_run.name"
    assert flow["AppSpecification"]["ImageUri"] == processing_uri("data-wrangler", "eu-west-1")
    assert flow["AppSpecification"]["ContainerArguments"] == [
        "--output-config",
        json.dumps({f"{FLOW_NODE}.default": {"content_type": "CSV"}}),
    ]
    inputs = {i["InputName"]: i["S3Input"] for i in flow["ProcessingInputs"]}
    assert inputs["flow"]["LocalPath"] == "/opt/ml/processing/flow"
    assert render_tokens(inputs["flow"]["S3Uri"]).endswith(".flow")
    assert (render_tokens(inputs["churn.csv"]["S3Uri"]), inputs["churn.csv"]["LocalPath"]) == (
        f"s3://{RAW}/churn/",
        "/opt/ml/processing/churn.csv",
    )
    (output,) = flow["ProcessingOutputConfig"]["Outputs"]
    run_prefix = f"States.Format('s3://{CURATED}/churn/data-wrangler/{{}}/', $.flow_run.name)"
    assert (output["OutputName"], output["S3Output"]["S3Uri.$"]) == (f"{FLOW_NODE}.default", run_prefix)
    assert "DataKey" in flow["ProcessingOutputConfig"]["KmsKeyId"]
    assert flow["ProcessingResources"]["ClusterConfig"]["InstanceType"] == "ml.m5.4xlarge"
    curate = states[CURATE_STATE]["Parameters"]
    assert curate["AppSpecification"]["ImageUri"] == processing_uri("spark", "eu-west-1")
    assert curate["Environment"] == {"MLKIT_RAW_PATH.$": run_prefix}
    assert curate["AppSpecification"]["ContainerArguments"][-2:] == ["--recursive", "true"]


@pytest.mark.parametrize("dataset", ["fraud", "churn"])
def test_every_way_puts_the_event_the_glue_way_puts(app, prepared, dataset):
    (glue_entry,) = definition(app, "dataset-churn")["States"]["Announce dataset prepared"]["Parameters"][
        "Entries"
    ]
    (entry,) = prepare_states(prepared, dataset)["States"]["Announce dataset prepared"]["Parameters"][
        "Entries"
    ]
    assert (entry["Source"], entry["DetailType"]) == (glue_entry["Source"], glue_entry["DetailType"])
    assert sorted(entry["Detail"]) == sorted(glue_entry["Detail"])
    assert entry["Detail"]["glue_job_run_id.$"] == "$.processing.ProcessingJobName"
    rules = prepared.templates[f"mlkit-dp-{dataset}"].find_resources("AWS::Events::Rule")
    (rule,) = [r["Properties"] for r in rules.values()]
    for field, allowed in rule["EventPattern"]["detail"].items():
        assert entry["Detail"][field] in allowed


def test_the_job_role_reads_raw_and_writes_curated_under_its_dataset_only(prepared):
    statements = dataset_statements(prepared, "fraud")
    data = {r for r in granted(statements, "s3:GetObject") if "cdk-" not in r}
    assert data == {f"arn:aws:s3:::{RAW}/fraud/*", f"arn:aws:s3:::{CURATED}/fraud/*"}
    assert (
        granted(statements, "s3:PutObject")
        == granted(statements, "s3:DeleteObject")
        == {f"arn:aws:s3:::{CURATED}/fraud/*"}
    )
    assert {render_tokens(r) for r in granted(statements, "ecr:BatchGetImage")} == {
        "arn:<AWS::Partition>:ecr:eu-west-1:571004829621:repository/sagemaker-spark-processing"
    }
    wrangler = granted(dataset_statements(prepared, "churn"), "ecr:BatchGetImage")
    assert any(r.endswith("repository/sagemaker-data-wrangler-container") for r in wrangler)


def test_the_state_machine_runs_this_datasets_jobs_only_as_its_role(prepared):
    statements = dataset_statements(prepared, "fraud")
    prefix = processing_job_prefix("dp", "fraud")
    assert granted(statements, "sagemaker:CreateProcessingJob") == {
        f"arn:aws:sagemaker:eu-west-1:<AWS::AccountId>:processing-job/{prefix}-*"
    }
    (pass_role,) = [s for s in statements if s["Action"] == "iam:PassRole"]
    assert pass_role["Condition"] == {"StringEquals": {"iam:PassedToService": "sagemaker.amazonaws.com"}}


def test_job_name_prefixes_fit_sagemaker_and_never_cover_another_dataset():
    long = processing_job_prefix("abcdefghijkl", "a_very_long_dataset_name_" + "x" * 38)
    assert len(long) <= 50 and re.fullmatch(r"[a-z0-9](-*[a-z0-9])*", long)
    assert not processing_job_prefix("dp", "churn-2").startswith(processing_job_prefix("dp", "churn") + "-")


@pytest.mark.parametrize("model", ["churn", "fraud"])
def test_a_model_on_a_dataset_its_own_job_prepares_refuses_a_manual_prepare(prepared, model):
    """Only a Glue dataset is prepared inside a model's pipeline; others name their own pipeline."""
    resources = prepared.raw[f"mlkit-dp-{model}"]["Resources"].values()
    (machine,) = [r for r in resources if r["Type"] == "AWS::StepFunctions::StateMachine"]
    states = json.loads(render_tokens(machine["Properties"]["DefinitionString"]))["States"]
    assert "Run Glue job" not in states
    choice = states["Prepare data?"]["Choices"][0]
    failure = states[choice["Next"]]
    assert failure["Type"] == "Fail" and failure["Error"] == "PreparedByItsOwnPipeline"
    assert "state machine mlkit-dp-dataset-" + model + ":" in failure["Cause"]
