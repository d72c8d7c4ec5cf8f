"""State machines checked by implementations the kit did not write.

- LocalStack's Amazon States Language parser and static analyser (bundled in moto) parse every definition
  as its CreateStateMachine does: ``StaticAnalyser``, or ``ExpressStaticAnalyser`` for an EXPRESS machine.
  The folder's other analysers do not apply: ``TestStateStaticAnalyser`` serves the single-state TestState
  API and refuses ``.sync`` by design; ``UsageMetricsStaticAnalyser`` does not import in moto (it needs
  LocalStack's analytics); ``VariableReferencesStaticAnalyser`` lists workflow variables, which JSONPath
  definitions without ``Assign`` do not have.
- The parser accepts a malformed JSONPath, an unclosed intrinsic call and a ``Next`` to a missing state
  (they fail only when run). So each path is compiled by jsonpath-ng (what LocalStack evaluates paths
  with), each intrinsic call by LocalStack's intrinsic grammar with its errors collected, and every
  transition is looked up.
- Every service task's static parameters are validated by botocore against the operation's input shape:
  unknown names, missing required members, wrong types. A ``key.$`` counts as present, its value unknown.
"""

import json
import re
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field

from antlr4 import CommonTokenStream, InputStream
from botocore.validate import ParamValidator
from jsonpath_ng.exceptions import JSONPathError
from jsonpath_ng.ext import parse as compile_json_path
from moto.stepfunctions.parser.asl.antlr.runtime.ASLIntrinsicLexer import ASLIntrinsicLexer
from moto.stepfunctions.parser.asl.antlr.runtime.ASLIntrinsicParser import ASLIntrinsicParser
from moto.stepfunctions.parser.asl.antlr.runtime.ASLIntrinsicParserVisitor import ASLIntrinsicParserVisitor
from moto.stepfunctions.parser.asl.parse.asl_parser import ASLParserException, SyntaxErrorListener
from moto.stepfunctions.parser.asl.parse.intrinsic.preprocessor import Preprocessor as IntrinsicPreprocessor
from moto.stepfunctions.parser.asl.parse.preprocessor import Preprocessor
from moto.stepfunctions.parser.asl.static_analyser.express_static_analyser import ExpressStaticAnalyser
from moto.stepfunctions.parser.asl.static_analyser.static_analyser import StaticAnalyser

from tests.stacks import jsonata_subset
from tests.stacks.asl_integrations import (
    FUNCTION_ARN,
    RUNTIME,
    SERVICE_ARN,
    Integration,
    integration_for,
    service_model,
)
from tests.stacks.asl_machines import Machine


@dataclass
class Outcome:
    """What checking some machines found: findings (one line each) and their tasks by integration."""

    machines: int = 0
    tasks: Counter = field(default_factory=Counter)
    findings: list[str] = field(default_factory=list)

    def add(self, other: "Outcome") -> None:
        self.machines += other.machines
        self.tasks.update(other.tasks)
        self.findings += other.findings


def check_machines(machines: list[Machine]) -> Outcome:
    outcome = Outcome()
    for machine in machines:
        outcome.add(check_machine(machine))
    return outcome


def check_machine(machine: Machine) -> Outcome:
    definition = machine.definition
    problems = analyser_problems(machine) + graph_problems(definition)
    if definition.get("QueryLanguage", "JSONPath") != "JSONPath":
        problems.append("QueryLanguage JSONata: only JSONPath definitions are checked here")
    tasks: Counter = Counter()
    for name, state in states_of(definition):
        if state.get("QueryLanguage", "JSONPath") != "JSONPath":
            problems += [f"state {name!r}: {problem}" for problem in jsonata_problems(state)]
        for where, expression in state_expressions(state):
            if problem := expression_problem(expression):
                problems.append(f"state {name!r}: {where}: {problem}")
        if state["Type"] == "Task":
            label, task_problems = check_task(state)
            tasks[label] += 1
            problems += [f"state {name!r}: {problem}" for problem in task_problems]
    return Outcome(1, tasks, [f"{machine.label}: {problem}" for problem in problems])


def jsonata_problems(state: dict) -> list[str]:
    """A JSONata state is checked only as a Choice whose Conditions the walker reads (LocalStack's parser
    takes any JSONata text): each must parse in tests/stacks/jsonata_subset.py."""
    if state["Type"] != "Choice":
        return [f"QueryLanguage JSONata: only JSONata Choice states are checked here, not {state['Type']}"]
    problems = []
    for index, rule in enumerate(state.get("Choices", [])):
        try:
            jsonata_subset.check(rule.get("Condition", ""))
        except NotImplementedError as err:
            problems.append(f"Choices[{index}].Condition: {err}")
    return problems


# ---- LocalStack's parser and static analyser --------------------------------------------------------------

