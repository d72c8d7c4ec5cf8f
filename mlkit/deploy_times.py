"""How long CloudFormation takes to create each resource type mlkit deploys: the one table `make plan`
estimates with (mlkit/plan.py). Each figure is (fast, slow) seconds for a create, with its source.

AWS publishes few creation times, so most figures are reasoned from what the handler waits for:
CloudFormation reports a resource complete only once its service says it is usable (an IAM role
propagated, a Lambda function Active, an endpoint InService). Updates are usually shorter, except where
they replace an endpoint.
"""

MINUTE = 60

CREATION_SECONDS: dict[str, tuple[float, float]] = {
    # SageMaker's serverless guide: "it can take a few minutes for the endpoint to become available"; an
    # instance endpoint launches instances and pulls the container (the HF DLC is several GB): AWS's usual
    # 5-10 minutes, the figure issue 24 quotes. boto3's EndpointInService waiter allows 60 (30 s × 120).
    "AWS::SageMaker::Endpoint": (5 * MINUTE, 10 * MINUTE),
    # The same instances and containers start for a component on an endpoint.
    "AWS::SageMaker::InferenceComponent": (5 * MINUTE, 10 * MINUTE),
    # Metadata records: one API call each, no instances (reasoned).
    "AWS::SageMaker::Model": (2, 10),
    "AWS::SageMaker::EndpointConfig": (2, 10),
    "AWS::SageMaker::ModelPackageGroup": (2, 10),
    # The handler waits for the new key to be usable across KMS's hosts (reasoned: a minute or two).
    "AWS::KMS::Key": (1 * MINUTE, 2 * MINUTE),
    "AWS::KMS::Alias": (2, 10),
    # IAM is eventually consistent: the handlers wait for a role or policy to propagate (reasoned).
    "AWS::IAM::Role": (10, 30),
    "AWS::IAM::Policy": (10, 60),
    "AWS::IAM::ManagedPolicy": (10, 30),
    # A function is complete when its state is Active: seconds (reasoned; a VPC function would take minutes).
    "AWS::Lambda::Function": (5, 30),
    "AWS::Lambda::LayerVersion": (2, 10),
    "AWS::Lambda::Permission": (1, 5),
    # A custom resource runs a Lambda function once (CDK's bucket auto-delete: a few seconds).
    "Custom::*": (5, 30),
    # S3 waits for a new bucket's name to propagate (reasoned: up to half a minute).
    "AWS::S3::Bucket": (5, 30),
    "AWS::S3::BucketPolicy": (2, 10),
    # API Gateway objects are one call each; a deployment and its stage take a little longer (reasoned).
    "AWS::ApiGateway::RestApi": (2, 10),
    "AWS::ApiGateway::Resource": (1, 5),
    "AWS::ApiGateway::Method": (1, 5),
    "AWS::ApiGateway::Model": (1, 5),
    "AWS::ApiGateway::RequestValidator": (1, 5),
    "AWS::ApiGateway::Deployment": (2, 15),
    "AWS::ApiGateway::Stage": (2, 15),
    "AWS::ApiGateway::Account": (2, 10),
    # Application Auto Scaling registers the target, then puts its policies (reasoned).
    "AWS::ApplicationAutoScaling::ScalableTarget": (5, 30),
    "AWS::ApplicationAutoScaling::ScalingPolicy": (2, 10),
    # A guardrail and its version are created and then reported READY (reasoned: seconds).
    "AWS::Bedrock::Guardrail": (5, 30),
    "AWS::Bedrock::GuardrailVersion": (5, 30),
    # Records, one call each (reasoned).
    "AWS::CloudWatch::Alarm": (1, 5),
    "AWS::CloudWatch::Dashboard": (1, 5),
    "AWS::Logs::LogGroup": (1, 5),
    "AWS::SNS::Topic": (2, 10),
    "AWS::SNS::TopicPolicy": (2, 10),
    "AWS::Budgets::Budget": (2, 10),
    "AWS::Glue::Database": (1, 5),
    "AWS::Glue::Table": (1, 5),
    "AWS::Glue::Job": (1, 5),
    "AWS::Glue::SecurityConfiguration": (1, 5),
    "AWS::StepFunctions::StateMachine": (2, 10),
    # EventBridge rules take longer than their one call in practice (reasoned: up to a minute).
    "AWS::Events::Rule": (5, 60),
    "AWS::IAM::OIDCProvider": (2, 10),
    # CDK's version report (`cdk synth` adds it to every stack): CloudFormation creates nothing for it.
    "AWS::CDK::Metadata": (1, 2),
}

# A type not in the table: a typical record-like resource (reasoned). `make plan` names such types.
UNLISTED_SECONDS = (5, 30)

# Per stack, around its resources: the CLI publishes the template and assets, creates and executes a
# change set (change sets take seconds to tens of seconds to compute), and notices completion on its next
# DescribeStacks poll, every 5 s (the CLI's stabilizeStack) (reasoned).
STACK_OVERHEAD_SECONDS = (15, 45)


def creation_seconds(resource_type: str) -> tuple[float, float] | None:
    """(fast, slow) seconds to create a ``resource_type``, or None when the table has no figure for it."""
    if resource_type.startswith("Custom::") or resource_type == "AWS::CloudFormation::CustomResource":
        return CREATION_SECONDS["Custom::*"]
    return CREATION_SECONDS.get(resource_type)
