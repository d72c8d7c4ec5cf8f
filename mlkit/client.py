"""Call the deployed mlkit API from a terminal, signed with your AWS credentials (SigV4).

Usage:
  python -m mlkit.client invoke NAME --data JSON|TEXT|@FILE|@- [--content-type TYPE] [--accept TYPE]
                                     [--output FILE]
  python -m mlkit.client list
  python -m mlkit.client show NAME
Common options: [--url URL] [--env ENV] [--region REGION] [--api-key KEY] [--timeout SECONDS]

The API's URL is --url, else the ApiUrl output of the stack mlkit-<env>-api (--env, default MLKIT_ENV
or dev). Credentials come from boto3's usual chain (AWS_PROFILE, environment, SSO, instance role).
Requests are signed for the region given by --region, else the one in an execute-api URL, else the
session's (AWS_DEFAULT_REGION or the profile's), else AWS_REGION. --api-key defaults to MLKIT_API_KEY,
for APIs deployed with api_keys.

--content-type is any media type (default application/json; only JSON is checked before sending). A file
(@FILE) is sent as its raw bytes: `--data @cat.jpg --content-type image/jpeg`.

--accept TYPE sends an Accept header, which the model also gets. API Gateway returns an answer as bytes only
when the request's Accept names one of the API's binary media types (image/*, audio/*,
application/octet-stream, ...): without it, a binary answer arrives as base64 text. So for an image answer
pass e.g. `--accept image/png --output out.png`.

Prints a JSON answer pretty and a text answer as it came. --output FILE writes the answer's raw bytes to FILE
instead; a binary answer is never printed: without --output, a one-line note of its type and size goes to
stderr. An error answer goes to stderr as `error <status> <code>: <message>`.

Exit codes: 0 answered; 1 the API refused the request (4xx); 2 the API or model failed (5xx);
3 the API could not be reached or found: network, credentials, region or stack lookup;
4 bad command line (unreadable --data file, --data not JSON for application/json, invalid media type,
unwritable --output).
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

from lambdas.shared.registry import is_text_media_type
from stacks import names

EXIT_OK, EXIT_CLIENT_ERROR, EXIT_SERVER_ERROR, EXIT_UNREACHABLE, EXIT_USAGE = 0, 1, 2, 3, 4
JSON = "application/json"
# RFC 9110: type/subtype tokens, then optional ;name=value parameters (values may be quoted).
_TOKEN = r"[!#$%&'*+.^_`|~0-9A-Za-z-]+"
MEDIA_TYPE = re.compile(rf'{_TOKEN}/{_TOKEN}(\s*;\s*{_TOKEN}=({_TOKEN}|"[^"\\\r\n]*"))*')
# An Accept value: printable ASCII (a list of types with q-values, wildcards...), checked by the API.
ACCEPT = re.compile(r"[\x20-\x7e]{1,1024}")
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
    stack_name = names.api_stack_name(env)
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
    if media_type(content_type) == JSON:
        try:
            json.loads(data)
        except ValueError as error:
            raise UsageError(
                f"--data is not valid JSON ({error}); for CSV pass --content-type text/csv"
            ) from None
    return data


def media_type(content_type: str) -> str:
    """'Image/PNG; q=1' -> 'image/png'."""
    return content_type.split(";", 1)[0].strip().lower()


def is_json(content_type: str) -> bool:
    kind = media_type(content_type)
    return kind == JSON or kind.endswith("+json")


def as_text(answer: Answer) -> str | None:
    """The answer as text if its type is text-like (or missing) and it decodes, else None: binary."""
    kind = media_type(answer.content_type)
    if kind and not is_text_media_type(kind):  # the router's and the API's own rule
        return None
    try:
        return answer.body.decode("utf-8")
    except UnicodeDecodeError:
        return None


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


def print_answer(answer: Answer, output: str | None = None, stdout=None, stderr=None) -> int:
    """Print the answer readably (or write its bytes to ``output``); the exit code its status maps to."""
    stdout, stderr = stdout or sys.stdout, stderr or sys.stderr
    if answer.status >= 400:
        print(error_line(answer), file=stderr)
        return EXIT_CLIENT_ERROR if answer.status < 500 else EXIT_SERVER_ERROR
    kind = answer.content_type or "no Content-Type"
    if output:
        try:
            with open(output, "wb") as file:
                file.write(answer.body)
        except OSError as error:
            raise UsageError(f"--output {output}: {error.strerror}") from None
        print(f"mlkit.client: wrote {len(answer.body)} bytes ({kind}) to {output}", file=stderr)
        return EXIT_OK
    payload = parsed_json(answer)
    if payload is not None:
        print(json.dumps(payload, indent=2, ensure_ascii=False), file=stdout)
        return EXIT_OK
    text = as_text(answer)
    if text is None:
        # Bytes on a terminal are garbage and can upset it: say what came instead.
        note = f"binary answer ({kind}, {len(answer.body)} bytes) not printed; pass --output FILE to save it"
        print(f"mlkit.client: {note}", file=stderr)
        return EXIT_OK
    print(text, end="" if text.endswith("\n") else "\n", file=stdout)
    return EXIT_OK


def route(args: argparse.Namespace) -> tuple[str, str, bytes | None, dict[str, str]]:
    """Method, path, body and headers of the subcommand's request."""
    name = urllib.parse.quote(args.name, safe="") if args.command != "list" else ""
    headers = {"x-api-key": args.api_key} if args.api_key else {}
    if args.command == "invoke":
        headers["Content-Type"] = args.content_type
        if args.accept:  # else the model answers in its own default type
            headers["Accept"] = args.accept
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
    invoke.add_argument(
        "--content-type",
        metavar="TYPE",
        type=_checked(MEDIA_TYPE, "a media type such as image/jpeg"),
        default=JSON,
        help="the body's media type (default application/json), e.g. text/csv, image/jpeg, audio/wav",
    )
    invoke.add_argument(
        "--accept",
        metavar="TYPE",
        type=_checked(ACCEPT, "printable ASCII, e.g. image/png"),
        help="the Accept header; API Gateway returns bytes only if it names a binary media type (image/*, "
        "audio/*, application/octet-stream)",
    )
    invoke.add_argument("--output", metavar="FILE", help="write the answer's raw bytes to FILE")
    commands.add_parser("list", parents=[common], help="GET /models")
    commands.add_parser("show", parents=[common], help="GET /models/NAME").add_argument("name")
    return top


def _checked(pattern: re.Pattern, what: str):
    def check(value: str) -> str:
        if not pattern.fullmatch(value):
            raise argparse.ArgumentTypeError(f"{value!r} is not {what}")
        return value

    return check


def _exit_codes() -> str:
    return __doc__[__doc__.index("Exit codes:") :]


def main(argv: list[str] | None = None, session: boto3.Session | None = None) -> int:
    args = parser().parse_args(argv)
    try:
        output = getattr(args, "output", None)
        if output and not os.access(os.path.dirname(os.path.abspath(output)), os.W_OK):
            # Checked before the call: a model's answer that cannot be saved would be paid for and lost.
            raise UsageError(f"--output {output}: its directory does not exist or is not writable")
        return print_answer(call(args, session), output)
    except UsageError as error:
        print(f"mlkit.client: {error}", file=sys.stderr)
        return EXIT_USAGE
    except Unreachable as error:
        print(f"mlkit.client: {error}", file=sys.stderr)
        return EXIT_UNREACHABLE


if __name__ == "__main__":
    sys.exit(main())
