"""Bytecode for every synth, whatever the environment says about it.

The venv is installed with `pip install --no-compile`, and where PYTHONDONTWRITEBYTECODE is set (this
machine, many CI images and containers) Python writes no .pyc either: each synth then compiled aws-cdk's
modules from source again (aws_cdk/aws_ec2/__init__.py alone is 7.7 MB), ~4 s of the dev config's synth.
"""

import sys
from pathlib import Path

# The Makefile's PYTHONPYCACHEPREFIX too: the tests, make local and every synth share one compile.
PYCACHE = Path(__file__).resolve().parent.parent / ".cache" / "pycache"


def keep_bytecode() -> None:
    """From here on, read and write this process's bytecode under PYCACHE, even with the variable set.

    importlib reads both settings at each import (cache_from_source, SourceLoader.get_code), so the
    modules imported after this call are cached; those imported before it (this one) are not.
    Under PYCACHE, never beside the sources: no asset folder gains a __pycache__.
    """
    sys.dont_write_bytecode = False
    sys.pycache_prefix = str(PYCACHE)
