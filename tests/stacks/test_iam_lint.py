"""Every identity policy the kit synthesizes, linted against AWS's IAM reference data (parliament 1.6.4).

Linted: the inline and managed policies of every stack (tests/stacks/template_rendering.py renders their
tokens to realistic ARNs first) of the shipped configs, test_checks' configs, the 200-model catalogue and
the delivery app (pipeline, OIDC and stage stacks), and the CloudFormation execution policies. Trust and
resource policies are not identity policies and are not linted here.

What fails a test: every parliament finding except RESOURCE_STAR, that is a condition key an action
cannot carry, an action on a resource type it does not take, an unknown action or prefix, a malformed
ARN, statement or condition value. Two readings on top of parliament's:
- A wildcard action (``s3:List*``) grants each action it expands to; one that takes none of the
  statement's resources (``s3:ListAllMyBuckets`` on a bucket) grants nothing, which is how IAM reads a
  wildcard, not a mistake. The wildcard is a finding when no expansion takes the resources (or the key).
- A finding that is parliament's own error (or a grant CDK writes) is excluded in EXCLUSIONS, only for
  the resources the entry names.

Parliament does not check the keys under a Null operator, nor the resources of an action whose resource
types are all optional. iam-policy-validator reads AWS's service reference online: it cannot run here.
Figures (policies, statements, findings per group): ``.venv/bin/python -m tests.stacks.test_iam_lint``.
"""

import json
import re
import sys
import types
from collections.abc import Callable, Iterator
from fnmatch import fnmatchcase
from pathlib import Path
from typing import Any, NamedTuple

import pytest

from benchmarks.catalog import catalog
from stacks import names
from stacks.config import MlKitConfig, load_config, load_delivery
from stacks.config.loader import CONFIG_DIR, DELIVERY_PATH
from stacks.delivery.execution_policy import execution_policy
from tests.stacks.synth import DeliverySynthesized, config_from, synthesize, synthesize_delivery
from tests.stacks.template_rendering import ACCOUNT, identity_policies
from tests.stacks.test_checks import CONFIGS as CHECKED_CONFIGS


def _import_parliament() -> types.ModuleType:
    """parliament 1.6.4 reads its two data files with pkg_resources, which setuptools 82 removed
    (duo-labs/parliament#247): lend it a stand-in for that import only."""
    stand_in = types.ModuleType("pkg_resources")
    stand_in.resource_filename = lambda package, name: str(Path(sys.modules[package].__file__).parent / name)
    previous = sys.modules.get("pkg_resources")
    sys.modules["pkg_resources"] = previous or stand_in
    try:
        import parliament
    finally:
        if previous is None:
            del sys.modules["pkg_resources"]
    return parliament


parliament = _import_parliament()

# Finding types that do not fail: breadth is cdk-nag's IAM5 check, which fails the synth unless each
# wildcard resource is acknowledged with a reason; this lint checks that grants are valid, not narrow.
IGNORED_ISSUES = {"RESOURCE_STAR"}
UNKNOWN_ACTION_ISSUES = {"UNKNOWN_ACTION", "UNKNOWN_PREFIX"}


class Exclusion(NamedTuple):
    reason: str
    resources: tuple[str, ...]  # the excluded statement's every resource matches one of these patterns


# Findings that do not fail, by (action, finding issue), each checked against AWS's Service Authorization
# Reference: parliament's own errors, and a grant CDK writes that the kit does not choose. Excluded only
# while every resource of the statement matches the entry's patterns: any other resource stays a finding.
EXCLUSIONS: dict[tuple[str, str], Exclusion] = {
    ("bedrock:InvokeModel", "RESOURCE_MISMATCH"): Exclusion(
        "The Service Authorization Reference (list_amazonbedrock) lists foundation-model and "
        "inference-profile among InvokeModel's resource types. Parliament misses both: it rejects a "
        "resource id holding a colon where the ARN format has none (is_arn_strictly_valid; model ids end "
        "in ':0'), and it demands every one of an action's eight resource types where a call names one "
        "(duo-labs/parliament#48). The router invokes only these foundation models and inference profiles.",
        ("arn:aws:bedrock:*::foundation-model/*", "arn:aws:bedrock:*:*:inference-profile/*"),
    ),
    ("billing:GetBillingViewData", "UNKNOWN_ACTION"): Exclusion(
        "Parliament's database predates the action (Billing View, 2024): AWS's AWS::Budgets::Budget "
        "resource schema (cfn-lint's copy) lists it among the create, read and update handler permissions, "
        "and AWS's managed policy AWSBillingServiceRolePolicy grants it on billingview ARNs.",
        ("*",),
    ),
    ("codestar-connections:UseConnection", "RESOURCE_MISMATCH"): Exclusion(
        "Not parliament's error, and not the kit's statement: CDK's CodeStarConnectionsSourceAction always "
        "grants codestar-connections:UseConnection, which takes codestar-connections connection ARNs only "
        "(list_awscodestarconnections), while the connection is a codeconnections one, and IAM needs the "
        "action's prefix to match the resource's (dtconsole/latest/userguide/security-iam). So the kit "
        "grants codeconnections:UseConnection on it too (stacks/delivery/pipeline_stack.py "
        "_allow_connection); CDK's grant stays, and applies to connections under the old prefix.",
        ("arn:aws:codeconnections:*:*:connection/*",),
    ),
}


