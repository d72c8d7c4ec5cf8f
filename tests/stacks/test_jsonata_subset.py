"""The walker's JSONata Choice states (tests/stacks/jsonata_subset.py): what they evaluate, the errors Step
Functions raises for them, and what the subset does not read."""

import pytest

from tests.stacks.state_machine_walk import run
from tests.stacks.test_state_machine_walk import DATA, choice, machine, no_tasks


def jsonata_choice(condition: str) -> dict:
    definition = choice({})
    definition["States"]["Pick"] = {
        "Type": "Choice",
        "QueryLanguage": "JSONata",
        "Choices": [{"Condition": condition, "Next": "Yes"}],
        "Default": "No",
    }
    return definition


@pytest.mark.parametrize(
    ("condition", "holds"),
    [
        ("{% $states.input.n > 2 %}", True),
        ("{% $states.input.n > $number($states.input.text2) + 0.5 %}", False),  # 3 > 2.5 + 0.5
        ("{% $states.input.n >= $number($states.input.text2) + 0.5 %}", True),
        ("{% $states.input.n < $number($states.input.text2) - -1.5 %}", True),
        ("{% ($states.input.n - 1) = 2 %}", True),
        ("{% $states.input.n != 3 %}", False),
        ("{% $states.input.n <= 2.999 %}", False),
    ],
)
def test_jsonata_choice_conditions(condition, holds):
    result = run(jsonata_choice(condition), {**DATA, "text2": "2.5"}, no_tasks)
    assert result.visited == ["Pick", "Yes" if holds else "No"]


@pytest.mark.parametrize(
    "condition",
    [
        "{% $states.input.absent > 1 %}",  # a missing field
        "{% $states.input.n > $number($states.input.s) %}",  # "Completed" is no number
        "{% $states.input.n + 1 %}",  # not a boolean
        "{% $states.input.s + 1 > 0 %}",
    ],
)
def test_a_jsonata_condition_that_cannot_be_evaluated_is_a_query_error(condition):
    result = run(jsonata_choice(condition), DATA, no_tasks)
    assert (result.outcome, result.error) == ("Fail", "States.QueryEvaluationError")


@pytest.mark.parametrize(
    "condition",
    ["{% $max([1]) > 0 %}", "{% $states.input.n > 1 and true %}", "$.n > 1", "{% $states.context.x > 1 %}"],
)
def test_jsonata_beyond_the_subset_raises(condition):
    with pytest.raises(NotImplementedError):
        run(jsonata_choice(condition), DATA, no_tasks)


def test_a_jsonata_state_other_than_a_plain_choice_raises():
    with_output = jsonata_choice("{% $states.input.n > 1 %}")
    with_output["States"]["Pick"]["Output"] = "{% $states.input %}"
    pass_state = machine({"Only": {"Type": "Pass", "QueryLanguage": "JSONata", "End": True}}, start="Only")
    for definition in (with_output, pass_state):
        with pytest.raises(NotImplementedError):
            run(definition, DATA, no_tasks)