_ERROR_LINE = re.compile(r"line (\d+):")


def analyser_problems(machine: Machine) -> list[str]:
    analyser = ExpressStaticAnalyser() if machine.express else StaticAnalyser()
    # moto keeps the parser's query-language scopes in a list on the class: a parse that fails inside a
    # JSONata state leaves its scope open, and the next definition's JSONPath Choice is refused ("And").
    Preprocessor._query_language_per_scope.clear()
    try:
        analyser.analyse(machine.text)
    except ASLParserException as err:
        lines = machine.text.splitlines()
        return [f"ASL parser: {error} (at {_line(lines, error)!r})" for error in err.errors]
    except (
        Exception
    ) as err:  # any refusal by the implementation is a finding, as CreateStateMachine's would be
        return [f"ASL parser: {type(err).__name__}: {err}"]
    return []


def _line(lines: list[str], error: str) -> str:
    match = _ERROR_LINE.match(error)
    return lines[int(match.group(1)) - 1].strip() if match else ""


# ---- transitions ------------------------------------------------------------------------------------------


def nested_graphs(state: dict) -> list[dict]:
    """A Map's item processor and a Parallel's branches: graphs with their own StartAt and States."""
    return [state[key] for key in ("ItemProcessor", "Iterator") if key in state] + state.get("Branches", [])


def states_of(graph: dict) -> Iterator[tuple[str, dict]]:
    """Every state of a graph and of the graphs nested in it (state names are unique across a machine)."""
    for name, state in graph["States"].items():
        yield name, state
        for nested in nested_graphs(state):
            yield from states_of(nested)


def transitions(state: dict) -> Iterator[tuple[str, str]]:
    """(field, target) of each transition: Next, Default, a Choice rule's Next, a Catch's Next."""
    for key in ("Next", "Default"):
        if key in state:
            yield key, state[key]
    for index, rule in enumerate(state.get("Choices", [])):
        yield f"Choices[{index}].Next", rule.get("Next")
    for index, catcher in enumerate(state.get("Catch", [])):
        yield f"Catch[{index}].Next", catcher.get("Next")


def graph_problems(graph: dict) -> list[str]:
    """Transitions to states missing from their graph (a Map's states cannot reach the outer graph's)."""
    states = graph.get("States", {})
    problems = [] if graph.get("StartAt") in states else [f"StartAt {graph.get('StartAt')!r} names no state"]
    for name, state in states.items():
        problems += [
            f"state {name!r}: {where} {target!r} names no state of its graph"
            for where, target in transitions(state)
            if target not in states
        ]
        for nested in nested_graphs(state):
            problems += graph_problems(nested)
    return problems


# ---- paths and intrinsic functions ------------------------------------------------------------------------

# Payload templates: a "key.$" value in them is evaluated (a path or an intrinsic call); the rest is literal.
PAYLOAD_TEMPLATES = ("Parameters", "ResultSelector", "ItemSelector")


def state_expressions(state: dict) -> Iterator[tuple[str, object]]:
    """(field, expression) of each path and intrinsic call a JSONPath state evaluates."""
    for key, value in state.items():
        if key in PAYLOAD_TEMPLATES:
            yield from _template_expressions(value, key)
        elif key in ("ItemReader", "ResultWriter") and "Parameters" in value:
            yield from _template_expressions(value["Parameters"], f"{key}.Parameters")
        elif key.endswith("Path") and value is not None:  # InputPath, ResultPath, ItemsPath, CausePath...
            yield key, value
    for index, rule in enumerate(state.get("Choices", [])):
        yield from _rule_expressions(rule, f"Choices[{index}]")
    for index, catcher in enumerate(state.get("Catch", [])):
        if catcher.get("ResultPath") is not None:
            yield f"Catch[{index}].ResultPath", catcher["ResultPath"]


def _template_expressions(value, where: str) -> Iterator[tuple[str, object]]:
    if isinstance(value, dict):
        for key, item in value.items():
            if key.endswith(".$"):
                yield f"{where}.{key}", item
            else:
                yield from _template_expressions(item, f"{where}.{key}")
    elif isinstance(value, list):
        for index, item in enumerate(value):
            yield from _template_expressions(item, f"{where}[{index}]")


def _rule_expressions(rule: dict, where: str) -> Iterator[tuple[str, object]]:
    for key, value in rule.items():
        if key == "Variable" or key.endswith("Path"):
            yield f"{where}.{key}", value
    for key in ("And", "Or"):
        for index, nested in enumerate(rule.get(key, [])):
            yield from _rule_expressions(nested, f"{where}.{key}[{index}]")
    if "Not" in rule:
        yield from _rule_expressions(rule["Not"], f"{where}.Not")


