"""The part of JSONata the kit's JSONata states use, for the walker and the ASL check to read.

A state's ``{% expression %}`` over ``$states.input``: numbers, ``$states.input.a.b`` paths, ``$number(x)``,
``+`` and ``-``, comparisons (``>``, ``>=``, ``<``, ``<=``, ``=``, ``!=``) and parentheses. Anything else
raises NotImplementedError, so an expression it does not understand never passes silently. An evaluation
error (a missing field, a string where a number is needed) is Step Functions' States.QueryEvaluationError.
"""

import operator
import re
from collections.abc import Callable
from typing import Any

QUERY_ERROR = "States.QueryEvaluationError"
_TOKEN = re.compile(
    r"\s*(?:(?P<number>\d+(?:\.\d+)?(?:[eE][+-]?\d+)?)|(?P<path>\$states\.input(?:\.[A-Za-z_]\w*)*)"
    r"|(?P<function>\$number)|(?P<symbol>>=|<=|!=|[><=+\-()]))"
)
_COMPARE: dict[str, Callable[[Any, Any], bool]] = {
    ">": operator.gt,
    ">=": operator.ge,
    "<": operator.lt,
    "<=": operator.le,
    "=": operator.eq,
    "!=": operator.ne,
}


class QueryError(Exception):
    """An expression that parses but cannot be evaluated on this input."""


def tokens(template: str) -> list[tuple[str, str]]:
    """The (kind, text) tokens of a ``{% ... %}`` template; raises NotImplementedError outside the subset."""
    match = re.fullmatch(r"\{%(.*)%\}", template, re.DOTALL)
    if not match:
        raise NotImplementedError(f"not a JSONata template: {template!r}")
    text, position, found = match.group(1).rstrip(), 0, []
    while position < len(text):
        token = _TOKEN.match(text, position)
        if not token or token.end() == position:
            raise NotImplementedError(f"JSONata beyond the walker's subset at {text[position:].strip()!r}")
        found.append(next((kind, value) for kind, value in token.groupdict().items() if value is not None))
        position = token.end()
    return found


def check(template: str) -> None:
    """Parse a template whole, every path standing for a number; raises NotImplementedError outside the
    subset (evaluate stops at the first missing field, before the rest is parsed)."""
    evaluate(template, None, dry=True)


def evaluate(template: str, state_input: Any, *, dry: bool = False) -> Any:
    """The value of a ``{% ... %}`` template with ``$states.input`` bound to ``state_input``."""
    parser = _Parser(tokens(template), state_input, dry)
    value = parser.comparison()
    if parser.rest:
        raise NotImplementedError(f"JSONata beyond the walker's subset: trailing {parser.rest}")
    return value


class _Parser:
    def __init__(self, found: list[tuple[str, str]], state_input: Any, dry: bool):
        self.rest, self.input, self.dry = found, state_input, dry

    def _take(self, text: str | None = None) -> tuple[str, str]:
        if not self.rest or (text is not None and self.rest[0][1] != text):
            raise NotImplementedError(f"JSONata beyond the walker's subset: expected {text or 'a term'}")
        return self.rest.pop(0)

    def comparison(self) -> Any:
        left = self.sum()
        if self.rest and self.rest[0][1] in _COMPARE:
            _, symbol = self._take()
            return _COMPARE[symbol](left, self.sum())
        return left

    def sum(self) -> Any:
        value = self.term()
        while self.rest and self.rest[0][1] in ("+", "-"):
            _, symbol = self._take()
            right = self.term()
            if not all(isinstance(v, int | float) and not isinstance(v, bool) for v in (value, right)):
                raise QueryError(f"{symbol} needs numbers, not {value!r} and {right!r}")
            value = value + right if symbol == "+" else value - right
        return value

    def term(self) -> Any:
        kind, text = self._take()
        if kind == "number":
            return float(text) if any(c in text for c in ".eE") else int(text)
        if kind == "path":
            return self._path(text)
        if text == "-":
            return -self.term()
        if text == "(" or kind == "function":
            if kind == "function":
                self._take("(")
            value = self.comparison()
            self._take(")")
            return _number(value) if kind == "function" else value
        raise NotImplementedError(f"JSONata beyond the walker's subset at {text!r}")

    def _path(self, text: str) -> Any:
        if self.dry:
            return 0
        value = self.input
        for name in text.split(".")[2:]:
            if not isinstance(value, dict) or name not in value:
                raise QueryError(f"{text} is not present")
            value = value[name]
        return value


def _number(value: Any) -> float | int:
    """JSONata's $number: a number as is, a numeric string parsed, anything else an error."""
    if isinstance(value, int | float) and not isinstance(value, bool):
        return value
    if isinstance(value, str) and re.fullmatch(r"-?\d+(\.\d+)?([eE][+-]?\d+)?", value.strip()):
        return float(value)
    raise QueryError(f"$number cannot cast {value!r}")
