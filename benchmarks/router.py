"""Router benchmark: cold init against the boto3 floor, and per-request overhead.

Run from the repository root: ``.venv/bin/python benchmarks/router.py``. No AWS is called:
cold init only creates clients, and requests go to botocore Stubbers.
"""

import io
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
# This script is itself named router.py: put the Lambda asset first so `import router` finds the handler.
sys.path[0] = str(ROOT / "lambdas")
sys.path.insert(1, str(ROOT))

from benchmarks.catalog import catalog  # noqa: E402
from benchmarks.report import write_section  # noqa: E402
from lambdas.shared.registry import ARTIFACTS_BUCKET_VARIABLE, FILE_VARIABLE  # noqa: E402
from mlkit.api_event import LambdaContext, rest_event  # noqa: E402
from stacks.config import MlKitConfig  # noqa: E402
from stacks.names import endpoint_name  # noqa: E402
from stacks.registry import registry_document  # noqa: E402

COLD_RUNS = 11
REQUESTS = 3000
WARM_UP = 200
# A registry of 200 models, written through the stacks' own code, as the API stack's layer ships it:
# the router's cold start reads and parses all of it.
REGISTRY_CONFIG = catalog(200, environment="bench")
REGISTRY_FILE = Path(tempfile.mkdtemp(prefix="mlkit-bench-registry-")) / "registry.json"
REGISTRY_FILE.write_text(
    registry_document("bench", MlKitConfig.model_validate(REGISTRY_CONFIG).models, created_guardrails=set())
)
SAGEMAKER_MODEL = "hf-serverless-000"
BEDROCK_MODEL = "bedrock-003"
ENV = {
    "AWS_ACCESS_KEY_ID": "benchmark",
    "AWS_SECRET_ACCESS_KEY": "benchmark",
    "AWS_DEFAULT_REGION": "us-east-1",
    "AWS_REGION": "us-east-1",
    FILE_VARIABLE: str(REGISTRY_FILE),
    ARTIFACTS_BUCKET_VARIABLE: "mlkit-bench-artifacts",
    "POWERTOOLS_SERVICE_NAME": "router",
    "POWERTOOLS_METRICS_NAMESPACE": "mlkit",
}
# Each snippet prints wall seconds, CPU seconds and peak RSS (KiB), measured after interpreter
# start-up. CPU time is printed too because it barely moves when other processes share the machine.
SNIPPET = """
import time, resource
wall, cpu = time.perf_counter(), time.process_time()
{work}
rss_kib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
print(time.perf_counter() - wall, time.process_time() - cpu, rss_kib)
"""
FLOOR = SNIPPET.format(
    work="""
import boto3
boto3.client("sagemaker-runtime"), boto3.client("bedrock-runtime")
"""
)
# The router makes its clients with botocore alone (no boto3, no s3transfer): this floor shows what
# the router adds over the least any Lambda calling the two services must load.
BOTOCORE_FLOOR = SNIPPET.format(
    work="""
import botocore.session
session = botocore.session.get_session()
session.create_client("sagemaker-runtime"), session.create_client("bedrock-runtime")
"""
)
ROUTER = SNIPPET.format(
    work="""
import router
from shared import aws
aws.client("sagemaker-runtime"), aws.client("bedrock-runtime")
"""
)


def cold_env(bytecode_dir: str | None) -> dict[str, str]:
    """A clean environment; with ``bytecode_dir`` every module's .pyc is cached there."""
    env = {key: value for key, value in os.environ.items() if not key.startswith(("AWS_", "PYTHON"))}
    env.update(ENV, PYTHONPATH=str(ROOT / "lambdas"))
    if bytecode_dir:
        env["PYTHONPYCACHEPREFIX"] = bytecode_dir
    else:  # like an asset zipped without .pyc: only site-packages has bytecode
        env["PYTHONDONTWRITEBYTECODE"] = "1"
    return env


