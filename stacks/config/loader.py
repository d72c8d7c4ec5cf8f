"""Find, read and validate the config file of one environment."""

import os
from pathlib import Path

import yaml
from pydantic import ValidationError

from stacks.config.base import ConfigError, format_validation_error
from stacks.config.environment import MlKitConfig

CONFIG_DIR = Path(__file__).resolve().parents[2] / "config"
DEFAULT_ENVIRONMENT = "dev"


def select_config_path(*, config: str | None = None, env: str | None = None) -> Path:
    """The file to use, first match wins: ``-c config=PATH``, ``-c env=NAME``, ``MLKIT_ENV``, dev."""
    if config:
        return Path(config)
    name = env or os.environ.get("MLKIT_ENV") or DEFAULT_ENVIRONMENT
    return CONFIG_DIR / f"{name}.yaml"


def _display(path: Path) -> str:
    try:
        return str(path.resolve().relative_to(Path.cwd()))
    except ValueError:
        return str(path)


def load_config(path: Path) -> MlKitConfig:
    """Parse and validate ``path``; any problem raises ConfigError naming the file and key."""
    shown = _display(path)
    try:
        text = path.read_text()
    except FileNotFoundError:
        available = ", ".join(sorted(p.stem for p in CONFIG_DIR.glob("*.yaml"))) or "none"
        raise ConfigError(f"{shown}: no such config file (environments in config/: {available})") from None
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
    try:
        return MlKitConfig.model_validate(data)
    except ValidationError as error:
        raise ConfigError(format_validation_error(shown, error)) from None
