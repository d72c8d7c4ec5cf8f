"""What each training algorithm runs on: its training image, script, metric regexes and serving container.

xgboost is SageMaker's built-in algorithm; script is XGBoost's script mode (jobs/training/train.py);
sklearn, pytorch, tensorflow and huggingface run a script in their framework's container (SageMaker
script mode: the script's folder ships as sourcedir.tar.gz, hyperparameters arrive JSON-encoded);
container is the user's own image, for training and serving. Images come from the committed table.
"""

import json
from pathlib import Path

from jobs.training import metrics as training_metrics
from sources.training.config import SCRIPT_FRAMEWORKS, TrainingModel
from stacks.code_archives import reproducible_tarball
from stacks.config.datasets import PROJECT_ROOT
from stacks.config.hosting import is_gpu_instance
from stacks.images import (
    ImageNotFound,
    framework_inference_uri,
    framework_training_uri,
    huggingface_training_uri,
    huggingface_uri,
    sklearn_uri,
    versions,
    xgboost_uri,
)

TRAIN_SCRIPT = PROJECT_ROOT / "jobs" / "training" / "train.py"
SAMPLE_ENTRY_POINTS = {
    "sklearn": "jobs/training/sklearn_train.py",
    "pytorch": "jobs/training/pytorch_train.py",
    "tensorflow": "jobs/training/tensorflow_train.py",
    "huggingface": "jobs/training/huggingface_train.py",
}
# The metrics the kit's samples print (jobs/training/metrics.py's line format).
SAMPLE_METRICS = ("validation:auc", "validation:accuracy", "train:auc")
# Where the framework containers' serving toolkits find the script inside model.tar.gz's source.
SERVING_SCRIPT_FRAMEWORKS = ("sklearn", "pytorch")


def entry_point(model: TrainingModel) -> Path | None:
    """The script a script-mode algorithm runs, or None (built-in XGBoost, container)."""
    if model.algorithm == "script":
        return TRAIN_SCRIPT
    if model.algorithm in SCRIPT_FRAMEWORKS:
        return PROJECT_ROOT / (model.entry_point or SAMPLE_ENTRY_POINTS[model.algorithm])
    return None


def source_tarball(script: Path) -> Path:
    """sourcedir.tar.gz of the script's folder (its .py files), byte-for-byte reproducible.

    XGBoost's script mode ships train.py alone, as it always has; the frameworks' samples share
    helpers in their folder."""
    files = [script] if script == TRAIN_SCRIPT else sorted(script.parent.glob("*.py"))
    return reproducible_tarball(
        [(file.name, file.read_bytes()) for file in files],
        folder="training-source",
        file_name="sourcedir.tar.gz",
    )


def _training_gpu(model: TrainingModel) -> bool:
    return is_gpu_instance(model.instance_type)


def _newest_at_most(prefix: str, version: str) -> str | None:
    """The newest version under ``prefix`` that is not newer than ``version`` (a serving DLC for a
    training DLC's artifact: never newer than the framework that wrote it)."""

    def key(text: str) -> tuple[int, ...]:
        return tuple(int(part) for part in text.replace("-", ".").split(".") if part.isdigit())

    fitting = [known for known in versions(prefix) if key(known) <= key(version)]
    return fitting[-1] if fitting else None


def training_image(model: TrainingModel, region: str) -> str | None:
    """The training image, or None where the stack builds it (container with a dockerfile)."""
    algorithm = model.algorithm
    if model.is_xgboost:
        return xgboost_uri(region, version=model.xgboost_version)
    if algorithm == "sklearn":
        return sklearn_uri(region, version=model.framework_version, scope="training")
    if algorithm in ("pytorch", "tensorflow"):
        return framework_training_uri(
            algorithm, region, version=model.framework_version, gpu=_training_gpu(model)
        )
    if algorithm == "huggingface":
        if not _training_gpu(model):
            raise ImageNotFound(
                "instance_type",
                f"the Hugging Face training containers need a GPU: {model.instance_type} has "
                "none; use an ml.g* or ml.p* instance type, e.g. ml.g5.xlarge",
            )
        return huggingface_training_uri(
            region, transformers_version=model.framework_version, pytorch_version=None
        )
    return model.image_uri


