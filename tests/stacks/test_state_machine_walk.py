"""The state machine walker's own tests: each state type, path feature and intrinsic it supports, on
small hand-written definitions, and that what it does not support raises instead of passing.

The Autopilot and tuning tests trust its walks; these pin what a walk means.
"""

import re

import pytest

from tests.stacks.state_machine_walk import TaskFailed, evaluate, get_path, run


def machine(states: dict, start: str | None = None) -> dict:
    return {"StartAt": start or next(iter(states)), "States": states}


def no_tasks(resource: str, parameters: dict):
    raise AssertionError(f"unexpected task {resource}")


class Answers:
    """A task's answers in order; an exception in the list is raised instead of answered."""

    def __init__(self, *answers):
        self.answers = list(answers)

    def __call__(self, resource: str, parameters: dict):
        answer = self.answers.pop(0)
        if isinstance(answer, Exception):
            raise answer
        return answer


# ---- Pass, Succeed, Fail, Wait ------------------------------------------------------------


def test_pass_applies_input_path_parameters_result_path_and_output_path():
    definition = machine(
        {
            "Shape": {
                "Type": "Pass",
                "InputPath": "$.job",
                "Parameters": {"name.$": "$.name", "fixed": 1, "nested": {"count.$": "$.count"}},
                "ResultPath": "$.shaped",
                "OutputPath": "$.shaped",
                "End": True,
            }
        }
    )
    result = run(definition, {"job": {"name": "a", "count": 2}, "other": True}, no_tasks)
    assert result.outcome == "End"
    assert result.output == {"name": "a", "fixed": 1, "nested": {"count": 2}}


def test_pass_result_replaces_and_result_path_creates_objects_and_null_discards():
    definition = machine(
        {
            "Set": {"Type": "Pass", "Result": {"x": 1}, "ResultPath": "$.a.b", "Next": "Drop"},
            "Drop": {"Type": "Pass", "Result": "ignored", "ResultPath": None, "Next": "Done"},
            "Done": {"Type": "Succeed"},
        }
    )
    result = run(definition, {"keep": 0}, no_tasks)
    assert (result.outcome, result.output) == ("Succeed", {"keep": 0, "a": {"b": {"x": 1}}})
    assert result.visited == ["Set", "Drop", "Done"]


def test_pass_without_parameters_passes_its_input_and_result_path_dollar_replaces():
    definition = machine({"Copy": {"Type": "Pass", "ResultPath": "$", "End": True}})
    assert run(definition, {"a": 1}, no_tasks).output == {"a": 1}


def test_a_result_path_into_a_non_object_is_a_runtime_error():
    definition = machine({"Set": {"Type": "Pass", "Result": 1, "ResultPath": "$.a.b", "End": True}})
    result = run(definition, {"a": [1]}, no_tasks)
    assert (result.outcome, result.error) == ("Fail", "States.Runtime")


def test_wait_passes_its_input_on_without_sleeping():
    definition = machine({"Wait": {"Type": "Wait", "Seconds": 86400, "ResultPath": "$.x", "End": True}})
    assert run(definition, {"a": 1}, no_tasks).output == {"a": 1}


def test_fail_reports_error_and_a_static_or_computed_cause():
    static = machine({"Stop": {"Type": "Fail", "Error": "Broken", "Cause": "it broke"}})
    result = run(static, {}, no_tasks)
    assert (result.outcome, result.error, result.cause) == ("Fail", "Broken", "it broke")
    computed = machine(
        {"Stop": {"Type": "Fail", "Error": "Broken", "CausePath": "States.Format('job {} is {}', $.n, $.s)"}}
    )
    assert run(computed, {"n": "j1", "s": "Failed"}, no_tasks).cause == "job j1 is Failed"
    from_path = machine({"Stop": {"Type": "Fail", "Error": "E", "CausePath": "$.why"}})
    assert run(from_path, {"why": "because"}, no_tasks).cause == "because"


# ---- Choice ------------------------------------------------------------------------------


def choice(rule: dict) -> dict:
    return machine(
        {
            "Pick": {"Type": "Choice", "Choices": [{**rule, "Next": "Yes"}], "Default": "No"},
            "Yes": {"Type": "Succeed"},
            "No": {"Type": "Fail", "Error": "No"},
        }
    )


