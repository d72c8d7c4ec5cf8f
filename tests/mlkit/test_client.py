"""mlkit.client against a local HTTP server that checks the SigV4 signature and answers like the API."""

import json
import os
import re
import socket
import subprocess
import sys
import threading
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import NamedTuple

import boto3
import pytest
from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials

from mlkit.client import Unreachable, main, signing_region
from tests.images import TINY_JPEG

ROOT = Path(__file__).resolve().parents[2]
STAGE = "/prod"  # API Gateway URLs end with the stage: https://id.execute-api.region.amazonaws.com/prod/
AUTHORIZATION = re.compile(
    r"^AWS4-HMAC-SHA256 Credential=(?P<key>[A-Za-z0-9]+)/(?P<date>\d{8})/(?P<region>[a-z0-9-]+)"
    r"/execute-api/aws4_request, "
    r"SignedHeaders=(?P<signed>[a-z0-9;-]+), Signature=(?P<signature>[0-9a-f]{64})$"
)
MODELS = {"models": [{"name": "churn", "source": "training", "hosting": "serverless", "status": "InService"}]}


class Received(NamedTuple):
    method: str
    path: str
    headers: dict[str, str]  # names in lower case
    body: bytes


class FakeApi:
    """Answers canned replies by (method, path) and records every request it gets."""

    def __init__(self):
        self.answers: dict[tuple[str, str], tuple[int, str, bytes, dict[str, str]]] = {}
        self.received: list[Received] = []
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self.port = self.server.server_address[1]
        self.url = f"http://127.0.0.1:{self.port}{STAGE}/"

    def answer(self, method, path, status, body, content_type="application/json", headers=None):
        raw = body if isinstance(body, bytes) else json.dumps(body).encode()
        self.answers[(method, STAGE + path)] = (status, content_type, raw, headers or {})

    def only_request(self) -> Received:
        assert len(self.received) == 1, self.received
        return self.received[0]

    def _handler(self):
        api = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self):
                self._answer()

            def do_POST(self):
                self._answer()

            def _answer(self):
                body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                headers = {name.lower(): value for name, value in self.headers.items()}
                api.received.append(Received(self.command, self.path, headers, body))
                missing = (404, "application/json", b'{"error": "not_found", "message": "no route"}', {})
                status, content_type, reply, extra = api.answers.get((self.command, self.path), missing)
                self.send_response(status)
                self.send_header("Content-Type", content_type)
                self.send_header("Content-Length", str(len(reply)))
                for name, value in extra.items():
                    self.send_header(name, value)
                self.end_headers()
                self.wfile.write(reply)

            def log_message(self, *args):
                pass  # keep pytest's output to the test's own

        return Handler


