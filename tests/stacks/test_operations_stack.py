"""Operations: dashboard rows per model, alarms on the topic, failure rules, encrypted logs, a budget."""

import json

import pytest

from stacks import names
from stacks.config import load_config
from stacks.config.alerts import LogSettings
from stacks.config.loader import CONFIG_DIR
from stacks.operations_parts import MODELS_PER_DASHBOARD, alarm_shares
from tests.config.test_config import model, problems
from tests.stacks.synth import config_from, render_tokens, synthesize

BEDROCK_ONLY = {"chat": {"source": "bedrock", "model_id": "amazon.nova-lite-v1:0"}}


@pytest.fixture(scope="module")
def showcase():
    return synthesize(load_config(CONFIG_DIR / "showcase.yaml"))


def of_type(resources: dict, resource_type: str) -> dict:
    return {key: r for key, r in resources.items() if r["Type"] == resource_type}


def stack(app, environment: str, part: str) -> dict:
    return app.raw[names.stack_name(environment, part)]["Resources"]


def dashboards(app, environment: str) -> dict[str, str]:
    """Every dashboard of every operations part, by name, each body as text."""
    found = [
        dashboard
        for name, template in app.raw.items()
        if name.startswith(names.operations_stack_name(environment))
        for dashboard in of_type(template["Resources"], "AWS::CloudWatch::Dashboard").values()
    ]
    return {d["Properties"]["DashboardName"]: json.dumps(d["Properties"]["DashboardBody"]) for d in found}


def alarms(app) -> dict[str, dict]:
    """Every alarm of the app that tells a person, by name, with the stack it is in.

    Step-scaling alarms (unnamed, their action a scaling policy) drive autoscaling, not people."""
    found = {}
    for name, template in app.raw.items():
        for alarm in of_type(template["Resources"], "AWS::CloudWatch::Alarm").values():
            properties = alarm["Properties"]
            if "AlarmName" not in properties and "Policy" in json.dumps(properties.get("AlarmActions")):
                continue
            found[properties["AlarmName"]] = {**properties, "stack": name}
    return found


def topic_export(app, environment: str) -> str:
    """The alerts topic's Ref in the data stack, as other stacks import it."""
    data = stack(app, environment, "data")
    (topic_id,) = of_type(data, "AWS::SNS::Topic")
    return topic_id


def test_one_dashboard_with_a_row_per_model_from_its_source(showcase):
    (body,) = dashboards(showcase, "showcase").values()
    assert list(dashboards(showcase, "showcase")) == ["mlkit-showcase"]
    config = load_config(CONFIG_DIR / "showcase.yaml")
    for label, entry in config.models.items():
        assert f"## {label} ({entry.source})" in body
    # Each source's own metrics: SageMaker real-time, serverless, async; Bedrock by ModelId; pipelines.
    for metric in (
        "ModelLatency",
        "OverheadLatency",
        "ModelSetupTime",
        "ApproximateBacklogSize",
        "TotalProcessingTime",
    ):
        assert metric in body
    for metric in ("InvocationThrottles", "InputTokenCount", "ExecutionsFailed", "5XXError"):
        assert metric in body
    assert "modellatency / 1000" in body  # microseconds shown in ms
    # Each dataset's preparation (its Glue or Processing job inside): failed runs.
    assert "dataset churn: failed preparations" in body
    assert "stateMachine:mlkit-showcase-dataset-churn" in body


def test_a_catalogue_past_one_dashboard_gets_pages_and_shares_its_alarms_out_in_parts():
    models = {f"m{n}": BEDROCK_ONLY["chat"] for n in range(MODELS_PER_DASHBOARD + 1)}
    app = synthesize(config_from({"environment": "pages", "region": "eu-west-1", "models": models}))
    pages = dashboards(app, "pages")
    assert list(pages) == ["mlkit-pages", "mlkit-pages-2"]
    assert "## m0 (bedrock)" in pages["mlkit-pages"] and "## m0 (bedrock)" not in pages["mlkit-pages-2"]
    assert f"## m{MODELS_PER_DASHBOARD} (bedrock)" in pages["mlkit-pages-2"]
    second = names.operations_part_stack_name("pages", 2)
    assert of_type(app.raw[second]["Resources"], "AWS::CloudWatch::Dashboard")  # page 2 in part 2
    # No stack of their own: each model's three alarms in the part its share names, none twice.
    found = alarms(app)
    assert len(found) == 3 * len(models)
    for part, share in enumerate(alarm_shares(list(models)), start=1):
        assert share
        for label in share:
            holders = {a["stack"] for name, a in found.items() if name.startswith(f"mlkit-pages-{label}-")}
            assert holders == {names.operations_part_stack_name("pages", part)}, label
    # Part 2 deploys after part 1: alarms move only into a later part.
    manifest = json.loads((app.directory / "manifest.json").read_text())["artifacts"]
    stacks = {
        a["properties"]["stackName"]: (i, a)
        for i, a in manifest.items()
        if "stackName" in a.get("properties", {})
    }
    assert stacks[names.operations_stack_name("pages")][0] in stacks[second][1]["dependencies"]
    # Only part 1 has the failure rules and the budget.
    assert not of_type(app.raw[second]["Resources"], "AWS::Events::Rule")