DATA = {"s": "Completed", "n": 3, "b": True, "limit": 3, "text": '{"a": 1}', "list": [1]}


@pytest.mark.parametrize(
    ("rule", "holds"),
    [
        ({"Variable": "$.s", "StringEquals": "Completed"}, True),
        ({"Variable": "$.s", "StringEquals": "Failed"}, False),
        ({"Variable": "$.text", "StringMatches": "{*"}, True),
        ({"Variable": "$.s", "StringMatches": "*ple*"}, True),
        ({"Variable": "$.s", "StringMatches": "ple*"}, False),
        ({"Variable": "$.n", "NumericEquals": 3}, True),
        ({"Variable": "$.n", "NumericGreaterThan": 3}, False),
        ({"Variable": "$.n", "NumericGreaterThanEquals": 3}, True),
        ({"Variable": "$.n", "NumericLessThan": 3}, False),
        ({"Variable": "$.n", "NumericLessThanEquals": 3}, True),
        ({"Variable": "$.n", "NumericGreaterThanEqualsPath": "$.limit"}, True),
        ({"Variable": "$.s", "StringEqualsPath": "$.s"}, True),
        ({"Variable": "$.b", "BooleanEquals": True}, True),
        ({"Variable": "$.b", "BooleanEquals": False}, False),
        ({"Variable": "$.list[0]", "IsPresent": True}, True),
        ({"Variable": "$.list[1]", "IsPresent": True}, False),
        ({"Variable": "$.missing.deep", "IsPresent": False}, True),
        (
            {"And": [{"Variable": "$.b", "BooleanEquals": True}, {"Variable": "$.n", "NumericEquals": 4}]},
            False,
        ),
        (
            {"Or": [{"Variable": "$.b", "BooleanEquals": False}, {"Variable": "$.n", "NumericEquals": 3}]},
            True,
        ),
        ({"Not": {"Variable": "$.s", "StringEquals": "Completed"}}, False),
    ],
)
def test_choice_rules(rule, holds):
    result = run(choice(rule), DATA, no_tasks)
    assert result.visited[-1] == ("Yes" if holds else "No")


def test_choice_takes_the_first_matching_rule_and_needs_a_default_otherwise():
    definition = machine(
        {
            "Pick": {
                "Type": "Choice",
                "Choices": [
                    {"Variable": "$.n", "NumericGreaterThan": 1, "Next": "First"},
                    {"Variable": "$.n", "NumericGreaterThan": 0, "Next": "Second"},
                ],
            },
            "First": {"Type": "Succeed"},
            "Second": {"Type": "Succeed"},
        }
    )
    assert run(definition, {"n": 2}, no_tasks).visited == ["Pick", "First"]
    with pytest.raises(AssertionError, match="no Choice rule matched"):
        run(definition, {"n": 0}, no_tasks)


def test_a_choice_on_a_missing_variable_is_a_runtime_error():
    result = run(choice({"Variable": "$.absent", "StringEquals": "x"}), {}, no_tasks)
    assert (result.outcome, result.error) == ("Fail", "States.Runtime")


# ---- Task: parameters, selectors, Retry, Catch ------------------------------------------


def test_task_gets_resolved_parameters_and_its_answer_goes_through_selector_and_result_path():
    definition = machine(
        {
            "Call": {
                "Type": "Task",
                "Resource": "arn:aws:states:::aws-sdk:svc:doIt",
                "Parameters": {"Name.$": "$.name", "Fixed": "f"},
                "ResultSelector": {"id.$": "$.Id"},
                "ResultPath": "$.call",
                "End": True,
            }
        }
    )
    result = run(definition, {"name": "n1"}, Answers({"Id": 7, "Noise": 0}))
    assert result.output == {"name": "n1", "call": {"id": 7}}
    assert result.calls == [("arn:aws:states:::aws-sdk:svc:doIt", {"Name": "n1", "Fixed": "f"})]
    assert result.called(":doIt") == [{"Name": "n1", "Fixed": "f"}]


def task_with(retry: list | None = None, catch: list | None = None) -> dict:
    task = {"Type": "Task", "Resource": "arn:task", "Next": "Done"}
    if retry is not None:
        task["Retry"] = retry
    if catch is not None:
        task["Catch"] = catch
    return machine(
        {
            "Call": task,
            "Done": {"Type": "Succeed"},
            "Handle": {"Type": "Fail", "Error": "Handled", "CausePath": "$.err.Cause"},
        }
    )