@pytest.fixture
def api():
    fake = FakeApi()
    # A short poll interval: shutdown() waits for one, 0.5 s by default, per test.
    thread = threading.Thread(target=fake.server.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    yield fake
    fake.server.shutdown()
    fake.server.server_close()


def assert_signed(received: Received, port: int, region: str = "us-east-1", credentials=None) -> None:
    """The Authorization header is a valid SigV4 signature of this very request, for execute-api.

    The credentials default to tests/conftest.py's fake ones ("testing")."""
    credentials = credentials or Credentials("testing", "testing", "testing")
    match = AUTHORIZATION.match(received.headers.get("authorization", ""))
    assert match, received.headers.get("authorization")
    assert match["key"] == credentials.access_key
    amz_date = received.headers["x-amz-date"]
    signed_at = datetime.strptime(amz_date, "%Y%m%dT%H%M%SZ").replace(tzinfo=UTC)
    assert abs(datetime.now(UTC) - signed_at) < timedelta(minutes=5)
    assert match["date"] == amz_date[:8] and match["region"] == region
    assert received.headers["x-amz-security-token"] == credentials.token  # signed too
    # Re-sign what the server got, with the same time stamp: a tampered header or body changes it.
    signed_names = match["signed"].split(";")
    assert {"host", "x-amz-date"} <= set(signed_names)
    request = AWSRequest(
        method=received.method,
        url=f"http://127.0.0.1:{port}{received.path}",
        data=received.body or None,
        headers={name: received.headers[name] for name in signed_names},
    )
    request.context["timestamp"] = amz_date
    signer = SigV4Auth(credentials, "execute-api", region)
    string_to_sign = signer.string_to_sign(request, signer.canonical_request(request))
    assert match["signature"] == signer.signature(string_to_sign, request)


def pretty(payload) -> str:
    return json.dumps(payload, indent=2) + "\n"


def test_invoke_posts_signed_json_and_prints_the_answer_pretty(api, capsys):
    api.answer("POST", "/models/churn/invoke", 200, {"predictions": [0.93]})
    assert main(["invoke", "churn", "--url", api.url, "--data", '{"instances": [[1, 2]]}']) == 0
    out, err = capsys.readouterr()
    assert (out, err) == (pretty({"predictions": [0.93]}), "")
    received = api.only_request()
    assert (received.method, received.path) == ("POST", "/prod/models/churn/invoke")
    assert received.body == b'{"instances": [[1, 2]]}'
    assert received.headers["content-type"] == "application/json"
    assert "x-api-key" not in received.headers
    assert_signed(received, api.port)


def test_invoke_sends_csv_from_a_file_with_the_api_key_and_prints_text_as_is(api, capsys, tmp_path):
    api.answer("POST", "/models/churn/invoke", 200, b"0.93\n0.12\n", content_type="text/csv")
    rows = tmp_path / "rows.csv"
    rows.write_bytes(b"1,2,3\n4,5,6\n")
    argv = ["invoke", "churn", "--url", api.url, "--data", f"@{rows}", "--content-type", "text/csv"]
    assert main([*argv, "--api-key", "k-123"]) == 0
    assert capsys.readouterr() == ("0.93\n0.12\n", "")
    received = api.only_request()
    assert received.body == b"1,2,3\n4,5,6\n"
    assert received.headers["content-type"] == "text/csv"
    assert received.headers["x-api-key"] == "k-123"
    assert "x-api-key" in AUTHORIZATION.match(received.headers["authorization"])["signed"].split(";")
    assert_signed(received, api.port)


def test_invoke_sends_a_jpeg_files_raw_bytes_with_its_type_and_accept(api, capsys, tmp_path):
    api.answer("POST", "/models/vision/invoke", 200, {"label": "cat"})
    cat = tmp_path / "cat.jpg"
    cat.write_bytes(TINY_JPEG)
    argv = ["invoke", "vision", "--url", api.url, "--data", f"@{cat}", "--content-type", "image/jpeg"]
    assert main([*argv, "--accept", "application/json"]) == 0
    assert capsys.readouterr() == (pretty({"label": "cat"}), "")
    received = api.only_request()
    assert received.body == TINY_JPEG
    assert (received.headers["content-type"], received.headers["accept"]) == (
        "image/jpeg",
        "application/json",
    )
    assert_signed(received, api.port)


def test_a_binary_answer_is_written_to_output_byte_identical(api, capsys, tmp_path):
    api.answer("POST", "/models/vision/invoke", 200, TINY_JPEG, content_type="image/jpeg")
    out = tmp_path / "out.jpg"
    argv = [
        "invoke",
        "vision",
        "--url",
        api.url,
        "--data",
        "{}",
        "--accept",
        "image/jpeg",
        "--output",
        str(out),
    ]
    assert main(argv) == 0
    assert out.read_bytes() == TINY_JPEG
    assert capsys.readouterr() == ("", f"mlkit.client: wrote {len(TINY_JPEG)} bytes (image/jpeg) to {out}\n")
    assert api.only_request().headers["accept"] == "image/jpeg"


@pytest.mark.parametrize("content_type", ["image/png", "application/json", "text/plain", ""])
def test_a_binary_answer_is_never_printed_but_named_with_its_size(api, capsysbinary, content_type):
    body = b"\x89PNG\x00\xff" if content_type != "image/png" else b"PNG but text"
    api.answer("POST", "/models/art/invoke", 200, body, content_type=content_type)
    assert main(["invoke", "art", "--url", api.url, "--data", '{"prompt": "a cat"}']) == 0
    out, err = capsysbinary.readouterr()
    kind = content_type or "no Content-Type"
    assert out == b""
    note = (
        f"mlkit.client: binary answer ({kind}, {len(body)} bytes) not printed; pass --output FILE to save it"
    )
    assert err.decode() == note + "\n"


def test_list_gets_the_models(api, capsys):
    api.answer("GET", "/models", 200, MODELS)
    assert main(["list", "--url", api.url]) == 0
    assert capsys.readouterr() == (pretty(MODELS), "")
    received = api.only_request()
    assert (received.method, received.path, received.body) == ("GET", "/prod/models", b"")
    assert_signed(received, api.port)


def test_show_gets_one_model_signed_for_the_given_region(api, capsys):
    api.answer("GET", "/models/churn", 200, MODELS["models"][0])
    assert main(["show", "churn", "--url", api.url, "--region", "eu-west-1"]) == 0
    assert capsys.readouterr() == (pretty(MODELS["models"][0]), "")
    received = api.only_request()
    assert (received.method, received.path) == ("GET", "/prod/models/churn")
    assert_signed(received, api.port, region="eu-west-1")


def test_aws_region_is_the_last_fallback_and_no_region_at_all_exits_3(api, capsys, monkeypatch, tmp_path):
    # botocore itself ignores AWS_REGION; the client honours it after the profile's region.
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "no-config"))
    monkeypatch.delenv("AWS_DEFAULT_REGION")
    monkeypatch.setenv("AWS_REGION", "eu-north-1")
    api.answer("GET", "/models", 200, MODELS)
    assert main(["list", "--url", api.url]) == 0
    assert_signed(api.only_request(), api.port, region="eu-north-1")
    capsys.readouterr()
    monkeypatch.delenv("AWS_REGION")
    assert main(["list", "--url", api.url]) == 3
    assert capsys.readouterr().err.startswith("mlkit.client: no AWS region: pass --region")
    assert len(api.received) == 1


