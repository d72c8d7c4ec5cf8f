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


def operations_stack_name(environment: str) -> str:
    return stack_name(environment, "operations")


def operations_part_stack_name(environment: str, part: int) -> str:
    """Part 1 is the operations stack; part n (a dashboard page, alarms) is ``mlkit-<env>-operations-<n>``."""
    return operations_stack_name(environment) + ("" if part == 1 else f"-{part}")


def dashboard_name(environment: str, page: int) -> str:
    """``mlkit-<env>`` for the first page, ``mlkit-<env>-<n>`` for page n."""
    return prefix(environment) + ("" if page == 1 else f"-{page}")


def dashboard_row_title(label: str, source: str) -> str:
    """The title that opens a model's row on a dashboard page (what the checks look for)."""
    return f"## {label} ({source})"


def alerts_topic_name(environment: str) -> str:
    return f"{prefix(environment)}-alerts"


def dataset_stack_name(environment: str, dataset: str) -> str:
    return stack_name(environment, f"dataset-{dataset}")


def model_stack_name(environment: str, model: str) -> str:
    return stack_name(environment, model)


# The stack of the one deploy Lambda every pipeline of an environment invokes (a model may not take it).
DEPLOY_PART = "deploy"


def deploy_stack_name(environment: str) -> str:
    return stack_name(environment, DEPLOY_PART)


def model_role_name(environment: str, model: str) -> str:
    """The role a pipeline model's endpoint runs as: named, so the deploy stack may pass exactly it."""
    return f"{endpoint_name(environment, model)}-model"


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


def model_tags(model: str) -> dict[str, str]:
    """The tags of what a model's pipeline creates at run time (jobs, models, endpoints)."""
    return {"project": PROJECT, "model": model}


def job_tags(model: str) -> list[dict[str, str]]:
    """``model_tags`` in SageMaker's Tags shape, for the jobs a state machine starts."""
    return [{"Key": key, "Value": value} for key, value in model_tags(model).items()]


def capture_prefix(model: str) -> str:
    """Where an endpoint's captured requests and answers live in the artifacts bucket."""
    return f"captures/{model}/"


def curated_database_name(environment: str) -> str:
    """The environment's Glue database: curated datasets and the capture tables."""
    return f"{PROJECT}_{environment}_curated"


def packaged_prefix(model: str) -> str:
    """Where a hub model's packaging job writes, one folder per config hash, in the artifacts bucket."""
    return f"packaged/{model}/"


def packaged_model_key(model: str, spec_hash: str) -> str:
    """The model.tar.gz of one packaging spec: a config change makes a new key, an unchanged one reuses it."""
    return f"{packaged_prefix(model)}{spec_hash}/model.tar.gz"


# Delivery: the pipeline in the tooling account, and what it and GitHub Actions need in each environment.
DELIVERY_STACK = f"{PROJECT}-delivery"
PIPELINE_NAME = PROJECT
CDK_QUALIFIER = "hnb659fds"  # the CDK bootstrap's default qualifier, in every bootstrap role's name
GITHUB_OIDC_HOST = "token.actions.githubusercontent.com"
STS_AUDIENCE = "sts.amazonaws.com"
EXECUTION_POLICY = f"{PROJECT}-cdk-execution"


def partition(region: str) -> str:
    """The ARN partition of a region: aws, aws-cn or aws-us-gov."""
    if region.startswith("cn-"):
        return "aws-cn"
    if region.startswith("us-gov-"):
        return "aws-us-gov"
    return "aws"


def role_arn(account: str, region: str, role: str) -> str:
    return f"arn:{partition(region)}:iam::{account}:role/{role}"


def bootstrap_role(kind: str, account: str, region: str) -> str:
    """A CDK bootstrap role's name; ``kind`` is deploy, file-publishing, image-publishing or lookup."""
    return f"cdk-{CDK_QUALIFIER}-{kind}-role-{account}-{region}"


def oidc_stack_name(environment: str) -> str:
    return stack_name(environment, "oidc")


def github_deploy_role(environment: str) -> str:
    return f"{prefix(environment)}-github-deploy"


def github_diff_role(environment: str) -> str:
    return f"{prefix(environment)}-github-diff"


def github_oidc_provider_arn(account: str, region: str) -> str:
    """An account has at most one provider per URL, so its ARN is known before it exists."""
    return f"arn:{partition(region)}:iam::{account}:oidc-provider/{GITHUB_OIDC_HOST}"


def smoke_test_role(environment: str) -> str:
    """The role in an environment's account that the pipeline's smoke test assumes to call GET /models."""
    return f"{prefix(environment)}-smoke-test"


def pipeline_smoke_test_role() -> str:
    """The pipeline's smoke-test CodeBuild role in the tooling account, which environments trust."""
    return f"{DELIVERY_STACK}-smoke-test"


def notification_topic() -> str:
    return f"{DELIVERY_STACK}-notifications"


def execution_policy_arn(account: str, region: str) -> str:
    """The customer managed policy `make bootstrap` gives CloudFormation in an environment's account."""
    return f"arn:{partition(region)}:iam::{account}:policy/{EXECUTION_POLICY}"
