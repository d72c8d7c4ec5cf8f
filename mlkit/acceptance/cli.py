"""`make acceptance ENV=<env>`: the first-deployment checklist, run against the account of your credentials.

Usage: python -m mlkit.acceptance --env ENV [--yes | --no-pipelines] [--url URL] [--config FILE]
                                  [--timeout-minutes M] [--poll-seconds S]

After `make deploy`: calls every model through the deployed API (SigV4-signed, as `make invoke`) with its
sample request and checks the status, the type and the shape of the answer; uploads each dataset's
sample-data/<dataset>.csv and follows every pipeline it starts (packaging pipelines too) to the end;
calls the models those pipelines deploy; waits for the async answers; reads back the alarms, the alerts
topic, the dashboards and the budget. Pipeline runs are paid: their bound (mlkit/cost.py) is printed
and confirmed first; --yes confirms (CI), --no-pipelines runs the rest only. Without a terminal and
without either flag, nothing is started.

Exit codes: 0 every check passed; 1 a check failed (the last line names each); 2 bad command line or
config, or credentials for another account than the config's; 3 AWS or the API could not be reached;
4 pipeline runs not confirmed (nothing was started).
"""

import argparse
import os
import sys

import boto3
from botocore.exceptions import BotoCoreError, ClientError

from mlkit import prices
from mlkit.acceptance import checklist, pipelines
from mlkit.acceptance.api import Api, Transport
from mlkit.acceptance.waiting import Waiter
from mlkit.client import Unreachable
from mlkit.cost import estimate_templates
from mlkit.cost_report import deployed_templates
from mlkit.report import Report, StepFailed
from stacks.config import ConfigError, load_config, select_config_path

EXIT_OK, EXIT_FAILED, EXIT_USAGE, EXIT_UNREACHABLE, EXIT_NOT_CONFIRMED = 0, 1, 2, 3, 4


class Refused(Exception):
    """The run cannot go on; the message says why and what to do."""


def parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="mlkit.acceptance", description=__doc__.splitlines()[0])
    parser.add_argument("--env", default=os.environ.get("MLKIT_ENV") or "dev", help="config/<ENV>.yaml")
    parser.add_argument("--config", help="another config file than config/<ENV>.yaml")
    paid = parser.add_mutually_exclusive_group()
    paid.add_argument("--yes", action="store_true", help="start the pipeline runs without asking")
    paid.add_argument("--no-pipelines", action="store_true", help="start no pipeline run; check the rest")
    parser.add_argument("--url", help="the API's base URL (default: the ApiUrl output of mlkit-<env>-api)")
    parser.add_argument("--timeout-minutes", type=float, default=180.0, help="per wait (default 180)")
    parser.add_argument("--poll-seconds", type=float, default=30.0, help="between polls (default 30)")
    parser.add_argument(
        "--trigger-minutes",
        type=float,
        default=10.0,
        help="how long a trigger may take to start a run (default 10)",
    )
    return parser


def connect(config, session: boto3.Session, args, transport: Transport | None) -> checklist.Context:
    """The caller's account (the config's, if it names one), the API and the deployed templates."""
    caller = session.client("sts").get_caller_identity()
    if config.account and caller["Account"] != config.account:
        raise Refused(
            f"config/{config.environment}.yaml is for account {config.account}; your credentials "
            f"({caller['Arn']}) are for {caller['Account']}: set AWS_PROFILE to that account's"
        )
    api = Api.connect(session, config.environment, args.url, transport)
    templates = deployed_templates(session.client("cloudformation"), config.environment)
    return checklist.Context(
        config, session, api, caller["Account"], templates, trigger_wait=args.trigger_minutes * 60
    )


