"""The test suite's wall time as `make test` runs it, and its 20 slowest items.

Usage: python benchmarks/suite.py   (after the installs; runs the whole suite once)
"""

import os
import re
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
from benchmarks.report import write_section  # noqa: E402

# The Makefile's test command, plus the durations report.
COMMAND = [
    sys.executable,
    "-m",
    "pytest",
    "-n",
    "auto",
    "--dist",
    "loadgroup",
    "-q",
    "-p",
    "no:cacheprovider",
    "--durations=20",
]


def main() -> None:
    environment = {**os.environ, "JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION": "20"}
    load = os.getloadavg()[0]
    started = time.perf_counter()
    result = subprocess.run(COMMAND, cwd=ROOT, env=environment, capture_output=True, text=True)
    wall = time.perf_counter() - started
    output = result.stdout
    summary = output.strip().splitlines()[-1]
    slowest = re.findall(r"^\s*([\d.]+)s (setup|call|teardown)\s+(\S+)", output, re.M)
    lines = [
        "## Test suite",
        "",
        "`python benchmarks/suite.py`: `pytest -n auto --dist loadgroup` (as `make test` runs it) "
        f"on this machine ({os.cpu_count()} cores, load {load:.1f} before the run): **{wall:.0f} s** wall; "
        f"`{summary.strip('= ')}`"
        f" (exit code {result.returncode}).",
        "",
        "The 20 slowest items:",
        "",
        "| seconds | phase | test |",
        "|---|---|---|",
        *(f"| {seconds} | {phase} | `{test}` |" for seconds, phase, test in slowest),
    ]
    text = "\n".join(lines)
    print(text)
    write_section("suite", text)
    sys.exit(result.returncode)


if __name__ == "__main__":
    main()
