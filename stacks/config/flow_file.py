"""A Data Wrangler ``.flow`` file: read, checked at config load, and described for the Processing job.

A flow is JSON: ``{"metadata": ..., "nodes": [...]}``; each node has a ``node_id``, a ``type``
(SOURCE, TRANSFORM, ANALYSIS, DESTINATION), an ``operator`` (``sagemaker.s3_source_0.1``, ...), ``inputs``
and ``outputs``. The job's output is named ``<node_id>.default``.

Where its S3 sources point: the raw bucket's name is only known at deploy, so a source must read under the
dataset's key prefix ``<dataset>/`` of a bucket written either as this environment's raw bucket
(``mlkit-<env>-raw-<account>-<region>``, what Studio writes when the flow was authored on that bucket) or as
the placeholder ``{raw_bucket}`` (a flow shared between environments). The job itself reads the same keys
from the deployed raw bucket, so a flow can never read anything but its dataset's raw prefix.
"""

import json
import re
from dataclasses import dataclass
from pathlib import Path

from stacks import names

RAW_BUCKET_PLACEHOLDER = "{raw_bucket}"
S3_SOURCE_OPERATOR = re.compile(r"^sagemaker\.s3_source_[0-9.]+$")
S3_URI = re.compile(r"^s3://([^/]+)/(.*)$")
OUTPUT_NAME = "default"
# For a flow already checked at config load: only its sources' names and keys are wanted.
ANY_BUCKET = re.compile(r"[^/]+")


class FlowError(ValueError):
    """A flow that cannot run; ``key`` is the config key at fault (``flow`` or ``output_node``)."""

    def __init__(self, key: str, message: str) -> None:
        super().__init__(message)
        self.key = key


@dataclass(frozen=True)
class FlowSource:
    """One S3 source node: the Processing input named ``name`` reads ``key`` of the raw bucket."""

    name: str
    key: str


def read_flow(path: Path) -> dict:
    """The flow's JSON; FlowError when it is missing, unreadable, not JSON or has no node list."""
    try:
        flow = json.loads(path.read_text())
    except FileNotFoundError:
        raise FlowError("flow", f"no flow file {path}") from None
    except (OSError, UnicodeDecodeError) as error:
        raise FlowError("flow", f"cannot read flow file {path}: {error}") from None
    except json.JSONDecodeError as error:
        raise FlowError("flow", f"{path} is not JSON ({error}): export the flow from Data Wrangler") from None
    if not isinstance(flow, dict) or not isinstance(flow.get("nodes"), list):
        raise FlowError("flow", f"{path} has no 'nodes' list: it is not a Data Wrangler flow")
    return flow


def output_name(node_id: str) -> str:
    """The Processing output a flow node's default output is written to."""
    return f"{node_id}.{OUTPUT_NAME}"


def _check_output_node(flow: dict, node_id: str, path: Path) -> None:
    nodes = {node.get("node_id"): node for node in flow["nodes"] if isinstance(node, dict)}
    if node_id not in nodes:
        known = ", ".join(f"{n} ({nodes[n].get('type')})" for n in nodes if n) or "none"
        raise FlowError("output_node", f"{path} has no node {node_id!r}; its nodes: {known}")
    outputs = [o.get("name") for o in nodes[node_id].get("outputs") or [] if isinstance(o, dict)]
    if OUTPUT_NAME not in outputs:
        raise FlowError("output_node", f"node {node_id!r} of {path} has no '{OUTPUT_NAME}' output to write")


def _source(node: dict, dataset: str, raw_buckets: re.Pattern, path: Path) -> FlowSource:
    definition = (node.get("parameters") or {}).get("dataset_definition") or {}
    uri = (definition.get("s3ExecutionContext") or {}).get("s3Uri", "")
    name = definition.get("name")
    match = S3_URI.match(uri)
    bucket, key = match.groups() if match else ("", "")
    if not name or not (bucket == RAW_BUCKET_PLACEHOLDER or raw_buckets.fullmatch(bucket)):
        raise FlowError(
            "flow",
            f"source {node.get('node_id')!r} of {path} reads {uri!r}: a source must be named and read "
            f"s3://{RAW_BUCKET_PLACEHOLDER}/{dataset}/... (or this environment's raw bucket), "
            "the dataset's raw prefix",
        )
    if not key.startswith(f"{dataset}/"):
        raise FlowError(
            "flow",
            f"source {node.get('node_id')!r} of {path} reads {uri!r}, outside the raw prefix {dataset}/ "
            f"of dataset {dataset!r}",
        )
    return FlowSource(name=name, key=key)


def flow_sources(flow: dict, *, dataset: str, raw_buckets: re.Pattern, path: Path) -> list[FlowSource]:
    """Every source node, each an S3 source under the dataset's raw prefix (FlowError otherwise)."""
    sources = []
    for node in flow["nodes"]:
        if not isinstance(node, dict) or node.get("type") != "SOURCE":
            continue
        if not S3_SOURCE_OPERATOR.match(str(node.get("operator"))):
            raise FlowError(
                "flow",
                f"source {node.get('node_id')!r} of {path} is {node.get('operator')!r}: "
                "only S3 sources on the dataset's raw prefix can run here",
            )
        sources.append(_source(node, dataset, raw_buckets, path))
    if not sources:
        raise FlowError("flow", f"{path} has no S3 source node: it must read the raw prefix {dataset}/")
    names = [source.name for source in sources]
    if len(set(names)) != len(names):
        raise FlowError("flow", f"{path} names two sources alike ({names}): each is one job input")
    return sources


def check_flow(path: Path, *, output_node: str, dataset: str, raw_buckets: re.Pattern) -> list[FlowSource]:
    """Read and check a flow for ``dataset``; returns its S3 sources. Raises FlowError."""
    flow = read_flow(path)
    _check_output_node(flow, output_node, path)
    return flow_sources(flow, dataset=dataset, raw_buckets=raw_buckets, path=path)


def raw_bucket_pattern(*, environment: str, account: str | None, region: str) -> re.Pattern:
    """This environment's raw bucket name (stacks/names.py), any account when none is configured."""
    name = re.escape(names.bucket_name(environment, "raw", "ACCOUNT", region))
    return re.compile(name.replace("ACCOUNT", re.escape(account) if account else r"\d{12}"))
