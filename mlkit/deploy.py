"""`make deploy ENV=...`: deploy ENV's synthesized cloud assembly `deploy.concurrency` stacks at a time, each
progress line naming its dependency wave (mlkit.plan).

Usage: python -m mlkit.deploy --env dev [--assembly cdk.out] [--yes]

With more than one stack in flight the CDK CLI cannot ask about security-sensitive changes: it stops with
"concurrency is greater than 1 so we are unable to get a confirmation from the user". So this asks once,
for every stack: `cdk diff --security-only` prints the IAM and security-group changes that broaden access,
and one question follows (`--yes`, `make deploy YES=1`: yes; no terminal and no --yes: nothing deploys).
Then `cdk deploy --require-approval never`. Exit codes: the CLI's, 1 when refused, 2 for a bad config or no
assembly, 3 when the diff fails (AWS unreachable, no credentials).
"""

import subprocess
import sys
from collections.abc import Callable, Mapping
from pathlib import Path

from mlkit import environment_file
from mlkit.plan import annotate, dependency_waves, deploy_arguments, read_stacks, wave_labels

CDK = ("npx", "--no-install", "cdk")
REFUSED = 1
DIFF_FAILED = 3


# The last line of a diff that ran to the end; `cdk diff` also exits 1 on an error (no credentials).
DIFF_DONE = "Number of stacks with differences"


def broadening_changes(config, assembly: Path) -> bool:
    """Whether deploying ``assembly`` broadens access (printing those changes), as `cdk diff` reads them."""
    command = [*CDK, "diff", "--app", str(assembly), f"{config.environment}/*"]
    # The template diff: one GetTemplate per stack, no change sets (hundreds would take minutes each).
    command += ["--security-only", "--method=template", "--fail-on", "broadening"]
    done = False
    with subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True) as process:
        for line in process.stdout:
            print(line, end="", flush=True)
            done = done or DIFF_DONE in line
    if process.returncode not in (0, 1) or not done:
        raise RuntimeError(f"`cdk diff` exited {process.returncode} before its summary: nothing was deployed")
    return process.returncode == 1


def approved(config, assembly: Path, *, yes: bool, ask: Callable[[str], str] = input) -> bool:
    """Whether to deploy: no broadening change, ``yes``, or the person at the terminal says so."""
    if not broadening_changes(config, assembly):
        return True
    if yes:
        print("mlkit: the security-sensitive changes above are confirmed by --yes", file=sys.stderr)
        return True
    if not sys.stdin.isatty():
        print(
            "mlkit: the changes above broaden access and no one can confirm them here: review them "
            f"(make diff ENV={config.environment}), then run make deploy ENV={config.environment} YES=1",
            file=sys.stderr,
        )
        return False
    answer = ask(f"Deploy these changes to {config.environment}'s stacks? (y/n) ")
    return answer.strip().lower() in {"y", "yes"}


def run_annotated(command: list[str], labels: Mapping[str, str]) -> int:
    """Run ``command``, its output (stdout and stderr) to stdout with each stack's wave in front."""
    with subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True) as process:
        for line in process.stdout:
            print(annotate(line.rstrip("\n"), labels), flush=True)
    return process.returncode


def main(argv: list[str] | None = None) -> int:
    parser = environment_file.argument_parser(__doc__)
    parser.add_argument("--assembly", default="cdk.out", help="the synthesized cloud assembly (cdk.out)")
    parser.add_argument("--yes", action="store_true", help="confirm security-sensitive changes (CI)")
    args = parser.parse_args(argv)
    config = environment_file.load(args)
    if config is None:
        return 2
    try:
        waves = dependency_waves(read_stacks(Path(args.assembly), config.environment))
    except FileNotFoundError as error:
        print(f"mlkit: {error}", file=sys.stderr)
        return 2
    stacks = sum(len(wave) for wave in waves)
    print(
        f"mlkit: {stacks} stacks of {config.environment} in {len(waves)} dependency waves, "
        f"up to {config.deploy.concurrency} at once (make plan ENV={config.environment}: the estimate)",
        file=sys.stderr,
    )
    try:
        if not approved(config, Path(args.assembly), yes=args.yes):
            return REFUSED
    except RuntimeError as error:  # the diff failed: AWS unreachable, no credentials
        print(f"mlkit: {error}", file=sys.stderr)
        return DIFF_FAILED
    options = ("--app", args.assembly, "--require-approval", "never")
    return run_annotated([*CDK, *deploy_arguments(config, *options)], wave_labels(waves))


if __name__ == "__main__":
    sys.exit(main())
