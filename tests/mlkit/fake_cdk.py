"""Stand-ins for the CDK CLI and a synthesized cloud assembly, for the deploy paths' fast tests."""

import json
import os
from pathlib import Path

# `npx --no-install cdk <command> ...`: records each call's arguments, prints a canned output for deploy,
# and answers diff with $FAKE_CDK_DIFF_STATUS (0: nothing broadens access, 1: something does) after its
# summary line, or, with $FAKE_CDK_DIFF_ERROR, prints that and exits before it (as `cdk diff` without
# credentials exits 1).
FAKE_NPX = """\
#!/bin/sh
printf '%s\\n' "$*" >> "$FAKE_CDK_CALLS"
case "$3" in
  diff)
    if [ -n "$FAKE_CDK_DIFF_ERROR" ]; then echo "$FAKE_CDK_DIFF_ERROR"; exit "$FAKE_CDK_DIFF_STATUS"; fi
    [ "$FAKE_CDK_DIFF_STATUS" = 1 ] && echo "IAM Statement Changes"
    echo "✨  Number of stacks with differences: 3"
    exit "$FAKE_CDK_DIFF_STATUS" ;;
  deploy) cat "$FAKE_CDK_OUTPUT" ;;
esac
"""


def fake_cdk_environment(
    folder: Path, *, output: str, diff_status: int = 0, diff_error: str = ""
) -> dict[str, str]:
    """Variables that put a fake `npx` first on PATH, with `cdk deploy` printing ``output``."""
    bin_dir = folder / "bin"
    bin_dir.mkdir()
    npx = bin_dir / "npx"
    npx.write_text(FAKE_NPX)
    npx.chmod(0o755)
    (folder / "output.txt").write_text(output)
    return {
        "PATH": f"{bin_dir}{os.pathsep}{os.environ['PATH']}",
        "FAKE_CDK_CALLS": str(folder / "calls.txt"),
        "FAKE_CDK_OUTPUT": str(folder / "output.txt"),
        "FAKE_CDK_DIFF_STATUS": str(diff_status),
        "FAKE_CDK_DIFF_ERROR": diff_error,
    }


def calls(environment: dict[str, str]) -> list[list[str]]:
    """The fake CLI's calls so far, each as its arguments after `npx`."""
    path = Path(environment["FAKE_CDK_CALLS"])
    return [line.split() for line in path.read_text().splitlines()] if path.exists() else []


def write_assembly(folder: Path, environment: str, stacks: dict[str, list[str]]) -> Path:
    """A cloud assembly at ``folder`` whose stage ``environment`` holds ``stacks`` (name → names it depends
    on), each with an asset manifest among its dependencies as CDK writes them, and an empty template."""
    stage = folder / f"assembly-{environment}"
    stage.mkdir(parents=True)
    artifacts = {}
    for name, dependencies in stacks.items():
        (stage / f"{name}.template.json").write_text(json.dumps({"Resources": {}}))
        artifacts[f"{name}.assets"] = {"type": "cdk:asset-manifest"}
        artifacts[name] = {
            "type": "aws:cloudformation:stack",
            "displayName": f"{environment}/{name}",
            "dependencies": [*dependencies, f"{name}.assets"],
            "properties": {"templateFile": f"{name}.template.json", "stackName": name},
        }
    (stage / "manifest.json").write_text(json.dumps({"artifacts": artifacts}))
    return folder
