"""`make local`: deploy the kit into the embedded AWS emulator, check it, and report.

Usage: python -m mlkit.local_run [--env dev] [--keep] [--down]
"""

import importlib
import os
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Mapping
from contextlib import ExitStack
from pathlib import Path

import boto3

from mlkit import environment_file
from mlkit.access.enforcer import AccessEmulation, enforcing
from mlkit.access_checks import replay_pipelines, report_access
from mlkit.checks import check_data_stack, not_emulated_data_parts, resource_count
from mlkit.delivery_checks import run_delivery
from mlkit.emulator import ROOT, Emulator, stop_kept_emulator
from mlkit.local_context import Run
from mlkit.operations_checks import report_operations
from mlkit.plan import annotate, dependency_waves, deploy_arguments, read_stacks, wave_labels
from mlkit.report import FAILED, Report, StepFailed
from mlkit.route_checks import load_router_step
from sources import source_of
from stacks import names

EMULATOR_ACCOUNT = "123456789012"  # moto's account


def assembly_directory(environment: dict[str, str], app: str) -> Path:
    """Where ``app``'s ("kit" or "delivery") cloud assembly goes for the emulator ``environment`` names.

    One per emulator port: runs side by side never share the CLI's output lock."""
    return ROOT / ".cache" / f"cdk.out-{environment['AWS_ENDPOINT_URL'].rsplit(':', 1)[1]}-{app}"


def remove_assemblies(emulator: Emulator) -> None:
    """Delete this run's cloud assemblies: spent once deployed and checked, and each run's emulator port
    names new ones (tens of MB a run)."""
    if emulator.endpoint:
        for app in ("kit", "delivery"):
            shutil.rmtree(assembly_directory(cdk_environment(emulator), app), ignore_errors=True)


