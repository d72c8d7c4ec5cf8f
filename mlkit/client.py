"""Call the deployed mlkit API from a terminal, signed with your AWS credentials (SigV4).

Usage:
  python -m mlkit.client invoke NAME --data JSON|@FILE|@- [--content-type application/json|text/csv]
  python -m mlkit.client list
  python -m mlkit.client show NAME
Common options: [--url URL] [--env ENV] [--region REGION] [--api-key KEY] [--timeout SECONDS]

The API's URL is --url, else the ApiUrl output of the stack mlkit-<env>-api (--env, default MLKIT_ENV
or dev). Credentials come from boto3's usual chain (AWS_PROFILE, environment, SSO, instance role).
Requests are signed for the region given by --region, else the one in an execute-api URL, else the
session's (AWS_DEFAULT_REGION or the profile's), else AWS_REGION. --api-key defaults to MLKIT_API_KEY,
for APIs deployed with api_keys.

Prints a JSON answer pretty, any other answer as it came. An error answer goes to stderr as
`error <status> <code>: <message>`.

Exit codes: 0 answered; 1 the API refused the request (4xx); 2 the API or model failed (5xx);
3 the API could not be reached or found: network, credentials, region or stack lookup;
4 bad command line (unreadable --data file, --data not JSON for application/json).
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import re
import sys
import urllib.error
import urllib.parse
import urllib.request
from typing import NamedTuple

import boto3
from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import ReadOnlyCredentials
from botocore.exceptions import BotoCoreError, ClientError

EXIT_OK, EXIT_CLIENT_ERROR, EXIT_SERVER_ERROR, EXIT_UNREACHABLE, EXIT_USAGE = 0, 1, 2, 3, 4
CONTENT_TYPES = ("application/json", "text/csv")
# API Gateway gives up after 29 s; a little more lets its own 504 reach us instead of our timeout.
DEFAULT_TIMEOUT_SECONDS = 35
NO_REGION = "no AWS region: pass --region, set AWS_REGION, or give your profile a region"
EXECUTE_API_HOST = re.compile(r"^[a-z0-9]+\.execute-api\.([a-z0-9-]+)\.amazonaws\.com(\.cn)?$")


class Unreachable(Exception):
    """The API could not be called: no credentials, no region, no stack, or the network failed."""


class UsageError(Exception):
    """The command line cannot be turned into a request."""


class Answer(NamedTuple):
    status: int
    content_type: str
    body: bytes
    error_type: str = ""  # API Gateway's x-amzn-ErrorType, for answers that do not come from the router


def api_url(session: boto3.Session, env: str, region: str | None) -> str:
    """The ApiUrl output of mlkit-<env>-api."""
    stack_name = f"mlkit-{env}-api"
    region = region or session_region(session)
    if not region:
        raise Unreachable(NO_REGION)
    cloudformation = session.client("cloudformation", region_name=region)
    try:
        stacks = cloudformation.describe_stacks(StackName=stack_name)["Stacks"]
    except BotoCoreError as error:
        raise Unreachable(f"{stack_name}: {error}") from None
    except ClientError as error:
        details = error.response["Error"]
        # CloudFormation says ValidationError for a stack that does not exist.
        hint = f" (deploy it with `make deploy ENV={env}`, or pass --url)"
        raise Unreachable(
            f"{stack_name}: {details['Code']}: {details['Message']}"
            + (hint if details["Code"] == "ValidationError" else "")
        ) from None
    outputs = {output["OutputKey"]: output["OutputValue"] for output in stacks[0].get("Outputs", [])}
    if "ApiUrl" not in outputs:
        raise Unreachable(f"{stack_name} has no ApiUrl output: pass --url")
    return outputs["ApiUrl"]


def session_region(session: boto3.Session) -> str | None:
    # botocore reads AWS_DEFAULT_REGION and the profile, not AWS_REGION, which most other tools set.
    return session.region_name or os.environ.get("AWS_REGION")


def signing_region(url: str, explicit: str | None, fallback: str | None) -> str:
    """The region to sign for: a signature for any other region than the API's is refused."""
    host_match = EXECUTE_API_HOST.match(urllib.parse.urlsplit(url).hostname or "")
    region = explicit or (host_match and host_match.group(1)) or fallback
    if not region:
        raise Unreachable(NO_REGION)
    return region