@pytest.mark.parametrize(
    ("status", "body", "content_type", "headers", "line", "code"),
    [
        (404, {"error": "not_found", "message": "Unknown model 'nope'; known models: churn"},
         "application/json", {}, "error 404 not_found: Unknown model 'nope'; known models: churn", 1),
        (429, {"error": "throttled", "message": "Slow down"},
         "application/json", {}, "error 429 throttled: Slow down", 1),
        (502, {"error": "model_error", "message": "churn failed: bad input shape"},
         "application/json", {}, "error 502 model_error: churn failed: bad input shape", 2),
        # API Gateway's own refusal: only {"message"}, the code in x-amzn-ErrorType.
        (403, {"message": "The request signature we calculated does not match"}, "application/json",
         {"x-amzn-ErrorType": "InvalidSignatureException:http://internal.amazon.com/coral/"},
         "error 403 InvalidSignatureException: The request signature we calculated does not match", 1),
        (504, b"upstream timed out", "text/plain", {}, "error 504 http_504: upstream timed out", 2),
    ],
)  # fmt: skip
def test_error_answers_go_to_stderr_with_the_mapped_exit_code(
    api, capsys, status, body, content_type, headers, line, code
):
    api.answer("POST", "/models/nope/invoke", status, body, content_type=content_type, headers=headers)
    assert main(["invoke", "nope", "--url", api.url, "--data", "{}"]) == code
    assert capsys.readouterr() == ("", line + "\n")


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def test_a_refused_connection_exits_3_with_the_reason(capsys):
    url = f"http://127.0.0.1:{free_port()}/prod/"
    assert main(["list", "--url", url, "--timeout", "5"]) == 3
    out, err = capsys.readouterr()
    assert out == ""
    assert err.startswith(f"mlkit.client: could not reach {url}models: ")
    assert "refused" in err.lower()


def test_bad_data_exits_4_before_any_request(api, capsys, tmp_path):
    assert main(["invoke", "churn", "--url", api.url, "--data", "1,2,3"]) == 4
    assert "--data is not valid JSON" in capsys.readouterr().err
    assert main(["invoke", "churn", "--url", api.url, "--data", f"@{tmp_path / 'missing.json'}"]) == 4
    assert "No such file or directory" in capsys.readouterr().err
    for option, value in (("--content-type", "not a type"), ("--content-type", "image/"), ("--accept", "\n")):
        with pytest.raises(SystemExit) as usage:
            main(["invoke", "churn", "--url", api.url, "--data", "{}", option, value])
        assert usage.value.code == 4
    assert "is not a media type such as image/jpeg" in capsys.readouterr().err
    missing = tmp_path / "missing" / "out.jpg"
    assert main(["invoke", "churn", "--url", api.url, "--data", "{}", "--output", str(missing)]) == 4
    assert "its directory does not exist or is not writable" in capsys.readouterr().err
    assert api.received == []


