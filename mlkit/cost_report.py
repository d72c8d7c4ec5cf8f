"""`make cost ENV=...` and the cost line of `make diff` / `make deploy`: the estimate, and its change.

Usage:
  python -m mlkit.cost_report --env dev [--assembly cdk.out] [--json]
  python -m mlkit.cost_report --env dev --against deployed [--role-arn ARN] [--markdown]
  python -m mlkit.cost_report --env dev --against OTHER_ASSEMBLY [--markdown]

``--against deployed`` estimates the templates CloudFormation holds for the environment's stacks (with
the current config for what pipelines create at run time); without AWS credentials it says the change is
unknown and exits 0, so a diff or deploy never fails over it. ``--role-arn`` (CI: the CDK lookup role)
is assumed first.
"""

import argparse
import json
import sys
from dataclasses import asdict
from pathlib import Path

from mlkit import prices
from mlkit.cost import ASSUMPTIONS, Estimate, Item, estimate_cost, estimate_templates
from stacks import names

FIGURES = (("idle_month", "idle/month", ",.2f"), ("per_1000_requests", "per 1,000 requests", ",.4f"),
           ("per_run", "per run", ",.2f"))  # fmt: skip


def as_json(estimate: Estimate) -> dict:
    return {
        "environment": estimate.environment,
        "region": estimate.region,
        "snapshot_date": estimate.snapshot_date,
        "groups": {
            group: {"items": [asdict(i) for i in items], **_figures(estimate.totals(group))}
            for group, items in estimate.groups.items()
        },
        "total": _figures(estimate.totals()),
        "unpriced": estimate.unpriced,
        "not_estimated": estimate.not_estimated,
        "assumptions": ASSUMPTIONS,
    }


def _figures(item: Item) -> dict:
    return {field: getattr(item, field) for field, _, _ in FIGURES}


def _row(name: str, item: Item) -> str:
    return f"  {name:<52} {item.idle_month:>12,.2f} {item.per_1000_requests:>14,.4f} {item.per_run:>12,.2f}"


def render(estimate: Estimate) -> str:
    header = f"  {'item':<52} {'idle/month':>12} {'per 1,000 req':>14} {'per run':>12}"
    lines = [f"mlkit {estimate.environment} in {estimate.region}: USD, prices of {estimate.snapshot_date}"]
    for group, items in estimate.groups.items():
        lines += ["", group, header] + [_row(i.name, i) for i in items]
        lines.append(_row("subtotal", estimate.totals(group)))
    lines += ["", _row("TOTAL (per 1,000 requests: 1,000 to each model)", estimate.totals())]
    lines += [""] + (estimate.unpriced or ["unpriced: none"])
    counted = ", ".join(f"{count} {kind}" for kind, count in sorted(estimate.not_estimated.items()))
    lines += ["", f"not estimated (free, or paid by use this estimate does not model): {counted}"]
    lines += ["", "assumptions: " + ", ".join(f"{key}={value}" for key, value in ASSUMPTIONS.items())]
    return "\n".join(lines)


def deployed_templates(cloudformation, environment: str) -> dict[str, dict]:
    """The templates CloudFormation holds for the environment's stacks (none deployed: empty)."""
    prefix, templates = names.prefix(environment) + "-", {}
    for page in cloudformation.get_paginator("describe_stacks").paginate():
        for stack in page["Stacks"]:
            if stack["StackName"].startswith(prefix) and stack["StackStatus"] != "DELETE_COMPLETE":
                body = cloudformation.get_template(StackName=stack["StackName"], TemplateStage="Original")
                template = body["TemplateBody"]
                templates[stack["StackName"]] = (
                    json.loads(template) if isinstance(template, str) else template
                )
    return templates


