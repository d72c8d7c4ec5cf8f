"""`make local`'s autoscaling row (mlkit/scaling_checks.py) against moto: what the deploy Lambda's requests
leave behind passes, and a target, policy or alarm that differs from the config fails, naming it."""

import boto3
import moto
import pytest

from lambdas.shared import scaling_requests as contract
from mlkit.report import StepFailed
from mlkit.scaling_checks import check_scaling
from stacks.config.hosting import AsyncHosting, Autoscaling, RealtimeHosting, ServerlessHosting
from stacks.constructs.hosting_settings import scaling_settings

ENDPOINT = "mlkit-dev-resnet"
REALTIME = RealtimeHosting(
    type="realtime", autoscaling=Autoscaling(min=1, max=2, target_invocations_per_instance=40)
)
ASYNC = AsyncHosting(type="async", max=3)


@pytest.fixture
def clients():
    with moto.mock_aws():
        made = {}

        def client(service: str):
            return made.setdefault(service, boto3.client(service, region_name="us-east-1"))

        yield client


def apply(clients, scaling: dict) -> None:
    """What lambdas/shared/scaling.py's apply sends, from the same request builders."""
    autoscaling = clients("application-autoscaling")
    autoscaling.register_scalable_target(**contract.register_request(ENDPOINT, scaling))
    autoscaling.put_scaling_policy(**contract.tracking_request(ENDPOINT, scaling))
    if scaling["kind"] == "async":
        wake = autoscaling.put_scaling_policy(**contract.wake_policy_request(ENDPOINT, scaling))
        alarm = contract.wake_alarm_request(ENDPOINT, wake["PolicyARN"])
        clients("cloudwatch").put_metric_alarm(**alarm)


@pytest.mark.parametrize("hosting", [REALTIME, ASYNC], ids=["realtime", "async"])
def test_what_the_lambda_applies_matches_the_config(clients, hosting):
    apply(clients, scaling_settings(hosting))
    low, high = (0, 3) if hosting.type == "async" else (1, 2)
    assert check_scaling(clients, ENDPOINT, hosting).startswith(f"{ENDPOINT}: {low}..{high} instances")


def test_a_wrong_capacity_or_target_fails_naming_what_differs(clients):
    apply(clients, {**scaling_settings(REALTIME), "max_capacity": 5, "target_value": 41})
    with pytest.raises(StepFailed) as failed:
        check_scaling(clients, ENDPOINT, REALTIME)
    assert "capacity is (1, 5), the config says (1, 2)" in str(failed.value)
    assert "41.0" in str(failed.value)


def test_an_async_endpoint_without_its_wake_alarm_fails(clients):
    apply(clients, scaling_settings(ASYNC))
    clients("cloudwatch").delete_alarms(AlarmNames=[contract.wake_alarm_name(ENDPOINT)])
    with pytest.raises(StepFailed, match="alarm is None, the config says 'HasBacklogWithoutCapacity'"):
        check_scaling(clients, ENDPOINT, ASYNC)


def test_no_scaling_asked_and_none_registered_passes_but_a_leftover_target_fails(clients):
    assert "no scalable target, as the config says" in check_scaling(clients, ENDPOINT, ServerlessHosting())
    with pytest.raises(StepFailed, match="has no scalable target"):
        check_scaling(clients, ENDPOINT, REALTIME)
    apply(clients, scaling_settings(REALTIME))
    with pytest.raises(StepFailed, match="registered for autoscaling, but its hosting has none"):
        check_scaling(clients, ENDPOINT, RealtimeHosting(type="realtime"))
