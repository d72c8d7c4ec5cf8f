"""Every name mlkit gives an AWS resource, built in one place: stacks, the local run and tests import these.

Plain functions with no CDK import, so command-line tools and tests pay nothing to use them.
"""

PROJECT = "mlkit"
# Log groups SageMaker writes to; an endpoint's is <ENDPOINT_LOG_GROUPS>/<endpoint name>.
ENDPOINT_LOG_GROUPS = "/aws/sagemaker/Endpoints"
TRAINING_LOG_GROUP = "/aws/sagemaker/TrainingJobs"
PROCESSING_LOG_GROUP = "/aws/sagemaker/ProcessingJobs"
TRANSFORM_LOG_GROUP = "/aws/sagemaker/TransformJobs"
STATE_MACHINE_LOG_GROUPS = "/aws/vendedlogs/states"


def prefix(environment: str) -> str:
    """``mlkit-<env>``: the start of every name in one environment."""
    return f"{PROJECT}-{environment}"


def stack_name(environment: str, part: str) -> str:
    """``mlkit-<env>-<part>``: ``data``, ``api``, ``dataset-<name>`` or a model's name."""
    return f"{prefix(environment)}-{part}"


def data_stack_name(environment: str) -> str:
    return stack_name(environment, "data")


def api_stack_name(environment: str) -> str:
    return stack_name(environment, "api")


def dataset_stack_name(environment: str, dataset: str) -> str:
    return stack_name(environment, f"dataset-{dataset}")


def model_stack_name(environment: str, model: str) -> str:
    return stack_name(environment, model)


def endpoint_name(environment: str, model: str) -> str:
    """The stable SageMaker endpoint name of a model: routes and clients never change."""
    return f"{prefix(environment)}-{model}"


def guardrail_name(environment: str, model: str) -> str:
    return f"{prefix(environment)}-{model}"


def endpoint_log_group(endpoint: str) -> str:
    return f"{ENDPOINT_LOG_GROUPS}/{endpoint}"


def state_machine_log_group(state_machine: str) -> str:
    return f"{STATE_MACHINE_LOG_GROUPS}/{state_machine}"


def glue_job_name(environment: str, dataset: str) -> str:
    return f"{prefix(environment)}-prepare-{dataset}"


def dataset_state_machine_name(environment: str, dataset: str) -> str:
    return f"{prefix(environment)}-dataset-{dataset}"


def router_service_name(environment: str) -> str:
    """Powertools' service name (logs and metrics) of the router Lambda."""
    return f"{prefix(environment)}-router"


def rest_api_name(environment: str) -> str:
    return prefix(environment)


def data_key_alias(environment: str) -> str:
    return f"alias/{prefix(environment)}-data"


def bucket_name(environment: str, kind: str, account: str, region: str) -> str:
    """``kind`` is raw, curated, artifacts or logs."""
    return f"{prefix(environment)}-{kind}-{account}-{region}"


def async_prefixes(model: str) -> dict[str, str]:
    """Where an async endpoint's requests, answers and failures live in the artifacts bucket."""
    return {
        "input": f"async-input/{model}/",
        "output": f"async-output/{model}/",
        "failure": f"async-failures/{model}/",
    }
