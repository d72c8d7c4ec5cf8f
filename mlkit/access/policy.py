"""IAM's policy evaluation for one request, as AWS documents it, for the emulator's access checks.

A request is one action on one resource ARN, by one principal, with the condition keys AWS would set
for that call. The decision follows AWS's evaluation logic for a principal and a resource in one account:
an explicit Deny in any policy wins; otherwise the identity policies, or the resource policy naming the
principal, must allow. A KMS key policy is the exception: IAM policies count only when the key policy
delegates to the account (its "root" statement).

What this does not evaluate is never read as a match: a condition key that AWS would set but the request
table does not model, a policy variable or an unknown operator make the statement "unevaluated", and a
decision that hinges on one is a denial that names it.
"""

from __future__ import annotations

import fnmatch
import functools
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field

# Operators evaluated here, without the IfExists suffix and the ForAnyValue/ForAllValues qualifiers.
STRING_OPERATORS = {
    "StringEquals": (False, False, False),  # (negated, wildcards, ignore case)
    "StringNotEquals": (True, False, False),
    "StringEqualsIgnoreCase": (False, False, True),
    "StringNotEqualsIgnoreCase": (True, False, True),
    "StringLike": (False, True, False),
    "StringNotLike": (True, True, False),
    # ARNs compare part by part in AWS; a wildcard match over the whole text gives the same answer
    # for the ARNs the kit writes (no wildcard spans a colon in them).
    "ArnEquals": (False, True, False),
    "ArnLike": (False, True, False),
    "ArnNotEquals": (True, True, False),
    "ArnNotLike": (True, True, False),
}
NUMERIC_OPERATORS = {
    "NumericEquals": lambda a, b: a == b,
    "NumericNotEquals": lambda a, b: a != b,
    "NumericLessThan": lambda a, b: a < b,
    "NumericLessThanEquals": lambda a, b: a <= b,
    "NumericGreaterThan": lambda a, b: a > b,
    "NumericGreaterThanEquals": lambda a, b: a >= b,
}
# Keys AWS puts in every request context that this emulation sets (see Request.context).
GLOBAL_KEYS = frozenset(
    key.lower()
    for key in (
        "aws:PrincipalArn",
        "aws:PrincipalAccount",
        "aws:PrincipalType",
        "aws:RequestedRegion",
        "aws:SecureTransport",
        "aws:ViaAWSService",
        # Set only when a service calls on a principal's behalf (a service principal's own call):
        # absent from every call a role makes itself, which is all the emulator decides.
        "aws:SourceAccount",
        "aws:SourceArn",
        "aws:CalledVia",
        "aws:RequestTag",
        "aws:TagKeys",
    )
)


@dataclass(frozen=True)
class Request:
    """One authorization question. ``context`` maps condition keys (any case) to a value or a list;
    ``modelled`` names the service keys the request table knows AWS sets or omits for this call."""

    principal: str  # the role ARN (identity policies are the role's)
    session: str  # arn:<partition>:sts::<account>:assumed-role/<role>/<session>
    action: str
    resource: str
    context: Mapping[str, object] = field(default_factory=dict)
    modelled: frozenset[str] = frozenset()

    @functools.cached_property
    def values(self) -> dict[str, list[str]]:
        found = {}
        for key, value in self.context.items():
            items = value if isinstance(value, list | tuple) else [value]
            found[key.lower()] = [_text(item) for item in items]
        return found

    @property
    def account(self) -> str:
        return self.principal.split(":")[4]

    def knows(self, key: str) -> bool:
        """Whether the key's presence or absence is modelled for this call."""
        key = key.lower()
        service = self.action.split(":", 1)[0].lower()
        if key in self.values:
            return True
        prefix = key.split(":", 1)[0]
        base = key.split("/", 1)[0]
        if prefix == "aws":
            return base in GLOBAL_KEYS
        if prefix != service:
            return True  # another service's key: AWS never sets it on this action's requests
        return key in self.modelled or base in self.modelled


@dataclass(frozen=True)
class Decision:
    allowed: bool
    reason: str
    unevaluated: tuple[str, ...] = ()


class Unevaluated(Exception):
    """A statement's condition cannot be decided here; the message says what."""


def _text(value: object) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def _as_list(value) -> list:
    if value is None:
        return []
    return value if isinstance(value, list) else [value]


@functools.lru_cache(maxsize=4096)
def _pattern(text: str, ignore_case: bool) -> re.Pattern:
    """IAM's wildcards: * any run of characters, ? one character; everything else literal."""
    return re.compile(fnmatch.translate(text), re.IGNORECASE if ignore_case else 0)


def matches(pattern: str, value: str, *, ignore_case: bool = False) -> bool:
    if "[" in pattern:  # fnmatch's character classes are no IAM syntax: match them literally
        pattern = pattern.replace("[", "[[]")
    return _pattern(pattern, ignore_case).match(value) is not None


def action_matches(patterns, action: str) -> bool:
    return any(matches(pattern, action, ignore_case=True) for pattern in _as_list(patterns))


def resource_matches(patterns, resource: str) -> bool:
    return any(matches(pattern, resource) for pattern in _as_list(patterns))


def _compare(operator: str, policy_value: str, value: str) -> bool:
    if operator in STRING_OPERATORS:
        _, wildcards, ignore_case = STRING_OPERATORS[operator]
        if "${" in policy_value:
            raise Unevaluated(f"policy variable {policy_value!r}")
        if wildcards:
            return matches(policy_value, value, ignore_case=ignore_case)
        return policy_value.lower() == value.lower() if ignore_case else policy_value == value
    if operator == "Bool":
        return policy_value.lower() == value.lower()
    if operator in NUMERIC_OPERATORS:
        return NUMERIC_OPERATORS[operator](float(value), float(policy_value))
    raise Unevaluated(f"condition operator {operator}")


