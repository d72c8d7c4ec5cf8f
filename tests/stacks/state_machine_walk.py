"""A small interpreter for the Amazon States Language (JSONPath) states mlkit generates.

It runs a synthesized definition state by state: Pass, Choice, Wait (no sleeping), Task (answers
come from a test's ``call(resource, parameters)``, errors from raising TaskFailed), Map, Fail and
Succeed, with InputPath, Parameters/ItemSelector, ResultSelector, ResultPath, OutputPath, Retry
and Catch, and the intrinsic functions the definitions use; a JSONata Choice's conditions in the subset of
tests/stacks/jsonata_subset.py. Anything else raises
NotImplementedError, so a state it does not understand can never pass silently.

A ``.sync`` job is one Task to it: ``call`` returns the job's final Describe answer, or raises
TaskFailed("States.TaskFailed", <that answer as JSON>) for a job that ended Failed or Stopped, as
Step Functions does. Its own tests are tests/stacks/test_state_machine_walk.py.
"""

import copy
import json
import re
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from tests.stacks import jsonata_subset
from tests.stacks.synth import render_tokens


class TaskFailed(Exception):
    """A task's error, as Step Functions names it (e.g. ``SageMaker.ValidationException``)."""

    def __init__(self, error: str, cause: str = ""):
        super().__init__(f"{error}: {cause}")
        self.error, self.cause = error, cause


@dataclass
class Walk:
    visited: list[str] = field(default_factory=list)
    calls: list[tuple[str, dict]] = field(default_factory=list)
    outcome: str = ""
    error: str | None = None
    cause: str | None = None
    output: Any = None

    def called(self, resource_part: str) -> list[dict]:
        return [params for resource, params in self.calls if resource_part in resource]


def render_definition(template: dict) -> dict:
    """The state machine of a template; tokens become ``<LogicalId>``, ``<LogicalId.Attr>``, ``<Export>``."""
    (machine,) = [
        r for r in template["Resources"].values() if r["Type"] == "AWS::StepFunctions::StateMachine"
    ]
    return json.loads(render_tokens(machine["Properties"]["DefinitionString"]))


# ---- paths ------------------------------------------------------------------------------

# A name, an index, or an equality filter on a field: [?(@.Name == 'literal')].
_STEP = re.compile(r"\.([A-Za-z0-9_\-]+)|\[(\d+)\]|\[\?\(@\.([A-Za-z0-9_]+) == '([^']*)'\)\]")


def _steps(path: str) -> tuple[bool, list[tuple[str, str, str, str]]]:
    """(on the context object?, the path's steps); a path it cannot read raises before any lookup."""
    from_context = path.startswith("$$")
    rest = path[2:] if from_context else path[1:]
    if not path.startswith("$"):
        raise NotImplementedError(f"path syntax {path!r}")
    steps = [match.groups("") for match in _STEP.finditer(rest)]
    if "".join(match.group(0) for match in _STEP.finditer(rest)) != rest:
        raise NotImplementedError(f"path syntax {path!r}")
    return from_context, steps


def get_path(data: Any, path: str, context: dict) -> Any:
    """A path's value. After a filter the value is the list of matches (each later step maps over it)."""
    from_context, steps = _steps(path)
    values, many = [context if from_context else data], False
    for name, index, field_name, literal in steps:
        if field_name:
            values = [item for value in values for item in value if item.get(field_name) == literal]
            many = True
            continue
        found = []
        for value in values:
            try:
                found.append(value[name] if name else value[int(index)])
            except (KeyError, IndexError, TypeError) as err:
                if not many:
                    raise TaskFailed("States.Runtime", f"{path} is not present") from err
        values = found
    return values if many else values[0]


