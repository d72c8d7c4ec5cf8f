"""Dataset stack: the Glue job (properties, code assets, encryption, IAM) and its once-per-upload pipeline."""

import json

import aws_cdk as cdk
import pytest
from aws_cdk import aws_kms as kms
from aws_cdk import aws_s3 as s3

from stacks.constructs.glue_prepare_job import GLUE_CODE, GluePrepareJob, job_arguments
from stacks.dataset_stack import CURATED_OUTPUTS
from tests.stacks.synth import config_from, render_tokens, synthesize
from tests.stacks.test_training_stack import (
    as_list,
    definition,
    resources,
    statements,
    training_config,
)


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


def test_data_key_lets_cloudwatch_logs_encrypt_glue_job_logs_only(app):
    policy = only(app, "data", "AWS::KMS::Key")["KeyPolicy"]["Statement"]
    logs = [s for s in policy if s.get("Principal") == {"Service": "logs.eu-west-1.amazonaws.com"}]
    assert len(logs) == 1  # once, however many datasets
    condition = logs[0]["Condition"]["ArnLike"]["kms:EncryptionContext:aws:logs:arn"]
    assert render_tokens(condition) == "arn:aws:logs:eu-west-1:<AWS::AccountId>:log-group:/aws-glue/jobs/*"


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
