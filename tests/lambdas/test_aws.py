"""shared.aws: one botocore session per process, botocore's retries, and no boto3 at cold start."""

import os
from pathlib import Path

import pytest
from botocore.awsrequest import AWSResponse
from botocore.exceptions import ClientError
from router_events import router_environment
from shared import aws

from tests.python_files import run_python

ROOT = Path(__file__).resolve().parents[2]


def test_clients_are_cached_and_carry_the_standard_retry_mode_and_timeouts():
    aws.reset_clients()
    runtime = aws.client("sagemaker-runtime")

    assert aws.client("sagemaker-runtime") is runtime
    assert runtime.meta.config.retries == {"mode": "standard", "total_max_attempts": 3}
    assert (runtime.meta.config.connect_timeout, runtime.meta.config.read_timeout) == (2, 8)
    assert runtime.meta.region_name == os.environ["AWS_DEFAULT_REGION"]


class _Body:
    def __init__(self, content: bytes):
        self.content = content

    def stream(self, **_):
        yield self.content


def test_a_throttled_call_is_sent_three_times_in_all(monkeypatch):
    """Three attempts in all, as the API's 29 s budget assumes; botocore's back-off is skipped here."""
    monkeypatch.setattr("botocore.endpoint.time.sleep", lambda _seconds: None)
    aws.reset_clients()
    runtime = aws.client("sagemaker-runtime")
    sent = []

    def throttle(request, **_):
        sent.append(request.url)
        headers = {"x-amzn-ErrorType": "ThrottlingException"}
        return AWSResponse(request.url, 429, headers, _Body(b'{"message": "Rate exceeded"}'))

    runtime.meta.events.register("before-send.sagemaker-runtime.InvokeEndpoint", throttle)
    with pytest.raises(ClientError) as raised:
        runtime.invoke_endpoint(EndpointName="mlkit-test-churn", Body=b"{}")
    aws.reset_clients()

    assert raised.value.response["Error"]["Code"] == "ThrottlingException"
    assert len(sent) == 3


def test_reset_clients_makes_new_clients():
    first = aws.client("bedrock-runtime")
    aws.reset_clients()

    assert aws.client("bedrock-runtime") is not first


def test_the_router_cold_start_imports_neither_boto3_nor_s3transfer():
    code = """
import sys, router
from shared import aws
aws.client("sagemaker-runtime"), aws.client("bedrock-runtime")
print(sorted(name for name in ("boto3", "s3transfer", "botocore") if name in sys.modules))
"""
    env = dict(os.environ, PYTHONPATH=str(ROOT / "lambdas"), **router_environment())

    result = run_python(code, cwd=ROOT, env=env)

    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == ["['botocore']"]