class Finding(NamedTuple):
    where: str
    issue: str
    action: str | None  # as written in the statement (a wildcard stays one finding)
    resources: tuple[str, ...]
    detail: str

    @property
    def excluded(self) -> bool:
        exclusion = EXCLUSIONS.get((self.action, self.issue))
        return (
            exclusion is not None
            and bool(self.resources)
            and all(
                any(fnmatchcase(resource, pattern) for pattern in exclusion.resources)
                for resource in self.resources
            )
        )


def _as_list(value: Any) -> list:
    return value if isinstance(value, list) else [value]


def _expanded(action: str) -> set[str]:
    return {f"{a['service']}:{a['action']}" for a in parliament.expand_action(action, raise_exceptions=False)}


def _statement_findings(statement: dict, raised: list, where: str) -> Iterator[Finding]:
    """One statement's findings, per action as written (see the module's note on wildcards)."""
    resources = tuple(_as_list(statement.get("Resource", [])))
    mismatched: dict[str, list[str]] = {}  # expanded action → the resource formats none of resources match
    lacking: dict[str, set[str]] = {}  # condition key → expanded actions that cannot carry it
    for finding in raised:
        if finding.issue == "RESOURCE_MISMATCH":
            for entry in finding.detail:
                mismatched.setdefault(entry["action"], []).append(entry["required_format"])
        elif finding.issue == "UNKNOWN_CONDITION_FOR_ACTION":
            key, action = re.fullmatch(r"Unknown condition (\S+) for action (\S+)", finding.detail).groups()
            lacking.setdefault(key, set()).add(action)
        else:  # an unknown action or prefix is located at the action as written
            action = finding.location.get("string") if finding.issue in UNKNOWN_ACTION_ISSUES else None
            yield Finding(where, finding.issue, action, resources, str(finding.detail))
    for action in _as_list(statement.get("Action", [])):
        expanded = _expanded(action)
        if expanded and expanded <= mismatched.keys():
            formats = sorted({f for a in expanded for f in mismatched[a]})
            yield Finding(where, "RESOURCE_MISMATCH", action, resources, f"no resource matches {formats}")
        for key, actions in lacking.items():
            if expanded and expanded <= actions:
                yield Finding(where, "UNKNOWN_CONDITION_FOR_ACTION", action, resources, f"cannot carry {key}")


def _analyze(document: dict):
    return parliament.analyze_policy_string(json.dumps(document), ignore_private_auditors=True)


def _findings(analyzed, document: dict, where: str) -> list[Finding]:
    in_statements = {id(f) for statement in analyzed.statements for f in statement.findings}
    findings = [
        Finding(where, f.issue, None, (), str(f.detail))
        for f in analyzed.findings
        if id(f) not in in_statements
    ]
    statements = _as_list(document["Statement"])
    for index, (statement, analyzed_statement) in enumerate(
        zip(statements, analyzed.statements, strict=True)
    ):
        findings += _statement_findings(statement, analyzed_statement.findings, f"{where} #{index}")
    return [finding for finding in findings if finding.issue not in IGNORED_ISSUES]


def lint(document: dict, where: str) -> list[Finding]:
    """The counted findings of one policy document (excluded ones included: see Finding.excluded)."""
    return _findings(_analyze(document), document, where)


class Linted(NamedTuple):
    """One group's figures: its policies and statements, parliament's raw findings and the counted ones."""

    policies: int
    statements: int
    raw: int
    findings: list[Finding]


def lint_documents(documents: dict[str, dict]) -> Linted:
    """Lint ``documents`` (where → policy document)."""
    findings, raw = [], 0
    for where, document in documents.items():
        analyzed = _analyze(document)
        raw += len(analyzed.findings)
        findings += _findings(analyzed, document, where)
    statements = sum(len(_as_list(d["Statement"])) for d in documents.values())
    return Linted(len(documents), statements, raw, findings)


# --- What is linted: each group's policy documents by where they sit ---------------------------------

