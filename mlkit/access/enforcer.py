"""IAM enforced on the kit's runtime calls to the emulator, at resource level.

moto decides access against resource ``*`` only, evaluates no conditions and reads no bucket or key
policy (DESIGN.md), so it cannot tell a grant on the right endpoint from one on the wrong endpoint. So
the decision is made here, in the process that makes the call, by a botocore hook every client of the
process carries:

- a component (the router, a deploy Lambda, a Glue job's code, a state machine's task) gets credentials
  by assuming the role the deployed stack gave it (``assume``); its calls are signed with them;
- for a call signed with such credentials, the hook asks ``operations.checks_for`` what IAM checks
  (actions, resource ARNs, condition keys), reads that role's inline and managed policies from the
  emulator's IAM, and the bucket or key policy from S3 or KMS, and decides with ``policy.decide``;
- a denied call never reaches the emulator: the caller gets AWS's AccessDenied error, whose message
  names the role, the action and the resource, and the ledger records it per role.

Calls signed with any other credentials (the operator's: `cdk deploy`, the report's own checks) pass
untouched, as an administrator's would. A call the table has no row for is denied as not emulated.
"""

from __future__ import annotations

import functools
import json
import re
import threading
from collections import Counter
from collections.abc import Callable, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field

import botocore.handlers
from botocore.awsrequest import AWSResponse
from botocore.exceptions import ClientError

from mlkit.access import operations
from mlkit.access.checks import Check, arn
from mlkit.access.policy import Decision, Request, decide

PARAMS = "mlkit_access_params"  # where the hook keeps a call's parameters between its two events
# The error code each protocol family uses for a denial.
DENIED_CODES = {"s3": "AccessDenied", "iam": "AccessDenied", "sts": "AccessDenied"}


@dataclass
class Principal:
    """A role a component runs as, with the policies read when it was assumed."""

    label: str
    role_arn: str
    session_arn: str
    policies: list[tuple[str, Mapping]]

    @property
    def role_name(self) -> str:
        return self.role_arn.rsplit("/", 1)[1]


@dataclass(frozen=True)
class Denial:
    operation: str
    action: str
    resource: str
    reason: str

    def __str__(self) -> str:
        return f"{self.action} on {self.resource} ({self.operation}): {self.reason}"


@dataclass
class Ledger:
    """What one role did: each authorization checked, by action, and what was denied."""

    checked: Counter = field(default_factory=Counter)
    resources: dict[str, set] = field(default_factory=dict)
    calls: int = 0
    denials: list[Denial] = field(default_factory=list)
    unevaluated: set[str] = field(default_factory=set)


class Lookups:
    """checks.Lookups through the operator's clients (what the caller never needs to be allowed)."""

    def __init__(self, clients: Callable, *, region: str, account: str, partition: str) -> None:
        self._clients, self.region, self.account, self.partition = clients, region, account, partition

    def bucket_key(self, bucket: str) -> str | None:
        try:
            rules = self._clients("s3").get_bucket_encryption(Bucket=bucket)[
                "ServerSideEncryptionConfiguration"
            ]
        except ClientError:
            return None
        default = rules["Rules"][0]["ApplyServerSideEncryptionByDefault"]
        if default["SSEAlgorithm"].startswith("aws:kms"):
            return default.get("KMSMasterKeyID") or arn(self, "kms", "alias/aws/s3")
        return None

    def object_key(self, bucket: str, key: str) -> str | None:
        try:
            head = self._clients("s3").head_object(Bucket=bucket, Key=key)
        except ClientError:
            return None  # a missing object: S3 answers NoSuchKey before any key is used
        if head.get("ServerSideEncryption", "").startswith("aws:kms"):
            return head.get("SSEKMSKeyId") or self.bucket_key(bucket)
        return None

    def endpoint_config_key(self, name: str) -> str | None:
        try:
            return (
                self._clients("sagemaker").describe_endpoint_config(EndpointConfigName=name).get("KmsKeyId")
            )
        except ClientError:
            return None


