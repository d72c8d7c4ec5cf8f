"""Training algorithms' config errors name the key and what is allowed."""

import pytest

from sources import SOURCES
from sources.training.config import DEFAULT_INSTANCE_TYPE, GPU_INSTANCE_TYPE
from stacks.config import load_config
from tests.config.test_config import case_problems, model

TRAINING = "source: training\ndataset: churn\ntarget: churned\n"

CASES = {
    "container-without-image": (
        TRAINING + "algorithm: container\nmetric_definitions: {'validation:auc': 'auc=([0-9.]+)'}",
        "models.m.image_uri: a container model needs exactly one of image_uri (an ECR image) or dockerfile",
    ),
    "container-with-both": (
        TRAINING + "algorithm: container\nimage_uri: 123456789012.dkr.ecr.us-east-1.amazonaws.com/mine:1\n"
        "dockerfile: jobs/training/container\nmetric_definitions: {'validation:auc': 'auc=([0-9.]+)'}",
        "models.m.image_uri: a container model needs exactly one of image_uri",
    ),
    "container-without-metric-regex": (
        TRAINING + "algorithm: container\nimage_uri: 123456789012.dkr.ecr.us-east-1.amazonaws.com/mine:1",
        "models.m.metric_definitions: a container model must say how its logs report 'validation:auc'",
    ),
    "image-not-ecr": (
        TRAINING + "algorithm: container\nimage_uri: docker.io/me/mine:1",
        "models.m.image_uri: 'docker.io/me/mine:1' is not allowed",
    ),
    "unknown-framework-version": (
        TRAINING + "algorithm: pytorch\nframework_version: 1.0.0",
        "models.m.framework_version: '1.0.0' is not known to the sagemaker SDK for pytorch training; known: ",
    ),
    "sklearn-version-that-cannot-serve": (
        TRAINING + "algorithm: sklearn\nframework_version: 1.4-2",
        "models.m.framework_version: scikit-learn 1.4-2 has no serving container; versions that train and",
    ),
    "huggingface-without-base-model": (
        TRAINING + "algorithm: huggingface\ninstance_type: ml.g5.xlarge",
        "models.m.base_model: algorithm huggingface needs base_model (a hub checkpoint) and task",
    ),
    "huggingface-on-cpu": (
        TRAINING + "algorithm: huggingface\nbase_model: distilbert/distilbert-base-uncased\n"
        "task: text-classification\ninstance_type: ml.m5.xlarge",
        "models.m.instance_type: the Hugging Face training containers need a GPU",
    ),
    "setting-of-another-algorithm": (
        TRAINING + "algorithm: sklearn\nbase_model: distilbert/distilbert-base-uncased",
        "models.m.base_model: base_model is for algorithm huggingface, not sklearn",
    ),
    "missing-entry-point": (
        TRAINING + "algorithm: sklearn\nentry_point: scripts/nope.py",
        "models.m.entry_point: no file scripts/nope.py under the project root",
    ),
    "dockerfile-folder-without-dockerfile": (
        TRAINING + "algorithm: container\ndockerfile: jobs/training\n"
        "metric_definitions: {'validation:auc': 'auc=([0-9.]+)'}",
        "models.m.dockerfile: no Dockerfile in jobs/training",
    ),
    "negative-min-improvement": (
        TRAINING + "min_improvement: -0.01",
        "models.m.min_improvement: min_improvement -0.01 would let a candidate worse than the champion "
        "replace it: use 0 (any improvement, the default) or more",
    ),
    "min-improvement-beyond-the-metrics-range": (
        TRAINING + "min_improvement: 1",
        "models.m.min_improvement: min_improvement 1.0 can never be met: validation:auc lies between 0 and 1",
    ),
    "min-improvement-not-a-number": (
        TRAINING + "min_improvement: .nan",
        "models.m.min_improvement: nan is not allowed: Input should be a finite number",
    ),
}


@pytest.mark.parametrize("case", list(CASES))
def test_invalid_training_algorithm_names_its_key(tmp_path, case):
    expected, found = case_problems(tmp_path, CASES[case])
    assert len(found) == 1, found
    assert expected in found[0], found[0]


@pytest.mark.parametrize(
    ("algorithm", "instance_type"),
    [
        ("huggingface", GPU_INSTANCE_TYPE),
        ("sklearn", DEFAULT_INSTANCE_TYPE),
        ("xgboost", DEFAULT_INSTANCE_TYPE),
    ],
)
def test_each_algorithm_defaults_to_an_instance_its_containers_accept(tmp_path, algorithm, instance_type):
    extra = "base_model: distilbert/distilbert-base-uncased\ntask: text-classification\n"
    path = tmp_path / "env.yaml"
    path.write_text(
        model(TRAINING + f"algorithm: {algorithm}\n" + (extra if algorithm == "huggingface" else ""))
    )
    trained = load_config(path).models["m"]
    assert trained.instance_type == instance_type
    assert SOURCES["training"].image_uri(trained, "us-east-1")  # the training image resolves on it


def test_min_improvement_defaults_to_zero_and_takes_a_margin_in_the_metrics_units(tmp_path):
    path = tmp_path / "env.yaml"
    path.write_text(model(TRAINING))
    assert load_config(path).models["m"].min_improvement == 0.0
    path.write_text(
        model(
            TRAINING + "metric: validation:logloss\nthreshold: 0.6\nmin_improvement: 2\n"
            "hyperparameters: {eval_metric: logloss}"
        )
    )
    assert load_config(path).models["m"].min_improvement == 2.0  # logloss is unbounded above
