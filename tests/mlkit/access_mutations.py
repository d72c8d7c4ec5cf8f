"""Mutations of what a local run deployed: one grant taken from one deployed role, then put back.

``kept_run`` is the local run's context (mlkit/local_context.Run) on the emulator `make local --keep`
left up, with IAM enforced as in the run and the deployed router loaded with its role's credentials.
``without_grant`` rewrites the role's inline or managed policy in the emulator's IAM without one action
on one resource (or on every resource), and restores it on the way out.
"""

import copy
import json
import os
import sys
from contextlib import ExitStack, contextmanager
from pathlib import Path

import boto3

from mlkit.access.enforcer import AccessEmulation, enforcing
from mlkit.emulator import Emulator
from mlkit.local_context import Run
from mlkit.report import Report
from mlkit.route_checks import load_router_step
from tests.mlkit.emulated import restore_modules


@contextmanager
def kept_run(endpoint: str, config, workdir: Path):
    saved_environment = dict(os.environ)
    saved_modules = {name: sys.modules.get(name) for name in ("router", "deploy")}
    emulator = Emulator(region=config.region)  # the run's interface (endpoint, environment), not its process
    emulator.endpoint = endpoint
    session = boto3.Session(
        region_name=config.region, aws_access_key_id="testing", aws_secret_access_key="testing"
    )

    def clients(service: str):
        return session.client(service, endpoint_url=endpoint)

    try:
        with ExitStack() as exits:
            access = exits.enter_context(enforcing(AccessEmulation(clients, region=config.region)))
            run = Run(
                config=config, clients=clients, emulator=emulator, workdir=workdir, exits=exits, access=access
            )
            report = Report()
            load_router_step(report, run)
            assert run.router is not None, report.render(colour=False)
            yield run
    finally:
        os.environ.clear()
        os.environ.update(saved_environment)
        restore_modules(saved_modules)


def without(document: dict, action: str, resource: str | None) -> dict:
    """``document`` with ``action`` removed from its statements (only on ``resource``, if given)."""
    kept = []
    for statement in copy.deepcopy(document)["Statement"]:
        actions = statement["Action"] if isinstance(statement["Action"], list) else [statement["Action"]]
        resources = (
            statement["Resource"] if isinstance(statement["Resource"], list) else [statement["Resource"]]
        )
        if action not in actions or (resource is not None and resource not in resources):
            kept.append(statement)
            continue
        others = [a for a in actions if a != action]
        if resource is not None and len(resources) > 1:  # the action stays on the other resources
            kept.append({**statement, "Resource": [r for r in resources if r != resource]})
        if others:
            kept.append({**statement, "Action": others})
    return {**document, "Statement": kept}


@contextmanager
def without_grant(run: Run, role_arn: str, action: str, resource: str | None = None):
    """The role's policies without ``action`` (on ``resource``); answers how many policies changed."""
    iam, name = run.clients("iam"), role_arn.rsplit("/", 1)[1]
    restore = []
    for policy_name in iam.list_role_policies(RoleName=name)["PolicyNames"]:
        document = iam.get_role_policy(RoleName=name, PolicyName=policy_name)["PolicyDocument"]
        changed = without(document, action, resource)
        if changed != document:
            iam.put_role_policy(RoleName=name, PolicyName=policy_name, PolicyDocument=json.dumps(changed))
            restore.append(lambda p=policy_name, d=document: iam.put_role_policy(
                RoleName=name, PolicyName=p, PolicyDocument=json.dumps(d)
            ))  # fmt: skip
    for attached in iam.list_attached_role_policies(RoleName=name)["AttachedPolicies"]:
        arn = attached["PolicyArn"]
        version = iam.get_policy(PolicyArn=arn)["Policy"]["DefaultVersionId"]
        document = iam.get_policy_version(PolicyArn=arn, VersionId=version)["PolicyVersion"]["Document"]
        changed = without(document, action, resource)
        if changed != document:
            iam.create_policy_version(PolicyArn=arn, PolicyDocument=json.dumps(changed), SetAsDefault=True)
            restore.append(lambda a=arn, v=version: iam.set_default_policy_version(PolicyArn=a, VersionId=v))
    assert restore, f"{name} has no grant of {action} on {resource or 'any resource'} to take"
    run.access.refresh()
    try:
        yield len(restore)
    finally:
        for undo in restore:
            undo()
        run.access.refresh()