def test_retry_repeats_a_listed_error_up_to_max_attempts():
    definition = task_with(retry=[{"ErrorEquals": ["Busy"], "MaxAttempts": 2}])
    busy = TaskFailed("Busy", "try later")
    assert run(definition, {}, Answers(busy, busy, {"ok": 1})).outcome == "Succeed"
    result = run(definition, {}, Answers(busy, busy, busy))
    assert (result.outcome, result.error, len(result.calls)) == ("Fail", "Busy", 3)
    other = run(definition, {}, Answers(TaskFailed("Other")))
    assert (other.error, len(other.calls)) == ("Other", 1)


def test_catch_routes_an_error_with_its_error_and_cause_at_result_path():
    definition = task_with(
        catch=[{"ErrorEquals": ["States.TaskFailed"], "ResultPath": "$.err", "Next": "Handle"}]
    )
    result = run(definition, {}, Answers(TaskFailed("States.TaskFailed", "job failed")))
    assert (result.visited, result.error, result.cause) == (["Call", "Handle"], "Handled", "job failed")
    uncaught = run(definition, {}, Answers(TaskFailed("SageMaker.ValidationException", "bad")))
    assert (uncaught.outcome, uncaught.error, uncaught.cause) == (
        "Fail",
        "SageMaker.ValidationException",
        "bad",
    )


def test_states_all_catches_any_error_but_never_a_runtime_error():
    definition = task_with(catch=[{"ErrorEquals": ["States.ALL"], "ResultPath": "$.err", "Next": "Handle"}])
    assert run(definition, {}, Answers(TaskFailed("Anything", "x"))).error == "Handled"
    definition["States"]["Call"]["Parameters"] = {"Name.$": "$.absent"}
    result = run(definition, {}, no_tasks)
    assert (result.outcome, result.error) == ("Fail", "States.Runtime")
    retried = task_with(retry=[{"ErrorEquals": ["States.ALL"], "MaxAttempts": 5}])
    retried["States"]["Call"]["Parameters"] = {"Name.$": "$.absent"}
    assert run(retried, {}, no_tasks).calls == []


# ---- Map -------------------------------------------------------------------------------


def test_map_runs_its_processor_per_item_with_the_item_context():
    definition = machine(
        {
            "Each": {
                "Type": "Map",
                "ItemsPath": "$.items",
                "ItemSelector": {
                    "value.$": "$$.Map.Item.Value",
                    "index.$": "$$.Map.Item.Index",
                    "all.$": "$.items",
                },
                "ItemProcessor": machine(
                    {
                        "Double": {
                            "Type": "Pass",
                            "Parameters": {"v.$": "States.MathAdd($.value, $.value)", "i.$": "$.index"},
                            "End": True,
                        }
                    }
                ),
                "ResultPath": "$.doubled",
                "End": True,
            }
        }
    )
    result = run(definition, {"items": [1, 5]}, no_tasks)
    assert result.output["doubled"] == [{"v": 2, "i": 0}, {"v": 10, "i": 1}]
    assert result.visited == ["Each", "Double", "Double"]


def test_a_failing_map_item_fails_the_map_state_where_catch_applies():
    processor = machine({"Stop": {"Type": "Fail", "Error": "ItemBroken", "Cause": "item 0"}})
    definition = machine(
        {
            "Each": {
                "Type": "Map",
                "ItemsPath": "$.items",
                "Iterator": processor,
                "Catch": [{"ErrorEquals": ["ItemBroken"], "ResultPath": "$.err", "Next": "Caught"}],
                "End": True,
            },
            "Caught": {"Type": "Pass", "OutputPath": "$.err", "End": True},
        }
    )
    result = run(definition, {"items": [1]}, no_tasks)
    assert result.output == {"Error": "ItemBroken", "Cause": "item 0"}
    assert result.visited == ["Each", "Stop", "Caught"]


# ---- paths and intrinsics ----------------------------------------------------------------


