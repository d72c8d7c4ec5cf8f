"""The test suite's wall time as `make test` runs it, and its 20 slowest items.

Usage: python benchmarks/suite.py [--runs N]   (after the installs; the whole suite N times, 3 by default)

This machine's speed drifts by a fifth and more between runs (a shared 2-core VM). Each run is preceded by
a fixed single-core workload whose time is reported beside it, but it does not track the suite closely
(a 290 ms loop once came with a 129 s suite, a 164 ms one with 130 s): to compare two versions of the
code, alternate their runs.
"""

import argparse
import os
import re
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
from benchmarks.report import write_section  # noqa: E402

# `make test` itself (its environment is the Makefile's to keep), plus the durations report.
COMMAND = ["make", "--no-print-directory", "test", "PYTEST_ARGS=-q -p no:cacheprovider --durations=20"]


def machine_speed() -> float:
    """Milliseconds for a fixed pure-Python loop on one core, median of 5: lower is a faster machine."""
    samples = []
    for _ in range(5):
        started, total = time.perf_counter(), 0
        for number in range(3_000_000):
            total += number
        samples.append(time.perf_counter() - started)
    return statistics.median(samples) * 1000


def run_once() -> dict:
    load, speed = os.getloadavg()[0], machine_speed()
    started = time.perf_counter()
    result = subprocess.run(COMMAND, cwd=ROOT, capture_output=True, text=True)
    return {
        "wall": time.perf_counter() - started,
        "load": load,
        "speed": speed,
        "code": result.returncode,
        "output": result.stdout,
    }


def markdown(runs: list[dict]) -> str:
    median = statistics.median(run["wall"] for run in runs)
    last = runs[-1]["output"]
    summary = last.strip().splitlines()[-1].strip("= ")
    slowest = re.findall(r"^\s*([\d.]+)s (setup|call|teardown)\s+(\S+)", last, re.M)
    return "\n".join(
        [
            "## Test suite",
            "",
            f"`python benchmarks/suite.py --runs {len(runs)}`: `make test` (pytest -n auto --dist "
            f"loadgroup) on this machine ({os.cpu_count()} cores): "
            f"**{median:.0f} s** wall, the median of {len(runs)} runs. Last run: `{summary}`.",
            "",
            "| run | wall | exit code | load before | single-core loop (machine speed; lower is faster) |",
            "|---|---|---|---|---|",
            *(
                f"| {n} | {run['wall']:.0f} s | {run['code']} | {run['load']:.1f} | {run['speed']:.0f} ms |"
                for n, run in enumerate(runs, 1)
            ),
            "",
            "The 20 slowest items of the last run:",
            "",
            "| seconds | phase | test |",
            "|---|---|---|",
            *(f"| {seconds} | {phase} | `{test}` |" for seconds, phase, test in slowest),
        ]
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=3)
    runs = [run_once() for _ in range(parser.parse_args().runs)]
    text = markdown(runs)
    print(text)
    write_section("suite", text)
    sys.exit(max(run["code"] for run in runs))


if __name__ == "__main__":
    main()
