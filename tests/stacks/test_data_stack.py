"""Template assertions for the data stack: encryption, versioning, removal, SSL, logging, lifecycle, tags."""

import pytest
from aws_cdk.assertions import Match

from tests.stacks.synth import config_from, synthesize

BASE = {"environment": "qa", "region": "us-east-1"}


@pytest.fixture(scope="module")
def retained():
    return synthesize(config_from({**BASE, "tags": {"team": "ml"}, "data": {"noncurrent_version_days": 45}}))


@pytest.fixture(scope="module")
def destroyed():
    return synthesize(config_from({**BASE, "removal": "destroy"}))


def kms_buckets(app):
    buckets = app.resources("data", "AWS::S3::Bucket")
    return {logical_id: bucket for logical_id, bucket in buckets.items() if "AccessLogs" not in logical_id}


def test_stack_name_carries_environment(retained):
    assert sorted(retained.templates) == ["mlkit-qa-api", "mlkit-qa-data", "mlkit-qa-operations"]


def test_key_is_customer_managed_and_rotated(retained):
    retained.template("data").has_resource_properties("AWS::KMS::Key", {"EnableKeyRotation": True})
    retained.template("data").has_resource_properties("AWS::KMS::Alias", {"AliasName": "alias/mlkit-qa-data"})


def test_three_data_buckets_use_the_key_with_bucket_keys(retained):
    buckets = kms_buckets(retained)
    assert len(buckets) == 3
    for bucket in buckets.values():
        rule = bucket["Properties"]["BucketEncryption"]["ServerSideEncryptionConfiguration"][0]
        assert rule["BucketKeyEnabled"] is True
        assert rule["ServerSideEncryptionByDefault"]["SSEAlgorithm"] == "aws:kms"
        assert "Fn::GetAtt" in rule["ServerSideEncryptionByDefault"]["KMSMasterKeyID"]


def test_log_bucket_uses_s3_managed_keys(retained):
    retained.template("data").has_resource_properties(
        "AWS::S3::Bucket",
        {
            "BucketEncryption": {
                "ServerSideEncryptionConfiguration": [
                    {"ServerSideEncryptionByDefault": {"SSEAlgorithm": "AES256"}}
                ]
            }
        },
    )


def test_every_bucket_is_versioned_private_and_owner_enforced(retained):
    buckets = retained.resources("data", "AWS::S3::Bucket")
    assert len(buckets) == 4
    for bucket in buckets.values():
        properties = bucket["Properties"]
        assert properties["VersioningConfiguration"] == {"Status": "Enabled"}
        assert properties["PublicAccessBlockConfiguration"] == {
            "BlockPublicAcls": True,
            "BlockPublicPolicy": True,
            "IgnorePublicAcls": True,
            "RestrictPublicBuckets": True,
        }


def test_every_bucket_denies_insecure_transport(retained):
    policies = retained.resources("data", "AWS::S3::BucketPolicy")
    assert len(policies) == 4
    for policy in policies.values():
        statements = policy["Properties"]["PolicyDocument"]["Statement"]
        assert any(
            s["Effect"] == "Deny" and s["Condition"] == {"Bool": {"aws:SecureTransport": "false"}}
            for s in statements
        )


def test_data_buckets_log_to_the_log_bucket(retained):
    for bucket in kms_buckets(retained).values():
        logging = bucket["Properties"]["LoggingConfiguration"]
        assert "AccessLogs" in logging["DestinationBucketName"]["Ref"]
        assert logging["LogFilePrefix"] in {"raw/", "curated/", "artifacts/"}


def test_lifecycle_aborts_uploads_and_expires_old_versions(retained):
    for bucket in retained.resources("data", "AWS::S3::Bucket").values():
        rules = bucket["Properties"]["LifecycleConfiguration"]["Rules"]
        assert rules == [
            {
                "AbortIncompleteMultipartUpload": {"DaysAfterInitiation": 7},
                "Id": "tidy",
                "NoncurrentVersionExpiration": {"NoncurrentDays": 45},
                "Status": "Enabled",
            }
        ]


def test_only_raw_bucket_sends_events_to_eventbridge(retained):
    buckets = retained.resources("data", "AWS::S3::Bucket")
    with_events = [
        logical_id
        for logical_id, bucket in buckets.items()
        if bucket["Properties"]
        .get("NotificationConfiguration", {})
        .get("EventBridgeConfiguration", {})
        .get("EventBridgeEnabled")
    ]
    assert len(with_events) == 1 and with_events[0].startswith("Raw")


def test_retain_is_the_default(retained):
    template = retained.template("data")
    for resource_type in ("AWS::S3::Bucket", "AWS::KMS::Key", "AWS::Glue::Database"):
        for resource in template.find_resources(resource_type).values():
            assert resource["DeletionPolicy"] == "Retain"
            assert resource["UpdateReplacePolicy"] == "Retain"
    assert template.find_resources("Custom::S3AutoDeleteObjects") == {}


def test_destroy_deletes_buckets_with_their_objects(destroyed):
    template = destroyed.template("data")
    for resource_type in ("AWS::S3::Bucket", "AWS::KMS::Key", "AWS::Glue::Database"):
        for resource in template.find_resources(resource_type).values():
            assert resource["DeletionPolicy"] == "Delete"
    assert len(template.find_resources("Custom::S3AutoDeleteObjects")) == 4


def test_emulated_variant_drops_custom_resources_and_bootstrap_rule():
    app = synthesize(config_from({**BASE, "removal": "destroy"}), emulated=True)
    raw = app.raw["mlkit-qa-data"]
    assert "CheckBootstrapVersion" not in raw.get("Rules", {})
    assert app.template("data").find_resources("Custom::S3AutoDeleteObjects") == {}
    assert app.template("data").find_resources("AWS::Lambda::Function") == {}


def test_glue_database_for_curated_data(retained):
    retained.template("data").has_resource_properties(
        "AWS::Glue::Database",
        {"DatabaseInput": Match.object_like({"Name": "mlkit_qa_curated"})},
    )


def test_outputs_name_what_later_stacks_need(retained):
    outputs = retained.template("data").find_outputs("*")
    assert set(outputs) >= {
        "DataKeyArn",
        "RawBucketName",
        "CuratedBucketName",
        "ArtifactsBucketName",
        "LogBucketName",
        "CuratedDatabaseName",
    }


def test_every_taggable_resource_carries_config_and_project_tags(retained):
    expected = {"team": "ml", "project": "mlkit", "environment": "qa"}
    for resource_type in ("AWS::S3::Bucket", "AWS::KMS::Key"):
        for resource in retained.resources("data", resource_type).values():
            tags = {tag["Key"]: tag["Value"] for tag in resource["Properties"]["Tags"]}
            assert expected.items() <= tags.items()


def test_data_stack_synthesizes_in_an_app_without_mlkits_feature_flags():
    import aws_cdk as cdk
    from aws_cdk.assertions import Template

    from stacks.data_stack import DataStack

    # No cdk.json context: CDK's ACL-based log delivery. (Its built-in validation, which has no bearing
    # on this, is off only to spare the test its engine's 3 s start.)
    app = cdk.App(builtin_cloud_formation_validation=False)
    stack = DataStack(app, "Embedded", config=config_from(BASE))
    ownership = [
        bucket["Properties"]["OwnershipControls"]["Rules"][0]["ObjectOwnership"]
        for logical_id, bucket in Template.from_stack(stack).find_resources("AWS::S3::Bucket").items()
        if logical_id.startswith("AccessLogs")
    ]
    assert ownership == ["ObjectWriter"]