# The shipped configs (not the delivery file) and the configs test_checks synthesizes.
CONFIGS = {
    **{path.stem: (lambda path=path: load_config(path)) for path in sorted(CONFIG_DIR.glob("*.yaml"))},
    **CHECKED_CONFIGS,
}
CONFIGS.pop(DELIVERY_PATH.stem)


def stage_documents(templates: dict[str, dict], *, region: str, account: str | None) -> dict[str, dict]:
    return {
        f"{p.stack}/{p.logical_id}/{p.name}": p.document
        for p in identity_policies(templates, region=region, account=account or ACCOUNT)
    }


def config_documents(config: MlKitConfig) -> dict[str, dict]:
    return stage_documents(synthesize(config).raw, region=config.region, account=config.account)


def delivery_documents(app: DeliverySynthesized) -> dict[str, dict]:
    """The pipeline's and OIDC stacks (by the account and region each deploys to), and each stage's."""
    by_environment: dict[tuple[str, str], dict[str, dict]] = {}
    for artifact_id, artifact in app.manifest()["artifacts"].items():
        if artifact["type"] == "aws:cloudformation:stack":
            account, region = artifact["environment"].removeprefix("aws://").split("/")
            name = artifact["properties"].get("stackName", artifact_id)
            by_environment.setdefault((account, region), {})[name] = app.raw[name]
    documents = {}
    for (account, region), templates in by_environment.items():
        documents |= stage_documents(templates, region=region, account=account)
    for environment in load_delivery(DELIVERY_PATH).environments:
        stage = app.stages[environment.name]
        documents |= stage_documents(stage, region=environment.region, account=environment.account)
    return documents


def execution_policy_documents() -> dict[str, dict]:
    """The policy each delivered environment's account gets, and the tooling account's."""
    delivery = load_delivery(DELIVERY_PATH)
    tooling = delivery.settings.pipeline.tooling
    documents = {
        f"execution policy {e.name} {e.account}/{e.region}": execution_policy(e.account, e.region)
        for e in delivery.environments
    }
    documents[f"tooling execution policy {tooling.account}/{tooling.region}"] = execution_policy(
        tooling.account, tooling.region, tooling=True
    )
    return documents


def catalogue_config() -> MlKitConfig:
    """test_catalog_scale's 200-model catalogue (imported when used: that module imports the whole kit)."""
    from tests.stacks.test_catalog_scale import MODELS

    return config_from(catalog(MODELS))


def groups(delivery_app: DeliverySynthesized) -> dict[str, Callable[[], dict[str, dict]]]:
    """Every group linted, by name: each config, the catalogue, the delivery app, the execution policies."""
    return {
        **{name: (lambda load=load: config_documents(load())) for name, load in CONFIGS.items()},
        "catalogue": lambda: config_documents(catalogue_config()),
        "delivery": lambda: delivery_documents(delivery_app),
        "execution-policies": execution_policy_documents,
    }


_LINTED: dict[str, Linted] = {}


def linted_group(name: str, documents: Callable[[], dict[str, dict]]) -> Linted:
    """A group's lint, once per process: the stale-exclusion test reads every group again."""
    if name not in _LINTED:
        _LINTED[name] = lint_documents(documents())
    return _LINTED[name]


def left(linted: Linted) -> list[str]:
    return [f"{f.where}: {f.issue} {f.action} {f.detail}" for f in linted.findings if not f.excluded]


# --- The kit's policies pass ---------------------------------------------------------------------------


@pytest.mark.parametrize("name", list(CONFIGS))
def test_config_policies_pass_the_linter(name):
    linted = linted_group(name, lambda: config_documents(CONFIGS[name]()))
    assert linted.statements > 0
    assert left(linted) == []


@pytest.mark.xdist_group("catalog")  # test_catalog_scale's worker: its 200-model synth is shared
def test_catalogue_policies_pass_the_linter():
    linted = linted_group("catalogue", lambda: config_documents(catalogue_config()))
    assert linted.policies > len(catalogue_config().models)
    assert left(linted) == []


def test_delivery_app_policies_pass_the_linter(delivery_app):
    documents = delivery_documents(delivery_app)
    linted = linted_group("delivery", lambda: documents)
    stacks = {where.split("/")[0] for where in documents}
    assert {names.DELIVERY_STACK, names.oidc_stack_name("prod"), names.api_stack_name("prod")} <= stacks
    assert left(linted) == []


def test_execution_policies_pass_the_linter():
    linted = linted_group("execution-policies", execution_policy_documents)
    assert linted.policies == len(load_delivery(DELIVERY_PATH).environments) + 1
    assert left(linted) == []