def test_every_alarm_notifies_the_alerts_topic(showcase):
    found = alarms(showcase)
    topic_id = topic_export(showcase, "showcase")
    for name, alarm in found.items():
        (action,) = alarm["AlarmActions"]
        assert topic_id in json.dumps(action), name
    kinds = {name.rsplit("mlkit-showcase-", 1)[1] for name in found}
    for kind in ("error-rate", "latency-p90", "throttles", "backlog-age", "5xx", "latency"):
        assert any(k.endswith(f"-{kind}") for k in kinds), kind
    # A model's alarms live in its own stack; the rollback alarms there notify too.
    assert found["mlkit-showcase-ner-error-rate"]["stack"] == "mlkit-showcase-ner"
    assert found["mlkit-showcase-ner-5xx"]["AlarmActions"]


def test_the_topic_is_encrypted_and_takes_the_configured_emails_and_thresholds():
    config = {
        "environment": "ops",
        "region": "eu-west-1",
        "alerts": {"emails": ["ml-team@example.com"], "thresholds": {"latency_p90_ms": 750}},
        "models": BEDROCK_ONLY,
    }
    app = synthesize(config_from(config))
    data = stack(app, "ops", "data")
    (topic,) = of_type(data, "AWS::SNS::Topic").values()
    (key_id,) = of_type(data, "AWS::KMS::Key")
    assert topic["Properties"]["KmsMasterKeyId"] == {"Fn::GetAtt": [key_id, "Arn"]}
    (subscription,) = of_type(data, "AWS::SNS::Subscription").values()
    assert subscription["Properties"]["Endpoint"] == "ml-team@example.com"
    # A Bedrock model without a stack has its alarms in the operations stack.
    latency = alarms(app)["mlkit-ops-chat-latency-p90"]
    assert (latency["Threshold"], latency["stack"]) == (750, "mlkit-ops-operations")
    key_policy = json.dumps(data[key_id]["Properties"]["KeyPolicy"])
    for publisher in ("cloudwatch.amazonaws.com", "events.amazonaws.com", "budgets.amazonaws.com"):
        assert publisher in key_policy


def test_failed_pipelines_and_glue_runs_are_sent_with_their_reason(showcase):
    rules = of_type(stack(showcase, "showcase", "operations"), "AWS::Events::Rule")
    patterns = {json.dumps(r["Properties"]["EventPattern"]["source"]): r for r in rules.values()}
    states = patterns['["aws.states"]']["Properties"]
    assert states["EventPattern"]["detail"]["status"] == ["FAILED", "TIMED_OUT", "ABORTED"]
    assert "$.detail.cause" in json.dumps(states["Targets"][0]["InputTransformer"])
    glue = patterns['["aws.glue"]']["Properties"]
    assert glue["EventPattern"]["detail"]["jobName"] == [{"prefix": "mlkit-showcase-"}]
    assert "$.detail.message" in json.dumps(glue["Targets"][0]["InputTransformer"])
    topic_id = topic_export(showcase, "showcase")
    assert all(topic_id in json.dumps(r["Properties"]["Targets"][0]["Arn"]) for r in rules.values())


def test_every_log_group_is_encrypted_with_the_environment_key_and_kept_as_configured():
    showcase = load_config(CONFIG_DIR / "showcase.yaml")
    config = showcase.model_copy(update={"environment": "logs", "logs": LogSettings(retention_days=365)})
    app = synthesize(config)
    (key_id,) = of_type(stack(app, "logs", "data"), "AWS::KMS::Key")
    groups = [
        (name, group["Properties"])
        for name, template in app.raw.items()
        for group in of_type(template["Resources"], "AWS::Logs::LogGroup").values()
    ]
    # Every stack's: the router's, the shared deploy Lambda's, the pipelines' and the datasets'.
    assert len(groups) >= 10 and "mlkit-logs-deploy" in {name for name, _ in groups}
    for name, properties in groups:
        assert properties["RetentionInDays"] == 365, name
        assert key_id in json.dumps(properties["KmsKeyId"]), name
    key_policy = json.dumps(stack(app, "logs", "data")[key_id]["Properties"]["KeyPolicy"])
    assert "logs.eu-west-1.amazonaws.com" in key_policy or "logs.us-east-1.amazonaws.com" in key_policy
    assert "kms:EncryptionContext:aws:logs:arn" in key_policy