def expression_problem(expression) -> str | None:
    if not isinstance(expression, str):
        return f"{expression!r} is not a string (a path or an intrinsic call)"
    if expression.startswith("States."):
        return intrinsic_problem(expression)
    if expression.startswith("$"):
        return path_problem(expression)
    return f"{expression!r} is neither a JSONPath ($...) nor an intrinsic function call (States....)"


def path_problem(path: str) -> str | None:
    try:  # the context object's $$ is the root of another document: $$.Execution.Id reads as $.Execution.Id
        compile_json_path(path[1:] if path.startswith("$$") else path)
    except JSONPathError as err:
        return f"{path!r} is not a valid JSONPath: {err}"
    return None


class _IntrinsicPaths(ASLIntrinsicParserVisitor):
    """The path arguments of an intrinsic call, nested calls included."""

    def __init__(self):
        self.paths: list[str] = []

    def visitFunc_arg_json_path(self, ctx):
        self.paths.append(ctx.getText())

    def visitFunc_arg_context_path(self, ctx):
        self.paths.append(ctx.getText())


def intrinsic_problem(call: str) -> str | None:
    """LocalStack's intrinsic parser prints syntax errors and goes on: collect them instead."""
    listener = SyntaxErrorListener()
    lexer = ASLIntrinsicLexer(InputStream(call))
    parser = ASLIntrinsicParser(CommonTokenStream(lexer))
    for recognizer in (lexer, parser):
        recognizer.removeErrorListeners()
        recognizer.addErrorListener(listener)
    tree = parser.func_decl()
    if listener.errors:
        return f"{call!r} is not a valid intrinsic call: {'; '.join(listener.errors)}"
    try:
        IntrinsicPreprocessor().visit(tree)  # raises on an unknown function
    except Exception as err:  # any refusal by the implementation is a finding
        return f"{call!r}: intrinsic parser: {type(err).__name__}: {err}"
    collector = _IntrinsicPaths()
    collector.visit(tree)
    return next(filter(None, map(path_problem, collector.paths)), None)


# ---- service tasks against botocore -----------------------------------------------------------------------


class _StaticValidator(ParamValidator):
    # _validate is botocore's per-value dispatch: skipping runtime values there keeps every other check.
    def _validate(self, params, shape, errors, name):
        if params is not RUNTIME:
            super()._validate(params, shape, errors, name)


def check_task(state: dict) -> tuple[str, list[str]]:
    """(integration label, problems) of one Task state."""
    resource = state.get("Resource", "")
    if FUNCTION_ARN.fullmatch(resource):
        return "lambda function ARN", []  # the legacy form: Parameters are the function's own input
    match = SERVICE_ARN.fullmatch(resource)
    if not match:
        return "unknown", [f"Resource {resource!r} is neither a Lambda function ARN nor an integration ARN"]
    integration, problem = integration_for(*match.groups())
    if problem:
        return integration.label, [problem]
    parameters = state.get("Parameters", RUNTIME)  # without Parameters, the state input is the request
    if integration.pattern == "waitForTaskToken" and "$$.Task.Token" not in json.dumps(
        parameters, default=str
    ):
        return integration.label, ["a .waitForTaskToken task must pass $$.Task.Token in its Parameters"]
    return integration.label, [
        f"{integration.call}: {line}" for line in parameter_problems(integration, parameters)
    ]


def parameter_problems(integration: Integration, parameters) -> list[str]:
    shape = service_model(integration.service).operation_model(integration.operation).input_shape
    if shape is None:
        return [] if parameters in ({}, RUNTIME) else ["the operation takes no parameters"]
    params = integration.difference.apply(_static(parameters))
    errors = _StaticValidator().validate(_api_names(params, shape), shape)
    return errors.generate_report().splitlines() if errors.has_errors() else []


def _static(value):
    """A payload template with each ``key.$`` as ``key`` and a runtime value."""
    if isinstance(value, dict):
        return {
            key.removesuffix(".$"): RUNTIME if key.endswith(".$") else _static(item)
            for key, item in value.items()
        }
    if isinstance(value, list):
        return [_static(item) for item in value]
    return value


def _api_names(value, shape):
    """Step Functions writes every member in PascalCase, even of camelCase APIs: map to the API's names."""
    if shape.type_name == "structure" and isinstance(value, dict):
        members = {name[0].upper() + name[1:]: name for name in shape.members}
        renamed = {members.get(key, key): item for key, item in value.items()}
        return {
            key: _api_names(item, shape.members[key]) if key in shape.members else item
            for key, item in renamed.items()
        }
    if shape.type_name == "list" and isinstance(value, list):
        return [_api_names(item, shape.member) for item in value]
    if shape.type_name == "map" and isinstance(value, dict):
        return {key: _api_names(item, shape.value) for key, item in value.items()}
    return value