def credentials(session: boto3.Session) -> ReadOnlyCredentials:
    """The session's credentials, resolved once (a profile's SSO or role ones may refresh)."""
    found = session.get_credentials()
    if found is None:
        raise Unreachable(
            "no AWS credentials found: run `aws configure` or `aws sso login`, set AWS_PROFILE, "
            "or export AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY"
        )
    return found.get_frozen_credentials()


def signed_request(
    signer: ReadOnlyCredentials, region: str, method: str, url: str, body: bytes | None, headers: dict
) -> urllib.request.Request:
    """A urllib request carrying botocore's SigV4 headers for execute-api."""
    aws_request = AWSRequest(method=method, url=url, data=body, headers=headers)
    SigV4Auth(signer, "execute-api", region).add_auth(aws_request)
    return urllib.request.Request(url, data=body, headers=dict(aws_request.headers.items()), method=method)


def send(request: urllib.request.Request, timeout: float) -> Answer:
    """The API's answer, error statuses included; Unreachable when no answer came."""
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            return Answer(response.status, response.headers.get("Content-Type", ""), response.read())
    except urllib.error.HTTPError as error:
        with error:
            headers = error.headers
            return Answer(
                error.code,
                headers.get("Content-Type", ""),
                error.read(),
                headers.get("x-amzn-ErrorType", "").split(":", 1)[0],
            )
    except urllib.error.URLError as error:
        raise Unreachable(f"could not reach {request.full_url}: {error.reason}") from None
    except (OSError, http.client.HTTPException) as error:
        # Timeouts while reading, a connection dropped mid-answer.
        reason = str(error) or type(error).__name__
        raise Unreachable(f"could not reach {request.full_url}: {reason}") from None


def read_data(value: str, content_type: str) -> bytes:
    """--data as bytes: inline text, @PATH for a file's content, @- for stdin. JSON is checked first."""
    if value == "@-":
        data = sys.stdin.buffer.read()
    elif value.startswith("@"):
        try:
            with open(value[1:], "rb") as file:
                data = file.read()
        except OSError as error:
            raise UsageError(f"--data {value}: {error.strerror}") from None
    else:
        data = value.encode("utf-8")
    if content_type == "application/json":
        try:
            json.loads(data)
        except ValueError as error:
            raise UsageError(
                f"--data is not valid JSON ({error}); for CSV pass --content-type text/csv"
            ) from None
    return data


def is_json(content_type: str) -> bool:
    media_type = content_type.split(";", 1)[0].strip().lower()
    return media_type == "application/json" or media_type.endswith("+json")


def parsed_json(answer: Answer) -> object | None:
    if not is_json(answer.content_type):
        return None
    try:
        return json.loads(answer.body)
    except ValueError:
        return None


def error_line(answer: Answer) -> str:
    """`error <status> <code>: <message>` from the router's {"error", "message"} or API Gateway's body."""
    payload = parsed_json(answer)
    payload = payload if isinstance(payload, dict) else {}
    # API Gateway's own refusals (bad signature, throttled stage) carry only {"message"}.
    code = payload.get("error") or answer.error_type or f"http_{answer.status}"
    message = payload.get("message") or answer.body.decode("utf-8", "replace").strip() or "(no body)"
    return f"error {answer.status} {code}: {message}"


def print_answer(answer: Answer, stdout=None, stderr=None) -> int:
    """Print the answer readably and return the exit code its status maps to."""
    stdout, stderr = stdout or sys.stdout, stderr or sys.stderr
    if answer.status >= 400:
        print(error_line(answer), file=stderr)
        return EXIT_CLIENT_ERROR if answer.status < 500 else EXIT_SERVER_ERROR
    payload = parsed_json(answer)
    if payload is not None:
        print(json.dumps(payload, indent=2, ensure_ascii=False), file=stdout)
        return EXIT_OK
    try:
        text = answer.body.decode("utf-8")
    except UnicodeDecodeError:
        # A binary answer is passed through untouched, for `> file`.
        stdout.flush()
        stdout.buffer.write(answer.body)
        return EXIT_OK
    print(text, end="" if text.endswith("\n") else "\n", file=stdout)
    return EXIT_OK


