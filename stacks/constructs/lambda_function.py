"""mlkit's Lambdas: one code asset (lambdas/), a Powertools layer bundled without Docker, least privilege."""

import hashlib
import os
import shutil
import subprocess
import sys
from pathlib import Path

import aws_cdk as cdk
import jsii
from aws_cdk import aws_iam as iam
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_logs as logs
from constructs import Construct

from lambdas.shared import registry as registry_contract
from lambdas.shared import router_metrics
from stacks.nag import acknowledge

ROOT = Path(__file__).resolve().parents[2]
LAMBDAS = ROOT / "lambdas"
REQUIREMENTS = LAMBDAS / "requirements.txt"
RUNTIME = lambda_.Runtime.PYTHON_3_14
CACHE = ROOT / ".cache" / "lambda-layers"


# How the layer is installed, part of its digest: a change here must not reuse an older cached install.
PIP_OPTIONS = (
    "--only-binary=:all:",
    # No bytecode: pip would compile for this machine's Python, which the Lambda runtime's cannot load
    # (40% of the layer's bytes, half its files, copied into every synth's assembly for nothing).
    "--no-compile",
    "--implementation",
    "cp",
    "--platform",
    "manylinux2014_aarch64",
)


def layer_digest() -> str:
    """What the layer's content depends on: the pinned requirements, the runtime, how pip installs them."""
    return hashlib.sha256(
        REQUIREMENTS.read_bytes() + RUNTIME.name.encode() + " ".join(PIP_OPTIONS).encode()
    ).hexdigest()


@jsii.implements(cdk.ILocalBundling)
class PipInstallLayer:
    """Bundles lambdas/requirements.txt into a layer with pip, on this machine (no Docker).

    Powertools is pure Python, so a wheel install for the Lambda's Python version is portable.
    The install is cached under .cache/ by the requirements' hash; later synths copy it.
    """

    def try_bundle(self, output_dir: str, *args, **kwargs) -> bool:
        shutil.copytree(self.installed(), Path(output_dir) / "python", dirs_exist_ok=True)
        return True

    @staticmethod
    def installed() -> Path:
        digest = layer_digest()[:16]
        target = CACHE / digest / "python"
        if not target.exists():
            # Per process, then renamed: synths side by side (test workers, make local) never share one.
            staging = CACHE / f"{digest}.{os.getpid()}.partial"
            shutil.rmtree(staging, ignore_errors=True)
            version = RUNTIME.name.removeprefix("python")
            subprocess.run(
                [
                    sys.executable,
                    "-m",
                    "pip",
                    "install",
                    "--quiet",
                    "--disable-pip-version-check",
                    "-r",
                    str(REQUIREMENTS),
                    "--target",
                    str(staging),
                    "--python-version",
                    version,
                    *PIP_OPTIONS,
                ],
                check=True,
            )
            target.parent.mkdir(parents=True, exist_ok=True)
            try:
                staging.rename(target)
            except OSError:  # another synth finished the same install first: keep its copy
                shutil.rmtree(staging, ignore_errors=True)
                if not target.exists():
                    raise
        return target


def dependencies_layer(scope: Construct) -> lambda_.LayerVersion:
    """The layer with the Lambdas' pinned dependencies (Powertools): one per stack, made on first use."""
    stack = cdk.Stack.of(scope)
    existing = stack.node.try_find_child("DependenciesLayer")
    if existing is not None:
        return existing
    return lambda_.LayerVersion(
        stack,
        "DependenciesLayer",
        code=lambda_.Code.from_asset(
            str(LAMBDAS),
            asset_hash=layer_digest(),
            asset_hash_type=cdk.AssetHashType.CUSTOM,
            bundling=cdk.BundlingOptions(
                image=cdk.DockerImage.from_registry("unused-local-bundling"), local=PipInstallLayer()
            ),
        ),
        compatible_runtimes=[RUNTIME],
        compatible_architectures=[lambda_.Architecture.ARM_64],
        description="mlkit Lambda dependencies: "
        + ", ".join(
            line for line in REQUIREMENTS.read_text().splitlines() if line and not line.startswith("#")
        ),
    )


