"""Synthesize an mlkit app once per distinct config and test run (across xdist workers), and share it."""

import fcntl
import functools
import hashlib
import json
import os
import tempfile
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from aws_cdk.assertions import Template

from lambdas.shared import registry as registry_contract
from stacks import names
from stacks.cdk_app import mlkit_app
from stacks.config import MlKitConfig
from stacks.nag import add_nag_checks
from stacks.stack_limits import CDK_RESOURCE_LIMIT_CONTEXT, refusal
from stacks.stage import MlKitStage


class Templates(Mapping[str, Template]):
    """An assertions Template per stack name, each made on first use: Template.from_json hands the whole
    template to jsii, ~1.5 s for the 300 stacks of the 200-model catalogue, whose tests read a few."""

    def __init__(self, raw: dict[str, dict]):
        self._raw, self._made = raw, {}

    def __getitem__(self, name: str) -> Template:
        if name not in self._made:
            self._made[name] = Template.from_json(self._raw[name])
        return self._made[name]

    def __iter__(self) -> Iterator[str]:
        return iter(self._raw)

    def __len__(self) -> int:
        return len(self._raw)


@dataclass(frozen=True)
class Synthesized:
    """A synthesized app: its stage assembly directory and one Template per stack name."""

    directory: Path
    outdir: Path
    raw: dict[str, dict]

    @functools.cached_property
    def templates(self) -> Templates:
        return Templates(self.raw)

    def template(self, part: str) -> Template:
        return self.templates[next(name for name in self.raw if name.endswith(f"-{part}"))]

    def resources(self, part: str, resource_type: str) -> dict[str, dict]:
        return self.template(part).find_resources(resource_type)

    def asset_directory(self, content: dict) -> Path:
        """Where a file asset (a Lambda's or layer's ``Code``/``Content``) was staged in the assembly."""
        return self.outdir / f"asset.{content['S3Key'].removesuffix('.zip')}"

    def router_registry(self) -> dict:
        """The registry file the API stack's layer ships to the router, parsed."""
        layers = self.resources("api", "AWS::Lambda::LayerVersion").values()
        (layer,) = [r for r in layers if r["Properties"]["Description"].startswith("mlkit router registry")]
        folder = self.asset_directory(layer["Properties"]["Content"])
        return json.loads(
            (folder / registry_contract.LAYER_DIRECTORY / registry_contract.FILE_NAME).read_text()
        )


def render_tokens(value: Any, token: Callable[[dict], str] | None = None) -> str:
    """A template value (Fn::Join of literals and tokens) as text: ``<Ref>``, ``<Id.Attr>``, ``<Export>``.

    ``token`` (default: those placeholders) renders each Ref, Fn::GetAtt and Fn::ImportValue instead."""
    if isinstance(value, str):
        return value
    if "Fn::Join" in value:
        separator, parts = value["Fn::Join"]
        return separator.join(render_tokens(part, token) for part in parts)
    if "Fn::Sub" in value:  # asset locations: ${AWS::AccountId} stays as written
        return value["Fn::Sub"]
    if token is not None and {"Ref", "Fn::GetAtt", "Fn::ImportValue"} & set(value):
        return token(value)
    if "Ref" in value:
        return f"<{value['Ref']}>"
    if "Fn::GetAtt" in value:
        return f"<{'.'.join(value['Fn::GetAtt'])}>"
    if "Fn::ImportValue" in value:
        return f"<{render_tokens(value['Fn::ImportValue'])}>"
    raise ValueError(f"no text for template value {value}")


def config_from(data: dict) -> MlKitConfig:
    return MlKitConfig.model_validate(data)


ROOT = Path(__file__).resolve().parents[2]
# The feature flags `cdk synth` would apply: tests synthesize what the CLI synthesizes.
CDK_CONTEXT = json.loads((ROOT / "cdk.json").read_text())["context"]