def route(args: argparse.Namespace) -> tuple[str, str, bytes | None, dict[str, str]]:
    """Method, path, body and headers of the subcommand's request."""
    name = urllib.parse.quote(args.name, safe="") if args.command != "list" else ""
    headers = {"x-api-key": args.api_key} if args.api_key else {}
    if args.command == "invoke":
        # No Accept header: the model answers in its own default type.
        headers["Content-Type"] = args.content_type
        return "POST", f"/models/{name}/invoke", read_data(args.data, args.content_type), headers
    headers["Accept"] = "application/json"
    if args.command == "show":
        return "GET", f"/models/{name}", None, headers
    return "GET", "/models", None, headers


def call(args: argparse.Namespace, session: boto3.Session | None = None) -> Answer:
    method, path, body, headers = route(args)
    try:
        session = session or boto3.Session()
        signer = credentials(session)
        base_url = args.url or api_url(session, args.env, args.region)
        url = base_url.rstrip("/") + path
        if urllib.parse.urlsplit(url).scheme not in ("http", "https"):
            raise UsageError(f"{base_url!r} is not an http(s) URL")
        region = signing_region(url, args.region, session_region(session))
        request = signed_request(signer, region, method, url, body, headers)
    except BotoCoreError as error:
        # No credentials, a missing profile, an unreachable CloudFormation endpoint...
        raise Unreachable(str(error)) from None
    return send(request, args.timeout)


class Parser(argparse.ArgumentParser):
    def error(self, message: str):
        # argparse's own exit code 2 would read as "the API failed".
        self.print_usage(sys.stderr)
        self.exit(EXIT_USAGE, f"{self.prog}: error: {message}\n")


def parser() -> argparse.ArgumentParser:
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--url", help="the API's base URL (default: the ApiUrl output of mlkit-<env>-api)")
    default_env = os.environ.get("MLKIT_ENV") or "dev"
    common.add_argument("--env", default=default_env, help="the stack mlkit-ENV-api (default MLKIT_ENV, dev)")
    common.add_argument("--region", help="default: the URL's, else the profile's or AWS_REGION")
    common.add_argument("--api-key", default=os.environ.get("MLKIT_API_KEY"), help="default: MLKIT_API_KEY")
    common.add_argument("--timeout", type=float, default=DEFAULT_TIMEOUT_SECONDS, help="seconds")
    top = Parser(prog="mlkit.client", description=__doc__.splitlines()[0], epilog=_exit_codes())
    top.formatter_class = argparse.RawDescriptionHelpFormatter
    commands = top.add_subparsers(dest="command", required=True, parser_class=Parser)
    invoke = commands.add_parser("invoke", parents=[common], help="POST /models/NAME/invoke")
    invoke.add_argument("name", help="the model's name in the config")
    invoke.add_argument("--data", required=True, help="the request body, @PATH for a file's, @- for stdin")
    invoke.add_argument("--content-type", choices=CONTENT_TYPES, default=CONTENT_TYPES[0])
    commands.add_parser("list", parents=[common], help="GET /models")
    commands.add_parser("show", parents=[common], help="GET /models/NAME").add_argument("name")
    return top


def _exit_codes() -> str:
    return __doc__[__doc__.index("Exit codes:") :]


def main(argv: list[str] | None = None, session: boto3.Session | None = None) -> int:
    args = parser().parse_args(argv)
    try:
        return print_answer(call(args, session))
    except UsageError as error:
        print(f"mlkit.client: {error}", file=sys.stderr)
        return EXIT_USAGE
    except Unreachable as error:
        print(f"mlkit.client: {error}", file=sys.stderr)
        return EXIT_UNREACHABLE


if __name__ == "__main__":
    sys.exit(main())