def set_path(data: Any, path: str | None, value: Any) -> Any:
    """ResultPath: ``$`` replaces, ``$.a.b`` sets (creating objects), None discards the result."""
    if path is None:
        return data
    if path == "$":
        return value
    if not re.fullmatch(r"\$(\.[A-Za-z0-9_\-]+)+", path):
        raise NotImplementedError(f"ResultPath syntax {path!r}")
    data = copy.deepcopy(data)
    target = data
    names = path[2:].split(".")
    for name in names[:-1]:
        target = target.setdefault(name, {}) if isinstance(target, dict) else None
    if not isinstance(target, dict):
        raise TaskFailed("States.Runtime", f"ResultPath {path} needs an object to set in")
    target[names[-1]] = value
    return data


def is_present(data: Any, path: str, context: dict) -> bool:
    try:
        get_path(data, path, context)
        return True
    except TaskFailed:
        return False


# ---- intrinsic functions ----------------------------------------------------------------

_TOKENS = re.compile(
    r"\s*(?:(States\.\w+)|('(?:\\.|[^'\\])*')|(-?\d+(?:\.\d+)?|true|false|null)|(\$\$?[^,)\s]*)|([(),]))"
)


def evaluate(expression: str, data: Any, context: dict) -> Any:
    """A ``.$`` value: a path, or an intrinsic function call (nested calls allowed)."""
    if expression.startswith("$"):
        return get_path(data, expression, context)
    if not expression.startswith("States."):
        raise NotImplementedError(f"neither a path nor an intrinsic function: {expression!r}")
    tokens = [next(t for t in match.groups() if t is not None) for match in _TOKENS.finditer(expression)]
    value, rest = _call(tokens, data, context)
    assert not rest, f"trailing tokens in {expression!r}"
    return value


def _call(tokens: list[str], data: Any, context: dict) -> tuple[Any, list[str]]:
    head, rest = tokens[0], tokens[1:]
    if head.startswith("'"):
        return re.sub(r"\\(.)", r"\1", head[1:-1]), rest
    if head[0].isdigit() or head[0] == "-" or head in ("true", "false", "null"):
        return json.loads(head), rest
    if head.startswith("$"):
        return get_path(data, head, context), rest
    if head not in INTRINSICS:
        raise NotImplementedError(f"intrinsic function {head}")
    assert rest[0] == "(", f"expected ( after {head}"
    rest, args = rest[1:], []
    while rest[0] != ")":
        arg, rest = _call(rest, data, context)
        args.append(arg)
        rest = rest[1:] if rest[0] == "," else rest
    return INTRINSICS[head](*args), rest[1:]


def _format(template: str, *args: Any) -> str:
    parts = template.split("{}")
    assert len(parts) == len(args) + 1, f"{template!r} takes {len(parts) - 1} arguments"
    if any(isinstance(arg, dict | list) for arg in args):
        raise TaskFailed("States.Runtime", "States.Format takes strings, numbers, booleans and null only")
    shown = [arg if isinstance(arg, str) else json.dumps(arg) for arg in args]
    return "".join(part + (shown[i] if i < len(shown) else "") for i, part in enumerate(parts))


def _json_merge(left: dict, right: dict, deep: bool) -> dict:
    if deep is not False:
        raise NotImplementedError("States.JsonMerge with a deep merge")
    return {**left, **right}


def _string_to_json(text: str) -> Any:
    try:
        return json.loads(text)
    except json.JSONDecodeError as err:
        raise TaskFailed("States.Runtime", f"States.StringToJson: {text[:80]!r} is not JSON") from err


INTRINSICS: dict[str, Callable] = {
    "States.Format": _format,
    "States.StringSplit": lambda text, separator: text.split(separator),
    "States.ArrayGetItem": lambda array, index: array[index],
    "States.ArrayLength": len,
    "States.MathAdd": lambda a, b: a + b,
    "States.UUID": lambda: str(uuid.uuid4()),
    "States.JsonMerge": _json_merge,
    "States.StringToJson": _string_to_json,
    "States.JsonToString": lambda value: json.dumps(value, separators=(",", ":")),
}


