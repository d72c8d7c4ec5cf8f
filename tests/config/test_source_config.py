"""Every invalid Hugging Face, hosting, Bedrock and training combination fails naming its key."""

import pytest

from tests.config.test_config import case_problems

HF = "source: huggingface\nmodel_id: org/name\ntask: text-classification\n"
LLM = "source: huggingface\nmodel_id: org/llm\ntask: text-generation\n"
TRAINING = "source: training\ndataset: churn\ntarget: churned\n"

CASES = {
    "tgi-on-serverless": (LLM, "models.m.hosting.type: serverless cannot run the tgi container"),
    "tgi-without-gpu": (
        LLM + "hosting: {type: realtime, instance_type: ml.m5.xlarge}",
        "models.m.hosting.instance_type: 'ml.m5.xlarge' has no GPU: the tgi container needs an ml.g*",
    ),
    "serverless-memory-step": (
        HF + "hosting: {type: serverless, memory_mb: 3000}",
        "models.m.hosting.memory_mb: 3000 is not allowed: serverless memory_mb must be one of 1024, 2048",
    ),
    "serverless-memory-over-6gb": (
        HF + "hosting: {type: serverless, memory_mb: 7168}",
        "models.m.hosting.memory_mb: 7168 is not allowed",
    ),
    "provisioned-over-max": (
        HF + "hosting: {type: serverless, max_concurrency: 2, provisioned_concurrency: 3}",
        "models.m.hosting: provisioned_concurrency (3) must be <= max_concurrency (2)",
    ),
    "initial-outside-min-max": (
        HF + "hosting: {type: realtime, initial_count: 5, autoscaling: {min: 1, max: 4}}",
        "models.m.hosting: autoscaling needs min <= initial_count <= max, got min=1, initial_count=5, max=4",
    ),
    "instance-type-shape": (
        HF + "hosting: {type: realtime, instance_type: m5.large}",
        "models.m.hosting.instance_type: 'm5.large' is not allowed",
    ),
    "hosting-type": (HF + "hosting: {type: batch}", "models.m.hosting.type: 'batch' is not allowed"),
    "network-isolation-on-hub-model": (
        HF + "network_isolation: true",
        "models.m.network_isolation: hub models",
    ),
    "token-in-environment": (
        HF + "environment: {HF_TOKEN: hf_abc}",
        "models.m.environment.HF_TOKEN: never put a token in the config",
    ),
    "unknown-transformers": (
        HF + "transformers_version: '9.9.9'",
        "models.m.transformers_version: '9.9.9' is not known to the sagemaker SDK; known: ",
    ),
    "unknown-task": (
        HF.replace("text-classification", "telepathy"),
        "models.m.task: 'telepathy' is not allowed",
    ),
    "vpc-ids": (
        HF + "vpc: {subnet_ids: [subnet-1], security_group_ids: [sg-0123456789abcdef0]}",
        "models.m.vpc.subnet_ids: 'subnet-1' is not a subnet-… id",
    ),
    "bedrock-default-over-limit": (
        "source: bedrock\nmodel_id: amazon.nova-lite-v1:0\n"
        "inference: {max_tokens: 900}\nlimits: {max_tokens: 500}",
        "models.m.inference.max_tokens: 900 is above limits.max_tokens (500)",
    ),
    "guardrail-both": (
        "source: bedrock\nmodel_id: amazon.nova-lite-v1:0\n"
        "guardrail: {id: abc, content_filters: [{type: HATE}]}",
        "models.m.guardrail.id: give either id",
    ),
    "guardrail-empty": (
        "source: bedrock\nmodel_id: amazon.nova-lite-v1:0\nguardrail: {}",
        "models.m.guardrail.content_filters: a new guardrail needs at least one",
    ),
    "content-filter-strength": (
        "source: bedrock\nmodel_id: amazon.nova-lite-v1:0\nguardrail: {content_filters: [{type: HATE, "
        "input_strength: EXTREME}]}",
        "models.m.guardrail.content_filters.0.input_strength: 'EXTREME' is not allowed",
    ),
    "gate-metric-not-computed": (
        TRAINING + "metric: validation:rmse",
        "models.m.metric: 'validation:rmse' is never computed: add 'rmse' to hyperparameters.eval_metric",
    ),
    "target-as-feature": (
        TRAINING + "features: [churned, tenure]",
        "models.m.features: the target 'churned'",
    ),
    "unknown-xgboost": (
        TRAINING + "xgboost_version: '0.9-1'",
        "models.m.xgboost_version: '0.9-1' is not known",
    ),
}


@pytest.mark.parametrize("case", list(CASES))
def test_invalid_combination_names_its_key(tmp_path, case):
    expected, found = case_problems(tmp_path, CASES[case])
    assert any(line.startswith(expected) for line in found), found