class AccessEmulation:
    """Roles assumed from the deployed stacks, and the decisions on their calls.

    ``clients(service)`` makes the operator's clients for the emulator (reading roles and policies)."""

    def __init__(self, clients: Callable, *, region: str) -> None:
        # One client per service: the local run's factory makes a new one each call (~50 ms each).
        self._clients = clients = functools.cache(clients)
        identity = clients("sts").get_caller_identity()
        partition = identity["Arn"].split(":")[1]
        self.lookups = Lookups(clients, region=region, account=identity["Account"], partition=partition)
        self.principals: dict[str, Principal] = {}  # by access key id
        self.ledgers: dict[str, Ledger] = {}  # by principal label
        self._credentials: dict[str, dict] = {}  # STS's answers, by access key id
        self._resource_policies: dict[tuple[str, str], Mapping | None] = {}
        self._lock = threading.Lock()

    # ---- principals --------------------------------------------------------------------------

    def assume(self, role_arn: str, label: str) -> dict[str, str]:
        """Credentials of ``role_arn`` as the environment variables a Lambda gets; its calls are
        enforced from now on, and counted under ``label``."""
        key = self._assumed(role_arn, label)
        credentials = self._credentials[key]
        return {
            "AWS_ACCESS_KEY_ID": credentials["AccessKeyId"],
            "AWS_SECRET_ACCESS_KEY": credentials["SecretAccessKey"],
            "AWS_SESSION_TOKEN": credentials["SessionToken"],
        }

    def principal(self, role_arn: str, label: str) -> Principal:
        """``role_arn`` assumed under ``label`` (once), for decisions on calls replayed, not made."""
        return self.principals[self._assumed(role_arn, label)]

    def _assumed(self, role_arn: str, label: str) -> str:
        """The access key of ``role_arn``'s session for ``label``, assuming the role the first time."""
        for key, principal in self.principals.items():
            if (principal.role_arn, principal.label) == (role_arn, label):
                return key
        session = re.sub(r"[^\w+=,.@-]", "-", label)[:64]
        answer = self._clients("sts").assume_role(RoleArn=role_arn, RoleSessionName=session)
        credentials = answer["Credentials"]
        principal = Principal(label, role_arn, answer["AssumedRoleUser"]["Arn"], self.role_policies(role_arn))
        with self._lock:
            self._credentials[credentials["AccessKeyId"]] = credentials
            self.principals[credentials["AccessKeyId"]] = principal
            self.ledgers.setdefault(label, Ledger())
        return credentials["AccessKeyId"]

    def role_policies(self, role_arn: str) -> list[tuple[str, Mapping]]:
        """The role's inline policies and the default versions of its managed ones, from the emulator."""
        iam, name = self._clients("iam"), role_arn.rsplit("/", 1)[1]
        policies = []
        for policy_name in iam.list_role_policies(RoleName=name)["PolicyNames"]:
            document = iam.get_role_policy(RoleName=name, PolicyName=policy_name)["PolicyDocument"]
            policies.append((f"{name}/{policy_name}", _document(document)))
        for attached in iam.list_attached_role_policies(RoleName=name)["AttachedPolicies"]:
            arn = attached["PolicyArn"]
            version = iam.get_policy(PolicyArn=arn)["Policy"]["DefaultVersionId"]
            document = iam.get_policy_version(PolicyArn=arn, VersionId=version)["PolicyVersion"]["Document"]
            policies.append((attached["PolicyName"], _document(document)))
        return policies

    def refresh(self) -> None:
        """Read every assumed role's policies again (after a test changed one in the emulator)."""
        for principal in self.principals.values():
            principal.policies = self.role_policies(principal.role_arn)
        self._resource_policies.clear()

    # ---- decisions ---------------------------------------------------------------------------

    def resource_policy(self, check: Check) -> tuple[str, Mapping] | None:
        if check.policy is None:
            return None
        cache_key = (check.policy, check.resource)
        if cache_key not in self._resource_policies:
            self._resource_policies[cache_key] = self._read_resource_policy(check)
        document = self._resource_policies[cache_key]
        return None if document is None else (f"{check.policy} policy of {_resource_name(check)}", document)

    def _read_resource_policy(self, check: Check) -> Mapping | None:
        try:
            if check.policy == "key":
                text = self._clients("kms").get_key_policy(KeyId=check.resource, PolicyName="default")[
                    "Policy"
                ]
            else:
                text = self._clients("s3").get_bucket_policy(Bucket=_resource_name(check))["Policy"]
        except ClientError:
            return None  # no bucket policy (S3 answers NoSuchBucketPolicy): identity policies decide
        return _document(text)

    def authorize(self, principal: Principal, service: str, operation: str, params: dict) -> Denial | None:
        """Decide every check ``operation`` needs; record them; answer the first denial, or None."""
        checks = operations.checks_for(service, operation, params, self.lookups)
        if checks is None:
            reason = "not emulated: mlkit/access/operations.py has no row for it"
            return self.authorize_checks(principal, operation, [], missing=reason)
        return self.authorize_checks(principal, operation, checks)

    def authorize_checks(
        self, principal: Principal, operation: str, checks: list[Check], *, missing: str = ""
    ) -> Denial | None:
        """Decide ``checks`` (one call's), in order, for ``principal``; record them in its ledger."""
        ledger = self.ledgers[principal.label]
        with self._lock:
            ledger.calls += 1
        if missing:
            denial = Denial(operation, operation, "*", missing)
            ledger.denials.append(denial)
            return denial
        for check in checks:
            decision = self.decide(principal, check)
            with self._lock:
                ledger.checked[check.action] += 1
                ledger.resources.setdefault(check.action, set()).add(check.resource)
                ledger.unevaluated.update(decision.unevaluated)
            if not decision.allowed:
                denial = Denial(operation, check.action, check.resource, decision.reason)
                ledger.denials.append(denial)
                return denial
        return None

    def decide(self, principal: Principal, check: Check) -> Decision:
        request = Request(
            principal=principal.role_arn,
            session=principal.session_arn,
            action=check.action,
            resource=check.resource,
            context={**self._global_context(principal), **check.context},
            modelled=check.modelled(),
        )
        return decide(
            request, principal.policies, self.resource_policy(check), key_policy=check.policy == "key"
        )

    def _global_context(self, principal: Principal) -> dict:
        return {
            "aws:PrincipalArn": principal.role_arn,
            "aws:PrincipalAccount": self.lookups.account,
            "aws:PrincipalType": "AssumedRole",
            "aws:RequestedRegion": self.lookups.region,
            "aws:SecureTransport": True,  # Lambda, Glue and SageMaker call AWS over HTTPS
            "aws:ViaAWSService": False,
        }

    # ---- the botocore hook -------------------------------------------------------------------

    def principal_of(self, credentials) -> Principal | None:
        if credentials is None:
            return None
        return self.principals.get(credentials.access_key)

    def keep_params(self, params, model, context, **_) -> None:
        # A shallow copy without the payload: later handlers rewrite some parameters in place.
        context[PARAMS] = {key: value for key, value in params.items() if key != "Body"}

    def check_call(self, model, params, request_signer, context, **_):
        principal = self.principal_of(getattr(request_signer, "_credentials", None))
        if principal is None:
            return None
        service = model.service_model.service_name
        denial = self.authorize(principal, service, model.name, context.get(PARAMS, {}))
        return None if denial is None else denied_response(service, principal, denial)

    def denials(self) -> list[tuple[str, Denial]]:
        return [(label, denial) for label, ledger in self.ledgers.items() for denial in ledger.denials]


