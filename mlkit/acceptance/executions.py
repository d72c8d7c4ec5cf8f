"""Following one state machine's execution: one we start, one already running, or one a trigger starts.

Executions are found by AWS's own timestamps (the uploaded object's LastModified, an execution's
startDate), never by this machine's clock, so clock skew cannot match the wrong run.
"""

import json
import time
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime

from mlkit.acceptance.waiting import Progress, Watch, blocked_by
from mlkit.report import OK, StepFailed

RUNNING = "RUNNING"
SUCCEEDED = "SUCCEEDED"


def execution_name() -> str:
    """Names the run in the console as this command's: letters, digits and dashes, at most 80."""
    return f"mlkit-acceptance-{datetime.now(UTC):%Y%m%dT%H%M%S}-{uuid.uuid4().hex[:6]}"


def duration(described: dict) -> str:
    stop = described.get("stopDate")
    if not stop:
        return ""
    minutes, seconds = divmod(int((stop - described["startDate"]).total_seconds()), 60)
    return f" in {minutes}m{seconds:02d}s"


@dataclass
class ExecutionWatch(Watch):
    """An execution of ``machine_arn``. Exactly one way to find it:

    ``start_input``: start it with that input, or follow the newest one already running (never two at once);
    ``execution_arn``: follow that one;
    ``started_after``: find the first one started at or after that time (a trigger starts it), whose input
    ``input_matches``, if given; none within ``trigger_wait`` seconds fails, naming the trigger.

    ``after`` (another watch) must succeed first; ``started_after`` may be a callable read once it has.
    """

    stepfunctions: object = None
    machine_arn: str = ""
    start_input: dict | None = None
    execution_arn: str | None = None
    started_after: object = None  # datetime, or a callable giving one
    input_matches: object = None  # callable(dict) -> bool
    trigger: str = ""  # what starts it, for the failure message
    trigger_wait: float = 600.0
    after: Watch | None = None
    note: str = ""
    started: datetime | None = None  # its startDate, once known
    _waiting_since: float | None = field(default=None, repr=False)

    def check(self) -> Progress:
        blocked = blocked_by(self.after)
        if blocked:
            return blocked
        if not self.execution_arn:
            if self.start_input is not None:
                self.execution_arn = self.start()
            else:
                self.execution_arn = self.find()
                if not self.execution_arn:
                    return self.awaiting_trigger()
        return self.status()

    def start(self) -> str:
        running = self.stepfunctions.list_executions(
            stateMachineArn=self.machine_arn, statusFilter=RUNNING, maxResults=10
        )["executions"]
        if running:
            newest = max(running, key=lambda execution: execution["startDate"])
            self.note = f"; followed the run already going since {newest['startDate']:%Y-%m-%d %H:%M}"
            return newest["executionArn"]
        started = self.stepfunctions.start_execution(
            stateMachineArn=self.machine_arn, name=execution_name(), input=json.dumps(self.start_input)
        )
        self.note = f"; started with {json.dumps(self.start_input)}"
        return started["executionArn"]

    def find(self) -> str | None:
        after = self.started_after() if callable(self.started_after) else self.started_after
        executions = self.stepfunctions.list_executions(stateMachineArn=self.machine_arn, maxResults=50)
        candidates = sorted(
            (e for e in executions["executions"] if e["startDate"] >= after), key=lambda e: e["startDate"]
        )
        for execution in candidates:
            if self.input_matches is None or self.input_matches(self.input_of(execution["executionArn"])):
                self.note = f"; started by {self.trigger}"
                return execution["executionArn"]
        return None

    def input_of(self, execution_arn: str) -> dict:
        described = self.stepfunctions.describe_execution(executionArn=execution_arn)
        try:
            return json.loads(described.get("input") or "{}")
        except ValueError:
            return {}

    def awaiting_trigger(self) -> Progress:
        now = time.monotonic()
        self._waiting_since = self._waiting_since or now
        if now - self._waiting_since > self.trigger_wait:
            raise StepFailed(
                f"no execution of {self.machine_arn.rsplit(':', 1)[-1]} started within "
                f"{self.trigger_wait:.0f} s: is {self.trigger} in place and enabled?"
            )
        return Progress(f"waiting for {self.trigger} to start it")

    def status(self) -> Progress:
        described = self.stepfunctions.describe_execution(executionArn=self.execution_arn)
        self.started, status, name = described["startDate"], described["status"], described["name"]
        if status == RUNNING:
            state = self.current_state()
            return Progress(f"{RUNNING} at {state!r}" if state else RUNNING)
        if status == SUCCEEDED:
            return Progress(SUCCEEDED, OK, f"{name} {SUCCEEDED}{duration(described)}{self.note}")
        state = self.current_state()
        where = f" at {state!r}" if state else ""
        reason = ": ".join(part for part in (described.get("error"), described.get("cause")) if part)
        raise StepFailed(f"{name} {status}{where}{duration(described)}: {reason or 'no reason given'}")

    def current_state(self) -> str | None:
        """The state it entered last (where it runs, or where it failed)."""
        events = self.stepfunctions.get_execution_history(
            executionArn=self.execution_arn, reverseOrder=True, maxResults=25
        )["events"]
        return next(
            (e["stateEnteredEventDetails"]["name"] for e in events if "stateEnteredEventDetails" in e), None
        )
