"""A deployed environment in moto's server for `make acceptance`'s tests (tests/mlkit/test_acceptance.py).

The stacks hold what the checklist reads: outputs, alarms, dashboards, the budget, and the Glue job
that bounds a preparation's cost. The pipelines are one-state stand-ins that moto's Step Functions
executes. What moto does not do is done here, each in one place:
- its CloudFormation creates no alarm and no budget: `as_cloudformation_would` creates the templates'
  through their APIs;
- its EventBridge starts no state machine: `Rules` starts the dataset's preparation on the upload, and
  the on_upload model once that succeeded, as the dataset stack's two rules do;
- its InvokeEndpoint answers from one queue shared by every endpoint: `Endpoints` answers per endpoint on
  the router's own client, after every check botocore makes, and records what each endpoint was sent;
- it has no Budgets DescribeSubscribersForNotification: `budget_subscribers` answers with the template's.
The API call goes to the real router handler in-process (`RouterTransport`).
"""

import io
import json
import threading
import time
import urllib.parse
import urllib.request
from contextlib import contextmanager

import boto3
from botocore.awsrequest import AWSResponse

from lambdas.shared.registry import is_text_media_type
from mlkit import client
from mlkit.route_proof import call
from stacks import names
from stacks.config import MlKitConfig
from tests.mlkit.emulated import ACCOUNT, REGION, bucket_names

ENV = "acc"
HUGGING_FACE = {
    "source": "huggingface",
    "hosting": {"type": "serverless", "memory_mb": 3072, "max_concurrency": 5},
}
CONFIG = {
    "environment": ENV,
    "account": ACCOUNT,
    "region": REGION,
    "alerts": {"emails": ["ml-team@example.com"]},
    "budget": {"monthly_usd": 150, "alert_percent": [80, 100]},
    "models": {
        "sentiment": {
            **HUGGING_FACE,
            "model_id": "distilbert/distilbert-base-uncased",
            "task": "text-classification",
        },
        "vision": {**HUGGING_FACE, "model_id": "google/vit-base-patch16-224", "task": "image-classification"},
        "summarizer": {
            **HUGGING_FACE,
            "model_id": "sshleifer/distilbart-cnn-12-6",
            "task": "summarization",
            "hosting": {"type": "async", "instance_type": "ml.m5.xlarge"},
        },
        "chat": {"source": "bedrock", "model_id": "amazon.titan-text-lite-v1"},
        "churn": {
            "source": "training",
            "dataset": "churn",
            "target": "churned",
            "hyperparameters": {"objective": "binary:logistic", "num_round": 10, "eval_metric": "auc"},
        },
        "churn-automl": {"source": "autopilot", "dataset": "churn", "target": "churned", "trigger": "manual"},
        "resnet": {
            "source": "pytorch_hub",
            "repo": "pytorch/vision:v0.20.0",
            "entrypoint": "resnet18",
            "task": "image-classification",
            "hosting": {"type": "realtime", "instance_type": "ml.m5.large"},
        },
    },
}
MODELS = MlKitConfig.model_validate(CONFIG).models
PIPELINES = {"churn": "Train model", "churn-automl": "AutoML job", "resnet": "Package model"}
DATASET_MACHINE = names.dataset_state_machine_name(ENV, "churn")
API_URL = "https://a1b2c3d4e5.execute-api.us-east-1.amazonaws.com/v1/"
TOPIC = f"arn:aws:sns:{REGION}:{ACCOUNT}:{names.alerts_topic_name(ENV)}"
EMAIL = CONFIG["alerts"]["emails"][0]
ROLE = f"arn:aws:iam::{ACCOUNT}:role/pipeline"
# As the Glue job curates them: label-first rows for training, a header naming the target for Autopilot.
CURATED = {
    "churn/xgboost/validation/part-00000.csv": "".join(
        f"{i % 2},{i},{i / 2},{i % 3},{i + 9},{2 * i}\n" for i in range(12)
    ),
    "churn/autopilot/part-00000.csv": "tenure,plan,churned,monthly\n"
    + "".join(f"{i},basic,{i % 2},{i * 9.5}\n" for i in range(12)),
}
HANDLE = {"Handle": {"Type": "AWS::CloudFormation::WaitConditionHandle"}}  # a stack needs one resource