def _condition_holds(operator: str, key: str, policy_values: list[str], request: Request) -> bool:
    qualifier, _, base = operator.rpartition(":")
    if_exists = base.endswith("IfExists")
    base = base.removesuffix("IfExists")
    if not request.knows(key):
        raise Unevaluated(f"condition key {key} on {request.action}")
    present = request.values.get(key.lower())
    if base == "Null":
        return (present is None) == (policy_values[0].lower() == "true")
    negated = STRING_OPERATORS.get(base, (base == "NumericNotEquals",))[0]
    if present is None:
        if qualifier == "ForAllValues":
            return True
        return if_exists or (negated and not qualifier)

    def one(value: str) -> bool:
        hits = [_compare(base, expected, value) for expected in policy_values]
        return all(hits) if negated else any(hits)  # negated operators: the value matches none

    if qualifier == "ForAllValues":
        return all(one(value) for value in present)
    if qualifier == "ForAnyValue" or len(present) == 1:
        return any(one(value) for value in present)
    raise Unevaluated(f"{operator} on multivalued key {key} without ForAnyValue/ForAllValues")


def conditions_hold(conditions: Mapping, request: Request) -> bool:
    """Every operator block and every key in it must hold (AND); values within a key are OR'ed."""
    for operator, keys in (conditions or {}).items():
        for key, values in keys.items():
            if not _condition_holds(operator, key, [_text(v) for v in _as_list(values)], request):
                return False
    return True


def principal_named(principal, request: Request) -> str | None:
    """How a resource policy's Principal covers the request: "direct" (the role, its session, or
    anyone), "account" (the account root: delegation to IAM policies), or None."""
    if principal == "*":
        return "direct"
    aws = _as_list(principal.get("AWS")) if isinstance(principal, dict) else []
    named = set()
    for value in aws:
        if value == "*" or value in (request.principal, request.session):
            named.add("direct")
        elif value in (request.account, f"arn:{request.principal.split(':')[1]}:iam::{request.account}:root"):
            named.add("account")
    return "direct" if "direct" in named else ("account" if named else None)


def statement_applies(statement: Mapping, request: Request) -> bool:
    """Action, resource and condition of one statement; raises Unevaluated when it cannot tell."""
    if "Action" in statement and not action_matches(statement["Action"], request.action):
        return False
    if "NotAction" in statement and action_matches(statement["NotAction"], request.action):
        return False
    if "Resource" in statement and not resource_matches(statement["Resource"], request.resource):
        return False
    if "NotResource" in statement and resource_matches(statement["NotResource"], request.resource):
        return False
    return conditions_hold(statement.get("Condition", {}), request)


def statements(document) -> list[Mapping]:
    return _as_list((document or {}).get("Statement"))


@dataclass
class _Tally:
    allows: list[str] = field(default_factory=list)
    denies: list[str] = field(default_factory=list)
    unknown: list[str] = field(default_factory=list)


def _tally(named: Iterable[tuple[str, Mapping]], request: Request, tally: _Tally, *, resource: bool) -> set:
    """Add each policy's matching statements to ``tally``; answers how the resource policy names us."""
    grants = set()
    for name, document in named:
        for index, statement in enumerate(statements(document)):
            where = f"{name} statement {statement.get('Sid') or index}"
            naming = principal_named(statement.get("Principal", {}), request) if resource else "direct"
            deny = statement.get("Effect") == "Deny"
            if naming is None:
                continue
            try:
                applies = statement_applies(statement, request)
            except Unevaluated as gap:
                tally.unknown.append(f"{where}: {gap} is not emulated")
                if deny:  # a deny we cannot rule out is never read as "does not apply"
                    tally.denies.append(f"{where} (not emulated: {gap})")
                continue
            if applies and deny:
                tally.denies.append(where)
            elif applies and naming == "direct":
                tally.allows.append(where)
            elif applies:
                grants.add(where)
    return grants


def decide(
    request: Request,
    identity: Sequence[tuple[str, Mapping]],
    resource_policy: tuple[str, Mapping] | None = None,
    *,
    key_policy: bool = False,
) -> Decision:
    """Allow or deny ``request`` given the principal's identity policies (name, document) and the
    resource's policy (a bucket's, or with ``key_policy`` a KMS key's)."""
    tally = _Tally()
    _tally(identity, request, tally, resource=False)
    identity_allows = list(tally.allows)
    resource_tally = _Tally()
    delegated = set()
    if resource_policy is not None:
        delegated = _tally([resource_policy], request, resource_tally, resource=True)
    denies = tally.denies + resource_tally.denies
    unknown = tuple(tally.unknown + resource_tally.unknown)
    if denies:
        return Decision(False, f"explicitly denied by {denies[0]}", unknown)
    if key_policy:
        delegates = bool(delegated) or resource_tally.allows
        if resource_tally.allows:
            return Decision(True, f"allowed by {resource_tally.allows[0]}", unknown)
        if delegated and identity_allows:
            return Decision(
                True, f"allowed by {identity_allows[0]} (the key policy delegates to IAM)", unknown
            )
        why = "no identity-based policy allows it" if delegates else "the key policy does not allow it"
        return Decision(False, _not_allowed(request, why, unknown), unknown)
    if identity_allows or resource_tally.allows:
        return Decision(True, f"allowed by {(identity_allows or resource_tally.allows)[0]}", unknown)
    return Decision(False, _not_allowed(request, "no identity-based policy allows it", unknown), unknown)


def _not_allowed(request: Request, why: str, unknown: tuple[str, ...]) -> str:
    gaps = f" ({'; '.join(unknown)})" if unknown else ""
    return f"{why}{gaps}"