def registry_layer(scope: Construct, document: str) -> lambda_.LayerVersion:
    """The router's registry file as a layer: ``/opt/<LAYER_DIRECTORY>/<FILE_NAME>``, any size.

    The file is written under .cache/ by its content's hash, so an unchanged registry is the same asset."""
    digest = hashlib.sha256(document.encode()).hexdigest()[:16]
    folder = CACHE.parent / "router-registry" / digest
    path = folder / registry_contract.LAYER_DIRECTORY / registry_contract.FILE_NAME
    if not path.exists():
        # Written aside, then renamed: a synth running beside this one never stages half a file.
        path.parent.mkdir(parents=True, exist_ok=True)
        partial = folder.parent / f"{digest}.{os.getpid()}.partial"
        partial.write_text(document)
        partial.replace(path)
    return lambda_.LayerVersion(
        scope,
        "RegistryLayer",
        code=lambda_.Code.from_asset(str(folder)),
        compatible_runtimes=[RUNTIME],
        compatible_architectures=[lambda_.Architecture.ARM_64],
        description="mlkit router registry: every model the router may invoke",
    )


class MlKitFunction(Construct):
    """A Lambda from the shared lambdas/ asset: handler ``module.handler``, its own role and log group.

    ``environment`` (default none) adds variables; ``timeout_seconds`` defaults to 30,
    ``memory_mb`` to 512 and ``reserved_concurrency`` to none (the account's unreserved pool).
    The role starts with only its log group; callers add grants.
    """

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        handler: str,
        description: str,
        layers: list[lambda_.ILayerVersion],
        environment: dict[str, str] | None = None,
        timeout_seconds: int = 30,
        memory_mb: int = 512,
        reserved_concurrency: int | None = None,
    ) -> None:
        super().__init__(scope, construct_id)
        self.log_group = logs.LogGroup(
            self, "Logs", retention=logs.RetentionDays.ONE_MONTH, removal_policy=cdk.RemovalPolicy.DESTROY
        )
        self.role = iam.Role(self, "Role", assumed_by=iam.ServicePrincipal("lambda.amazonaws.com"))
        self.function = lambda_.Function(
            self,
            "Function",
            runtime=RUNTIME,
            architecture=lambda_.Architecture.ARM_64,
            handler=handler,
            description=description,
            role=self.role,
            layers=layers,
            code=lambda_.Code.from_asset(str(LAMBDAS), exclude=["requirements.txt", "**/__pycache__"]),
            environment={"POWERTOOLS_METRICS_NAMESPACE": router_metrics.NAMESPACE, **(environment or {})},
            timeout=cdk.Duration.seconds(timeout_seconds),
            memory_size=memory_mb,
            reserved_concurrent_executions=reserved_concurrency,
            log_group=self.log_group,
            logging_format=lambda_.LoggingFormat.JSON,
        )
        # Its own log group only, instead of the AWSLambdaBasicExecutionRole managed policy.
        self.log_group.grant_write(self.role)
        self._trace()

    def _trace(self) -> None:
        """Active X-Ray tracing, its grant kept apart so the acknowledgement covers nothing else."""
        function: lambda_.CfnFunction = self.function.node.default_child
        function.tracing_config = lambda_.CfnFunction.TracingConfigProperty(mode="Active")
        tracing = iam.Policy(
            self,
            "Tracing",
            roles=[self.role],
            statements=[
                iam.PolicyStatement(
                    actions=["xray:PutTraceSegments", "xray:PutTelemetryRecords"], resources=["*"]
                ),
            ],
        )
        acknowledge(
            tracing,
            "IAM5[Resource::*]",
            "X-Ray's PutTraceSegments and PutTelemetryRecords support no "
            "resource-level permissions; this policy holds nothing else.",
        )