def endpoint(label: str) -> str:
    return names.endpoint_name(ENV, label)


def machine(label_or_name: str) -> str:
    name = endpoint(label_or_name) if label_or_name in PIPELINES else label_or_name
    return f"arn:aws:states:{REGION}:{ACCOUNT}:stateMachine:{name}"


def alarm(name: str) -> dict:
    properties = {"AlarmName": name, "Namespace": "AWS/SageMaker", "MetricName": "Invocation5XXErrors",
                  "Statistic": "Sum", "Period": 60, "EvaluationPeriods": 2, "Threshold": 1,
                  "ComparisonOperator": "GreaterThanOrEqualToThreshold", "AlarmActions": [TOPIC]}  # fmt: skip
    return {"Type": "AWS::CloudWatch::Alarm", "Properties": properties}


def operations_resources() -> dict:
    rows = "".join(f"## {label} ({model.source})\n" for label, model in MODELS.items())
    notifications = [
        {"Notification": {"NotificationType": "ACTUAL", "ComparisonOperator": "GREATER_THAN",
                          "Threshold": percent, "ThresholdType": "PERCENTAGE"},
         "Subscribers": [{"SubscriptionType": "SNS", "Address": TOPIC}]}
        for percent in CONFIG["budget"]["alert_percent"]
    ]  # fmt: skip
    budget = {"BudgetName": names.prefix(ENV), "BudgetLimit": {"Amount": 150, "Unit": "USD"},
              "TimeUnit": "MONTHLY", "BudgetType": "COST"}  # fmt: skip
    dashboard = {"DashboardName": names.prefix(ENV), "DashboardBody": json.dumps({"rows": rows})}
    return {
        "Dashboard1": {"Type": "AWS::CloudWatch::Dashboard", "Properties": dashboard},
        "ChatThrottles": alarm(f"{endpoint('chat')}-throttles"),  # a Bedrock model's alarms live here
        "Budget": {
            "Type": "AWS::Budgets::Budget",
            "Properties": {"Budget": budget, "NotificationsWithSubscribers": notifications},
        },
    }


def templates() -> dict[str, dict]:
    """The stacks the checklist reads, in the shapes `cdk deploy` gives them."""
    glue = {"Name": names.glue_job_name(ENV, "churn"), "Role": ROLE, "Command": {"Name": "glueetl"},
            "NumberOfWorkers": 2, "WorkerType": "G.1X", "ExecutionClass": "FLEX", "Timeout": 60}  # fmt: skip
    data_outputs = {f"{kind.title()}BucketName": {"Value": name} for kind, name in bucket_names(ENV).items()}
    stacks = {
        names.data_stack_name(ENV): {
            "Resources": HANDLE,
            "Outputs": {**data_outputs, "AlertsTopicArn": {"Value": TOPIC}},
        },
        names.api_stack_name(ENV): {"Resources": HANDLE, "Outputs": {"ApiUrl": {"Value": API_URL}}},
        names.operations_stack_name(ENV): {"Resources": {**HANDLE, **operations_resources()}},
        names.dataset_stack_name(ENV, "churn"): {
            "Resources": {"GlueJob": {"Type": "AWS::Glue::Job", "Properties": glue}},
            "Outputs": {"StateMachineArn": {"Value": machine(DATASET_MACHINE)}},
        },
    }
    for label in MODELS:
        if label != "chat":
            alarms = {
                "Errors": alarm(f"{endpoint(label)}-5xx"),
                "Rate": alarm(f"{endpoint(label)}-error-rate"),
            }
            outputs = {"StateMachineArn": {"Value": machine(label)}} if label in PIPELINES else {}
            stacks[names.model_stack_name(ENV, label)] = {
                "Resources": {**HANDLE, **alarms},
                "Outputs": outputs,
            }
    return stacks