def resolve(template: Any, data: Any, context: dict) -> Any:
    """Parameters, ItemSelector, ResultSelector: ``key.$`` values are evaluated."""
    if isinstance(template, dict):
        resolved = {}
        for key, value in template.items():
            if key.endswith(".$"):
                resolved[key[:-2]] = evaluate(value, data, context)
            else:
                resolved[key] = resolve(value, data, context)
        return resolved
    if isinstance(template, list):
        return [resolve(item, data, context) for item in template]
    return template


# ---- Choice rules -----------------------------------------------------------------------


def _matches(text: str, pattern: str) -> bool:
    if "\\" in pattern:
        raise NotImplementedError(f"StringMatches escapes in {pattern!r}")
    regex = "".join(".*" if part == "*" else re.escape(part) for part in re.split(r"(\*)", pattern))
    return re.fullmatch(regex, text, re.DOTALL) is not None


_COMPARISONS = {
    "StringEquals": lambda a, b: a == b,
    "StringMatches": _matches,
    "NumericEquals": lambda a, b: a == b,
    "NumericGreaterThan": lambda a, b: a > b,
    "NumericGreaterThanEquals": lambda a, b: a >= b,
    "NumericLessThan": lambda a, b: a < b,
    "NumericLessThanEquals": lambda a, b: a <= b,
    "BooleanEquals": lambda a, b: a is b,
}


def rule_holds(rule: dict, data: Any, context: dict) -> bool:
    if "And" in rule:
        return all(rule_holds(r, data, context) for r in rule["And"])
    if "Or" in rule:
        return any(rule_holds(r, data, context) for r in rule["Or"])
    if "Not" in rule:
        return not rule_holds(rule["Not"], data, context)
    if "IsPresent" in rule:
        return is_present(data, rule["Variable"], context) is rule["IsPresent"]
    (operator,) = [key for key in rule if key not in ("Variable", "Next")]
    value = get_path(data, rule["Variable"], context)  # a missing variable is a runtime error
    expected = rule[operator]
    if operator.endswith("Path"):
        operator, expected = operator[:-4], get_path(data, expected, context)
    if operator not in _COMPARISONS:
        raise NotImplementedError(f"Choice operator {operator}")
    return _COMPARISONS[operator](value, expected)


# ---- running ----------------------------------------------------------------------------

Call = Callable[[str, dict], Any]


def run(definition: dict, data: Any, call: Call, *, execution: str = "run-1", max_steps: int = 20000) -> Walk:
    walk = Walk()
    context = {"Execution": {"Name": execution, "Input": copy.deepcopy(data)}}
    _run_graph(definition, data, call, context, walk, max_steps)
    return walk


def _run_graph(graph: dict, data: Any, call: Call, context: dict, walk: Walk, max_steps: int) -> Any:
    name = graph["StartAt"]
    for _ in range(max_steps):
        state = graph["States"][name]
        walk.visited.append(name)
        kind = state["Type"]
        if kind == "Fail":
            walk.outcome, walk.error = "Fail", state.get("Error")
            walk.cause = (
                evaluate(state["CausePath"], data, context) if "CausePath" in state else state.get("Cause")
            )
            return None
        if kind == "Succeed":
            walk.outcome, walk.output = "Succeed", data
            return data
        try:
            if kind == "Choice":
                name = _choose(state, data, context)
                continue
            data = _step(state, data, call, context, walk, max_steps)
        except TaskFailed as err:
            catcher = next((c for c in state.get("Catch", []) if _handles(c, err)), None)
            if catcher is None:
                walk.outcome, walk.error, walk.cause = "Fail", err.error, err.cause
                return None
            data = set_path(data, catcher.get("ResultPath", "$"), {"Error": err.error, "Cause": err.cause})
            name = catcher["Next"]
            continue
        if state.get("End"):
            walk.outcome, walk.output = walk.outcome or "End", data
            return data
        name = state["Next"]
    raise AssertionError(f"no end after {max_steps} states")


