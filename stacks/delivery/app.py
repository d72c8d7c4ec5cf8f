"""The delivery app (`cdk ... -c delivery=config/delivery.yaml`): the pipeline and the GitHub OIDC stacks."""

from pathlib import Path

import aws_cdk as cdk

from stacks import names
from stacks.config import ConfigError, Delivery
from stacks.delivery.oidc_stack import GitHubOidcStack
from stacks.delivery.pipeline_stack import ROOT, DeliveryPipelineStack


def build_delivery(app: cdk.App, delivery: Delivery, *, emulated: bool = False) -> dict[str, cdk.Stack]:
    """``mlkit-delivery`` when the file has ``pipeline:``, and ``mlkit-<env>-oidc`` per environment when it
    has ``github:``, keyed by stack name.

    ``emulated`` (default False) builds only the OIDC stacks `make local` deploys into the emulator: in the
    emulator's account, importing the provider the local run creates (moto's CloudFormation has no
    AWS::IAM::OIDCProvider), with no bootstrap-version rule. The pipeline is left out: moto cannot run
    CodePipeline, and synthesizing it (every stage's stacks) would add ~20 s to every `make local`;
    `make test` synthesizes and checks it.
    """
    stacks: dict[str, cdk.Stack] = {}
    settings = delivery.settings
    if settings.pipeline and not emulated:
        tooling = settings.pipeline.tooling
        stacks[names.DELIVERY_STACK] = DeliveryPipelineStack(
            app,
            names.DELIVERY_STACK,
            stack_name=names.DELIVERY_STACK,
            description="mlkit delivery: promotes one commit through "
            + " → ".join(e.name for e in delivery.environments),
            delivery=delivery,
            delivery_file=repository_path(delivery.path),
            env=cdk.Environment(account=tooling.account, region=tooling.region),
        )
    for environment in delivery.environments if settings.github else ():
        name = names.oidc_stack_name(environment.name)
        provider = environment.oidc_provider_arn
        if emulated:
            provider = f"arn:aws:iam::{cdk.Aws.ACCOUNT_ID}:oidc-provider/{names.GITHUB_OIDC_HOST}"
        stacks[name] = GitHubOidcStack(
            app,
            name,
            stack_name=name,
            description=f"mlkit {environment.name}: GitHub Actions OIDC provider and roles",
            environment_name=environment.name,
            github=settings.github,
            provider_arn=provider,
            env=cdk.Environment(account=None if emulated else environment.account, region=environment.region),
            synthesizer=cdk.DefaultStackSynthesizer(generate_bootstrap_version_rule=not emulated),
        )
    for stack in stacks.values():
        cdk.Tags.of(stack).add("project", names.PROJECT)
    return stacks


def repository_path(path: Path) -> str:
    """The delivery file's path in the repository: the pipeline's synth step names it again."""
    try:
        return path.resolve().relative_to(ROOT).as_posix()
    except ValueError:
        raise ConfigError(
            f"{path}: the pipeline synthesizes from the repository, so its delivery file must be in it"
        ) from None
