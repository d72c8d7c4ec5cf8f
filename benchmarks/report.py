"""Write one benchmark's figures into its own section of benchmarks/README.md."""

import statistics
import time
from collections.abc import Callable
from pathlib import Path

README = Path(__file__).resolve().parent / "README.md"


def median_seconds(run: Callable[[], object], repeats: int) -> float:
    """Median wall time of ``repeats`` calls of ``run``."""
    times = []
    for _ in range(repeats):
        started = time.perf_counter()
        run()
        times.append(time.perf_counter() - started)
    return statistics.median(times)


def write_section(name: str, body: str) -> None:
    """Replace the text between this section's markers, or append the section."""
    start, end = f"<!-- {name}:start -->", f"<!-- {name}:end -->"
    text = README.read_text() if README.exists() else "# Benchmarks\n"
    block = f"{start}\n{body.rstrip()}\n{end}"
    if start in text and end in text:
        before, rest = text.split(start, 1)
        text = before + block + rest.split(end, 1)[1]
    else:
        text = text.rstrip() + "\n\n" + block + "\n"
    README.write_text(text)


def publish(name: str, lines: list[str]) -> None:
    """Print a benchmark's lines and write them as its section of benchmarks/README.md."""
    text = "\n".join(lines)
    print(text)
    write_section(name, text)