def confirm(lines: list[str], total: float, plan, environment: str, yes: bool, stdin, out) -> bool | None:
    """Print the bound; True to go on, False if the caller said no, None if no one could be asked."""
    print(
        f"mlkit acceptance {environment}: {plan.runs} pipeline runs to start, upper bounds in USD "
        "(mlkit/cost.py; make cost for the whole estimate):",
        file=out,
    )
    print("\n".join(lines), file=out)
    print(f"  at most {total:,.2f} USD in all, plus what is unpriced above", file=out)
    if yes:
        return True
    if not stdin.isatty():
        return None
    print("Start these pipeline runs? [y/N] ", end="", file=out, flush=True)
    return stdin.readline().strip().lower() in ("y", "yes")


def pipeline_runs(config, context, args, stdin, stderr):
    """(the pipeline runs to start, or None; why none, or "") after the cost prompt; (None, None) when
    there is no terminal to ask and no --yes."""
    if args.no_pipelines:
        return None, "--no-pipelines"
    plan = pipelines.plan(config)
    if not (plan and plan.runs):
        return plan, ""
    estimate = estimate_templates(context.templates, config, prices.load_snapshot())
    lines, total = pipelines.cost_bound(estimate, config, plan)
    decision = confirm(lines, total, plan, config.environment, args.yes, stdin, stderr)
    if decision is None:
        print(
            f"mlkit acceptance: no terminal to ask, so no pipeline run was started: confirm with "
            f"`make acceptance ENV={config.environment} YES=1` (--yes), or check the rest with "
            "--no-pipelines",
            file=stderr,
        )
        return None, None
    return (plan, "") if decision else (None, "not confirmed at the prompt")


def main(
    argv: list[str] | None = None,
    *,
    session: boto3.Session | None = None,
    transport: Transport | None = None,
    stdin=None,
    stdout=None,
    stderr=None,
    report: Report | None = None,
) -> int:
    """The checklist's exit code; the keywords let tests inject the AWS session, the HTTP transport to the
    API, the terminal and the report."""
    args = parser().parse_args(argv)
    stdin, stdout, stderr = stdin or sys.stdin, stdout or sys.stdout, stderr or sys.stderr
    try:
        config = load_config(select_config_path(config=args.config, env=args.env))
        session = session or boto3.Session(region_name=config.region)
        if os.environ.get("AWS_ENDPOINT_URL"):
            endpoint = os.environ["AWS_ENDPOINT_URL"]
            print(f"mlkit acceptance: AWS_ENDPOINT_URL is set: every call goes to {endpoint}", file=stderr)
        context = connect(config, session, args, transport)
    except ConfigError as error:
        print(f"mlkit: invalid config\n{error}", file=stderr)
        return EXIT_USAGE
    except Refused as error:
        print(f"mlkit acceptance: {error}", file=stderr)
        return EXIT_USAGE
    except (Unreachable, BotoCoreError, ClientError) as error:
        print(f"mlkit acceptance: {error}", file=stderr)
        return EXIT_UNREACHABLE
    print(
        f"mlkit acceptance {config.environment}: account {context.account}, {config.region}, "
        f"API {context.api.url}",
        file=stderr,
    )
    plan, declined = pipeline_runs(config, context, args, stdin, stderr)
    if declined is None:
        return EXIT_NOT_CONFIRMED
    report = report or Report()
    report.stream = stderr
    waiter = Waiter(args.timeout_minutes * 60, args.poll_seconds, stream=stderr)
    try:
        checklist.run(report, context, plan, waiter, declined)
    except (StepFailed, BotoCoreError, ClientError) as error:  # a stack or output the run needs is missing
        print(report.render(colour=False), file=stdout)
        print(f"mlkit acceptance: stopped: {error}", file=stderr)
        return EXIT_FAILED
    print(report.render(colour=stdout.isatty()), file=stdout)
    if report.failed:
        named = "; ".join(f"{row.scope}: {row.step}" for row in report.failed)
        print(f"mlkit acceptance: {len(report.failed)} failed: {named}", file=stderr)
        return EXIT_FAILED
    return EXIT_OK


if __name__ == "__main__":
    sys.exit(main())