def as_cloudformation_would(emulator, stacks: dict[str, dict]) -> None:
    """The alarms and the budget the templates declare, which moto's CloudFormation skips."""
    cloudwatch, budgets = emulator.clients("cloudwatch"), emulator.clients("budgets")
    for template in stacks.values():
        for resource in template["Resources"].values():
            if resource["Type"] == "AWS::CloudWatch::Alarm":
                cloudwatch.put_metric_alarm(**resource["Properties"])
            if resource["Type"] == "AWS::Budgets::Budget":
                properties = json.loads(json.dumps(resource["Properties"]))
                limit = properties["Budget"]["BudgetLimit"]
                limit["Amount"] = str(limit["Amount"])  # a number in CloudFormation, a string in the API
                budgets.create_budget(AccountId=ACCOUNT, **properties)


def definition(state: str, kind: str = "Pass", **fields) -> str:
    """A one-state pipeline (moto executes it)."""
    return json.dumps({"StartAt": state, "States": {state: {"Type": kind, **fields, "End": True}}})


def deploy(emulator) -> None:
    """Buckets, the curated data, the topic and its email, the stacks, the pipelines."""
    s3, curated = emulator.clients("s3"), bucket_names(ENV)["curated"]
    for name in bucket_names(ENV).values():
        s3.create_bucket(Bucket=name)
    for key, text in CURATED.items():
        s3.put_object(Bucket=curated, Key=key, Body=text.encode())
    sns = emulator.clients("sns")
    sns.create_topic(
        Name=names.alerts_topic_name(ENV), Attributes={"KmsMasterKeyId": names.data_key_alias(ENV)}
    )
    sns.subscribe(TopicArn=TOPIC, Protocol="email", Endpoint=EMAIL)
    stacks = templates()
    for name, template in stacks.items():
        emulator.clients("cloudformation").create_stack(StackName=name, TemplateBody=json.dumps(template))
    as_cloudformation_would(emulator, stacks)
    sfn = emulator.clients("stepfunctions")
    sfn.create_state_machine(name=DATASET_MACHINE, roleArn=ROLE, definition=definition("Prepare"))
    for label, state in PIPELINES.items():
        sfn.create_state_machine(name=endpoint(label), roleArn=ROLE, definition=definition(state))


@contextmanager
def execution_mode():
    """Step Functions executes definitions (moto's option), put back after for the worker's other tests.

    Set before the state machines are made: moto keeps executable ones in a backend of their own."""
    from moto.core.config import default_user_config

    saved = dict(default_user_config["stepfunctions"])
    default_user_config["stepfunctions"]["execute_state_machine"] = True
    try:
        yield
    finally:
        default_user_config["stepfunctions"].clear()
        default_user_config["stepfunctions"].update(saved)


class Rules:
    """The dataset stack's OnUpload rule and the training model's Dataset Prepared rule, on a session."""

    def __init__(self, session: boto3.Session):
        self.session, self.threads, self.uploaded = session, [], {}
        session.events.register("before-parameter-build.s3.PutObject", self.remember)
        session.events.register("after-call.s3.PutObject", self.on_upload)

    def remember(self, params, **_):
        self.uploaded.update(bucket=params["Bucket"], key=params["Key"])

    def on_upload(self, **_):
        if self.uploaded["bucket"] != bucket_names(ENV)["raw"] or not self.uploaded["key"].startswith(
            "churn/"
        ):
            return
        sfn = self.session.client("stepfunctions")
        run = sfn.start_execution(
            stateMachineArn=machine(DATASET_MACHINE),
            name=f"upload-{time.time_ns()}",
            input=json.dumps({"upload": self.uploaded["key"]}),
        )
        thread = threading.Thread(target=self.when_prepared, args=(sfn, run["executionArn"]), daemon=True)
        self.threads.append(thread)
        thread.start()

    def when_prepared(self, sfn, execution_arn: str) -> None:
        for _ in range(200):
            if sfn.describe_execution(executionArn=execution_arn)["status"] == "SUCCEEDED":
                detail = {"environment": ENV, "dataset": "churn"}
                sfn.start_execution(
                    stateMachineArn=machine("churn"),
                    name=f"prepared-{time.time_ns()}",
                    input=json.dumps({"prepare": False, "dataset_run": detail}),
                )
                return
            time.sleep(0.05)

    def join(self) -> None:
        for thread in self.threads:
            thread.join(timeout=5)


