"""app.py keeps bytecode under .cache/pycache whatever PYTHONDONTWRITEBYTECODE says: no aws-cdk recompiles."""

import os
import sys
from pathlib import Path

from stacks.bytecode import PYCACHE
from tests.python_files import run_python

ROOT = Path(__file__).resolve().parents[2]
# Imports app as `cdk synth` runs it (its top-level code, not the synth), then a module made for the test.
IMPORT_APP_THEN_PROBE = """
import sys
import app
sys.path.insert(0, sys.argv[1])
import bytecode_probe
print(sys.flags.dont_write_bytecode)
"""


def test_the_app_writes_bytecode_under_the_cache_even_with_pythondontwritebytecode(tmp_path):
    (tmp_path / "bytecode_probe.py").write_text("VALUE = 1\n")
    cached = PYCACHE / str(tmp_path).lstrip(os.sep) / f"bytecode_probe.{sys.implementation.cache_tag}.pyc"
    environment = {key: value for key, value in os.environ.items() if key != "PYTHONPYCACHEPREFIX"}
    environment.update(PYTHONDONTWRITEBYTECODE="1", JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION="20")
    try:
        result = run_python(IMPORT_APP_THEN_PROBE, str(tmp_path), cwd=ROOT, env=environment)
        assert result.returncode == 0, result.stderr
        assert result.stdout.split() == ["1"]  # the variable was in force in the child
        assert cached.exists()
        assert not (tmp_path / "__pycache__").exists()  # never beside the sources (asset folders)
    finally:
        cached.unlink(missing_ok=True)
        for folder in cached.relative_to(PYCACHE).parents[:-1]:  # the folders made for it, deepest first
            try:
                (PYCACHE / folder).rmdir()
            except OSError:  # not empty (shared with other bytecode) or never made
                break
