"""Autopilot in a state machine: start an AutoML V2 job, poll it to its end, set the inference output.

Autopilot emits no EventBridge events, and CloudFormation cannot start a job per upload, so a
Wait / DescribeAutoMLJobV2 / Choice loop watches the job, bounded by the job's own runtime limit
plus a margin. Step Functions' JSONPath has no loops over strings, so the inference output keys
are set by a Map over the best candidate's containers, one Choice per configured key.
"""

import hashlib
import math

import aws_cdk as cdk
from aws_cdk import aws_iam as iam
from aws_cdk import aws_stepfunctions as sfn
from aws_cdk import aws_stepfunctions_tasks as tasks
from constructs import Construct

from sources.autopilot.config import AutopilotModel
from stacks import names
from stacks.constructs.pipeline import job_failure_states, unique_name

# Autopilot stops a job gracefully at MaxAutoMLJobRuntimeInSeconds; this covers its wrap-up.
MARGIN_SECONDS = 3600
MIN_POLL_SECONDS = 60
# At most this many polls, ~11 history events each: far below Step Functions' 25,000 events.
MAX_POLLS = 1000
# Autopilot names its processing and training jobs after the first 10 characters (at least) of
# the AutoML job name, so IAM can scope them by a 10-character prefix unique to the model.
PREFIX_LENGTH = 10
SUPPORTED = "SAGEMAKER_INFERENCE_SUPPORTED"
RETRYABLE_SAGEMAKER_ERRORS = ["SageMaker.ThrottlingException", "SageMaker.AmazonSageMakerException"]


def job_name_prefix(environment_name: str, model_label: str) -> str:
    """Ten characters naming this model's Autopilot jobs: its label's start and a hash."""
    digest = hashlib.sha256(names.endpoint_name(environment_name, model_label).encode()).hexdigest()
    return (model_label.replace("-", "")[:4] + digest)[:PREFIX_LENGTH]


def poll_schedule(max_total_runtime: int) -> tuple[int, int]:
    """(seconds between polls, most polls) covering ``max_total_runtime`` plus the margin."""
    bound = max_total_runtime + MARGIN_SECONDS
    poll_seconds = max(MIN_POLL_SECONDS, math.ceil(bound / MAX_POLLS))
    return poll_seconds, math.ceil(bound / poll_seconds)


def create_job_parameters(
    model: AutopilotModel, *, role_arn: str, input_uri: str, output_uri: str, key_arn: str, tags: dict
) -> dict:
    """CreateAutoMLJobV2's request, in the API's shape; the job name comes from ``$.job.name``."""
    tabular = {
        "TargetAttributeName": model.target,
        "Mode": model.mode,
        "CompletionCriteria": {
            "MaxCandidates": model.max_candidates,
            "MaxRuntimePerTrainingJobInSeconds": model.max_runtime_per_job,
            "MaxAutoMLJobRuntimeInSeconds": model.max_total_runtime,
        },
    }
    if model.problem_type:
        tabular["ProblemType"] = model.problem_type
    parameters = {
        "AutoMLJobName.$": "$.job.name",
        "AutoMLJobInputDataConfig": [
            {
                "ChannelType": "training",
                "ContentType": "text/csv;header=present",
                "CompressionType": "None",
                "DataSource": {"S3DataSource": {"S3DataType": "S3Prefix", "S3Uri": input_uri}},
            }
        ],
        "OutputDataConfig": {"S3OutputPath": output_uri, "KmsKeyId": key_arn},
        "AutoMLProblemTypeConfig": {"TabularJobConfig": tabular},
        "RoleArn": role_arn,
        "SecurityConfig": {"VolumeKmsKeyId": key_arn, "EnableInterContainerTrafficEncryption": True},
        "Tags": [{"Key": key, "Value": value} for key, value in sorted(tags.items())],
    }
    if model.objective:
        parameters["AutoMLJobObjective"] = {"MetricName": model.objective}
    return parameters


