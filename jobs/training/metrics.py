"""The one metric line format of the kit's training samples, and the regexes SageMaker reads it with.

A script-mode job has no API to report metrics: SageMaker scans the job's log for each metric
definition's regex and records the first group. Every sample prints `validation-auc:0.831200`
through `report()`, and the stack builds its MetricDefinitions with `metric_definitions()`, so
the two cannot drift. Metric names follow the built-in algorithms: `validation:auc`.
Stdlib only: it runs in every framework's container.
"""

import re
import sys

# The first group of a metric regex: a float as Python prints it (0.83, 1e-05, -2.5).
NUMBER = r"([-+0-9.eE]+)"
CHANNELS = ("train", "validation")


def split_name(metric: str) -> tuple[str, str]:
    """'validation:auc' → ('validation', 'auc')."""
    channel, separator, name = metric.partition(":")
    if not separator or not channel or not name:
        raise ValueError(f"metric names look like 'validation:auc', got {metric!r}")
    return channel, name


def metric_line(channel: str, name: str, value: float) -> str:
    """'validation', 'auc', 0.8312 → 'validation-auc:0.831200'."""
    return f"{channel}-{name}:{float(value):.6f}"


def report(channel: str, name: str, value: float, stream=None) -> str:
    """Print one metric line (flushed: SageMaker reads the log as it is written) and return it."""
    line = metric_line(channel, name, value)
    print(line, file=stream or sys.stdout, flush=True)
    return line


def report_all(metrics: dict[str, float], stream=None) -> list[str]:
    """{'validation:auc': 0.83, ...} → one printed line each."""
    return [report(*split_name(metric), value, stream=stream) for metric, value in metrics.items()]


def baseline_line(metric: str, value: float) -> str:
    """'majority_baseline_validation_auc=0.500000': shaped so that no metric regex matches it."""
    return f"majority_baseline_{metric.replace(':', '_')}={float(value):.6f}"


def metric_regex(channel: str, name: str) -> str:
    """The regex whose first group is the value metric_line() printed."""
    # Kept to the plain form of sources/training/training_steps.py: SageMaker's regex flavour is not
    # documented beyond simple groups, so no look-behind.
    return f"{re.escape(channel)}-{re.escape(name)}:{NUMBER}"


def metric_definitions(names: list[str], channels: tuple[str, ...] = CHANNELS) -> list[dict[str, str]]:
    """SageMaker MetricDefinitions; a name is 'validation:auc' (that channel) or 'auc' (every channel)."""
    definitions, seen = [], set()
    for metric in names:
        pairs = [split_name(metric)] if ":" in metric else [(channel, metric) for channel in channels]
        for channel, name in pairs:
            if (channel, name) not in seen:
                seen.add((channel, name))
                definitions.append({"Name": f"{channel}:{name}", "Regex": metric_regex(channel, name)})
    return definitions


def read_metrics(log: str, definitions: list[dict[str, str]]) -> dict[str, float]:
    """What SageMaker would record as each metric's final value: the last match in the log."""
    found = {}
    for definition in definitions:
        matches = re.findall(definition["Regex"], log)
        if matches:
            found[definition["Name"]] = float(matches[-1])
    return found
