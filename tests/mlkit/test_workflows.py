"""The GitHub workflows: current with config/delivery.yaml, clean under actionlint, and the job graph,
environments, permissions and pins they promise."""

import re
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from mlkit import workflows
from stacks import names
from stacks.config import load_delivery
from stacks.config.environment import DeploySettings
from stacks.config.loader import DELIVERY_PATH

DELIVERY = load_delivery(DELIVERY_PATH)
BIN = Path(sys.executable).parent
ON = True  # PyYAML reads the key `on:` as the boolean True


def actionlint(*paths: Path) -> subprocess.CompletedProcess:
    """actionlint, with the venv's shellcheck checking every run: script."""
    command = [str(BIN / "actionlint"), "-shellcheck", str(BIN / "shellcheck"), *map(str, paths)]
    return subprocess.run(command, cwd=workflows.ROOT, capture_output=True, text=True, timeout=60)


@pytest.fixture(scope="module")
def parsed() -> dict[str, dict]:
    return {path.name: yaml.safe_load(path.read_text()) for path in workflows.WORKFLOWS.glob("*.yml")}


def test_the_committed_workflows_are_what_make_workflows_writes():
    rendered = workflows.render(DELIVERY)
    assert sorted(rendered) == sorted(p.name for p in workflows.WORKFLOWS.glob("*.yml"))
    for name, text in rendered.items():
        assert (workflows.WORKFLOWS / name).read_text() == text, f"{name} is stale: run `make workflows`"


def test_actionlint_passes_on_every_workflow():
    result = actionlint()
    assert result.returncode == 0, result.stdout + result.stderr


BROKEN = """\
on: push
jobs:
  deploy:
    needs: tests
    runs-on: ubuntu-24.04
    steps:
      - run: cp $SOURCE build/
"""


def test_actionlint_is_live_and_runs_shellcheck(tmp_path):
    broken = tmp_path / "broken.yml"
    broken.write_text(BROKEN)
    result = actionlint(broken)
    assert result.returncode == 1
    assert 'job "deploy" needs job "tests" which does not exist' in result.stdout, result.stdout
    assert "shellcheck reported issue" in result.stdout and "SC2086" in result.stdout, result.stdout


def test_pull_requests_test_then_diff_each_environment_read_only(parsed):
    workflow = parsed["pull-request.yml"]
    assert workflow[ON] == {"pull_request": {"branches": [DELIVERY.settings.github.branch]}}
    jobs = workflow["jobs"]
    assert set(jobs) == {"test", "diff"} and jobs["diff"]["needs"] == "test"
    assert jobs["test"]["steps"][-1] == {"run": ".ci/run"}
    assert "head.repo.full_name == github.repository" in jobs["diff"]["if"]  # fork PRs get no token
    matrix = jobs["diff"]["strategy"]["matrix"]["include"]
    assert [(m["environment"], m["role"], m["region"]) for m in matrix] == [
        (e.name, names.role_arn(e.account, e.region, names.github_diff_role(e.name)), e.region)
        for e in DELIVERY.environments
    ]
    (diff,) = [s for s in jobs["diff"]["steps"] if "cdk diff" in s.get("run", "")]
    assert "--no-change-set" in diff["run"] and '>> "$GITHUB_STEP_SUMMARY"' in diff["run"]
    # The cost change, read through each account's CDK lookup role, into the same summary.
    assert '-m mlkit.cost_report --env "$ENVIRONMENT" --assembly cdk.out --against deployed' in diff["run"]
    assert diff["env"]["LOOKUP_ROLE"] == "${{ matrix.lookup }}"
    for entry, environment in zip(matrix, DELIVERY.environments, strict=True):
        lookup = names.bootstrap_role("lookup", environment.account, environment.region)
        assert entry["lookup"] == names.role_arn(environment.account, environment.region, lookup)


def test_pushes_deploy_dev_then_staging_then_prod_each_in_its_github_environment(parsed):
    workflow = parsed["deploy.yml"]
    assert workflow[ON] == {"push": {"branches": [DELIVERY.settings.github.branch]}}
    jobs = workflow["jobs"]
    assert list(jobs) == ["test", "deploy-dev", "deploy-staging", "deploy-prod"]
    assert [jobs[j]["needs"] for j in list(jobs)[1:]] == ["test", "deploy-dev", "deploy-staging"]
    for env in DELIVERY.environments:
        job = jobs[f"deploy-{env.name}"]
        assert job["environment"] == env.name
        (login,) = [s for s in job["steps"] if s.get("uses", "").startswith("aws-actions/")]
        assert login["with"] == {
            "role-to-assume": names.role_arn(env.account, env.region, names.github_deploy_role(env.name)),
            "aws-region": env.region,
        }
        assert job["steps"][-1]["run"].startswith(
            f"npx --no-install cdk deploy -c env={env.name} '{env.name}/*'"
        )
    assert workflow["concurrency"] == {"group": "mlkit-deploy", "cancel-in-progress": False}


def test_only_the_jobs_that_sign_in_to_aws_may_ask_for_an_oidc_token(parsed):
    for name, workflow in parsed.items():
        assert workflow["permissions"] == {"contents": "read"}, name
        for job_name, job in workflow["jobs"].items():
            signs_in = any(s.get("uses", "").startswith("aws-actions/") for s in job["steps"])
            expected = {"contents": "read", "id-token": "write"} if signs_in else None
            assert job.get("permissions") == expected, (name, job_name)


def test_every_action_is_pinned_by_a_full_commit(parsed):
    text = "\n".join(path.read_text() for path in workflows.WORKFLOWS.glob("*.yml"))
    pins = re.findall(r"uses: ([\w.-]+/[\w.-]+)@(\S+) # (v[\d.]+)", text)
    assert len(pins) == text.count("uses: ") > 0
    assert all(re.fullmatch(r"[0-9a-f]{40}", commit) for _, commit, _ in pins), pins


def test_a_branch_subject_leaves_the_jobs_outside_github_environments():
    github = DELIVERY.settings.github.model_copy(update={"deploy_subject": "branch"})
    delivery = DELIVERY._replace(settings=DELIVERY.settings.model_copy(update={"github": github}))
    jobs = yaml.safe_load(workflows.render(delivery)["deploy.yml"])["jobs"]
    assert not [job for job in jobs.values() if "environment" in job]


def test_each_environment_deploys_its_configs_concurrency():
    jobs = yaml.safe_load(workflows.render(DELIVERY)["deploy.yml"])["jobs"]
    for env in DELIVERY.environments:
        command = jobs[f"deploy-{env.name}"]["steps"][-1]["run"].split()
        assert command[command.index("--concurrency") + 1] == str(env.config.deploy.concurrency)
    # A value in one environment's file reaches that environment's job only.
    first, *others = DELIVERY.environments
    faster = first.config.model_copy(update={"deploy": DeploySettings(concurrency=3)})
    delivery = DELIVERY._replace(environments=(first._replace(config=faster), *others))
    rendered = yaml.safe_load(workflows.render(delivery)["deploy.yml"])["jobs"]
    assert f"'{first.name}/*' --concurrency 3 " in rendered[f"deploy-{first.name}"]["steps"][-1]["run"]
    for env in others:
        assert "--concurrency 3 " not in rendered[f"deploy-{env.name}"]["steps"][-1]["run"]
