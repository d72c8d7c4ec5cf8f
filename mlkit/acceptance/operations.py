"""The environment's operations read back: its alarms, the alerts topic, the dashboards and the budget.

What should exist is what the deployed templates declare (CloudFormation's copy, as `make deploy`'s cost
line reads it), so whatever stack an alarm or a dashboard lives in, it is found; the config adds what
no template can say: the emails that must be subscribed, the budget's figures, a row per model.
"""

from botocore.exceptions import ClientError

from mlkit.report import StepFailed, StepSkipped
from sources import source_of
from stacks import names

ALARM = "AWS::CloudWatch::Alarm"
DASHBOARD = "AWS::CloudWatch::Dashboard"
PENDING = "PendingConfirmation"
SHOWN = 5  # names listed per problem; the count says how many more


def declared(templates: dict[str, dict], resource_type: str, name_key: str) -> list[str]:
    """The literal names of every ``resource_type`` in the templates (the kit names all of them)."""
    found = []
    for template in templates.values():
        for resource in template.get("Resources", {}).values():
            if resource.get("Type") == resource_type:
                name = resource.get("Properties", {}).get(name_key)
                if not isinstance(name, str):
                    raise StepFailed(f"a template declares a {resource_type} without a literal {name_key}")
                found.append(name)
    return sorted(found)


def listed(what: str, items: list[str]) -> str:
    more = f" and {len(items) - SHOWN} more" if len(items) > SHOWN else ""
    return f"{what}: {', '.join(items[:SHOWN])}{more}"


def check_alarms(row, context) -> None:
    """Every declared alarm exists, notifies the alerts topic, and is not firing."""
    expected = declared(context.templates, ALARM, "AlarmName")
    cloudwatch, found = context.client("cloudwatch"), {}
    for start in range(0, len(expected), 100):  # DescribeAlarms takes at most 100 names
        for page in cloudwatch.get_paginator("describe_alarms").paginate(
            AlarmNames=expected[start : start + 100]
        ):
            found.update({alarm["AlarmName"]: alarm for alarm in page["MetricAlarms"]})
    topic = context.topic_arn()
    problems = []
    missing = [name for name in expected if name not in found]
    if missing:
        problems.append(listed(f"{len(missing)} declared alarms missing", missing))
    silent = [name for name, alarm in found.items() if topic not in alarm.get("AlarmActions", [])]
    if silent:
        problems.append(listed(f"{len(silent)} alarms do not notify {topic}", silent))
    firing = [
        f"{name} ({alarm.get('StateReason', '')[:80]})"
        for name, alarm in found.items()
        if alarm["StateValue"] == "ALARM"
    ]
    if firing:
        problems.append(listed(f"{len(firing)} alarms in ALARM", firing))
    if problems:
        raise StepFailed("; ".join(problems))
    states = {}
    for alarm in found.values():
        states[alarm["StateValue"]] = states.get(alarm["StateValue"], 0) + 1
    counts = ", ".join(f"{count} {state}" for state, count in sorted(states.items()))
    row.detail = f"{len(expected)} alarms declared, all present, each notifying the alerts topic ({counts})"


def check_topic(row, context) -> None:
    """The alerts topic exists, is encrypted (mlkit's own), and each configured email confirmed it."""
    topic, alerts = context.topic_arn(), context.config.alerts
    sns = context.client("sns")
    attributes = sns.get_topic_attributes(TopicArn=topic)["Attributes"]
    if not alerts.topic_arn and not attributes.get("KmsMasterKeyId"):
        raise StepFailed(f"{topic} is not KMS-encrypted")
    subscriptions = [
        subscription
        for page in sns.get_paginator("list_subscriptions_by_topic").paginate(TopicArn=topic)
        for subscription in page["Subscriptions"]
    ]
    emails = {s["Endpoint"]: s["SubscriptionArn"] for s in subscriptions if s["Protocol"] == "email"}
    missing = [email for email in alerts.emails if email not in emails]
    pending = [email for email in alerts.emails if emails.get(email) == PENDING]
    if missing or pending:
        problems = [listed("not subscribed", missing)] if missing else []
        if pending:
            problems.append(listed("subscription not confirmed (click the link AWS emailed)", pending))
        raise StepFailed(f"{topic}: " + "; ".join(problems))
    who = (
        f"{len(subscriptions)} subscriptions"
        if subscriptions
        else "no subscriptions: nobody is told (alerts.emails)"
    )
    row.detail = f"{topic.rsplit(':', 1)[-1]}: {who}, {len(alerts.emails)} configured emails confirmed"


def check_dashboards(row, context) -> None:
    """Every declared dashboard exists, and together they have a row for each model of the config."""
    expected = declared(context.templates, DASHBOARD, "DashboardName")
    cloudwatch, bodies, missing = context.client("cloudwatch"), [], []
    for name in expected:
        try:
            bodies.append(cloudwatch.get_dashboard(DashboardName=name)["DashboardBody"])
        except ClientError as error:
            if error.response["Error"]["Code"] not in ("ResourceNotFound", "ResourceNotFoundException"):
                raise
            missing.append(name)
    if not expected or missing:
        raise StepFailed(listed("dashboards missing", missing or [names.prefix(context.environment)]))
    text = "".join(bodies)
    rowless = [
        label
        for label, model in context.config.models.items()
        if names.dashboard_row_title(label, source_of(model).name) not in text
    ]
    if rowless:
        raise StepFailed(listed(f"no dashboard row for {len(rowless)} models", rowless))
    row.detail = f"{', '.join(expected)}: a row for each of {len(context.config.models)} models"


def check_budget(row, context) -> None:
    """The configured budget exists with its monthly limit, its thresholds, each notifying the topic."""
    settings = context.config.budget
    if not settings:
        raise StepSkipped("the config sets no budget")
    budgets, account, name = context.client("budgets"), context.account, names.prefix(context.environment)
    budget = budgets.describe_budget(AccountId=account, BudgetName=name)["Budget"]
    limit = float(budget["BudgetLimit"]["Amount"])
    if (limit, budget["TimeUnit"]) != (float(settings.monthly_usd), "MONTHLY"):
        raise StepFailed(f"{name} is {limit} {budget['TimeUnit']}, not {settings.monthly_usd} MONTHLY")
    notifications = budgets.describe_notifications_for_budget(AccountId=account, BudgetName=name)
    thresholds, topic = {}, context.topic_arn()
    for notification in notifications["Notifications"]:
        subscribers = budgets.describe_subscribers_for_notification(
            AccountId=account, BudgetName=name, Notification=notification
        )["Subscribers"]
        thresholds[notification["Threshold"]] = [s["Address"] for s in subscribers]
    wanted = sorted(float(percent) for percent in settings.alert_percent)
    if sorted(thresholds) != wanted or any(topic not in addresses for addresses in thresholds.values()):
        raise StepFailed(f"{name} notifies {thresholds}; the config wants {wanted} % each to {topic}")
    row.detail = (
        f"{name}: {limit:g} USD a month, alerts at {', '.join(f'{p:g}%' for p in wanted)} to the topic "
        f"(it counts resources tagged environment={context.environment} once that cost allocation tag is on)"
    )