def run_cdk(
    arguments: list[str], environment: dict[str, str], log_name: str, waves: Mapping[str, str] | None = None
) -> None:
    """Run `npx cdk ...` against the emulator, its output to .cache/<log_name>, progress to stderr, each
    progress line with its stack's wave from ``waves`` (mlkit.plan.wave_labels) in front."""
    log_path = ROOT / ".cache" / log_name
    with log_path.open("w") as log:
        process = subprocess.Popen(
            ["npx", "--no-install", "cdk", *arguments],
            cwd=ROOT,
            env=environment,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        for line in process.stdout:
            log.write(line)
            if any(mark in line for mark in ("deploying...", "✅", "❌")):
                print(f"    {annotate(line.strip(), waves or {})}", file=sys.stderr, flush=True)
        if process.wait() != 0:
            raise StepFailed(f"`cdk {arguments[0]}` exited {process.returncode}; see .cache/{log_name}")


def cdk_environment(emulator: Emulator) -> dict[str, str]:
    return {**os.environ, **emulator.environment(), "JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION": "20"}


def deploy(report: Report, emulator: Emulator, config, context: list[str]) -> None:
    environment = cdk_environment(emulator)
    assembly = str(assembly_directory(environment, "kit").relative_to(ROOT))
    # Synthesized once: `cdk bootstrap` and `cdk deploy` would each run the app again (cdk-nag included).
    with report.step("kit", "cdk synth"):
        run_cdk(["synth", "--quiet", *context, "--output", assembly], environment, "cdk-synth.log")
    with report.step("kit", "cdk bootstrap"):
        target = f"aws://{EMULATOR_ACCOUNT}/{config.region}"
        run_cdk(["bootstrap", target, "--app", assembly], environment, "cdk-bootstrap.log")
    with report.step("kit", "cdk deploy") as row:
        waves = dependency_waves(read_stacks(ROOT / assembly, config.environment))
        options = ("--app", assembly, "--method=direct", "--require-approval", "never")
        run_cdk(deploy_arguments(config, *options), environment, "cdk-deploy.log", wave_labels(waves))
        row.detail = (
            f"stacks {config.environment}/* in {len(waves)} dependency waves, "
            f"up to {config.deploy.concurrency} at once"
        )


def verify(report: Report, emulator: Emulator, config) -> None:
    """Every model's rows, each step on its own: a failure skips only the steps that need it."""
    session = boto3.Session(region_name=config.region)

    def clients(service: str):
        return session.client(service, endpoint_url=emulator.endpoint)

    with ExitStack() as exits:
        workdir = Path(exits.enter_context(tempfile.TemporaryDirectory(prefix="mlkit-local-")))
        # IAM decided on every call a component makes with its deployed role (mlkit/access).
        access = exits.enter_context(enforcing(AccessEmulation(clients, region=config.region)))
        run = Run(
            config=config, clients=clients, emulator=emulator, workdir=workdir, exits=exits, access=access
        )
        report.attempt("data", "resources exist", None, lambda row: data_resources(row, run))
        with report.step("data", "versioning, access block, logging, Glue"):
            raise not_emulated_data_parts()
        load_router_step(report, run)
        for label, model in config.models.items():
            model_rows(report, run, label, model)
        report_operations(report, run)
        replay_pipelines(report, run)
        report_access(report, access)


def model_rows(report: Report, run: Run, label: str, model):
    """The model's rows, from its source's ``local.py``: only the local run imports those modules."""
    local = importlib.import_module(f"{source_of(model).package}.local")
    return local.run_locally(report, run, label, model)


def delivery(report: Report, emulator: Emulator, config) -> None:
    """The environment's GitHub OIDC stack deployed and checked, and the pipeline (mlkit.delivery_checks)."""
    environment = cdk_environment(emulator)
    session = boto3.Session(region_name=config.region)

    def clients(service: str):
        return session.client(service, endpoint_url=emulator.endpoint)

    def deploy_stack(arguments: list[str], log_name: str) -> None:
        assembly = assembly_directory(environment, "delivery")
        run_cdk(["deploy", *arguments, "--output", str(assembly.relative_to(ROOT))], environment, log_name)

    run_delivery(report, config, clients, deploy_stack)


def skip_unreported_models(report: Report, config, reason: str) -> None:
    """Every model has a row, even when the kit could not be deployed or checked."""
    reported = {row.scope for row in report.rows}
    for label in config.models:
        if label not in reported:
            report.attempt(label, "checks", reason, lambda row: None)


def data_resources(row, run: Run) -> None:
    stack_name = names.data_stack_name(run.environment)
    count = resource_count(run.clients("cloudformation"), stack_name)
    detail = check_data_stack(run.clients, stack_name, run.environment)
    row.detail = f"{stack_name}: {count} resources; {detail}"


def idle_cost_line(config, emulator: Emulator) -> str:
    """The estimated idle monthly cost of the environment (`make cost`), from the assembly deployed here."""
    from mlkit.cost import estimate_cost
    from mlkit.prices import load_snapshot

    if not emulator.endpoint:  # the emulator never started, so nothing was synthesized for it
        return "estimated idle cost: no assembly (the emulator did not start)"
    assembly = assembly_directory(cdk_environment(emulator), "kit")
    try:
        estimate = estimate_cost(assembly, config, load_snapshot())
    except FileNotFoundError:
        return "estimated idle cost: no assembly (the synth did not run)"
    unpriced = (
        f"; {len(estimate.unpriced)} unpriced (make cost ENV={config.environment})"
        if estimate.unpriced
        else ""
    )
    return (
        f"estimated idle cost of {config.environment} on AWS: ${estimate.totals().idle_month:,.2f}/month "
        f"(prices of {estimate.snapshot_date}{unpriced})"
    )


def main(argv: list[str] | None = None) -> int:
    parser = environment_file.argument_parser(__doc__)
    parser.add_argument("--keep", action="store_true", help="leave the emulator running (make local-up)")
    parser.add_argument("--down", action="store_true", help="stop a kept emulator (make local-down)")
    args = parser.parse_args(argv)
    if args.down:
        print(stop_kept_emulator())
        return 0
    # stacks.config loads the CDK's jsii runtime, whose Node end-of-life banner would open the report.
    os.environ.setdefault("JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION", "20")
    config = environment_file.load(args)
    if config is None:
        return 2
    os.environ.update({"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing"})
    # The emulator inherits this: the route proofs read moto's recorder, which writes here, not in the cwd.
    os.environ.setdefault("MOTO_RECORDER_FILEPATH", str(ROOT / ".cache" / "moto-recording.jsonl"))
    report = Report()
    emulator = Emulator(region=config.region, keep=args.keep)
    try:
        with report.step("kit", "start emulator") as row:
            emulator.start()
            row.detail = f"{'reused' if emulator.reused else 'started'} {emulator.endpoint}"
            print(f"    emulator on {emulator.endpoint}", file=sys.stderr, flush=True)
        context = ["-c", f"env={config.environment}", "-c", "emulated=true"]
        deploy(report, emulator, config, context)
        verify(report, emulator, config)
        delivery(report, emulator, config)
    except KeyboardInterrupt:
        print("\ninterrupted: the emulator was stopped", file=sys.stderr)
        remove_assemblies(emulator)
        return 130
    except Exception as error:  # the failed step is in the report; the table still prints
        print(f"failed: {error}", file=sys.stderr)
        skip_unreported_models(report, config, f"not checked: {error}")
    finally:
        emulator.stop()
    print(report.render(colour=sys.stdout.isatty()))
    print(idle_cost_line(config, emulator))
    remove_assemblies(emulator)
    failed = [f"{row.scope}: {row.step}" for row in report.rows if row.status == FAILED]
    if failed:
        print(f"failed steps: {', '.join(failed)}", file=sys.stderr)
        return 1
    if args.keep:
        print(
            f"\nThe emulator keeps running: export AWS_ENDPOINT_URL={emulator.endpoint}"
            " (stop it: make local-down)"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