def run_snippet(code: str, env: dict[str, str]) -> tuple[float, float, float]:
    """Wall seconds, CPU seconds and peak RSS (MiB) of one fresh process."""
    out = subprocess.run([sys.executable, "-c", code], env=env, cwd=ROOT, capture_output=True, text=True)
    if out.returncode:
        raise RuntimeError(f"cold-start snippet failed:\n{out.stderr}")
    wall, cpu, rss_kib = (float(field) for field in out.stdout.split())
    return wall, cpu, rss_kib / 1024


def cold_init(env: dict[str, str]) -> dict[str, float]:
    """Medians over fresh processes, floor and router interleaved so machine noise hits both."""
    snippets = {"floor": FLOOR, "botocore": BOTOCORE_FLOOR, "router": ROUTER}
    for code in snippets.values():  # warm the OS file cache (and bytecode)
        run_snippet(code, env)
    runs = {name: [] for name in snippets}
    for _ in range(COLD_RUNS):
        for name, code in snippets.items():
            runs[name].append(run_snippet(code, env))
    figures = {}
    for name, samples in runs.items():
        for index, measure in enumerate(("s", "cpu_s", "mib")):
            figures[f"{name}_{measure}"] = statistics.median(sample[index] for sample in samples)
    return figures


def invoke_event(name: str, body: str) -> dict:
    headers = {"Content-Type": "application/json", "Accept": "application/json"}
    return rest_event("POST", f"/models/{name}/invoke", body, headers)


def sagemaker_case(client):
    """The router event, the equivalent direct call, and a canned answer for the Stubber."""
    from botocore.response import StreamingBody

    body = '{"inputs": "I love this kit"}'
    answer = b'[{"label": "POSITIVE", "score": 0.99}]'

    def canned():
        return {"Body": StreamingBody(io.BytesIO(answer), len(answer)), "ContentType": "application/json"}

    def direct():
        params = {
            "EndpointName": endpoint_name("bench", SAGEMAKER_MODEL),
            "Body": body.encode(),
            "ContentType": "application/json",
        }
        client.invoke_endpoint(**params, Accept="application/json")["Body"].read()

    return invoke_event(SAGEMAKER_MODEL, body), direct, "invoke_endpoint", canned


def bedrock_case(client):
    body = json.dumps({"prompt": "Say hello", "inference": {"temperature": 0.2}})
    answer = {
        "output": {"message": {"role": "assistant", "content": [{"text": "Hello!"}]}},
        "stopReason": "end_turn",
        "usage": {"inputTokens": 3, "outputTokens": 2, "totalTokens": 5},
        "metrics": {"latencyMs": 100},
    }

    def direct():
        client.converse(
            modelId=REGISTRY_CONFIG["models"][BEDROCK_MODEL]["model_id"],
            messages=[{"role": "user", "content": [{"text": "Say hello"}]}],
            inferenceConfig={"maxTokens": 512, "temperature": 0.2, "topP": 0.9},
        )

    return invoke_event(BEDROCK_MODEL, body), direct, "converse", lambda: answer


def request_overhead(service: str, make_case) -> dict[str, float]:
    """p50/p99 of (router.handler time - direct stubbed call time), paired request by request."""
    import router
    from botocore.stub import Stubber
    from shared.aws import client as aws_client

    client = aws_client(service)
    event, direct, operation, canned = make_case(client)
    overheads, router_times = [], []
    with Stubber(client) as stubber:
        for _ in range(2 * (REQUESTS + WARM_UP)):
            stubber.add_response(operation, canned())
        for index in range(REQUESTS + WARM_UP):
            started = time.perf_counter()
            answer = router.handler(event, LambdaContext())
            routed = time.perf_counter()
            direct()
            finished = time.perf_counter()
            if answer["statusCode"] != 200:
                raise RuntimeError(f"router answered {answer['statusCode']}: {answer['body']}")
            if index >= WARM_UP:
                overheads.append((routed - started) - (finished - routed))
                router_times.append(routed - started)
    return {
        "p50_ms": percentile(overheads, 50) * 1000,
        "p99_ms": percentile(overheads, 99) * 1000,
        "router_p50_ms": percentile(router_times, 50) * 1000,
    }


