"""The state machines of a synthesized app as Step Functions receives them: concrete JSON.

CloudFormation resolves each token of a ``DefinitionString`` before Step Functions reads it, so every
token becomes the value it takes on AWS: ARNs for the kit's roles, functions, keys and topics, the account
``123456789012`` and the config's region. LocalStack's parser reads a Task's ``Resource`` ARN field by
field, and botocore checks some values' lengths, so placeholders like ``<Role.Arn>`` would not do. A token
tests/stacks/template_rendering.py cannot render raises, naming it: a new kind of reference gets a
realistic value there.
"""

import json
from dataclasses import dataclass

from tests.stacks.synth import Synthesized
from tests.stacks.template_rendering import TemplateRenderer

ACCOUNT = "123456789012"
PARTITION = "aws"
STATE_MACHINE_TYPE = "AWS::StepFunctions::StateMachine"


@dataclass(frozen=True)
class Machine:
    """One state machine: its stack and name, and its definition as text and as JSON."""

    stack: str
    name: str
    express: bool
    text: str

    @property
    def definition(self) -> dict:
        return json.loads(self.text)

    @property
    def label(self) -> str:
        return f"state machine {self.name}" + ("" if self.name == self.stack else f" (stack {self.stack})")


def _name(resource: dict, logical_id: str, prop: str) -> str:
    """A resource's physical name: its name property when literal, else its logical id."""
    value = resource.get("Properties", {}).get(prop)
    return value if isinstance(value, str) else logical_id


def state_machines(app: Synthesized, region: str) -> list[Machine]:
    """Every state machine of ``app``, its definition rendered as deployed to ``region``."""
    renderer = TemplateRenderer(app.raw, region=region, account=ACCOUNT, partition=PARTITION)
    machines = []
    for stack, template in app.raw.items():
        for logical_id, resource in template["Resources"].items():
            if resource["Type"] != STATE_MACHINE_TYPE:
                continue
            props = resource["Properties"]
            if "DefinitionSubstitutions" in props or "DefinitionS3Location" in props:
                raise ValueError(f"{stack}/{logical_id}: only an inline DefinitionString is rendered here")
            text = renderer.text(props["DefinitionString"], stack)
            # Pretty-printed so that a parser error's line number points at one field.
            text = json.dumps(json.loads(text), indent=1)
            express = props.get("StateMachineType", "STANDARD") == "EXPRESS"
            machines.append(Machine(stack, _name(resource, logical_id, "StateMachineName"), express, text))
    return machines