def test_any_media_type_is_sent_and_only_json_is_checked(api, capsys):
    api.answer("POST", "/models/doc/invoke", 200, b"<ok/>", content_type="application/xml")
    argv = [
        "invoke",
        "doc",
        "--url",
        api.url,
        "--data",
        "<a>1</a>",
        "--content-type",
        "text/xml; charset=utf-8",
    ]
    assert main(argv) == 0
    assert capsys.readouterr() == ("<ok/>\n", "")
    assert api.only_request().headers["content-type"] == "text/xml; charset=utf-8"
    assert (
        main(["invoke", "doc", "--url", api.url, "--data", "<a/>", "--content-type", "Application/JSON"]) == 4
    )


def without_credentials(tmp_path) -> dict[str, str]:
    """An environment where boto3's chain finds nothing: no variables, files, profile or instance role."""
    environment = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
    return {
        **environment,
        "AWS_SHARED_CREDENTIALS_FILE": str(tmp_path / "no-credentials"),
        "AWS_CONFIG_FILE": str(tmp_path / "no-config"),
        "AWS_EC2_METADATA_DISABLED": "true",
        "AWS_REGION": "us-east-1",
    }


def test_missing_credentials_exit_3_with_a_clear_message_and_no_traceback(api, tmp_path):
    result = subprocess.run(
        [sys.executable, "-m", "mlkit.client", "list", "--url", api.url],
        cwd=ROOT,
        env=without_credentials(tmp_path),
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 3
    assert result.stdout == ""
    assert result.stderr.startswith("mlkit.client: no AWS credentials found: run `aws configure`")
    assert "Traceback" not in result.stderr
    assert api.received == []


def create_api_stack(name: str, outputs: dict[str, str]) -> None:
    template = {
        "Resources": {"Topic": {"Type": "AWS::SNS::Topic"}},
        "Outputs": {key: {"Value": value} for key, value in outputs.items()},
    }
    boto3.client("cloudformation").create_stack(StackName=name, TemplateBody=json.dumps(template))


def test_the_url_comes_from_the_api_stacks_output(aws, api, capsys, monkeypatch):
    monkeypatch.delenv("MLKIT_ENV", raising=False)
    api.answer("GET", "/models", 200, MODELS)
    create_api_stack("mlkit-dev-api", {"ApiUrl": api.url})
    assert main(["list"]) == 0
    assert capsys.readouterr() == (pretty(MODELS), "")
    # moto swaps in its own fake credentials while it mocks.
    assert_signed(api.only_request(), api.port, credentials=boto3.Session().get_credentials())


def test_mlkit_env_picks_the_stack_and_a_missing_one_says_how_to_deploy(aws, api, capsys, monkeypatch):
    monkeypatch.setenv("MLKIT_ENV", "staging")
    create_api_stack("mlkit-staging-api", {"ApiUrl": api.url})
    create_api_stack("mlkit-dev-api", {"ApiUrl": "http://127.0.0.1:9/wrong/"})
    api.answer("GET", "/models/churn", 200, MODELS["models"][0])
    assert main(["show", "churn"]) == 0
    assert api.only_request().path == "/prod/models/churn"
    capsys.readouterr()
    assert main(["list", "--env", "prod"]) == 3
    err = capsys.readouterr().err
    assert err.startswith("mlkit.client: mlkit-prod-api: ValidationError: ")
    assert err.endswith("(deploy it with `make deploy ENV=prod`, or pass --url)\n")


def test_a_stack_without_api_url_asks_for_url(aws, capsys):
    create_api_stack("mlkit-dev-api", {"Other": "x"})
    assert main(["list", "--env", "dev"]) == 3
    assert capsys.readouterr().err == "mlkit.client: mlkit-dev-api has no ApiUrl output: pass --url\n"


def test_signing_region_prefers_flag_then_execute_api_host_then_session():
    url = "https://a1b2c3d4e5.execute-api.eu-central-1.amazonaws.com/prod/models"
    assert signing_region(url, "us-west-2", "us-east-1") == "us-west-2"
    assert signing_region(url, None, "us-east-1") == "eu-central-1"
    assert signing_region("https://api.example.com/models", None, "us-east-1") == "us-east-1"
    with pytest.raises(Unreachable, match="no AWS region"):
        signing_region("https://api.example.com/models", None, None)
