"""Waiting on what runs in AWS (pipeline executions, async answers), with a line per change.

A watch is polled until it settles or the timeout passes; it never stops what it watches: an execution
still running at the timeout goes on in AWS, and the row says so.
"""

import sys
import time
from dataclasses import dataclass, field

from botocore.exceptions import BotoCoreError, ClientError

from mlkit.report import FAILED, OK, SKIPPED, Report, StepFailed, StepSkipped


@dataclass
class Progress:
    text: str  # what it is doing now; printed when it changes
    outcome: str | None = None  # None while it runs, then OK, FAILED or SKIPPED
    detail: str = ""  # the row's detail once settled


@dataclass
class Watch:
    """One row that settles later. Subclasses implement ``check``; ``progress`` holds the latest poll."""

    scope: str
    step: str
    progress: Progress = field(default_factory=lambda: Progress("not started"))
    seconds: float = 0.0

    @property
    def settled(self) -> bool:
        return self.progress.outcome is not None

    def check(self) -> Progress:
        raise NotImplementedError

    def poll(self) -> Progress:
        try:
            self.progress = self.check()
        except StepSkipped as reason:
            self.progress = Progress("skipped", SKIPPED, str(reason))
        except (StepFailed, BotoCoreError, ClientError) as error:
            self.progress = Progress("failed", FAILED, str(error))
        return self.progress


def blocked_by(watch: Watch | None) -> Progress | None:
    """Progress for a watch that waits on ``watch``: waiting, skipped (it did not succeed), or None: go."""
    if watch is None or watch.progress.outcome == OK:
        return None
    if watch.progress.outcome is None:
        return Progress(f"waiting for {watch.scope}: {watch.step}")
    return Progress("skipped", SKIPPED, f"needs {watch.scope}: {watch.step}, which {watch.progress.outcome}")


@dataclass
class Waiter:
    timeout: float  # seconds for all the watches of one wait
    interval: float  # seconds between polls
    stream: object = sys.stderr
    clock: object = time.monotonic
    sleep: object = time.sleep

    def wait(self, watches: list[Watch]) -> None:
        """Poll until every watch settles or the timeout passes; print each change."""
        started = self.clock()
        pending = [watch for watch in watches if not watch.settled]
        while pending:
            elapsed = self.clock() - started
            for watch in pending:
                self.poll(watch, elapsed)
            pending = [watch for watch in pending if not watch.settled]
            if pending and self.clock() - started >= self.timeout:
                for watch in pending:
                    self.time_out(watch, self.clock() - started)
                return
            if pending:
                self.sleep(self.interval)

    def poll(self, watch: Watch, elapsed: float) -> None:
        before = watch.progress.text
        progress = watch.poll()
        watch.seconds = elapsed
        if progress.text != before or progress.outcome:
            self.say(elapsed, watch)

    def time_out(self, watch: Watch, elapsed: float) -> None:
        watch.seconds = elapsed
        watch.progress = Progress(
            "timed out",
            FAILED,
            f"still {watch.progress.text} after {self.timeout:.0f} s; it goes on in AWS: run make acceptance "
            "again later (it follows running executions) or check the console",
        )
        self.say(elapsed, watch)

    def say(self, elapsed: float, watch: Watch) -> None:
        """``  [  3m05s] churn: pipeline run: RUNNING at 'Train model'`` (a failure says why)."""
        progress = watch.progress
        text = progress.text + (f": {progress.detail[:120]}" if progress.outcome == FAILED else "")
        minutes, seconds = divmod(int(elapsed), 60)
        print(
            f"  [{minutes:3d}m{seconds:02d}s] {watch.scope}: {watch.step}: {text}",
            file=self.stream,
            flush=True,
        )


def record(report: Report, watch: Watch) -> None:
    """The watch's row in the report, timed by the wait (a failure is recorded, not raised)."""
    progress = watch.progress
    try:
        with report.step(watch.scope, watch.step) as row:
            if progress.outcome == SKIPPED:
                raise StepSkipped(progress.detail)
            if progress.outcome != OK:
                raise StepFailed(progress.detail or f"never settled: {progress.text}")
            row.detail = progress.detail
    except StepFailed:
        pass
    report.rows[-1].seconds = watch.seconds
