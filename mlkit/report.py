"""The local run's report: one row per model and step, honest about what was emulated."""

import sys
import time
from contextlib import contextmanager
from dataclasses import dataclass, field

OK, NOT_EMULATED, SKIPPED, FAILED = "ok", "not emulated", "skipped", "failed"
COLOURS = {OK: "\033[32m", NOT_EMULATED: "\033[33m", SKIPPED: "\033[33m", FAILED: "\033[31m"}


class StepFailed(Exception):
    """A step failed; the message says why."""


class StepSkipped(Exception):
    """A step could not run here; the message says why and how to fix it."""


class NotEmulated(Exception):
    """The emulator cannot check this offline; the message says what was checked instead."""


@dataclass
class Row:
    scope: str
    step: str
    status: str
    seconds: float
    detail: str = ""
    metric: str = ""


@dataclass
class Report:
    rows: list[Row] = field(default_factory=list)
    started: float = field(default_factory=time.monotonic)
    stream = sys.stderr

    @contextmanager
    def step(self, scope: str, name: str):
        """Time one step and record its outcome; a failure is recorded, then re-raised."""
        print(f"… {scope}: {name}", file=self.stream, flush=True)
        row = Row(scope, name, OK, 0.0)
        started = time.monotonic()
        try:
            yield row
        except StepSkipped as reason:
            row.status, row.detail = SKIPPED, str(reason)
        except NotEmulated as reason:
            row.status, row.detail = NOT_EMULATED, str(reason)
        except BaseException as error:
            row.status, row.detail = FAILED, str(error) or type(error).__name__
            raise
        finally:
            row.seconds = time.monotonic() - started
            self.rows.append(row)

    def attempt(self, scope: str, name: str, blocked: str | None, action) -> tuple[object, str | None]:
        """One row that never stops the run: skipped when ``blocked`` says why, else ``action(row)``.

        Answers (the action's result or None, why the steps that need this one cannot run, or None).
        A failure is recorded and swallowed, so one model's failure never hides another's rows.
        """
        try:
            with self.step(scope, name) as row:
                if blocked:
                    raise StepSkipped(blocked)
                return action(row), None
        except Exception:  # recorded as failed by step()
            return None, f"needs '{name}', which failed"
        return None, blocked or f"needs '{name}', which was skipped"

    @property
    def failed(self) -> list[Row]:
        return [row for row in self.rows if row.status == FAILED]

    def render(self, colour: bool | None = None) -> str:
        colour = self.stream.isatty() if colour is None else colour
        headers = ("model", "step", "status", "time", "metric", "detail")
        cells = [(r.scope, r.step, r.status, f"{r.seconds:.1f}s", r.metric, r.detail) for r in self.rows]
        widths = [
            max(len(h), *(len(c[i]) for c in cells)) if cells else len(h) for i, h in enumerate(headers)
        ]
        widths[-1] = len(headers[-1])  # the detail column is last and left ragged

        def line(values):
            return "  ".join(v.ljust(w) for v, w in zip(values, widths, strict=True)).rstrip()

        lines = [line(headers), line(["-" * w for w in widths])]
        for values in cells:
            text = line(values)
            if colour:
                status = values[2]
                text = text.replace(status, f"{COLOURS[status]}{status}\033[0m", 1)
            lines.append(text)
        lines.append(f"total {time.monotonic() - self.started:.1f}s, {len(self.failed)} failed")
        return "\n".join(lines)