@pytest.mark.xdist_group("catalog")
def test_every_exclusion_still_matches_a_finding(delivery_app):
    excluded = {
        (f.action, f.issue)
        for name, documents in groups(delivery_app).items()
        for f in linted_group(name, documents).findings
        if f.excluded
    }
    assert sorted(set(EXCLUSIONS) - excluded) == []


# --- The linter catches real mistakes --------------------------------------------------------------------

KEY = "arn:aws:kms:us-east-1:111111111111:key/1234abcd-12ab-34cd-56ef-1234567890ab"
BUCKET = "arn:aws:s3:::mlkit-dev-data"
MODEL = "arn:aws:bedrock:us-east-1::foundation-model/anthropic.claude-3-haiku-20240307-v1:0"
# The statement sagemaker_key_grants made before: DescribeKey requests never carry the key.
DEAD_DESCRIBE_KEY = {
    "Effect": "Allow",
    "Action": ["kms:CreateGrant", "kms:DescribeKey"],
    "Resource": KEY,
    "Condition": {"Bool": {"kms:GrantIsForAWSResource": "true"}},
}


def allow(actions: str | list[str], resources: str | list[str]) -> dict:
    return {"Effect": "Allow", "Action": actions, "Resource": resources}


def findings_left(*statements: dict) -> list[tuple[str | None, str]]:
    document = {"Version": "2012-10-17", "Statement": list(statements)}
    return [(f.action, f.issue) for f in lint(document, "probe") if not f.excluded]


def test_linter_catches_a_condition_key_the_action_cannot_carry():
    assert findings_left(DEAD_DESCRIBE_KEY) == [("kms:DescribeKey", "UNKNOWN_CONDITION_FOR_ACTION")]
    assert findings_left({**DEAD_DESCRIBE_KEY, "Action": "kms:CreateGrant"}) == []


def test_linter_catches_an_action_on_a_resource_type_it_does_not_take():
    assert findings_left(allow("s3:GetObject", BUCKET)) == [("s3:GetObject", "RESOURCE_MISMATCH")]
    assert findings_left(allow("kms:Decrypt", f"{BUCKET}/*")) == [("kms:Decrypt", "RESOURCE_MISMATCH")]
    assert findings_left(allow("s3:GetObject", f"{BUCKET}/*"), allow("kms:Decrypt", KEY)) == []


def test_linter_catches_unknown_actions_and_prefixes():
    wrong = ["sagemaker:InvokeEndpoints", "sagemakr:InvokeEndpoint"]
    assert findings_left(allow(wrong, "*")) == [
        ("sagemaker:InvokeEndpoints", "UNKNOWN_ACTION"),
        ("sagemakr:InvokeEndpoint", "UNKNOWN_PREFIX"),
    ]


def test_a_wildcard_is_a_finding_only_when_no_expansion_takes_the_resources():
    assert findings_left(allow(["s3:List*", "s3:GetObject*"], [BUCKET, f"{BUCKET}/*"])) == []
    assert findings_left(allow("s3:GetObject*", KEY)) == [("s3:GetObject*", "RESOURCE_MISMATCH")]


def test_an_exclusion_covers_only_the_resources_it_names():
    (finding,) = lint({"Version": "2012-10-17", "Statement": [allow("bedrock:InvokeModel", MODEL)]}, "probe")
    assert (finding.action, finding.issue, finding.excluded) == (
        "bedrock:InvokeModel",
        "RESOURCE_MISMATCH",
        True,
    )
    on_a_bucket = allow("bedrock:InvokeModel", [MODEL, f"{BUCKET}/*"])
    assert findings_left(on_a_bucket) == [("bedrock:InvokeModel", "RESOURCE_MISMATCH")]


def main() -> int:
    """Print each group's figures; exit 1 when a finding is left."""
    columns = ("group", "policies", "statements", "parliament", "counted", "excluded", "left")
    print("{:<22}{:>9}{:>11}{:>11}{:>8}{:>9}{:>6}".format(*columns))
    totals = [0] * 6
    for name, documents in groups(synthesize_delivery(DELIVERY_PATH)).items():
        linted = lint_documents(documents())
        excluded = sum(f.excluded for f in linted.findings)
        row = [
            linted.policies,
            linted.statements,
            linted.raw,
            len(linted.findings),
            excluded,
            len(left(linted)),
        ]
        totals = [total + value for total, value in zip(totals, row, strict=True)]
        print("{:<22}{:>9}{:>11}{:>11}{:>8}{:>9}{:>6}".format(name, *row))
        print("".join(f"  {line}\n" for line in left(linted)), end="")
    print("{:<22}{:>9}{:>11}{:>11}{:>8}{:>9}{:>6}".format("total", *totals))
    return 1 if totals[-1] else 0


if __name__ == "__main__":
    sys.exit(main())