def _jsonata_holds(rule: dict, data: Any) -> bool:
    """A JSONata Choice rule: its Condition (tests/stacks/jsonata_subset.py) must give a boolean."""
    extra = set(rule) - {"Condition", "Next"}
    if extra:
        raise NotImplementedError(f"JSONata Choice rule fields {sorted(extra)}")
    try:
        holds = jsonata_subset.evaluate(rule["Condition"], data)
    except jsonata_subset.QueryError as err:
        raise TaskFailed(jsonata_subset.QUERY_ERROR, str(err)) from err
    if not isinstance(holds, bool):
        raise TaskFailed(jsonata_subset.QUERY_ERROR, f"the Condition gave {holds!r}, not a boolean")
    return holds


def _choose(state: dict, data: Any, context: dict) -> str:
    jsonata = state.get("QueryLanguage", "JSONPath") == "JSONata"
    if jsonata and set(state) - {"Type", "QueryLanguage", "Choices", "Default", "Comment"}:
        raise NotImplementedError("a JSONata Choice with Output or Assign")  # its output is its input

    def holds(rule: dict) -> bool:
        return _jsonata_holds(rule, data) if jsonata else rule_holds(rule, data, context)

    name = next((rule["Next"] for rule in state["Choices"] if holds(rule)), state.get("Default"))
    assert name, "no Choice rule matched and no Default"
    return name


def _handles(rule: dict, err: TaskFailed) -> bool:
    """Whether a Retry or Catch rule takes ``err``; none takes States.Runtime, which always fails a run."""
    if err.error == "States.Runtime":
        return False
    return err.error in rule["ErrorEquals"] or "States.ALL" in rule["ErrorEquals"]


def _step(state: dict, data: Any, call: Call, context: dict, walk: Walk, max_steps: int) -> Any:
    """One Pass, Wait, Task or Map state: its input and output processing around the work."""
    kind = state["Type"]
    if state.get("QueryLanguage", "JSONPath") != "JSONPath":
        raise NotImplementedError(f"a {kind} state in {state['QueryLanguage']}: only Choice states are read")
    effective = get_path(data, state["InputPath"], context) if "InputPath" in state else data
    if kind == "Wait":
        result = effective
    elif kind == "Pass":
        result = resolve(state["Parameters"], effective, context) if "Parameters" in state else effective
        result = copy.deepcopy(state["Result"]) if "Result" in state else result
    elif kind == "Task":
        parameters = resolve(state.get("Parameters", {}), effective, context)
        result = _task(state, parameters, call, walk)
    elif kind == "Map":
        result = _map(state, effective, call, context, walk, max_steps)
    else:
        raise NotImplementedError(f"state type {kind}")
    if "ResultSelector" in state:
        result = resolve(state["ResultSelector"], result, context)
    if kind != "Wait":  # a Wait passes its input on
        data = set_path(data, state.get("ResultPath", "$"), result)
    return get_path(data, state["OutputPath"], context) if "OutputPath" in state else data


def _task(state: dict, parameters: dict, call: Call, walk: Walk) -> Any:
    attempts = 0
    while True:
        walk.calls.append((state["Resource"], copy.deepcopy(parameters)))
        try:
            return call(state["Resource"], parameters)
        except TaskFailed as err:
            rule = next((rule for rule in state.get("Retry", []) if _handles(rule, err)), {"MaxAttempts": 0})
            attempts += 1
            if attempts > rule.get("MaxAttempts", 3):
                raise


def _map(state: dict, effective: Any, call: Call, context: dict, walk: Walk, max_steps: int) -> list:
    items = get_path(effective, state.get("ItemsPath", "$"), context)
    processor = state.get("ItemProcessor") or state["Iterator"]
    results = []
    for index, value in enumerate(items):
        item_context = {**context, "Map": {"Item": {"Index": index, "Value": value}}}
        item = resolve(state["ItemSelector"], effective, item_context) if "ItemSelector" in state else value
        inner = Walk()
        output = _run_graph(processor, item, call, item_context, inner, max_steps)
        walk.visited.extend(inner.visited)
        walk.calls.extend(inner.calls)
        if inner.outcome == "Fail":
            raise TaskFailed(inner.error or "States.TaskFailed", inner.cause or "")
        results.append(output)
    return results
