"""Python the tests run outside their own import path: a file that is not in a package (sample-data/
scripts, a model archive's code/), or `python -c` in a process of its own."""

import importlib.util
import subprocess
import sys
from pathlib import Path
from types import ModuleType


def load_file(path: Path, name: str | None = None) -> ModuleType:
    """The module ``path`` defines, loaded under ``name`` (default: a name unique to the path, so two
    archives' code/inference.py never share one module)."""
    spec = importlib.util.spec_from_file_location(name or f"file_{abs(hash(str(path)))}", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def run_python(
    code: str, *args: str, cwd: Path, env: dict[str, str] | None = None, timeout: int = 60
) -> subprocess.CompletedProcess:
    """``python -c code args`` in ``cwd`` (with exactly ``env`` when given), its output as text; a
    timeout fails the test instead of hanging it."""
    return subprocess.run(
        [sys.executable, "-c", code, *args], cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout
    )