def test_paths_read_names_indexes_the_context_and_equality_filters():
    data = {
        "metrics": [{"MetricName": "validation:auc", "Value": 0.8}, {"MetricName": "train:auc", "Value": 0.9}]
    }
    assert get_path(data, "$.metrics[1].Value", {}) == 0.9
    assert get_path(data, "$.metrics[?(@.MetricName == 'validation:auc')].Value", {}) == [0.8]
    assert get_path(data, "$.metrics[?(@.MetricName == 'absent')].Value", {}) == []
    assert get_path(data, "$", {}) is data
    assert get_path({}, "$$.Execution.Name", {"Execution": {"Name": "run-1"}}) == "run-1"
    with pytest.raises(TaskFailed, match="is not present") as caught:
        get_path(data, "$.metrics[5]", {})
    assert caught.value.error == "States.Runtime"


@pytest.mark.parametrize(
    ("expression", "expected"),
    [
        ("States.Format('{}-{}', $.a, 3)", "x-3"),
        ("States.Format('{} {}', true, null)", "true null"),
        ("States.StringSplit('a-b-c', '-')", ["a", "b", "c"]),
        ("States.ArrayGetItem($.list, 1)", 20),
        ("States.ArrayLength($.list)", 2),
        ("States.MathAdd($.n, -1)", 2),
        ("States.JsonMerge($.left, $.right, false)", {"k": 2, "l": 1, "r": 3}),
        ("States.StringToJson($.text)", {"a": [1, "b"]}),
        ("States.JsonToString($.right)", '{"k":2,"r":3}'),
        ("States.ArrayGetItem(States.StringSplit('a,b', ','), States.MathAdd(0, 1))", "b"),
    ],
)
def test_intrinsics(expression, expected):
    data = {"a": "x", "list": [10, 20], "n": 3, "left": {"k": 1, "l": 1}, "right": {"k": 2, "r": 3}}
    data["text"] = '{"a": [1, "b"]}'
    assert evaluate(expression, data, {}) == expected


def test_uuid_is_new_on_every_evaluation():
    first, second = (evaluate("States.UUID()", {}, {}) for _ in range(2))
    assert re.fullmatch(r"[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[0-9a-f]{4}-[0-9a-f]{12}", first)
    assert first != second


def test_intrinsic_errors_are_runtime_errors():
    for expression, data in (
        ("States.StringToJson($.text)", {"text": "not json"}),
        ("States.Format('{}', $.obj)", {"obj": {"a": 1}}),
    ):
        with pytest.raises(TaskFailed) as caught:
            evaluate(expression, data, {})
        assert caught.value.error == "States.Runtime"


# ---- what the walker does not support raises ------------------------------------------------


@pytest.mark.parametrize(
    "state",
    [
        {"Type": "Parallel", "Branches": [], "End": True},
        {"Type": "Pass", "Parameters": {"x.$": "States.Hash($.a, 'SHA-256')"}, "End": True},
        {"Type": "Pass", "Parameters": {"x.$": "States.JsonMerge($.a, $.a, true)"}, "End": True},
        {"Type": "Pass", "InputPath": "$..a", "End": True},
        {"Type": "Pass", "InputPath": "$.list[*]", "End": True},
        {"Type": "Pass", "Parameters": {"x.$": "a.b"}, "End": True},
        {"Type": "Pass", "ResultPath": "$.list[0]", "End": True},
        {"Type": "Choice", "Choices": [{"Variable": "$.a", "IsNull": False, "Next": "X"}], "Default": "X"},
        {
            "Type": "Choice",
            "Choices": [{"Variable": "$.a", "StringMatches": "\\*", "Next": "X"}],
            "Default": "X",
        },
    ],
    ids=[
        "parallel",
        "unknown-intrinsic",
        "deep-merge",
        "deep-scan-path",
        "wildcard-path",
        "not-a-path",
        "indexed-result-path",
        "unknown-choice-operator",
        "escaped-match",
    ],
)
def test_unsupported_states_paths_and_intrinsics_raise(state):
    definition = machine({"Only": state, "X": {"Type": "Succeed"}}, start="Only")
    with pytest.raises(NotImplementedError):
        run(definition, {"a": {"a": 1}, "list": [1]}, no_tasks)


def test_a_definition_that_never_ends_is_stopped():
    definition = machine({"Again": {"Type": "Pass", "Next": "Again"}})
    with pytest.raises(AssertionError, match="no end after 50 states"):
        run(definition, {}, no_tasks, max_steps=50)