def serving_image(model: TrainingModel, region: str) -> str | None:
    """The image the trained artifact serves on (None: the stack's own built image)."""
    algorithm = model.algorithm
    if model.is_xgboost:
        return xgboost_uri(region, version=model.xgboost_version)
    gpu = model.hosting.type != "serverless" and is_gpu_instance(model.hosting.instance_type)
    if algorithm == "sklearn":
        trained = (
            versions("sklearn-training/")[-1] if model.framework_version is None else model.framework_version
        )
        if trained not in versions("sklearn-inference/"):
            both = sorted(set(versions("sklearn-training/")) & set(versions("sklearn-inference/")))
            raise ImageNotFound(
                "framework_version",
                f"scikit-learn {trained} has no serving container; "
                f"versions that train and serve: {', '.join(both)}",
            )
        return sklearn_uri(region, version=trained, scope="inference")
    if algorithm in ("pytorch", "tensorflow"):
        trained = model.framework_version or versions(f"{algorithm}-training/")[-1]
        serving = _newest_at_most(f"{algorithm}/", trained)
        if serving is None:
            raise ImageNotFound(
                "framework_version", f"no {algorithm} inference container as old as {trained}"
            )
        return framework_inference_uri(algorithm, region, version=serving, gpu=gpu)
    if algorithm == "huggingface":
        return huggingface_uri(region, transformers_version=None, pytorch_version=None, gpu=gpu)
    return model.image_uri


def metric_definitions(model: TrainingModel) -> list[dict[str, str]]:
    """The regexes SageMaker reads the job's metrics with (the gate reads ``model.metric`` from them)."""
    if model.metric_definitions:
        return [{"Name": name, "Regex": regex} for name, regex in model.metric_definitions.items()]
    if model.is_xgboost:
        names = str(model.hyperparameters.get("eval_metric", "")).split(",")
        return [
            {"Name": f"{channel}:{name}", "Regex": f"{channel}-{name}:([-+0-9.eE]+)"}
            for channel in ("train", "validation")
            for name in names
            if name
        ]
    return training_metrics.metric_definitions(SAMPLE_METRICS)


def hyperparameters(model: TrainingModel, source_url: str | None, region: str) -> dict[str, str]:
    """Built-in and container: strings as given. Script mode: JSON-encoded, as the sagemaker SDK sends
    them, with the script's name and source."""
    if source_url is None:
        return {key: str(value) for key, value in model.hyperparameters.items()}
    values = {
        **model.hyperparameters,
        "sagemaker_program": entry_point(model).name,
        "sagemaker_submit_directory": source_url,
        "sagemaker_region": region,
    }
    return {key: json.dumps(value) for key, value in values.items()}


def serving_environment(model: TrainingModel, source_url: str | None, region: str) -> dict[str, str] | None:
    """The serving container's variables: where the script's model_fn/input_fn/... live, or the task."""
    if model.algorithm == "script" or model.algorithm in SERVING_SCRIPT_FRAMEWORKS:
        return {
            "SAGEMAKER_PROGRAM": entry_point(model).name,
            "SAGEMAKER_SUBMIT_DIRECTORY": source_url,
            "SAGEMAKER_REGION": region,
        }
    if model.algorithm == "huggingface":
        return {"HF_TASK": model.task}  # the model loads from /opt/ml/model: no HF_MODEL_ID, no hub
    return None


def network_isolation(model: TrainingModel) -> bool:
    """Built-in XGBoost and a user's container need no network; script mode fetches its source from S3
    (and huggingface its base model from the hub)."""
    return model.algorithm in ("xgboost", "container")
