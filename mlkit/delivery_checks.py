"""`make local`'s delivery rows: the environment's GitHub OIDC stack in the emulator, and the pipeline.

moto's CloudFormation has no AWS::IAM::OIDCProvider, so the run creates the provider through IAM's API and
deploys the emulated variant of mlkit-<env>-oidc, which imports it. moto's STS issues credentials for
AssumeRoleWithWebIdentity whatever the token says, so the trust conditions are read back and compared here,
and STS enforcing them is reported as not emulated (unless this moto refuses a token for another repository).
moto cannot run CodePipeline: the pipeline is reported as not emulated, naming the tests that synthesize and
check it.
"""

import base64
import json
from collections.abc import Callable

from mlkit.checks import stack_outputs
from mlkit.report import NotEmulated, Report, StepFailed
from stacks import names
from stacks.delivery.oidc_stack import DEPLOY_ROLE_KINDS, DIFF_ROLE_KINDS, subjects

SCOPE = "delivery"
HOST = names.GITHUB_OIDC_HOST


def github_token(subject: str) -> str:
    """A token shaped like GitHub's (header.claims.signature), unsigned: the emulator does not verify it."""

    def part(value: dict) -> str:
        return base64.urlsafe_b64encode(json.dumps(value).encode()).decode().rstrip("=")

    claims = {"iss": f"https://{HOST}", "aud": names.STS_AUDIENCE, "sub": subject}
    return f"{part({'alg': 'RS256', 'typ': 'JWT'})}.{part(claims)}.unsigned"


def create_provider(iam) -> str:
    """GitHub's provider in the emulator's account, as the real oidc stack would create it."""
    try:
        return iam.create_open_id_connect_provider(
            Url=f"https://{HOST}", ClientIDList=[names.STS_AUDIENCE], ThumbprintList=["0" * 40]
        )["OpenIDConnectProviderArn"]
    except iam.exceptions.EntityAlreadyExistsException:  # a kept emulator from an earlier run
        return next(p["Arn"] for p in iam.list_open_id_connect_providers()["OpenIDConnectProviderList"])


def role_facts(iam, role_name: str) -> tuple[dict, list[str]]:
    """The role's trust condition and the resources its policies let it assume (and nothing else)."""
    role = iam.get_role(RoleName=role_name)["Role"]
    (statement,) = role["AssumeRolePolicyDocument"]["Statement"]
    if statement["Action"] != "sts:AssumeRoleWithWebIdentity" or "Federated" not in statement["Principal"]:
        raise StepFailed(f"{role_name} does not trust a web identity: {statement}")
    assumable = []
    for policy in iam.list_role_policies(RoleName=role_name)["PolicyNames"]:
        document = iam.get_role_policy(RoleName=role_name, PolicyName=policy)["PolicyDocument"]
        for grant in document["Statement"]:
            if grant["Action"] != "sts:AssumeRole":
                raise StepFailed(f"{role_name} may do more than assume roles: {grant['Action']}")
            assumable += grant["Resource"] if isinstance(grant["Resource"], list) else [grant["Resource"]]
    if iam.list_attached_role_policies(RoleName=role_name)["AttachedPolicies"]:
        raise StepFailed(f"{role_name} has managed policies attached")
    return statement["Condition"], sorted(assumable)


def check_roles(iam, environment, github, account: str, region: str) -> str:
    """The deployed roles trust exactly the configured subjects and may assume only bootstrap roles."""
    wanted = subjects(github, environment)
    details = []
    for kind, role_name, kinds in (
        ("deploy", names.github_deploy_role(environment), DEPLOY_ROLE_KINDS),
        ("diff", names.github_diff_role(environment), DIFF_ROLE_KINDS),
    ):
        condition, assumable = role_facts(iam, role_name)
        expected = {"StringEquals": {f"{HOST}:aud": names.STS_AUDIENCE, f"{HOST}:sub": wanted[kind]}}
        if condition != expected:
            raise StepFailed(f"{role_name} trusts {condition}, not {expected}")
        bootstrap = sorted(
            names.role_arn(account, region, names.bootstrap_role(k, account, region)) for k in kinds
        )
        if assumable != bootstrap:
            raise StepFailed(f"{role_name} may assume {assumable}, not only {bootstrap}")
        details.append(f"{role_name} trusts sub {wanted[kind]} and may assume {', '.join(kinds)} roles only")
    return "; ".join(details)


