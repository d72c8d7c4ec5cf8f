"""One authorization a call needs (``Check``), and what a row of the request table may read and build.

mlkit/access/operations.py maps each call to its checks; s3_requests.py holds S3's rows.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol

SAGEMAKER_PRINCIPAL = "sagemaker.amazonaws.com"
# Keys each service sets on its actions that these rows model (set when the request carries them,
# absent otherwise): a policy conditioning on another key of that service is reported as not emulated.
MODELLED_KEYS = {
    "s3": {"s3:prefix", "s3:delimiter", "s3:max-keys", "s3:x-amz-server-side-encryption"}
    | {"s3:x-amz-server-side-encryption-aws-kms-key-id", "s3:x-amz-acl", "s3:x-amz-copy-source"},
    "sagemaker": {"sagemaker:taggingaction", "sagemaker:volumekmskey", "sagemaker:networkisolation"}
    | {"sagemaker:vpcsubnets", "sagemaker:vpcsecuritygroupids", "sagemaker:targetmodel"},
    "kms": {"kms:viaservice", "kms:calleraccount", "kms:grantisforawsresource", "kms:encryptioncontext"},
    "iam": {"iam:passedtoservice", "iam:awsservicename"},
    "bedrock": {"bedrock:inferenceprofilearn"},
    "lambda": set(),
    "cloudwatch": {"cloudwatch:namespace"},
    "application-autoscaling": {"application-autoscaling:service-namespace"}
    | {"application-autoscaling:scalable-dimension"},
}


class Lookups(Protocol):
    """What some rows need to read from the emulator (as its operator, not as the caller)."""

    region: str
    account: str
    partition: str

    def bucket_key(self, bucket: str) -> str | None: ...  # the KMS key of an SSE-KMS bucket default

    def object_key(self, bucket: str, key: str) -> str | None: ...  # an existing object's KMS key

    def endpoint_config_key(self, name: str) -> str | None: ...  # an endpoint config's volume key


@dataclass(frozen=True)
class Check:
    """One authorization a call needs. ``policy`` says which resource policy also decides it."""

    action: str
    resource: str
    context: Mapping[str, Any] = field(default_factory=dict)
    policy: str | None = None  # "bucket" or "key"

    @property
    def service(self) -> str:
        return self.action.split(":", 1)[0]

    def modelled(self) -> frozenset[str]:
        return frozenset(MODELLED_KEYS.get(self.service, ()))


Row = Callable[[dict, Lookups], list[Check]]


def arn(env: Lookups, service: str, resource: str, *, region: bool = True, account: bool = True) -> str:
    where = f"{env.region if region else ''}:{env.account if account else ''}"
    return f"arn:{env.partition}:{service}:{where}:{resource}"


def key_arn(env: Lookups, key: str) -> str:
    return key if key.startswith("arn:") else arn(env, "kms", f"key/{key}")


def via(env: Lookups, service: str) -> dict:
    """The context of a KMS call a service makes on the caller's behalf."""
    return {"kms:ViaService": f"{service}.{env.region}.amazonaws.com", "kms:CallerAccount": env.account}
