"""The `datasets:` section: how a dataset is prepared; each bad entry names file, key and what is allowed."""

import json

import pytest

from stacks.config.datasets import DATA_WRANGLER_INSTANCE_TYPES, PROJECT_ROOT
from tests.config.test_config import BASE, problems
from tests.stacks.synth import config_from

MODELS = "models:\n  churn: {source: training, dataset: churn, target: churned}\n"
SAMPLE_FLOW = "sample-data/churn.flow"
OUTPUT_NODE = "c7e4b2d1-9f6a-4e8c-a3b5-2d1f0e9c8b7a"


def config(datasets: str) -> str:
    return f"{BASE}{MODELS}datasets:\n  churn: {datasets}\n"


def flow(tmp_path, body, name: str = "churn.flow") -> str:
    """A flow file under tmp_path (an absolute path in the config); a dict is written as JSON."""
    path = tmp_path / name
    path.write_text(body if isinstance(body, str) else json.dumps(body))
    return str(path)


def sample_flow(**changes) -> dict:
    flow = json.loads((PROJECT_ROOT / SAMPLE_FLOW).read_text())
    source = flow["nodes"][0]["parameters"]["dataset_definition"]["s3ExecutionContext"]
    source.update(changes)
    return flow


def wrangler(path: str, node: str = OUTPUT_NODE, extra: str = "") -> str:
    return config(f"{{prepare: data_wrangler, flow: {path}, output_node: {node}{extra}}}")


def test_no_entry_is_glue_and_each_way_loads():
    base = {
        "environment": "dev",
        "region": "us-east-1",
        "models": {"churn": {"source": "training", "dataset": "churn", "target": "churned"}},
    }
    assert config_from(base).dataset_setting("churn").prepare == "glue"
    processing = config_from({**base, "datasets": {"churn": {"prepare": "processing"}}}).dataset_setting(
        "churn"
    )
    assert (processing.resolved_instance_type, processing.resolved_volume_gb) == ("ml.m5.xlarge", 30)
    flowed = config_from(
        {
            **base,
            "datasets": {
                "churn": {"prepare": "data_wrangler", "flow": SAMPLE_FLOW, "output_node": OUTPUT_NODE}
            },
        }
    ).dataset_setting("churn")
    assert flowed.resolved_instance_type == "ml.m5.4xlarge"
    assert flowed.flow_path == PROJECT_ROOT / SAMPLE_FLOW


def test_a_dataset_no_model_uses_is_named(tmp_path):
    (line,) = problems(tmp_path, f"{BASE}{MODELS}datasets:\n  chrun: {{prepare: processing}}\n")
    assert line == "datasets.chrun: no model uses dataset 'chrun'; datasets of the models: churn"


def test_a_flow_without_the_named_output_node_lists_its_nodes(tmp_path):
    (line,) = problems(tmp_path, wrangler(flow(tmp_path, sample_flow()), node="no-such-node"))
    assert line.startswith("datasets.churn.output_node: ") and "has no node 'no-such-node'" in line
    assert f"{OUTPUT_NODE} (TRANSFORM)" in line


def test_a_flow_reading_outside_the_raw_prefix_is_refused(tmp_path):
    (line,) = problems(tmp_path, wrangler(flow(tmp_path, sample_flow(s3Uri="s3://{raw_bucket}/fraud/"))))
    assert line.startswith("datasets.churn.flow: ") and "outside the raw prefix churn/" in line


def test_a_flow_reading_another_bucket_is_refused_and_the_raw_bucket_is_accepted(tmp_path):
    (line,) = problems(
        tmp_path, wrangler(flow(tmp_path, sample_flow(s3Uri="s3://sagemaker-us-east-1-111111111111/churn/")))
    )
    assert line.startswith("datasets.churn.flow: ") and "the dataset's raw prefix" in line
    raw = "s3://mlkit-dev-raw-111111111111-us-east-1/churn/data.csv"
    path = tmp_path / "env.yaml"
    path.write_text(wrangler(flow(tmp_path, sample_flow(s3Uri=raw), "raw.flow")))
    from stacks.config import load_config

    assert load_config(path).dataset_setting("churn").prepare == "data_wrangler"


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        ("{not json", "is not JSON"),
        ('{"nodes": {}}', "has no 'nodes' list"),
    ],
    ids=["not-json", "no-nodes"],
)
def test_a_flow_that_is_not_a_flow_is_refused(tmp_path, body, expected):
    (line,) = problems(tmp_path, wrangler(flow(tmp_path, body)))
    assert line.startswith("datasets.churn.flow: ") and expected in line


def test_a_missing_or_unreadable_flow_is_refused(tmp_path):
    (line,) = problems(tmp_path, wrangler(str(tmp_path / "absent.flow")))
    assert line.startswith("datasets.churn.flow: no flow file ")
    folder = tmp_path / "folder.flow"
    folder.mkdir()
    (line,) = problems(tmp_path, wrangler(str(folder)))
    assert line.startswith("datasets.churn.flow: cannot read flow file ")


def test_an_instance_type_data_wrangler_does_not_run_on_lists_the_ones_it_does(tmp_path):
    (line,) = problems(tmp_path, wrangler(SAMPLE_FLOW, extra=", instance_type: ml.m5.xlarge"))
    assert line == (
        "datasets.churn.instance_type: 'ml.m5.xlarge' is not an instance type Data Wrangler runs on; "
        f"allowed: {', '.join(DATA_WRANGLER_INSTANCE_TYPES)}"
    )


def test_settings_of_another_way_and_missing_flow_settings_are_refused(tmp_path):
    (line,) = problems(tmp_path, config("{prepare: glue, instance_type: ml.m5.xlarge}"))
    assert (
        line
        == "datasets.churn.instance_type: instance_type applies to prepare: processing or data_wrangler, "
        "not glue"
    )
    (line,) = problems(tmp_path, config("{prepare: data_wrangler, flow: x.flow}"))
    assert line == "datasets.churn.output_node: prepare: data_wrangler needs a flow file and its output_node"
    (line,) = problems(tmp_path, config("{prepare: spark}"))
    assert line.startswith("datasets.churn.prepare: 'spark' is not allowed")