def assume(sts, role_arn: str, subject: str) -> str:
    """The caller ARN STS gives the credentials it issues for ``subject``'s token."""
    answer = sts.assume_role_with_web_identity(
        RoleArn=role_arn, RoleSessionName="mlkit-local", WebIdentityToken=github_token(subject)
    )
    return answer["AssumedRoleUser"]["Arn"]


def check_oidc(report: Report, clients: Callable, region: str, environment: str, github) -> None:
    """Rows for the deployed oidc stack: its roles, an assumed role, and what STS does not check here."""
    stack = names.oidc_stack_name(environment)
    iam, sts = clients("iam"), clients("sts")
    outputs = {}

    def roles(row) -> None:
        outputs.update(stack_outputs(clients("cloudformation"), stack))
        account = outputs["DeployRoleArn"].split(":")[4]
        row.detail = check_roles(iam, environment, github, account, region)

    _, blocked = report.attempt(SCOPE, "GitHub roles: trust and permissions", None, roles)
    wanted = subjects(github, environment)["deploy"]

    def assumed(row) -> None:
        caller = assume(sts, outputs["DeployRoleArn"], wanted)
        if f":assumed-role/{names.github_deploy_role(environment)}/" not in caller:
            raise StepFailed(f"STS answered {caller} for {outputs['DeployRoleArn']}")
        row.detail = f"AssumeRoleWithWebIdentity with a token for sub {wanted} → {caller}"

    report.attempt(SCOPE, "assume the deploy role with a GitHub token", blocked, assumed)

    def enforced(row) -> None:
        stranger = f"repo:someone/else:environment:{environment}"
        try:
            caller = assume(sts, outputs["DeployRoleArn"], stranger)
        except sts.exceptions.ClientError as error:
            row.detail = f"STS refused a token for {stranger}: {error.response['Error']['Code']}"
            return
        raise NotEmulated(
            f"moto's AssumeRoleWithWebIdentity checks neither the token nor the trust policy (a token for "
            f"{stranger} got {caller}): tests/stacks/test_delivery_oidc.py asserts the exact conditions"
        )

    report.attempt(SCOPE, "STS enforces the trust conditions", blocked, enforced)


def pipeline_row(report: Report, delivery) -> None:
    def not_emulated(row) -> None:
        stages = " → ".join(env.name for env in delivery.environments)
        raise NotEmulated(
            f"{names.DELIVERY_STACK} (stages {stages}) is not deployed here: moto cannot run CodePipeline. "
            "make test synthesizes it with cdk-nag and cfn-lint (tests/stacks/test_checks.py) and asserts "
            "its stages, accounts, approval and artifacts (tests/stacks/test_delivery_pipeline.py)"
        )

    report.attempt(SCOPE, "pipeline", None, not_emulated)


def run_delivery(report: Report, config, clients: Callable, deploy: Callable[[list[str], str], None]) -> None:
    """The delivery rows of `make local` for ``config``'s environment; ``deploy(arguments, log)`` runs
    `cdk deploy`. Skipped, with the reason, when the delivery file does
    not deliver this environment with GitHub Actions."""
    from stacks.config import ConfigError, load_delivery
    from stacks.config.loader import DELIVERY_PATH, display

    environment = config.environment
    try:
        delivery = load_delivery(DELIVERY_PATH)
    except ConfigError as error:
        report.attempt(SCOPE, "delivery", f"{display(DELIVERY_PATH)} is invalid: {error}", lambda row: None)
        return
    github = delivery.settings.github
    if delivery.environment(environment) is None or github is None:
        why = "has no github section" if github is None else f"does not deliver {environment!r}"
        report.attempt(SCOPE, "GitHub OIDC stack", f"{display(DELIVERY_PATH)} {why}", lambda row: None)
        return
    stack = names.oidc_stack_name(environment)

    def deployed(row) -> None:
        provider = create_provider(clients("iam"))
        context = ["-c", f"delivery={display(DELIVERY_PATH)}", "-c", "emulated=true"]
        deploy([stack, "--method=direct", "--require-approval", "never", *context], "cdk-oidc.log")
        row.detail = (
            f"{stack}, importing {provider} (created through IAM: moto's CloudFormation has no OIDC provider)"
        )

    _, blocked = report.attempt(SCOPE, f"cdk deploy {stack}", None, deployed)
    if blocked:
        return
    check_oidc(report, clients, config.region, environment, github)
    if delivery.settings.pipeline:
        pipeline_row(report, delivery)