def denied_response(service: str, principal: Principal, denial: Denial) -> tuple[AWSResponse, dict]:
    """AWS's answer to a denied call: 403, its protocol's error code, and its message."""
    code = DENIED_CODES.get(service, "AccessDeniedException")
    message = (
        f"User: {principal.session_arn} is not authorized to perform: {denial.action} on resource: "
        f"{denial.resource} because {denial.reason}"
    )
    parsed = {"Error": {"Code": code, "Message": message}, "ResponseMetadata": {"HTTPStatusCode": 403}}
    return AWSResponse(None, 403, {}, None), parsed


def _document(value) -> Mapping:
    """A policy document as the APIs return it: JSON text (URL-decoded by botocore) or already parsed."""
    return json.loads(value) if isinstance(value, str) else value


def _resource_name(check: Check) -> str:
    return check.resource.split(":::", 1)[1].split("/", 1)[0] if check.policy == "bucket" else check.resource


# ---- installation -------------------------------------------------------------------------------

_active: list[AccessEmulation] = []


def _keep_params(**kwargs):
    if _active:
        _active[-1].keep_params(**kwargs)


def _check_call(**kwargs):
    return _active[-1].check_call(**kwargs) if _active else None


# First among the before-call handlers, also of those registered on a client for its own events (a
# botocore Stubber's, a local stand-in's): IAM decides before anything answers in AWS's place.
HANDLERS = (
    ("before-parameter-build", _keep_params),
    ("before-call.*.*", _check_call, botocore.handlers.REGISTER_FIRST),
)


def install() -> None:
    """Give every botocore session made from now on the hook (it does nothing while none is active)."""
    for handler in HANDLERS:
        if handler not in botocore.handlers.BUILTIN_HANDLERS:
            botocore.handlers.BUILTIN_HANDLERS.append(handler)


@contextmanager
def enforcing(emulation: AccessEmulation):
    """Decide the assumed roles' calls inside the block (every client made after ``install``)."""
    install()
    _active.append(emulation)
    try:
        yield emulation
    finally:
        _active.remove(emulation)
