"""Training beyond XGBoost: each algorithm's job, image, metrics, serving container; tuning; data prep."""

import json

import botocore.session
import pytest

from sources.training.training_steps import TRAIN_SCRIPT
from stacks import names
from stacks.images import (
    framework_inference_uri,
    framework_training_uri,
    huggingface_training_uri,
    huggingface_uri,
    sklearn_uri,
)
from tests.stacks.synth import config_from, render_tokens, synthesize
from tests.stacks.test_dataset_stack import FLOW_NODE

REGION = "eu-west-1"
CONTAINER_METRICS = {"validation:auc": "validation-auc:([-+0-9.eE]+)"}
RANGES = {
    "n_estimators": {"type": "integer", "min": 50, "max": 200},
    "learning_rate": {"type": "continuous", "min": 0.02, "max": 0.3, "scaling": "Logarithmic"},
}
MODELS = {
    "sk": {"algorithm": "sklearn", "framework_version": "1.2-1"},
    "tuned": {"algorithm": "sklearn", "tuning": {"strategy": "Random", "max_jobs": 4, "ranges": RANGES}},
    "torch": {"algorithm": "pytorch", "hyperparameters": {"epochs": 10}},
    "keras": {"algorithm": "tensorflow", "dataset": "fraud", "target": "fraud"},
    "bert": {
        "algorithm": "huggingface",
        "dataset": "tickets",
        "target": "label",
        "base_model": "distilbert/distilbert-base-uncased",
        "task": "text-classification",
        "token_secret": "hf/token",
        "instance_type": "ml.g5.xlarge",
    },
    "own": {
        "algorithm": "container",
        "dockerfile": "jobs/training/container",
        "metric_definitions": CONTAINER_METRICS,
    },
    "ecr": {
        "algorithm": "container",
        "image_uri": "123456789012.dkr.ecr.eu-west-1.amazonaws.com/churn-trainer:1.0",
        "metric_definitions": CONTAINER_METRICS,
    },
}
CONFIG = {
    "environment": "algo",
    "region": REGION,
    "models": {
        label: {"source": "training", "dataset": "churn", "target": "churned", **fields}
        for label, fields in MODELS.items()
    },
    "datasets": {
        "fraud": {"prepare": "processing"},
        "churn": {"prepare": "data_wrangler", "flow": "sample-data/churn.flow", "output_node": FLOW_NODE},
    },
}


@pytest.fixture(scope="module")
def app():
    return synthesize(config_from(CONFIG))


def states(app, label: str) -> dict:
    resources = app.raw[names.model_stack_name("algo", label)]["Resources"].values()
    (machine,) = [r for r in resources if r["Type"] == "AWS::StepFunctions::StateMachine"]
    return json.loads(render_tokens(machine["Properties"]["DefinitionString"]))["States"]


def job(app, label: str) -> dict:
    return states(app, label)["Train model"]["Parameters"]


def container(app, label: str) -> dict:
    (served,) = states(app, label)["Model containers"]["Parameters"]["containers"]
    return served


@pytest.mark.parametrize(
    ("label", "image", "serving"),
    [
        (
            "sk",
            sklearn_uri(REGION, version="1.2-1", scope="training"),
            sklearn_uri(REGION, version="1.2-1", scope="inference"),
        ),
        ("torch", framework_training_uri("pytorch", REGION, version=None, gpu=False), None),
        ("keras", framework_training_uri("tensorflow", REGION, version=None, gpu=False), None),
        (
            "bert",
            huggingface_training_uri(REGION, transformers_version=None, pytorch_version=None),
            huggingface_uri(REGION, transformers_version=None, pytorch_version=None, gpu=False),
        ),
    ],
)
def test_each_framework_trains_and_serves_on_its_table_images(app, label, image, serving):
    assert job(app, label)["AlgorithmSpecification"]["TrainingImage"] == image
    served = container(app, label)["Image"]
    if serving:
        assert served == serving
    framework = {"torch": "pytorch", "keras": "tensorflow"}.get(label)
    if framework:  # the newest inference DLC no newer than the training one
        assert served.split("/")[1].startswith(f"{framework}-inference:")
        assert served == framework_inference_uri(
            framework, REGION, version=served.split(":")[1].split("-")[0], gpu=False
        )


