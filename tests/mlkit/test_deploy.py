"""make deploy (mlkit.deploy) against a stand-in CDK CLI: one question for every security-sensitive change,
then `cdk deploy` at the config's concurrency with each progress line naming its wave."""

import io
from pathlib import Path

import pytest

from mlkit import deploy
from stacks.config import load_config
from stacks.config.loader import CONFIG_DIR
from tests.mlkit.fake_cdk import calls, fake_cdk_environment, write_assembly

DEV = load_config(CONFIG_DIR / "dev.yaml")
STACKS = {"mlkit-dev-data": [], "mlkit-dev-chat": ["mlkit-dev-data"], "mlkit-dev-api": ["mlkit-dev-chat"]}
PROGRESS = "dev/Data (mlkit-dev-data): deploying... [1/3]\nbuilding assets\n✅  dev/Api (mlkit-dev-api)\n"


@pytest.fixture
def cli(tmp_path, monkeypatch):
    """The fake CLI on PATH (diff: changes that broaden access), and an assembly of three chained stacks."""

    def install(diff_status: int = 1, diff_error: str = "") -> dict[str, str]:
        environment = fake_cdk_environment(
            tmp_path, output=PROGRESS, diff_status=diff_status, diff_error=diff_error
        )
        for name, value in environment.items():
            monkeypatch.setenv(name, value)
        return environment

    write_assembly(tmp_path / "cdk.out", "dev", STACKS)
    monkeypatch.chdir(tmp_path)
    return install


def test_confirmed_changes_deploy_the_configs_concurrency_with_each_wave_named(cli, capsys):
    environment = cli(diff_status=1)
    assert deploy.main(["--env", "dev", "--assembly", "cdk.out", "--yes"]) == 0
    diff, run = calls(environment)
    assert diff[:3] == ["--no-install", "cdk", "diff"] and "--security-only" in diff
    assert diff[diff.index("--fail-on") + 1] == "broadening" and "dev/*" in diff
    assert run[:3] == ["--no-install", "cdk", "deploy"] and "dev/*" in run
    assert run[run.index("--concurrency") + 1] == str(DEV.deploy.concurrency)
    assert run[run.index("--require-approval") + 1] == "never"  # asked once above, not per stack
    assert capsys.readouterr().out.splitlines() == [
        "IAM Statement Changes",  # the diff, shown before the one question
        "✨  Number of stacks with differences: 3",
        "[wave 1/3] dev/Data (mlkit-dev-data): deploying... [1/3]",
        "building assets",
        "[wave 3/3] ✅  dev/Api (mlkit-dev-api)",
    ]


def test_without_a_terminal_or_yes_changes_that_broaden_access_deploy_nothing(cli, monkeypatch, capsys):
    environment = cli(diff_status=1)
    monkeypatch.setattr("sys.stdin", io.StringIO())  # not a terminal
    assert deploy.main(["--env", "dev", "--assembly", "cdk.out"]) == deploy.REFUSED
    assert [call[2] for call in calls(environment)] == ["diff"]
    assert "then run make deploy ENV=dev YES=1" in capsys.readouterr().err


class Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


@pytest.mark.parametrize(("answer", "deploys"), [("y", True), ("yes\n", True), ("n", False), ("", False)])
def test_the_person_at_the_terminal_answers_once(cli, monkeypatch, answer, deploys):
    cli(diff_status=1)
    monkeypatch.setattr("sys.stdin", Terminal())
    assert deploy.approved(DEV, Path("cdk.out"), yes=False, ask=lambda question: answer) is deploys


def test_nothing_that_broadens_access_asks_nothing(cli, monkeypatch):
    cli(diff_status=0)
    monkeypatch.setattr("sys.stdin", io.StringIO())

    def ask(question):
        raise AssertionError(f"asked {question!r}")

    assert deploy.approved(DEV, Path("cdk.out"), yes=False, ask=ask) is True


@pytest.mark.parametrize("status", [1, 3])
def test_a_diff_that_fails_before_its_summary_deploys_nothing(cli, status, capsys):
    """`cdk diff` exits 1 on an error too (no credentials): only a diff that ran to its summary counts."""
    environment = cli(diff_status=status, diff_error="Need to perform AWS calls, but no credentials")
    assert deploy.main(["--env", "dev", "--assembly", "cdk.out", "--yes"]) == deploy.DIFF_FAILED
    assert f"`cdk diff` exited {status} before its summary: nothing was deployed" in capsys.readouterr().err
    assert [call[2] for call in calls(environment)] == ["diff"]