@functools.cache
def _synthesize(config_json: str, emulated: bool) -> Synthesized:
    """One synth per config per test run: xdist's workers share a folder, the first to ask synthesizes."""
    environment = MlKitConfig.model_validate_json(config_json).environment
    run = os.environ.get("PYTEST_XDIST_TESTRUNUID")
    if run is None:  # one process: nothing to share
        return _read_stage(
            _synth_app(config_json, emulated, Path(tempfile.mkdtemp(prefix="mlkit-synth-"))), environment
        )
    key = hashlib.sha256(f"{emulated}:{config_json}".encode()).hexdigest()[:20]
    outdir = Path(tempfile.gettempdir()) / f"mlkit-synth-{run}" / key
    outdir.parent.mkdir(exist_ok=True)
    with open(f"{outdir}.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # another worker synthesizing this config: wait for it
        if not (outdir / "manifest.json").exists():
            _synth_app(config_json, emulated, outdir)  # a cdk-nag finding raises here, in every worker
    return _read_stage(outdir, environment)


def _synth_app(config_json: str, emulated: bool, outdir: Path) -> Path:
    config = MlKitConfig.model_validate_json(config_json)
    app = mlkit_app(outdir=str(outdir), context={**CDK_CONTEXT, **CDK_RESOURCE_LIMIT_CONTEXT})
    MlKitStage(app, config.environment, config=config, emulated=emulated)
    add_nag_checks(app)  # a finding raises here, failing every test that synthesizes
    app.synth()
    if problem := refusal(outdir):  # as app.py refuses it: CloudFormation would
        raise RuntimeError(f"mlkit: {problem}")
    return outdir


def _read_stage(outdir: Path, environment: str) -> Synthesized:
    """The stage's templates from a synthesized app's folder (its nested assembly's manifest)."""
    directory = outdir / f"assembly-{environment}"
    manifest = json.loads((directory / "manifest.json").read_text())
    raw = {}
    for artifact in manifest["artifacts"].values():
        if artifact["type"] == "aws:cloudformation:stack":
            name = artifact["properties"].get("stackName")
            raw[name] = json.loads((directory / artifact["properties"]["templateFile"]).read_text())
    return Synthesized(directory, outdir, raw)


def synthesize(config: MlKitConfig, *, emulated: bool = False) -> Synthesized:
    """Synthesize ``config`` (cached: the same config is synthesized once per session)."""
    return _synthesize(config.model_dump_json(), emulated)


@dataclass(frozen=True)
class DeliverySynthesized:
    """A synthesized delivery app: its top-level stacks (pipeline, OIDC, cross-region support) by stack
    name, and each pipeline stage's stacks by environment, then stack name."""

    outdir: Path
    raw: dict[str, dict]
    stages: dict[str, dict[str, dict]]

    def template(self, stack_name: str) -> Template:
        return Template.from_json(self.raw[stack_name])

    def manifest(self) -> dict:
        return json.loads((self.outdir / "manifest.json").read_text())


@functools.cache
def synthesize_delivery(path: Path, emulated: bool = False) -> DeliverySynthesized:
    """Synthesize the delivery app of ``path`` as `cdk synth -c delivery=PATH` would (cached per session)."""
    from stacks.config import load_delivery
    from stacks.delivery.app import build_delivery

    outdir = Path(tempfile.mkdtemp(prefix="mlkit-delivery-synth-"))
    app = mlkit_app(outdir=str(outdir), context=CDK_CONTEXT)
    build_delivery(app, load_delivery(path), emulated=emulated)
    add_nag_checks(app)  # a finding raises here
    assembly = app.synth()
    raw = {
        stack.stack_name: json.loads(Path(stack.template_full_path).read_text()) for stack in assembly.stacks
    }
    stages = {}
    for nested in assembly.nested_assemblies:
        name = nested.directory_name.removeprefix(f"assembly-{names.DELIVERY_STACK}-")
        stages[name] = {
            stack.stack_name: json.loads(Path(stack.template_full_path).read_text())
            for stack in nested.nested_assembly.stacks
        }
    return DeliverySynthesized(outdir, raw, stages)