@pytest.mark.parametrize("label", ["sk", "torch", "keras", "bert"])
def test_script_mode_ships_its_folder_and_names_its_script(app, label):
    hyperparameters = job(app, label)["HyperParameters"]
    program = json.loads(hyperparameters["sagemaker_program"])
    assert (
        program
        == {
            "sk": "sklearn_train.py",
            "torch": "pytorch_train.py",
            "keras": "tensorflow_train.py",
            "bert": "huggingface_train.py",
        }[label]
    )
    assert (TRAIN_SCRIPT.parent / program).is_file()
    assert json.loads(hyperparameters["sagemaker_submit_directory"]).startswith("s3://")
    assert job(app, label)["EnableNetworkIsolation"] is False  # the source comes from S3


def test_metric_definitions_read_the_samples_lines_and_the_containers_own(app):
    definitions = {
        d["Name"]: d["Regex"] for d in job(app, "sk")["AlgorithmSpecification"]["MetricDefinitions"]
    }
    assert definitions["validation:auc"] == "validation-auc:([-+0-9.eE]+)"
    own = job(app, "ecr")["AlgorithmSpecification"]["MetricDefinitions"]
    assert own == [{"Name": "validation:auc", "Regex": CONTAINER_METRICS["validation:auc"]}]


def test_serving_containers_know_their_code(app):
    assert container(app, "sk")["Environment"]["SAGEMAKER_PROGRAM"] == "sklearn_train.py"
    assert container(app, "torch")["Environment"]["SAGEMAKER_PROGRAM"] == "pytorch_train.py"
    assert "Environment" not in container(app, "keras")  # TF Serving, code/inference.py in the artifact
    assert container(app, "bert")["Environment"] == {"HF_TASK": "text-classification"}  # no hub id


def test_hugging_face_reads_the_headered_csv_and_its_token_from_secrets_manager(app):
    request = job(app, "bert")
    (channel,) = request["InputDataConfig"]
    assert channel["DataSource"]["S3DataSource"]["S3Uri"].endswith("/tickets/autopilot/")
    assert request["Environment"]["HF_TOKEN_SECRET"].endswith(":secret:hf/token-??????")
    assert "{{resolve:" not in json.dumps(request)  # the token itself never sits in the definition


def test_containers_run_isolated_on_their_own_image(app):
    ecr = job(app, "ecr")
    assert ecr["AlgorithmSpecification"]["TrainingImage"] == MODELS["ecr"]["image_uri"]
    assert ecr["EnableNetworkIsolation"] is True
    assert container(app, "ecr")["Image"] == MODELS["ecr"]["image_uri"]
    own = job(app, "own")["AlgorithmSpecification"]["TrainingImage"]
    assert "container-assets" in own and own == container(app, "own")["Image"]  # built by CDK at deploy


def test_tuned_model_tunes_then_gates_the_best_job(app):
    machine = states(app, "tuned")
    assert "Train model" not in machine
    tune = machine["Tune model"]
    assert tune["Resource"].endswith(":states:::sagemaker:createHyperParameterTuningJob.sync")
    parameters = {k: v for k, v in tune["Parameters"].items() if not k.endswith(".$")}
    parameters["HyperParameterTuningJobName"] = "tuningname-0123456789ab"
    model = botocore.session.get_session().get_service_model("sagemaker")
    shape = model.operation_model("CreateHyperParameterTuningJob").input_shape
    from botocore.validate import ParamValidator

    report = ParamValidator().validate(parameters, shape)
    assert not report.has_errors(), report.generate_report()
    config = tune["Parameters"]["HyperParameterTuningJobConfig"]
    assert config["Strategy"] == "Random"
    assert config["HyperParameterTuningJobObjective"] == {"MetricName": "validation:auc", "Type": "Maximize"}
    static = tune["Parameters"]["TrainingJobDefinition"]["StaticHyperParameters"]
    assert "n_estimators" not in static and "learning_rate" not in static
    assert machine["Describe best training job"]["ResultPath"] == "$.training"


def test_every_dataset_preparation_feeds_the_same_pipelines(app):
    for dataset, state in (("fraud", "Run Processing job"), ("churn", "Run Data Wrangler flow")):
        resources = app.raw[names.dataset_stack_name("algo", dataset)]["Resources"].values()
        (machine,) = [r for r in resources if r["Type"] == "AWS::StepFunctions::StateMachine"]
        assert state in json.loads(render_tokens(machine["Properties"]["DefinitionString"]))["States"]
    assert names.dataset_stack_name("algo", "tickets") in app.raw  # glue, the default
