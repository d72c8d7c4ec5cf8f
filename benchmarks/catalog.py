"""A team's catalogue: a config of N models mixing every source and hosting type.

Used by the scale test (tests/stacks/test_catalog_scale.py) and the synth benchmark.
Usage: python benchmarks/catalog.py 200 > config/catalog.yaml
"""

import sys

import yaml

HUGGING_FACE = "distilbert/distilbert-base-uncased-finetuned-sst-2-english"
# One of each, in turn: every source and hosting type, and two models on each dataset.
KINDS = (
    "hf-serverless",
    "hf-realtime",
    "hf-async",
    "bedrock",
    "bedrock-guardrail",
    "training",
    "autopilot",
    "training-async",
)


def model(kind: str, number: int) -> dict:
    dataset = f"data{number // len(KINDS):03}"
    if kind.startswith("hf-"):
        hosting = {
            "hf-serverless": {"type": "serverless"},
            "hf-realtime": {"type": "realtime", "instance_type": "ml.m5.large"},
            "hf-async": {"type": "async", "instance_type": "ml.m5.large"},
        }[kind]
        return {
            "source": "huggingface",
            "model_id": HUGGING_FACE,
            "task": "text-classification",
            "hosting": hosting,
        }
    if kind == "bedrock":
        return {"source": "bedrock", "model_id": "us.anthropic.claude-3-haiku-20240307-v1:0"}
    if kind == "bedrock-guardrail":
        return {
            "source": "bedrock",
            "model_id": "amazon.nova-lite-v1:0",
            "guardrail": {"content_filters": [{"type": "HATE"}, {"type": "PROMPT_ATTACK"}]},
        }
    if kind == "autopilot":
        return {"source": "autopilot", "dataset": dataset, "target": "churned"}
    hosting = (
        {"type": "async", "instance_type": "ml.m5.large"}
        if kind == "training-async"
        else {"type": "serverless"}
    )
    return {"source": "training", "dataset": dataset, "target": "churned", "hosting": hosting}


def catalog(count: int, environment: str = "catalog") -> dict:
    """The config (as loaded from YAML) of ``count`` models, named ``<kind>-<number>``."""
    models = {}
    for number in range(count):
        kind = KINDS[number % len(KINDS)]
        models[f"{kind}-{number:03}"] = model(kind, number)
    return {"environment": environment, "region": "us-east-1", "removal": "destroy", "models": models}


if __name__ == "__main__":
    print(yaml.safe_dump(catalog(int(sys.argv[1]) if len(sys.argv) > 1 else 200), sort_keys=False))