class AutopilotJob(Construct):
    """Name the job → Start Autopilot → Start polling Autopilot → Wait for Autopilot → Describe
    Autopilot job (``$.autopilot``) → Count Autopilot poll → Autopilot status?:
    Completed → Take the best candidate (``$.best.candidate``, ``$.best.containers``);
    Failed or Stopped → Fail "Autopilot failed" with Autopilot's FailureReason;
    ``max_polls`` reached → Stop Autopilot job → Fail "Autopilot timed out"; otherwise → Wait.

    Props: ``model`` (the config entry), ``job_prefix`` (see job_name_prefix), ``role`` (the role
    Autopilot runs as), ``input_uri`` and ``output_uri`` (s3:// prefixes), ``key_arn`` (volumes and
    output), ``tags`` (default none) on the job. Exposes ``chain`` (ends at "Take the best
    candidate"), ``poll_seconds``, ``max_polls`` and ``job_arn_pattern`` (IAM, by prefix).
    """

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        model: AutopilotModel,
        job_prefix: str,
        role: iam.IRole,
        input_uri: str,
        output_uri: str,
        key_arn: str,
        tags: dict[str, str] | None = None,
    ) -> None:
        super().__init__(scope, construct_id)
        stack = cdk.Stack.of(self)
        self.job_arn_pattern = stack.format_arn(
            service="sagemaker", resource="automl-job", resource_name=f"{job_prefix}*"
        )
        self.poll_seconds, self.max_polls = poll_schedule(model.max_total_runtime)
        name = sfn.Pass(
            self, "Name the job", parameters={"name.$": unique_name(job_prefix)}, result_path="$.job"
        )
        parameters = create_job_parameters(
            model,
            role_arn=role.role_arn,
            input_uri=input_uri,
            output_uri=output_uri,
            key_arn=key_arn,
            tags=tags or {},
        )
        start = self._sagemaker_call(
            "Start Autopilot",
            "createAutoMLJobV2",
            parameters,
            result_path="$.job.created",
            extra=[
                iam.PolicyStatement(actions=["sagemaker:AddTags"], resources=[self.job_arn_pattern]),
                iam.PolicyStatement(
                    actions=["iam:PassRole"],
                    resources=[role.role_arn],
                    conditions={"StringEquals": {"iam:PassedToService": "sagemaker.amazonaws.com"}},
                ),
            ],
        )
        self.best = sfn.Pass(
            self,
            "Take the best candidate",
            parameters={
                "candidate.$": "$.autopilot.BestCandidate.CandidateName",
                "containers.$": "$.autopilot.BestCandidate.InferenceContainers",
            },
            result_path="$.best",
        )
        loop = self._poll_loop(model)
        name.next(start).next(loop)
        self.chain = sfn.Chain.custom(name, [self.best], self.best)

    def _sagemaker_call(self, state: str, action: str, parameters: dict, *, result_path: str, extra=None):
        return tasks.CallAwsService(
            self,
            state,
            service="sagemaker",
            action=action,
            parameters=parameters,
            iam_action=f"sagemaker:{action[0].upper()}{action[1:]}",
            iam_resources=[self.job_arn_pattern],
            additional_iam_statements=extra,
            result_path=result_path,
        )

    def _poll_loop(self, model: AutopilotModel) -> sfn.IChainable:
        """Start polling → Wait → Describe → Count → Autopilot status? (→ Wait while running)."""
        wait = sfn.Wait(
            self,
            "Wait for Autopilot",
            time=sfn.WaitTime.duration(cdk.Duration.seconds(self.poll_seconds)),
        )
        describe = self._sagemaker_call(
            "Describe Autopilot job",
            "describeAutoMLJobV2",
            {"AutoMLJobName.$": "$.job.name"},
            result_path="$.autopilot",
        )
        describe.add_retry(
            errors=RETRYABLE_SAGEMAKER_ERRORS, interval=cdk.Duration.seconds(10), max_attempts=3
        )
        count = sfn.Pass(
            self,
            "Count Autopilot poll",
            parameters={"polls.$": "States.MathAdd($.autopilot_wait.polls, 1)"},
            result_path="$.autopilot_wait",
        )
        wait.next(describe).next(count).next(self._status_choice(model, wait))
        return sfn.Pass(
            self, "Start polling Autopilot", parameters={"polls": 0}, result_path="$.autopilot_wait"
        ).next(wait)

    def _status_choice(self, model: AutopilotModel, wait: sfn.IChainable) -> sfn.Choice:
        status = "$.autopilot.AutoMLJobStatus"
        ended = sfn.Condition.or_(
            sfn.Condition.string_equals(status, "Failed"), sfn.Condition.string_equals(status, "Stopped")
        )
        failed, no_reason = job_failure_states(
            self,
            fail_id="Autopilot failed",
            error="AutopilotFailed",
            job="Autopilot job",
            name_path="$.job.name",
            status_path=status,
            reason_path="$.autopilot.FailureReason",
            no_reason_id="No reason given",
            no_reason="Autopilot gave no FailureReason",
        )
        return (
            sfn.Choice(self, "Autopilot status?")
            .when(sfn.Condition.string_equals(status, "Completed"), self.best)
            .when(sfn.Condition.and_(ended, sfn.Condition.is_present("$.autopilot.FailureReason")), failed)
            .when(ended, no_reason)
            .when(
                sfn.Condition.number_greater_than_equals("$.autopilot_wait.polls", self.max_polls),
                self._stop_and_fail(model),
            )
            .otherwise(wait)
        )

    def _stop_and_fail(self, model: AutopilotModel) -> sfn.IChainable:
        timed_out = sfn.Fail(
            self,
            "Autopilot timed out",
            error="AutopilotTimedOut",
            cause=f"The Autopilot job did not end within max_total_runtime ({model.max_total_runtime} s) "
            f"plus {MARGIN_SECONDS} s ({self.max_polls} polls); it was asked to stop.",
        )
        stop = self._sagemaker_call(
            "Stop Autopilot job", "stopAutoMLJob", {"AutoMLJobName.$": "$.job.name"}, result_path="$.stop"
        )
        # Stopping a job that has just ended fails; the run times out either way.
        stop.add_catch(timed_out, errors=["States.ALL"], result_path="$.stop")
        return stop.next(timed_out)


