"""The committed image table equals what the sagemaker SDK returns; lookups fail clearly."""

import pytest

from stacks import images
from stacks.images import ImageNotFound


@pytest.fixture(scope="module")
def sdk_image_uris():
    # Imported by the worker that runs these tests, not by every worker at collection (~1.2 s each).
    from sagemaker.core import image_uris

    return image_uris


def test_table_matches_the_installed_sdk():
    from stacks.images.generate import TABLE_PATH, render

    assert TABLE_PATH.read_text() == render(), (
        "stacks/images/table.json drifted from the SDK: run `make images`"
    )


@pytest.mark.parametrize("region", ["us-east-1", "eu-west-1", "ap-southeast-2"])
def test_lookups_equal_sdk_retrieve(region, sdk_image_uris):
    assert images.xgboost_uri(region, version="3.0-5") == sdk_image_uris.retrieve(
        "xgboost", region, version="3.0-5"
    )
    assert images.tgi_uri(region, version="3.3.6") == sdk_image_uris.retrieve(
        "huggingface-llm", region, version="3.3.6"
    )
    for gpu, instance in ((False, "ml.m5.xlarge"), (True, "ml.g5.xlarge")):
        assert images.huggingface_uri(
            region, transformers_version="4.51.3", pytorch_version="2.6.0", gpu=gpu
        ) == sdk_image_uris.retrieve(
            "huggingface",
            region,
            version="4.51.3",
            base_framework_version="pytorch2.6.0",
            py_version="py312",
            instance_type=instance,
            image_scope="inference",
        )


def test_defaults_are_the_newest_versions():
    newest = images.versions("huggingface/")[-1]
    assert newest in images.huggingface_uri(
        "us-east-1", transformers_version=None, pytorch_version=None, gpu=False
    )


def test_unknown_version_and_region_name_the_key():
    with pytest.raises(ImageNotFound, match="'9.9' is not known to the sagemaker SDK; known: ") as caught:
        images.tgi_uri("us-east-1", version="9.9")
    assert caught.value.key == "tgi_version"
    with pytest.raises(ImageNotFound, match="has no image in mars-east-1") as caught:
        images.xgboost_uri("mars-east-1", version="3.0-5")
    assert caught.value.key == "region"


def test_repository_arn_scopes_pulls_to_one_repository():
    uri = images.xgboost_uri("us-east-1", version="3.0-5")
    assert images.repository_arn(uri) == "arn:aws:ecr:us-east-1:683313688378:repository/sagemaker-xgboost"
