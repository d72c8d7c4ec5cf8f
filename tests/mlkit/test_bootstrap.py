"""`make bootstrap`: the exact commands per account, and --run against moto with the bootstrap faked."""

import json

import boto3
import pytest

from mlkit import bootstrap
from stacks import names
from stacks.config import load_delivery
from stacks.config.loader import DELIVERY_PATH

DELIVERY = load_delivery(DELIVERY_PATH)
MOTO_ACCOUNT = "123456789012"


def commands(capsys, env: str) -> list[str]:
    assert bootstrap.main(["--env", env]) == 0
    return [line for line in capsys.readouterr().out.splitlines() if not line.startswith("#")]


def test_an_environment_trusts_the_tooling_account_with_mlkits_execution_policy(capsys):
    create, command = commands(capsys, "dev")
    assert command == (
        "npx --no-install cdk bootstrap aws://111111111111/us-east-1 --trust 444444444444 "
        "--cloudformation-execution-policies arn:aws:iam::111111111111:policy/mlkit-cdk-execution"
    )
    assert "--trust-for-lookup" not in command and "AdministratorAccess" not in command
    assert create == (
        "aws iam create-policy --policy-name mlkit-cdk-execution "
        "--policy-document file://.cache/mlkit-cdk-execution-111111111111.json"
    )
    written = json.loads((bootstrap.CACHE / "mlkit-cdk-execution-111111111111.json").read_text())
    assert written == bootstrap.execution_policy("111111111111", "us-east-1")


def test_tooling_is_bootstrapped_in_every_region_an_environment_uses(capsys):
    _, *bootstraps = commands(capsys, "tooling")
    assert [command.split()[4] for command in bootstraps] == [
        "aws://444444444444/us-east-1",
        "aws://444444444444/eu-west-1",
    ]
    assert not [command for command in bootstraps if "--trust" in command.split()]


def test_an_unknown_environment_names_the_known_ones(capsys):
    with pytest.raises(
        SystemExit, match=r"'qa' is not an environment of delivery.yaml \(dev, staging, prod, tooling\)"
    ):
        bootstrap.main(["--env", "qa"])


def test_run_refuses_credentials_of_another_account(aws, capsys):
    ran = []
    assert bootstrap.run(bootstrap.targets(DELIVERY, "dev"), boto3.Session(), ran.append) == 2
    assert (
        ran == []
        and "your credentials are for account 123456789012, not 111111111111" in capsys.readouterr().err
    )


def test_run_puts_the_policy_then_bootstraps_and_a_second_run_updates_it(aws):
    environment = DELIVERY.environments[0]._replace(
        config=DELIVERY.environments[0].config.model_copy(update={"account": MOTO_ACCOUNT})
    )
    delivery = DELIVERY._replace(environments=(environment,))
    targets = bootstrap.targets(delivery, "dev")
    ran = []
    session = boto3.Session(region_name="us-east-1")
    for _ in range(6):  # more runs than IAM keeps versions: the oldest goes
        assert bootstrap.run(targets, session, lambda command: ran.append(command) or 0) == 0
    arn = names.execution_policy_arn(MOTO_ACCOUNT, "us-east-1")
    iam = session.client("iam")
    versions = iam.list_policy_versions(PolicyArn=arn)["Versions"]
    assert len(versions) == 5 and sum(v["IsDefaultVersion"] for v in versions) == 1
    default = iam.get_policy_version(
        PolicyArn=arn, VersionId=iam.get_policy(PolicyArn=arn)["Policy"]["DefaultVersionId"]
    )
    assert default["PolicyVersion"]["Document"] == targets[0].policy
    assert ran[0] == [
        "npx",
        "--no-install",
        "cdk",
        "bootstrap",
        f"aws://{MOTO_ACCOUNT}/us-east-1",
        "--trust",
        "444444444444",
        "--cloudformation-execution-policies",
        arn,
    ]