class InferenceOutput(Construct):
    """Set the configured inference output keys on the best candidate's containers, as the
    sagemaker SDK's ``validate_and_update_inference_response`` does:

    - the last container must offer every key (``SAGEMAKER_INFERENCE_SUPPORTED``), else Fail
      "Inference output unsupported";
    - each container that offers keys gets ``SAGEMAKER_INFERENCE_OUTPUT`` = the configured keys it
      offers, in config order; the next container gets them as ``SAGEMAKER_INFERENCE_INPUT``.

    Props: ``keys`` (config order), ``containers_path`` (default ``$.best.containers``, rewritten in
    place). Exposes ``chain``.
    """

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        keys: list[str],
        containers_path: str = "$.best.containers",
    ) -> None:
        super().__init__(scope, construct_id)
        self.keys = keys
        unsupported = sfn.Fail(
            self,
            "Inference output unsupported",
            error="InferenceOutputUnsupported",
            cause=f"The best candidate's last container does not offer every inference_output key "
            f"({','.join(keys)}): see {SUPPORTED} in the DescribeAutoMLJobV2 answer of this run.",
        )
        last = sfn.Pass(
            self,
            "Take the last container",
            parameters={
                "last.$": f"States.ArrayGetItem({containers_path}, "
                f"States.MathAdd(States.ArrayLength({containers_path}), -1))"
            },
            result_path="$.inference",
        )
        offered = f"$.inference.last.Environment.{SUPPORTED}"
        missing = [sfn.Condition.not_(sfn.Condition.string_matches(offered, f"*{key}*")) for key in keys]
        each_container = sfn.Map(
            self,
            "Set inference output",
            items_path=containers_path,
            item_selector={
                "container.$": "$$.Map.Item.Value",
                "index.$": "$$.Map.Item.Index",
                "all.$": containers_path,
                "input": {"text": "", "sep": ""},
                "output": {"text": "", "sep": ""},
            },
            result_path=containers_path,
        ).item_processor(self._one_container())
        check = (
            sfn.Choice(self, "Inference output offered?")
            .when(sfn.Condition.not_(sfn.Condition.is_present(offered)), unsupported)
            .when(missing[0] if len(missing) == 1 else sfn.Condition.or_(*missing), unsupported)
            .otherwise(each_container)
        )
        last.next(check)
        self.chain = sfn.Chain.custom(last, [each_container], each_container)

    def _one_container(self) -> sfn.IChainable:
        """Previous container's offered keys → input; this one's → output; merge into Environment."""
        merge = sfn.Pass(
            self,
            "Merge environment",
            parameters={"Environment.$": "States.JsonMerge($.container.Environment, $.patch, false)"},
            result_path="$.merged",
        ).next(
            sfn.Pass(
                self,
                "Updated container",
                parameters={"container.$": "States.JsonMerge($.container, $.merged, false)"},
                output_path="$.container",
            )
        )
        patch = self._patch_choice(merge)
        outputs = self._collect("This container", "$.container", "$.output", patch)
        inputs = self._collect("Previous container", "$.previous.container", "$.input", outputs)
        take_previous = sfn.Pass(
            self,
            "Take the previous container",
            parameters={"container.$": "States.ArrayGetItem($.all, States.MathAdd($.index, -1))"},
            result_path="$.previous",
        ).next(inputs)
        no_previous = sfn.Pass(
            self,
            "No previous container",
            result=sfn.Result.from_object({"container": {"Environment": {}}}),
            result_path="$.previous",
        ).next(inputs)
        return (
            sfn.Choice(self, "Has a previous container?")
            .when(sfn.Condition.number_greater_than("$.index", 0), take_previous)
            .otherwise(no_previous)
        )

    def _collect(self, label: str, container: str, target: str, after: sfn.IChainable) -> sfn.IChainable:
        """Append each configured key the container offers to ``target``.text, comma-separated."""
        offered = f"{container}.Environment.{SUPPORTED}"
        step = after
        for key in reversed(self.keys):
            add = sfn.Pass(
                self,
                f"{label}: add {key}",
                parameters={
                    "text.$": f"States.Format('{{}}{{}}{key}', {target}.text, {target}.sep)",
                    "sep": ",",
                },
                result_path=target,
            ).next(step)
            step = (
                sfn.Choice(self, f"{label} offers {key}?")
                .when(sfn.Condition.string_matches(offered, f"*{key}*"), add)
                .otherwise(step)
            )
        # A separate Choice: the key checks must never read a missing variable.
        return (
            sfn.Choice(self, f"{label} offers keys?")
            .when(sfn.Condition.is_present(offered), step)
            .otherwise(after)
        )

    def _patch_choice(self, merge: sfn.IChainable) -> sfn.Choice:
        has_input = sfn.Condition.not_(sfn.Condition.string_equals("$.input.text", ""))
        has_output = sfn.Condition.not_(sfn.Condition.string_equals("$.output.text", ""))
        patches = {
            "Input and output": {
                "SAGEMAKER_INFERENCE_INPUT.$": "$.input.text",
                "SAGEMAKER_INFERENCE_OUTPUT.$": "$.output.text",
            },
            "Output only": {"SAGEMAKER_INFERENCE_OUTPUT.$": "$.output.text"},
            "Input only": {"SAGEMAKER_INFERENCE_INPUT.$": "$.input.text"},
        }
        states = {
            name: sfn.Pass(self, name, parameters=body, result_path="$.patch").next(merge)
            for name, body in patches.items()
        }
        nothing = sfn.Pass(
            self, "Nothing to set", result=sfn.Result.from_object({}), result_path="$.patch"
        ).next(merge)
        return (
            sfn.Choice(self, "Which keys to set?")
            .when(sfn.Condition.and_(has_input, has_output), states["Input and output"])
            .when(has_output, states["Output only"])
            .when(has_input, states["Input only"])
            .otherwise(nothing)
        )