def test_the_router_reserves_concurrency_and_only_deploy_lambdas_accept_the_scan_finding(showcase):
    config = {"environment": "conc", "region": "eu-west-1", "api": {"reserved_concurrency": 40}}
    app = synthesize(config_from({**config, "models": BEDROCK_ONLY}))
    functions = of_type(stack(app, "conc", "api"), "AWS::Lambda::Function").values()
    (router,) = [f for f in functions if f["Properties"]["Handler"] == "router.handler"]
    assert router["Properties"]["ReservedConcurrentExecutions"] == 40
    assert "checkov" not in router.get("Metadata", {})  # `make scan` fails a router without it
    for name, template in showcase.raw.items():
        for function in of_type(template["Resources"], "AWS::Lambda::Function").values():
            skipped = [c["id"] for c in function.get("Metadata", {}).get("checkov", {}).get("skip", [])]
            reserved = "ReservedConcurrentExecutions" in function["Properties"]
            assert reserved != (skipped == ["CKV_AWS_115"]), name


def test_a_budget_filters_on_the_environment_tag_and_notifies_the_topic():
    config = {
        "environment": "budget",
        "region": "eu-west-1",
        "budget": {"monthly_usd": 250, "alert_percent": [50, 90]},
        "models": BEDROCK_ONLY,
    }
    app = synthesize(config_from(config))
    (budget,) = of_type(stack(app, "budget", "operations"), "AWS::Budgets::Budget").values()
    data = budget["Properties"]["Budget"]
    assert data["CostFilters"] == {"TagKeyValue": ["user:environment$budget"]}
    assert data["BudgetLimit"] == {"Amount": 250, "Unit": "USD"}
    notifications = budget["Properties"]["NotificationsWithSubscribers"]
    assert [n["Notification"]["Threshold"] for n in notifications] == [50, 90]
    topic_id = topic_export(app, "budget")
    assert all(topic_id in json.dumps(n["Subscribers"][0]["Address"]) for n in notifications)
    # Without a budget: none.
    assert not of_type(stack(app, "budget", "data"), "AWS::Budgets::Budget")


def test_an_existing_topic_is_used_as_given():
    arn = "arn:aws:sns:eu-west-1:123456789012:chatbot-alerts"
    app = synthesize(
        config_from(
            {
                "environment": "ops2",
                "region": "eu-west-1",
                "alerts": {"topic_arn": arn},
                "models": BEDROCK_ONLY,
            }
        )
    )
    assert not of_type(stack(app, "ops2", "data"), "AWS::SNS::Topic")
    assert all(alarm["AlarmActions"] == [arn] for alarm in alarms(app).values())


@pytest.mark.parametrize(
    ("section", "expected"),
    [
        ("alerts: {emails: [nope]}", "alerts.emails.0: 'nope' is not an email address"),
        ("alerts: {thresholds: {error_rate_percent: 150}}", "alerts.thresholds.error_rate_percent"),
        ("alerts: {topic_arn: my-topic}", "alerts.topic_arn"),
        (
            "logs: {retention_days: 100}",
            "logs.retention_days: 100 is not a CloudWatch Logs retention; allowed: 1, 3",
        ),
        ("budget: {monthly_usd: 10, alert_percent: [0]}", "budget.alert_percent"),
        ("api: {reserved_concurrency: 0}", "api.reserved_concurrency"),
    ],
)
def test_bad_operations_settings_name_the_key(tmp_path, section, expected):
    body = model("source: bedrock\nmodel_id: amazon.nova-lite-v1:0").replace("models:", f"{section}\nmodels:")
    found = problems(tmp_path, body)
    assert any(expected in line for line in found), found


def test_the_dashboard_body_is_cloudwatchs_format(showcase):
    """Each widget placed on the 24-column grid; each metric row namespace, name, dimension pairs, then its
    options; expressions and the hidden metrics they read with ids unique within their graph."""
    (dashboard,) = of_type(stack(showcase, "showcase", "operations"), "AWS::CloudWatch::Dashboard").values()
    widgets = json.loads(render_tokens(dashboard["Properties"]["DashboardBody"]))["widgets"]
    for widget in widgets:
        assert widget["type"] in ("text", "metric")
        assert widget["x"] >= 0 and widget["x"] + widget["width"] <= 24 and widget["y"] >= 0
        if widget["type"] == "text":
            continue
        properties = widget["properties"]
        assert properties["region"] == "us-east-1" and properties["view"] == "timeSeries"
        ids = []
        for row in properties["metrics"]:
            *names_and_dimensions, options = row
            assert isinstance(options, dict)
            if "expression" in options:
                assert names_and_dimensions == []
            else:
                assert len(names_and_dimensions) >= 2 and len(names_and_dimensions) % 2 == 0
                assert options["period"] == 300 and options["stat"]
            ids += [options["id"]] if "id" in options else []
        assert len(ids) == len(set(ids)) and all(i[0].islower() for i in ids), properties["title"]
    rows = [(w["y"], w["x"]) for w in widgets]
    assert len(rows) == len(set(rows))  # no two widgets in one place