def change(current: Estimate, baseline: Estimate, against: str, markdown: bool = False) -> str:
    """Each total now, before, and the difference; the models whose idle cost moved."""
    now, before = current.totals(), baseline.totals()
    if markdown:
        lines = [f"### Estimated cost: {current.environment} (USD, prices of {current.snapshot_date})", "",
                 f"| | this change | {against} | difference |", "|---|---:|---:|---:|"]  # fmt: skip
        for field, label, shape in FIGURES:
            new, old = getattr(now, field), getattr(before, field)
            lines.append(f"| {label} | {new:{shape}} | {old:{shape}} | {new - old:+{shape}} |")
    else:
        parts = [
            f"{label} {getattr(now, field):{shape}} ({getattr(now, field) - getattr(before, field):+{shape}})"
            for field, label, shape in FIGURES
        ]
        lines = [
            f"estimated cost of {current.environment}, USD, change against {against}: " + "; ".join(parts)
        ]
    moved = [
        f"{group} idle {current.totals(group).idle_month:,.2f}/month ({delta:+,.2f})"
        for group in sorted(set(current.groups) | set(baseline.groups))
        if abs(delta := current.totals(group).idle_month - baseline.totals(group).idle_month) >= 0.005
    ]
    if moved:
        lines.append(("\n" if markdown else "  ") + "; ".join(moved))
    if current.unpriced:
        indent = "" if markdown else "  "
        lines.append(f"{indent}{len(current.unpriced)} unpriced: `make cost ENV={current.environment}`")
    return "\n".join(lines)


def cloudformation_client(region: str, role_arn: str | None):
    """CloudFormation in ``region``, as ``role_arn`` when given (botocore's standard retries)."""
    import boto3
    from botocore.config import Config

    session = boto3.Session(region_name=region)
    if role_arn:
        answer = session.client("sts").assume_role(RoleArn=role_arn, RoleSessionName="mlkit-cost")
        credentials = answer["Credentials"]
        session = boto3.Session(
            aws_access_key_id=credentials["AccessKeyId"],
            aws_secret_access_key=credentials["SecretAccessKey"],
            aws_session_token=credentials["SessionToken"],
            region_name=region,
        )
    return session.client("cloudformation", config=Config(retries={"mode": "standard"}))


def baseline_estimate(against: str, config, snapshot: dict, role_arn: str | None) -> Estimate:
    if against != "deployed":
        return estimate_cost(Path(against), config, snapshot)
    cloudformation = cloudformation_client(config.region, role_arn)
    return estimate_templates(deployed_templates(cloudformation, config.environment), config, snapshot)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Estimate an environment's cost from its cloud assembly.")
    parser.add_argument("--env", default=None, help="the environment (config/<env>.yaml). Default dev.")
    parser.add_argument("--assembly", type=Path, default=Path("cdk.out"), help="Default cdk.out.")
    parser.add_argument("--snapshot", type=Path, default=prices.SNAPSHOT)
    parser.add_argument("--json", action="store_true", help="print JSON for machines")
    parser.add_argument("--against", help="'deployed', or another cloud assembly: print the change only")
    parser.add_argument("--role-arn", help="with --against deployed: assume this role to read the stacks")
    parser.add_argument("--markdown", action="store_true", help="the change as a table (a PR summary)")
    args = parser.parse_args(argv)
    from stacks.config import load_config, select_config_path

    config = load_config(select_config_path(env=args.env))
    snapshot = prices.load_snapshot(args.snapshot)
    estimate = estimate_cost(args.assembly, config, snapshot)
    if not args.against:
        print(json.dumps(as_json(estimate), indent=2) if args.json else render(estimate))
        return 0
    from botocore.exceptions import BotoCoreError, ClientError

    try:
        baseline = baseline_estimate(args.against, config, snapshot, args.role_arn)
    except (BotoCoreError, ClientError) as error:  # no credentials or access: unknown, the deploy goes on
        print(f"estimated cost of {config.environment}: idle {estimate.totals().idle_month:,.2f} USD/month; "
              f"change against {args.against} unknown ({type(error).__name__}: {error})")  # fmt: skip
        return 0
    print(change(estimate, baseline, args.against, markdown=args.markdown))
    return 0


if __name__ == "__main__":
    sys.exit(main())
