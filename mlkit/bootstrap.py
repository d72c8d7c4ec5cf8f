"""`make bootstrap ENV=...`: the exact commands that prepare an account for delivery; with --run, runs them.

Usage: python -m mlkit.bootstrap --env dev|staging|prod|tooling [--delivery config/delivery.yaml] [--run]

An environment's account trusts the tooling account (`--trust`: the pipeline deploys through its roles) and
gives CloudFormation mlkit's execution policy instead of AdministratorAccess. `--trust-for-lookup` is never
passed: mlkit's synth makes no lookups. `--env tooling` bootstraps the pipeline's account, in its region and
in each other region an environment uses (CodePipeline keeps a replication bucket there).

Printing writes each policy document to .cache/ (the printed `aws iam create-policy` reads it from there).
--run needs the account's credentials (AWS_PROFILE...): it refuses others, creates or updates the policy
with boto3, then runs `npx cdk bootstrap`.
"""

import argparse
import json
import shlex
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import NamedTuple

from mlkit import delivery_file
from stacks import names
from stacks.delivery.execution_policy import execution_policy, policy_text

ROOT = Path(__file__).resolve().parent.parent
CACHE = ROOT / ".cache"
TOOLING = "tooling"
MAX_POLICY_VERSIONS = 5  # IAM keeps at most five versions of a managed policy


class Target(NamedTuple):
    """One `cdk bootstrap` of one account and region, with the execution policy CloudFormation gets."""

    account: str
    region: str
    trust: str | None
    policy: dict

    @property
    def policy_arn(self) -> str:
        return names.execution_policy_arn(self.account, self.region)

    def command(self) -> list[str]:
        command = ["npx", "--no-install", "cdk", "bootstrap", f"aws://{self.account}/{self.region}"]
        if self.trust:
            command += ["--trust", self.trust]
        return [*command, "--cloudformation-execution-policies", self.policy_arn]


def targets(delivery, env: str) -> list[Target]:
    """What `--env env` bootstraps: an environment's account and region, or the tooling account's regions."""
    pipeline = delivery.settings.pipeline
    if env == TOOLING:
        if pipeline is None:
            raise SystemExit(f"mlkit: {delivery.path.name} has no pipeline, so there is no tooling account")
        tooling = pipeline.tooling
        regions = dict.fromkeys([tooling.region, *(e.region for e in delivery.environments)])
        policy = execution_policy(tooling.account, tooling.region, tooling=True)
        return [Target(tooling.account, region, None, policy) for region in regions]
    environment = delivery.environment(env)
    if environment is None:
        known = ", ".join([e.name for e in delivery.environments] + ([TOOLING] if pipeline else []))
        raise SystemExit(f"mlkit: {env!r} is not an environment of {delivery.path.name} ({known})")
    trust = pipeline.tooling.account if pipeline else None
    policy = execution_policy(environment.account, environment.region)
    return [Target(environment.account, environment.region, trust, policy)]


def policy_file(target: Target) -> Path:
    CACHE.mkdir(exist_ok=True)
    path = CACHE / f"{names.EXECUTION_POLICY}-{target.account}.json"
    path.write_text(json.dumps(target.policy, indent=2) + "\n")
    return path


def printed(env: str, found: list[Target]) -> str:
    """The commands, as a shell script with comments; each policy document is written to .cache/."""
    lines = [f"# mlkit: bootstrap {env} (make bootstrap ENV={env} RUN=1 runs these with your credentials)"]
    for target in {t.policy_arn: t for t in found}.values():
        shown = policy_file(target).relative_to(ROOT)
        lines += [
            f"# CloudFormation's execution policy in {target.account}, once (to change it later: aws iam "
            f"create-policy-version --policy-arn {target.policy_arn} --policy-document file://{shown} "
            "--set-as-default)",
            f"aws iam create-policy --policy-name {names.EXECUTION_POLICY} --policy-document file://{shown}",
        ]
    lines += [shlex.join(target.command()) for target in found]
    return "\n".join(lines)


def ensure_policy(iam, target: Target) -> str:
    """Create the execution policy, or make this document its default version; says which."""
    document = policy_text(target.policy)
    try:
        description = "mlkit: what CloudFormation may do when it deploys mlkit (cdk bootstrap)"
        iam.create_policy(PolicyName=names.EXECUTION_POLICY, PolicyDocument=document, Description=description)
        return f"created {target.policy_arn}"
    except iam.exceptions.EntityAlreadyExistsException:
        pass
    versions = iam.list_policy_versions(PolicyArn=target.policy_arn)["Versions"]
    if len(versions) >= MAX_POLICY_VERSIONS:
        oldest = min((v for v in versions if not v["IsDefaultVersion"]), key=lambda v: v["CreateDate"])
        iam.delete_policy_version(PolicyArn=target.policy_arn, VersionId=oldest["VersionId"])
    iam.create_policy_version(PolicyArn=target.policy_arn, PolicyDocument=document, SetAsDefault=True)
    return f"updated {target.policy_arn}"


def run(found: list[Target], session, execute: Callable[[list[str]], int] = subprocess.call) -> int:
    """Check the credentials' account, put each policy, run each bootstrap; the first failure's exit code."""
    account = session.client("sts").get_caller_identity()["Account"]
    wanted = {t.account for t in found}
    if account not in wanted:
        print(
            f"mlkit: your credentials are for account {account}, not {', '.join(sorted(wanted))}: "
            "set AWS_PROFILE (or sign in) for that account first",
            file=sys.stderr,
        )
        return 2
    iam = session.client("iam")
    for target in {t.policy_arn: t for t in found}.values():
        print(f"mlkit: {ensure_policy(iam, target)}", file=sys.stderr)
    for target in found:
        print(f"mlkit: {shlex.join(target.command())}", file=sys.stderr)
        code = execute(target.command())
        if code:
            return code
    return 0


def main(argv: list[str] | None = None, session=None, execute=subprocess.call) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--env", required=True, help="an environment of the delivery file, or tooling")
    delivery_file.add_argument(parser)
    parser.add_argument(
        "--run", action="store_true", help="run the commands (needs the account's credentials)"
    )
    args = parser.parse_args(argv)
    delivery = delivery_file.load(args.delivery)
    if delivery is None:
        return 2
    found = targets(delivery, args.env)
    if not args.run:
        print(printed(args.env, found))
        return 0
    import boto3

    return run(found, session or boto3.Session(region_name=found[0].region), execute)


if __name__ == "__main__":
    sys.exit(main())