def budget_subscribers(session: boto3.Session) -> None:
    """Budgets' DescribeSubscribersForNotification, which moto lacks: the template's subscriber."""

    def answer(**_):
        return AWSResponse(None, 200, {}, None), {
            "Subscribers": [{"SubscriptionType": "SNS", "Address": TOPIC}]
        }

    session.events.register("before-call.budgets.DescribeSubscribersForNotification", answer)


class Raw(io.BytesIO):
    """An HTTP answer's raw body, as botocore reads it (whole, or streamed)."""

    def stream(self, **_):
        yield self.getvalue()


class Endpoints:
    """What each endpoint answers, a function of the request's body, in place of the HTTP exchange
    (before-send): botocore parses it as SageMaker's, the Content-Type header as ContentType, a status
    over 300 as a ModelError. ``received`` keeps the last request each endpoint got."""

    def __init__(self):
        self.received: dict[str, dict] = {}
        json_answer = "application/json"
        self.answers = {
            endpoint("sentiment"): lambda body: (200, b'[{"label": "POSITIVE", "score": 0.98}]', json_answer),
            endpoint("vision"): lambda body: (200, b'[{"label": "tabby", "score": 0.41}]', json_answer),
            endpoint("churn"): lambda body: (200, b"0.42\n" * len(body.splitlines()), "text/csv"),
            endpoint("churn-automl"): lambda body: (200, b"1,0.87\n" * len(body.splitlines()), "text/csv"),
            endpoint("resnet"): lambda body: (200, b'{"predictions": [{"label": "tabby"}]}', json_answer),
        }

    def __call__(self, request, **_):
        name = urllib.parse.unquote(urllib.parse.urlsplit(request.url).path.split("/")[2])
        headers = {key.lower(): value.decode() if isinstance(value, bytes) else value
                   for key, value in request.headers.items()}  # fmt: skip
        body = request.body if isinstance(request.body, bytes) else request.body.read()
        self.received[name] = {**headers, "body": body}
        status, answer, content_type = self.answers[name](body)
        if status >= 300:
            answer = json.dumps({"__type": "ModelError", "message": answer.decode()}).encode()
        return AWSResponse(request.url, status, {"Content-Type": content_type}, Raw(answer))


class RouterTransport:
    """The signed request, handed to the router's handler as API Gateway would (binary bodies base64)."""

    def __init__(self, router):
        self.router, self.signatures = router, []

    def __call__(self, request: urllib.request.Request, timeout: float) -> client.Answer:
        if not request.full_url.startswith(API_URL.rstrip("/")):
            raise client.Unreachable(f"could not reach {request.full_url}")
        headers = {key.title(): value for key, value in request.header_items()}
        self.signatures.append(headers.get("Authorization", ""))
        body = request.data
        if body is not None and is_text_media_type(client.media_type(headers.get("Content-Type", ""))):
            body = body.decode()
        path = urllib.parse.urlsplit(request.full_url).path.removeprefix("/v1")
        answer = call(self.router, request.get_method(), path, body, headers)
        return client.Answer(answer.status, answer.content_type, answer.body)


def stop_running(emulator) -> None:
    """Stops the executions a test left running (the endless one)."""
    sfn = emulator.clients("stepfunctions")
    for label in PIPELINES:
        running = sfn.list_executions(stateMachineArn=machine(label), statusFilter="RUNNING")["executions"]
        for execution in running:
            sfn.stop_execution(executionArn=execution["executionArn"])
