"""mlkit-<env>-oidc: GitHub Actions signs in to an environment's account with OIDC, never with stored keys."""

import aws_cdk as cdk
from aws_cdk import aws_iam as iam
from constructs import Construct

from stacks import names
from stacks.config.delivery import GitHubSettings

# What each role may become, by CDK bootstrap role kind. `cdk deploy` uploads file assets with the
# file-publishing role and changes stacks with the deploy role (mlkit has no Docker image assets, and
# makes no lookups). `cdk diff --no-change-set` only reads the deployed templates, with the lookup role
# (ReadOnlyAccess, KMS decryption denied); with a change set it would need the deploy role, so it does not.
DEPLOY_ROLE_KINDS = ("deploy", "file-publishing")
DIFF_ROLE_KINDS = ("lookup",)


def subjects(github: GitHubSettings, environment_name: str) -> dict[str, str]:
    """The exact ``sub`` claim each role trusts (GitHub's default claim format)."""
    repository = f"repo:{github.repository}"
    deploy = (
        f"{repository}:environment:{environment_name}"
        if github.deploy_subject == "environment"
        else f"{repository}:ref:refs/heads/{github.branch}"
    )
    return {"deploy": deploy, "diff": f"{repository}:pull_request"}


class GitHubOidcStack(cdk.Stack):
    """GitHub's OIDC provider in this account (created, or imported by ARN) and two roles that trust it.

    - ``mlkit-<env>-github-deploy``: for workflow jobs on ``github.branch`` (or in the GitHub
      environment named like this one); it may only assume the CDK bootstrap roles that deploy.
    - ``mlkit-<env>-github-diff``: for pull-request jobs; it may only assume the bootstrap lookup role.

    Each trusts ``sts:AssumeRoleWithWebIdentity`` with ``aud = sts.amazonaws.com`` and one exact ``sub``
    (no wildcards: another repository, branch or event gets no credentials). ``provider_arn`` (default
    None: create the provider) imports the account's existing provider, as an account holds one per URL.
    """

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        environment_name: str,
        github: GitHubSettings,
        provider_arn: str | None = None,
        **kwargs,
    ) -> None:
        super().__init__(scope, construct_id, **kwargs)
        if provider_arn:
            provider = iam.OidcProviderNative.from_oidc_provider_arn(self, "GitHub", provider_arn)
        else:
            provider = iam.OidcProviderNative(
                self, "GitHub", url=f"https://{names.GITHUB_OIDC_HOST}", client_ids=[names.STS_AUDIENCE]
            )
        self.provider_arn = provider.oidc_provider_arn
        subject = subjects(github, environment_name)
        self.deploy_role = self._role(
            "DeployRole",
            names.github_deploy_role(environment_name),
            subject["deploy"],
            DEPLOY_ROLE_KINDS,
            f"mlkit {environment_name}: GitHub Actions deploys ({subject['deploy']})",
        )
        self.diff_role = self._role(
            "DiffRole",
            names.github_diff_role(environment_name),
            subject["diff"],
            DIFF_ROLE_KINDS,
            f"mlkit {environment_name}: GitHub Actions diffs pull requests, read-only ({subject['diff']})",
        )
        cdk.CfnOutput(self, "DeployRoleArn", value=self.deploy_role.role_arn)
        cdk.CfnOutput(self, "DiffRoleArn", value=self.diff_role.role_arn)

    def _role(self, construct_id: str, name: str, subject: str, kinds, description: str) -> iam.Role:
        host = names.GITHUB_OIDC_HOST
        role = iam.Role(
            self,
            construct_id,
            role_name=name,
            description=description,
            max_session_duration=cdk.Duration.hours(1),
            assumed_by=iam.WebIdentityPrincipal(
                self.provider_arn,
                conditions={"StringEquals": {f"{host}:aud": names.STS_AUDIENCE, f"{host}:sub": subject}},
            ),
        )
        role.add_to_policy(
            iam.PolicyStatement(
                actions=["sts:AssumeRole"],
                resources=[self.bootstrap_role_arn(kind) for kind in kinds],
            )
        )
        return role

    def bootstrap_role_arn(self, kind: str) -> str:
        """This account's and region's CDK bootstrap role of ``kind`` (tokens in the emulated variant)."""
        return self.format_arn(
            service="iam",
            region="",
            resource="role",
            resource_name=names.bootstrap_role(kind, self.account, self.region),
        )
