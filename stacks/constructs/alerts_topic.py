"""The environment's alerts topic: alarms, failed runs and the budget all notify it."""

from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_sns as sns
from aws_cdk import aws_sns_subscriptions as subscriptions
from constructs import Construct

from stacks import names
from stacks.config.alerts import AlertSettings

# The services that publish to the topic, and so must encrypt with its key.
PUBLISHERS = ("cloudwatch.amazonaws.com", "events.amazonaws.com", "budgets.amazonaws.com")


class AlertsTopic(Construct):
    """``mlkit-<env>-alerts``, encrypted with ``key``, with the configured email subscriptions.

    With ``settings.topic_arn`` it is that topic, used as given (its owner grants the publishers).
    Exposes ``topic``.
    """

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        environment_name: str,
        settings: AlertSettings,
        key: kms.Key,
    ) -> None:
        super().__init__(scope, construct_id)
        if settings.topic_arn:
            self.topic = sns.Topic.from_topic_arn(self, "Topic", settings.topic_arn)
            return
        account = key.stack.account
        key.add_to_resource_policy(
            iam.PolicyStatement(
                sid="AlertPublishersOfThisAccount",
                actions=["kms:Decrypt", "kms:GenerateDataKey*"],
                principals=[iam.ServicePrincipal(service) for service in PUBLISHERS],
                resources=["*"],  # in a key policy, "*" means this key
                conditions={"StringEquals": {"aws:SourceAccount": account}},
            )
        )
        topic = sns.Topic(
            self,
            "Topic",
            topic_name=names.alerts_topic_name(environment_name),
            master_key=key,
            enforce_ssl=True,
        )
        # Budgets needs the topic policy; the account's alarms do not, and EventBridge rules add their own.
        topic.add_to_resource_policy(
            iam.PolicyStatement(
                actions=["sns:Publish"],
                principals=[iam.ServicePrincipal("budgets.amazonaws.com")],
                resources=[topic.topic_arn],
                conditions={"StringEquals": {"aws:SourceAccount": account}},
            )
        )
        for email in settings.emails:
            topic.add_subscription(subscriptions.EmailSubscription(email))
        self.topic: sns.ITopic = topic
