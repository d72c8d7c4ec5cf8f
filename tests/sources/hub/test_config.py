"""Hub sources' config errors name the key and what is allowed: pins, tasks, hosting, versions."""

import pytest

from tests.config.test_config import case_problems, model

PYTORCH = "source: pytorch_hub\nentrypoint: resnet18\ntask: image-classification\n"
TENSORFLOW = "source: tensorflow_hub\ntask: image-classification\n"
KAGGLE = "https://www.kaggle.com/models/google/mobilenet-v2/tensorFlow2/100-224-classification"

CASES = {
    "moving-branch": (
        PYTORCH + "repo: pytorch/vision:main",
        "models.m.repo: 'main' looks like a branch, which moves: pin a release tag (e.g. v0.20.0)",
    ),
    "branch-without-digits": (
        PYTORCH + "repo: pytorch/vision:nightly",
        "models.m.repo: 'nightly' looks like a branch",
    ),
    "no-tag": (PYTORCH + "repo: pytorch/vision", "models.m.repo: 'pytorch/vision' is not owner/name:tag"),
    "unknown-task": (
        "source: pytorch_hub\nrepo: pytorch/vision:v0.20.0\nentrypoint: resnet18\ntask: segmentation",
        "models.m.task: 'segmentation' is not allowed",
    ),
    "serverless": (
        PYTORCH + "repo: pytorch/vision:v0.20.0\nhosting: {type: serverless}",
        "models.m.hosting.type: serverless endpoints cannot run with network isolation",
    ),
    "unknown-framework-version": (
        PYTORCH + "repo: pytorch/vision:v0.20.0\nframework_version: 1.0.0",
        "models.m.framework_version: '1.0.0' is not known to the sagemaker SDK for pytorch; known: ",
    ),
    "handle-without-version": (TENSORFLOW + f"handle: {KAGGLE}", "models.m.handle: tensorflow_hub handle"),
    "handle-elsewhere": (
        TENSORFLOW + "handle: https://example.com/models/x/1",
        "must be on tfhub.dev or www.kaggle.com/models",
    ),
    "tensorflow-detection": (
        TENSORFLOW.replace("image-classification", "object-detection") + f"handle: {KAGGLE}/2",
        "models.m.task: 'object-detection' is not allowed",
    ),
}


@pytest.mark.parametrize("case", list(CASES))
def test_invalid_hub_model_names_its_key(tmp_path, case):
    expected, found = case_problems(tmp_path, CASES[case])
    assert len(found) == 1, found
    assert expected in found[0]


def test_pinned_commit_and_tag_are_accepted(tmp_path):
    from stacks.config import load_config

    for ref in ("v0.20.0", "0123456789abcdef0123456789abcdef01234567", "v7.0"):
        path = tmp_path / f"{ref}.yaml"
        path.write_text(model(PYTORCH + f"repo: pytorch/vision:{ref}").replace("name: ", "name: "))
        assert load_config(path).models["m"].repo.endswith(ref)
