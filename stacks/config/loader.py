"""Find, read and validate the config file of one environment, or the delivery file and its environments."""

import os
from pathlib import Path
from typing import TypeVar

import yaml
from pydantic import BaseModel, ValidationError

from stacks import names
from stacks.config.base import ConfigError, format_validation_error
from stacks.config.delivery import Delivery, DeliveryConfig, DeliveryEnvironment
from stacks.config.environment import MlKitConfig

CONFIG_DIR = Path(__file__).resolve().parents[2] / "config"
DEFAULT_ENVIRONMENT = "dev"
# The delivery file sits beside the environments' files but is not one of them.
DELIVERY_FILE = "delivery.yaml"
DELIVERY_PATH = CONFIG_DIR / DELIVERY_FILE
Model = TypeVar("Model", bound=BaseModel)


def select_config_path(*, config: str | None = None, env: str | None = None) -> Path:
    """The file to use, first match wins: ``-c config=PATH``, ``-c env=NAME``, ``MLKIT_ENV``, dev."""
    if config:
        return Path(config)
    name = env or os.environ.get("MLKIT_ENV") or DEFAULT_ENVIRONMENT
    return CONFIG_DIR / f"{name}.yaml"


def display(path: Path) -> str:
    """``path`` as the user would type it: relative to the working directory when inside it."""
    try:
        return str(path.resolve().relative_to(Path.cwd()))
    except ValueError:
        return str(path)


def environment_names(folder: Path) -> list[str]:
    """The environments whose config files are in ``folder`` (the delivery file is not one)."""
    return sorted(p.stem for p in folder.glob("*.yaml") if p.name != DELIVERY_FILE)


def read_mapping(path: Path | str) -> dict:
    """A YAML file's top-level mapping; ConfigError naming the file when it cannot be read or parsed."""
    path = Path(path)
    shown = display(path)
    try:
        text = path.read_text()
    except FileNotFoundError:
        available = ", ".join(environment_names(path.parent if path.parent.is_dir() else CONFIG_DIR))
        raise ConfigError(
            f"{shown}: no such config file (environments in {display(path.parent)}/: {available or 'none'})"
        ) from None
    except OSError as error:
        raise ConfigError(f"{shown}: cannot read: {error.strerror}") from None
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as error:
        mark = getattr(error, "problem_mark", None)
        where = f" line {mark.line + 1}, column {mark.column + 1}" if mark else ""
        problem = getattr(error, "problem", None) or str(error)
        raise ConfigError(f"{shown}:{where}: YAML syntax error: {problem}") from None
    if not isinstance(data, dict):
        raise ConfigError(f"{shown}: (top level): expected a mapping of keys, got {type(data).__name__}")
    return data


def validated(model: type[Model], path: Path) -> Model:
    """``path`` read and validated as ``model``; every problem is one line naming file and key."""
    try:
        return model.model_validate(read_mapping(path))
    except ValidationError as error:
        raise ConfigError(format_validation_error(display(path), error)) from None


def load_config(path: Path) -> MlKitConfig:
    """Parse and validate ``path``; any problem raises ConfigError naming the file and key."""
    return validated(MlKitConfig, path)


def load_delivery(path: Path = DELIVERY_PATH) -> Delivery:
    """The delivery file and each environment's config, checked together.

    Every environment must name its ``account`` (a pipeline stage and an OIDC role live in one
    account), appear once, and be in the delivery file's folder; approvals must name environments.
    All problems are reported at once, one line each.
    """
    settings = validated(DeliveryConfig, path)
    shown, problems, environments = display(path), [], []
    pipeline = settings.pipeline
    approvals = set(pipeline.approvals if pipeline and pipeline.approvals is not None else ["prod"])
    for index, entry in enumerate(settings.environments):
        key = f"{shown}: environments.{index}"
        config_file = path.parent / entry.config
        if not config_file.is_file():
            known = ", ".join(f"{name}.yaml" for name in environment_names(path.parent)) or "none"
            problems.append(
                f"{key}.config: {entry.config!r} is not a file in {display(path.parent)}/ ({known})"
            )
            continue
        try:
            config = load_config(config_file)
        except ConfigError as error:
            problems.append(str(error))
            continue
        problems += _environment_problems(key, entry, config, config_file, environments)
        environments.append(
            DeliveryEnvironment(
                config.environment,
                config_file,
                config,
                entry.oidc_provider_arn,
                config.environment in approvals,
            )
        )
    if not problems and settings.github:
        problems += _shared_provider_problems(shown, environments)
    if not problems and pipeline and pipeline.approvals:
        known = [env.name for env in environments]
        problems += [
            f"{shown}: pipeline.approvals.{index}: {name!r} is not an environment of this delivery "
            f"({', '.join(known)})"
            for index, name in enumerate(pipeline.approvals)
            if name not in known
        ]
    if problems:
        raise ConfigError("\n".join(problems))
    return Delivery(path, settings, tuple(environments))


def _environment_problems(key, entry, config: MlKitConfig, config_file: Path, earlier: list) -> list[str]:
    """What stops one environment from being a stage: no account, a repeat, a provider elsewhere."""
    file = display(config_file)
    if config.account is None:
        return [
            f"{file}: account: is required to deliver {config.environment!r} ({key}): each environment "
            'deploys into its own account; set account: "123456789012" (12 digits, quoted)'
        ]
    repeat = next((index for index, env in enumerate(earlier) if env.name == config.environment), None)
    if repeat is not None:
        return [
            f"{key}.config: {entry.config} is environment {config.environment!r} again "
            f"(environments.{repeat} deploys it already): each environment is one stage; list it once"
        ]
    provider = entry.oidc_provider_arn
    if provider and provider.split(":")[4] != config.account:
        return [
            f"{key}.oidc_provider_arn: is in account {provider.split(':')[4]}, not {file}'s "
            f"{config.account}: the deploy role trusts a provider in its own account"
        ]
    return []


def _shared_provider_problems(shown: str, environments: list[DeliveryEnvironment]) -> list[str]:
    """An account holds one GitHub provider: environments after the first in an account import it."""
    problems, first = [], {}
    for index, env in enumerate(environments):
        if env.account not in first:
            first[env.account] = index
        elif env.oidc_provider_arn is None:
            problems.append(
                f"{shown}: environments.{index}.oidc_provider_arn: is required: {env.name} shares account "
                f"{env.account} with environments.{first[env.account]}, whose oidc stack creates the "
                f"account's one GitHub provider; import it: "
                f"{names.github_oidc_provider_arn(env.account, env.region)}"
            )
    return problems