def percentile(values: list[float], pct: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(pct / 100 * (len(ordered) - 1)))]


def in_process_overheads() -> dict[str, dict[str, float]]:
    os.environ.update(ENV)
    os.environ.pop("AWS_ENDPOINT_URL", None)
    os.environ.pop("AWS_PROFILE", None)
    import router

    # Logs and metrics are formatted as in Lambda, but written to /dev/null, not the terminal.
    sink = open(os.devnull, "w")  # noqa: SIM115 - lives as long as the process
    router.logger.registered_handler.setStream(sink)
    stdout, sys.stdout = sys.stdout, sink
    try:
        return {
            "SageMaker invoke_endpoint": request_overhead("sagemaker-runtime", sagemaker_case),
            "Bedrock converse": request_overhead("bedrock-runtime", bedrock_case),
        }
    finally:
        sys.stdout = stdout


def markdown(cold: dict[str, dict[str, float]], overheads: dict[str, dict[str, float]], load: float) -> str:
    lines = [
        "## Router",
        "",
        f"Cold init: median of {COLD_RUNS} fresh processes; `import router` + sagemaker-runtime and "
        "bedrock-runtime clients versus the floor `import boto3` + the same two clients. Target ≤ 1.25×. "
        "The router makes its clients with botocore alone, so the last column also gives it against a "
        "botocore-only floor (a session and the same two clients): what Powertools, the registry and "
        f"the handlers cost. Load average before measuring: {load:.1f} on {os.cpu_count()} CPUs.",
        "",
        "| bytecode | floor | router | ratio (wall) | ratio (CPU) | peak RSS floor → router "
        "| botocore-only floor, ratio (wall) |",
        "|---|---|---|---|---|---|---|",
    ]
    for label, f in cold.items():
        lines.append(
            f"| {label} | {f['floor_s'] * 1000:.0f} ms | {f['router_s'] * 1000:.0f} ms "
            f"| {f['router_s'] / f['floor_s']:.2f}× | {f['router_cpu_s'] / f['floor_cpu_s']:.2f}× "
            f"| {f['floor_mib']:.1f} → {f['router_mib']:.1f} MiB "
            f"| {f['botocore_s'] * 1000:.0f} ms, {f['router_s'] / f['botocore_s']:.2f}× |"
        )
    lines += [
        "",
        "Per-request overhead: `router.handler` on an API Gateway event minus the same stubbed botocore "
        f"call made directly, paired over {REQUESTS} requests (after {WARM_UP} warm-up). Target p50 ≤ 1 ms.",
        "",
        "| downstream call | overhead p50 | overhead p99 | router p50 (incl. call) |",
        "|---|---|---|---|",
    ]
    for label, figures in overheads.items():
        p50, p99, routed = figures["p50_ms"], figures["p99_ms"], figures["router_p50_ms"]
        lines.append(f"| {label} | {p50:.3f} ms | {p99:.3f} ms | {routed:.3f} ms |")
    lines += ["", "Command: `.venv/bin/python benchmarks/router.py` (from the repository root)."]
    return "\n".join(lines)


def main() -> None:
    load = os.getloadavg()[0]
    with tempfile.TemporaryDirectory(prefix="router-bytecode-") as bytecode_dir:
        cold = {
            "all modules compiled (.pyc)": cold_init(cold_env(bytecode_dir)),
            "lambdas/ without .pyc": cold_init(cold_env(None)),
        }
    text = markdown(cold, in_process_overheads(), load)
    write_section("router", text)
    print(text)


if __name__ == "__main__":
    main()
