"""Events for the deploy Lambda, shaped like the ones its Step Functions callers send."""

import copy

ENDPOINT = "mlkit-dev-churn"
ROLE_ARN = "arn:aws:iam::123456789012:role/mlkit-dev-sagemaker-execution"
KMS_KEY_ARN = "arn:aws:kms:us-east-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab"
XGBOOST_IMAGE = "683313688378.dkr.ecr.us-east-1.amazonaws.com/sagemaker-xgboost:3.0-5"
SKLEARN_AUTOML_IMAGE = "683313688378.dkr.ecr.us-east-1.amazonaws.com/sagemaker-sklearn-automl:2.5-1-cpu-py3"
ARTIFACTS = "s3://mlkit-dev-artifacts"

SERVERLESS = {"ServerlessConfig": {"MemorySizeInMB": 2048, "MaxConcurrency": 5}}
INSTANCE = {"InstanceType": "ml.m5.large", "InitialInstanceCount": 1}
# The deploy event's scaling settings (lambdas/shared/scaling_requests.py) for each kind of hosting.
REALTIME_SCALING = {
    "kind": "realtime",
    "min_capacity": 1,
    "max_capacity": 4,
    "target_value": 70,
    "scale_in_cooldown": 300,
    "scale_out_cooldown": 60,
}
ASYNC_SCALING = {
    "kind": "async",
    "min_capacity": 0,
    "max_capacity": 2,
    "target_value": 5,
    "scale_in_cooldown": 600,
    "scale_out_cooldown": 60,
    "wake_cooldown": 300,
}
CAPTURE = {
    "EnableCapture": True,
    "InitialSamplingPercentage": 20,
    "DestinationS3Uri": f"{ARTIFACTS}/captures/churn",
    "KmsKeyId": KMS_KEY_ARN,
    "CaptureOptions": [{"CaptureMode": "Input"}, {"CaptureMode": "Output"}],
}
ASYNC_CONFIG = {"OutputConfig": {"S3OutputPath": f"{ARTIFACTS}/async-output/"}}
BLUE_GREEN = {
    "BlueGreenUpdatePolicy": {
        "TrafficRoutingConfiguration": {
            "Type": "CANARY",
            "CanarySize": {"Type": "CAPACITY_PERCENT", "Value": 10},
            "WaitIntervalInSeconds": 300,
        },
        "TerminationWaitInSeconds": 600,
    },
    "AutoRollbackConfiguration": {"Alarms": [{"AlarmName": "mlkit-dev-churn-5xx"}]},
}
TAGS = {"project": "mlkit", "environment": "dev"}


def artifact(run: str) -> str:
    return f"{ARTIFACTS}/churn/training/{run}/output/model.tar.gz"


def one_container(run: str = "run-1", **overrides) -> dict:
    """The training pipeline's event: one XGBoost container on a serverless endpoint."""
    event = {
        "endpoint_name": ENDPOINT,
        "execution_role_arn": ROLE_ARN,
        "image": XGBOOST_IMAGE,
        "model_data_url": artifact(run),
        "environment": {"SAGEMAKER_PROGRAM": "inference.py"},
        "variant": copy.deepcopy(SERVERLESS),
        "async_config": None,
        "kms_key_arn": KMS_KEY_ARN,
        "deployment_config": None,
        "vpc_config": None,
        "enable_network_isolation": False,
        "tags": dict(TAGS),
    }
    return {**event, **overrides}


def autopilot_containers(job: str = "churn-automl-1") -> list[dict]:
    """BestCandidate.InferenceContainers of an Autopilot job: pre-processing, algorithm, post-processing."""
    output = f"{ARTIFACTS}/churn-automl/{job}"
    return [
        {
            "Image": SKLEARN_AUTOML_IMAGE,
            "ModelDataUrl": f"{output}/data-processor-models/dpp0/output/model.tar.gz",
            "Environment": {
                "AUTOML_TRANSFORM_MODE": "feature-transform",
                "SAGEMAKER_DEFAULT_INVOCATIONS_ACCEPT": "application/x-recordio-protobuf",
                "SAGEMAKER_PROGRAM": "sagemaker_serve",
                "SAGEMAKER_SUBMIT_DIRECTORY": "/opt/ml/model/code",
            },
        },
        {
            "Image": "683313688378.dkr.ecr.us-east-1.amazonaws.com/sagemaker-xgboost:1.7-1",
            "ModelDataUrl": f"{output}/tuning/churn-dpp0-xgb/{job}-001/output/model.tar.gz",
            "Environment": {
                "MAX_CONTENT_LENGTH": "20971520",
                "SAGEMAKER_DEFAULT_INVOCATIONS_ACCEPT": "text/csv",
            },
        },
        {
            "Image": SKLEARN_AUTOML_IMAGE,
            "ModelDataUrl": f"{output}/data-processor-models/dpp0/output/model.tar.gz",
            "Environment": {
                "AUTOML_TRANSFORM_MODE": "inverse-label-transform",
                "SAGEMAKER_DEFAULT_INVOCATIONS_ACCEPT": "text/csv",
                "SAGEMAKER_INFERENCE_OUTPUT": "predicted_label",
                "SAGEMAKER_INFERENCE_SUPPORTED": "predicted_label,probability,labels,probabilities",
                "SAGEMAKER_PROGRAM": "sagemaker_serve",
                "SAGEMAKER_SUBMIT_DIRECTORY": "/opt/ml/model/code",
            },
        },
    ]


def autopilot(job: str = "churn-automl-1", **overrides) -> dict:
    """The Autopilot pipeline's event: the best candidate's containers on an instance endpoint."""
    event = {
        "endpoint_name": "mlkit-dev-churn-automl",
        "execution_role_arn": ROLE_ARN,
        "containers": autopilot_containers(job),
        "variant": dict(INSTANCE),
        "tags": dict(TAGS),
    }
    return {**event, **overrides}


def status(endpoint_name: str = ENDPOINT) -> dict:
    return {"action": "status", "endpoint_name": endpoint_name}


def without(event: dict, field: str) -> dict:
    return {key: value for key, value in event.items() if key != field}
