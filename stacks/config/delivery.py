"""The delivery config (config/delivery.yaml): the environments one commit is promoted through, and how.

Two paths share the ordered environments: a CDK pipeline in a tooling account (``pipeline:``) and GitHub
Actions with OIDC roles (``github:``). A file sets one or both. The environments' own config files are
read and checked by stacks/config/loader.py's ``load_delivery``; this module only knows the file's shape.
"""

from pathlib import Path
from typing import Annotated, Literal, NamedTuple

from pydantic import Field, StringConstraints, field_validator, model_validator

from stacks import names
from stacks.config.base import StrictModel, invalid
from stacks.config.environment import MlKitConfig, check_account, check_region, region_enum

# GitHub's owner/name, as the OIDC token's sub claim and the CodeConnections action spell it.
GitHubRepository = Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9][A-Za-z0-9-]*/[A-Za-z0-9._-]+$")]
# A git branch name: letters, digits and ._/- only, not starting with - (no spaces, no shell characters).
Branch = Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9._][A-Za-z0-9._/-]{0,199}$")]
Email = Annotated[str, StringConstraints(pattern=r"^[^@\s]+@[^@\s]+\.[^@\s]+$")]
CONNECTION_ARN = (
    r"^arn:aws[a-z-]*:(codeconnections|codestar-connections):[a-z0-9-]+:\d{12}:connection/[\w-]+$"
)
OIDC_PROVIDER_ARN = rf"^arn:aws[a-z-]*:iam::\d{{12}}:oidc-provider/{names.GITHUB_OIDC_HOST}$"


class Tooling(StrictModel):
    """The account and region the pipeline itself lives in (not an environment it deploys to)."""

    account: str = Field(json_schema_extra={"pattern": r"^\d{12}$"}, description="12 digits, quoted.")
    region: str = Field(description="e.g. us-east-1.", json_schema_extra=region_enum)

    _account_as_text = field_validator("account", mode="before")(check_account)
    _real_region = field_validator("region")(check_region)


class ConnectionSource(StrictModel):
    """A GitHub, GitLab or Bitbucket repository through an AWS CodeConnections connection."""

    arn: str = Field(pattern=CONNECTION_ARN, description="The connection's ARN (created in the console).")
    repository: GitHubRepository = Field(description="owner/name.")
    branch: Branch = Field(
        default="main", description="The branch whose pushes start the pipeline. Default main."
    )


class CodeCommitSource(StrictModel):
    """A CodeCommit repository in the tooling account."""

    repository: str = Field(pattern=r"^[\w.-]{1,100}$", description="The repository's name.")
    branch: Branch = Field(default="main", description="Default main.")


class Source(StrictModel):
    """Where the pipeline takes its commits from: exactly one of ``connection`` or ``codecommit``."""

    connection: ConnectionSource | None = Field(default=None, description="Default: none.")
    codecommit: CodeCommitSource | None = Field(default=None, description="Default: none.")

    @model_validator(mode="after")
    def _exactly_one(self) -> "Source":
        given = [name for name in ("connection", "codecommit") if getattr(self, name) is not None]
        if not given:
            raise invalid(
                "",
                "is empty: give connection (arn, repository, branch) for GitHub, GitLab or Bitbucket, "
                "or codecommit (repository, branch)",
            )
        if len(given) == 2:
            raise invalid("", "gives both connection and codecommit: a pipeline has one source")
        return self

    @property
    def branch(self) -> str:
        return (self.connection or self.codecommit).branch


class Notifications(StrictModel):
    emails: list[Email] = Field(
        default_factory=list,
        description="Addresses subscribed to failures and approvals (each confirms by email). Default none.",
    )


class PipelineSettings(StrictModel):
    """The CDK pipeline (stack mlkit-delivery) in the tooling account."""

    tooling: Tooling
    source: Source
    approvals: list[str] | None = Field(
        default=None,
        description="Environment names a manual approval comes before. Default: any environment named prod.",
    )
    notifications: Notifications = Field(default_factory=Notifications)


class GitHubSettings(StrictModel):
    """GitHub Actions with OIDC: one stack per environment (mlkit-<env>-oidc) holds its two roles."""

    repository: GitHubRepository = Field(description="owner/name: the only repository the roles trust.")
    branch: Branch = Field(default="main", description="The branch that deploys. Default main.")
    deploy_subject: Literal["environment", "branch"] = Field(
        default="environment",
        description="What the deploy role trusts: jobs in the GitHub environment named like the mlkit "
        "one (sub repo:OWNER/NAME:environment:ENV; default), or pushes to the branch "
        "(sub repo:OWNER/NAME:ref:refs/heads/BRANCH).",
    )


class EnvironmentEntry(StrictModel):
    config: str = Field(
        pattern=r"^[\w.-]+\.ya?ml$",
        description="The environment's config file, in the delivery file's folder (e.g. dev.yaml).",
    )
    oidc_provider_arn: str | None = Field(
        default=None,
        pattern=OIDC_PROVIDER_ARN,
        description="An account's existing GitHub OIDC provider (an account has one per URL). Default: "
        "the environment's oidc stack creates it.",
    )


class DeliveryConfig(StrictModel):
    """The delivery file: ordered environments, and the pipeline, GitHub Actions, or both."""

    environments: list[EnvironmentEntry] = Field(
        min_length=1, description="In promotion order: a commit reaches each only after the previous one."
    )
    pipeline: PipelineSettings | None = Field(default=None, description="Default: no CDK pipeline.")
    github: GitHubSettings | None = Field(default=None, description="Default: no GitHub OIDC roles.")

    @model_validator(mode="after")
    def _a_path(self) -> "DeliveryConfig":
        if self.pipeline is None and self.github is None:
            raise invalid(
                "", "delivers nothing: give pipeline (a CDK pipeline), github (GitHub Actions), or both"
            )
        return self


class DeliveryEnvironment(NamedTuple):
    """One environment of the delivery, resolved: its config file, loaded, and where it deploys."""

    name: str
    config_file: Path
    config: MlKitConfig
    oidc_provider_arn: str | None
    approval: bool

    @property
    def account(self) -> str:
        return self.config.account

    @property
    def region(self) -> str:
        return self.config.region


class Delivery(NamedTuple):
    """A delivery file with every environment's config loaded and checked (see ``load_delivery``)."""

    path: Path
    settings: DeliveryConfig
    environments: tuple[DeliveryEnvironment, ...]

    def environment(self, name: str) -> DeliveryEnvironment | None:
        return next((env for env in self.environments if env.name == name), None)
