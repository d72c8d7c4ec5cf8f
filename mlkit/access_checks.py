"""`make local`: IAM's decisions on the components' calls, one row per role, and what was not decided.

Each deployed pipeline's tasks are decided too, as calls its state machine's role would make
(mlkit/access/state_machines.py): moto cannot run them, but IAM's answer to them can be had.
"""

import json

from mlkit.access.enforcer import AccessEmulation
from mlkit.access.state_machines import named_values, task_call, task_checks
from mlkit.checks import stack_outputs
from mlkit.deployed_roles import task_states
from mlkit.report import NotEmulated, Report, StepFailed
from sources import source_of
from stacks import names

SCOPE = "iam"
NOT_DECIDED = (
    "not decided here: the calls AWS services make as these roles inside what the emulator does not run "
    "(a SageMaker container reading its model artifact and writing async results or captures, a Glue "
    "job reading its script), the grant on a training, tuning, Processing or AutoML job's volume key "
    "(SageMaker's documentation does not say whether the caller or the job's role makes it), the roles' "
    "trust policies (the emulator assumes each role as its service would; the template tests assert each "
    "trust), and service control policies, permission boundaries and session policies (none in the kit; "
    "an account's own may deny more)"
)


def summary(ledger) -> str:
    """A role's ledger as '6 calls, 7 authorizations: kms:GenerateDataKey ×1 on 1, ...' (on N resources)."""
    actions = ", ".join(
        f"{action} ×{count} on {len(ledger.resources[action])}"
        for action, count in sorted(ledger.checked.items())
    )
    return f"{calls(ledger.calls)}, {sum(ledger.checked.values())} authorizations: {actions or 'none'}"


def calls(count: int) -> str:
    return f"{count} call" + ("" if count == 1 else "s")


def pipeline_stacks(config) -> dict[str, str]:
    """Every stack of the environment with a state machine, by what it is."""
    stacks = {
        f"dataset {dataset} pipeline": names.dataset_stack_name(config.environment, dataset)
        for dataset in config.datasets
    }
    for label, model in config.models.items():
        if source_of(model).has_pipeline:
            stacks[f"{label} pipeline"] = names.model_stack_name(config.environment, label)
    return stacks


def replay_pipelines(report: Report, run) -> None:
    """A row per deployed state machine: every task's call decided as the machine's role."""
    if run.access is None:
        return
    for label, stack in pipeline_stacks(run.config).items():
        report.attempt(
            SCOPE,
            f"{label} tasks",
            None,
            lambda row, label=label, stack=stack: replay(row, run, label, stack),
        )


def replay(row, run, label: str, stack: str) -> None:
    arn = stack_outputs(run.clients("cloudformation"), stack)["StateMachineArn"]
    described = run.clients("stepfunctions").describe_state_machine(stateMachineArn=arn)
    principal = run.access.principal(described["roleArn"], label)
    decided, undecided, denied = 0, [], []
    definition = json.loads(described["definition"])
    known = named_values(definition)
    for name, state in task_states(definition).items():
        call = task_call(name, state, known)
        if call is None:
            undecided.append(f"{name!r} (its Resource {state.get('Resource')} is not one the replay knows)")
            continue
        try:
            checks = task_checks(call, run.access.lookups)
        except KeyError as gap:
            undecided.append(f"{name!r} (needs {gap.args[0]}, which only an execution gives)")
            continue
        decided += 1
        denial = run.access.authorize_checks(principal, f"{name}: {call.service}:{call.operation}", checks)
        if denial:
            denied.append(f"task {name!r}: {denial}")
    if denied:
        raise StepFailed(f"{principal.role_name} is denied: " + "; ".join(denied))
    row.detail = f"{decided} tasks allowed to {principal.role_name}" + (
        f"; not decided: {', '.join(undecided)}" if undecided else ""
    )


def report_access(report: Report, access: AccessEmulation | None) -> None:
    """A row per role the run assumed: its calls and authorizations, failed if any call was denied."""
    if access is None:
        return
    roles = {principal.label: principal.role_name for principal in access.principals.values()}
    for label, ledger in access.ledgers.items():
        report.attempt(
            SCOPE,
            f"{label} calls",
            None,
            lambda row, ledger=ledger, label=label: role_row(row, roles[label], ledger),
        )
    unevaluated = sorted({gap for ledger in access.ledgers.values() for gap in ledger.unevaluated})
    with report.step(SCOPE, "what the emulator does not decide"):
        keys = f"; condition keys not evaluated: {'; '.join(unevaluated)}" if unevaluated else ""
        raise NotEmulated(NOT_DECIDED + keys)


def role_row(row, role_name: str, ledger) -> None:
    row.detail = f"role {role_name}: {summary(ledger)}; {len(ledger.denials)} denied"
    row.metric = f"{calls(ledger.calls)}, {len(ledger.denials)} denied"
    if ledger.denials:
        raise StepFailed(f"role {role_name} was denied: " + "; ".join(str(d) for d in ledger.denials))
