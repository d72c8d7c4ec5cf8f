"""Deploy Lambda: create or update one SageMaker endpoint from a trained artifact.

Called by Step Functions (the training pipeline after its evaluation gate, the Autopilot
pipeline with the best candidate's containers) and by the local run.

Deploy event: endpoint_name, execution_role_arn, variant ({"ServerlessConfig": {...}} or
{"InstanceType": ..., "InitialInstanceCount": n}), and either image + model_data_url
(+ environment) or containers (SageMaker ContainerDefinitions, called in order); optional:
async_config, kms_key_arn (ignored for serverless), deployment_config (for UpdateEndpoint),
vpc_config, enable_network_isolation, tags, scaling (shared/scaling_requests.py: checked here,
applied by the scale action). Unknown fields are rejected.
Answer: endpoint_name, endpoint_status, model_name, endpoint_config_name, changed, and
action ("created" | "updated" | "unchanged").

Status event {"action": "status", "endpoint_name": ...} answers endpoint_status
("NotFound" when absent), endpoint_config_name and failure_reason.

Scale event {"action": "scale", "endpoint_name": ..., "scaling": {...} | null}, sent once the endpoint is
InService, registers its variant with Application Auto Scaling and puts its policies (null removes them);
answers scaling ("applied" | "removed" | "none") and, when applied, the capacities and policy names.

Errors (for Retry/Catch) are described in shared/endpoints.py.
"""

from typing import Any

from aws_lambda_powertools import Logger
from shared import endpoints, scaling

logger = Logger()


def handler(event: Any, context: Any) -> dict[str, Any]:
    name = event.get("endpoint_name") if isinstance(event, dict) else None
    keys = {
        "endpoint_name": name if isinstance(name, str) else None,
        "request_id": getattr(context, "aws_request_id", None),  # the local run passes no context
    }
    with logger.append_context_keys(**keys):
        try:
            return _run(event)
        except endpoints.DeployError as err:
            # Step Functions gets the class name and message; the log line keeps them searchable.
            logger.warning("deploy failed", error=type(err).__name__, reason=str(err))
            raise


def _run(event: Any) -> dict[str, Any]:
    action = endpoints.parse_action(event)
    if action == "status":
        return endpoints.endpoint_status(endpoints.parse_endpoint_name(event))
    if action == "scale":
        return scaling.scale(*endpoints.parse_scale_request(event))
    return endpoints.deploy(endpoints.parse_deploy_request(event))
