"""``deploy:`` settings: the concurrency default, and a value outside CloudFormation's rates refused naming
the file, the key and what is allowed."""

import pytest

from stacks.config import load_config
from stacks.config.environment import DEFAULT_DEPLOY_CONCURRENCY, MAX_DEPLOY_CONCURRENCY
from tests.config.test_config import BASE, problems


def test_concurrency_defaults_and_takes_any_value_in_range(tmp_path):
    path = tmp_path / "env.yaml"
    path.write_text(BASE)
    assert load_config(path).deploy.concurrency == DEFAULT_DEPLOY_CONCURRENCY
    for value in (1, MAX_DEPLOY_CONCURRENCY):
        path.write_text(f"{BASE}deploy: {{concurrency: {value}}}\n")
        assert load_config(path).deploy.concurrency == value


ALLOWED = f"from 1 to {MAX_DEPLOY_CONCURRENCY} stacks at once (above {MAX_DEPLOY_CONCURRENCY}, the CDK CLI's"


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        ("deploy: {concurrency: 0}", f"deploy.concurrency: 0 is not allowed: {ALLOWED}"),
        (
            f"deploy: {{concurrency: {MAX_DEPLOY_CONCURRENCY + 1}}}",
            f"deploy.concurrency: {MAX_DEPLOY_CONCURRENCY + 1} is not allowed: {ALLOWED}",
        ),
        ('deploy: {concurrency: "4"}', "deploy.concurrency: '4' is not allowed: Input should be a valid int"),
        ("deploy: {concurency: 4}", "deploy.concurency: unknown key (did you mean 'concurrency'?)"),
    ],
    ids=["zero", "above-the-rate", "text", "typo"],
)
def test_a_bad_concurrency_names_the_file_key_and_what_is_allowed(tmp_path, body, expected):
    lines = problems(tmp_path, f"{BASE}{body}\n")
    assert any(line.startswith(expected) for line in lines), lines
