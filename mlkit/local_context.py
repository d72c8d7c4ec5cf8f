"""What the local run's checks share: the config, the emulator's clients, the data buckets, the router."""

from collections.abc import Callable
from contextlib import ExitStack
from dataclasses import dataclass, field
from pathlib import Path

import boto3

from mlkit import local_training
from mlkit.access.enforcer import AccessEmulation
from mlkit.checks import stack_outputs
from mlkit.hosting_checks import template_endpoint
from stacks import names

BUCKET_KINDS = ("raw", "curated", "artifacts")


@dataclass
class Run:
    """One local run against one emulator.

    ``router`` is the real router handler module, loaded once with the deployed registry (None until
    loaded); ``router_blocked`` says why it could not be, so every route step is skipped with that reason.
    """

    config: object
    clients: Callable
    emulator: object
    workdir: Path
    exits: ExitStack
    buckets: dict[str, str] = field(default_factory=dict)
    spark: object = None
    router: object = None
    router_blocked: str | None = "needs the router, which was not loaded"
    # Each dataset is uploaded and transformed once, whatever the models sharing it: why its later
    # steps cannot run, or None.
    prepared_datasets: dict[str, str | None] = field(default_factory=dict)
    # IAM enforced on the components' calls (mlkit/access); None: every call is the operator's.
    access: AccessEmulation | None = None
    _role_clients: dict[str, Callable] = field(default_factory=dict)  # by label

    @property
    def environment(self) -> str:
        return self.config.environment

    def s3(self):
        return self.clients("s3")

    def role_environment(self, role: Callable[[], str], label: str) -> dict[str, str]:
        """Credentials of the role ``role()`` names (its calls then enforced and counted under ``label``),
        or none when this run does not enforce IAM (``role`` is then never asked)."""
        return self.access.assume(role(), label) if self.access else {}

    def clients_as(self, role: Callable[[], str], label: str) -> Callable:
        """``clients`` signed as the role ``role()`` names: what a job running as it calls AWS with
        (the run's own clients when it does not enforce IAM)."""
        if self.access is None:
            return self.clients
        if label in self._role_clients:
            return self._role_clients[label]
        credentials = self.role_environment(role, label)
        session = boto3.Session(
            aws_access_key_id=credentials["AWS_ACCESS_KEY_ID"],
            aws_secret_access_key=credentials["AWS_SECRET_ACCESS_KEY"],
            aws_session_token=credentials["AWS_SESSION_TOKEN"],
            region_name=self.config.region,
        )
        made: dict[str, object] = {}

        def clients(service: str):
            if service not in made:
                made[service] = session.client(service, endpoint_url=self.emulator.endpoint)
            return made[service]

        self._role_clients[label] = clients
        return clients

    def session(self):
        if self.spark is None:
            self.spark = self.exits.enter_context(local_training.local_spark())
        return self.spark

    def bucket(self, kind: str) -> str:
        """A data bucket's name, from the deployed data stack's outputs (read once)."""
        if not self.buckets:
            outputs = stack_outputs(self.clients("cloudformation"), names.data_stack_name(self.environment))
            self.buckets = {kind: outputs[f"{kind.title()}BucketName"] for kind in BUCKET_KINDS}
        return self.buckets[kind]

    def endpoint_name(self, label: str) -> str:
        return names.endpoint_name(self.environment, label)

    def cloudformation_endpoint_name(self, label: str) -> str:
        """The emulator's name for the endpoint a model's stack declares (moto names it after the stack)."""
        stack = names.model_stack_name(self.environment, label)
        return template_endpoint(self.clients("cloudformation"), stack, self.endpoint_name(label))
