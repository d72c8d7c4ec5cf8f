"""The environment's config file for mlkit's command lines: one `--env` option (with `--config` where a
command takes a file elsewhere), one way to report a bad file."""

import argparse
import sys


def argument_parser(doc: str, *, other_file: bool = False) -> argparse.ArgumentParser:
    """A command's parser, described by the first line of its ``doc``, with ``--env`` (config/<ENV>.yaml);
    with ``other_file``, ``--config`` too (a file elsewhere)."""
    parser = argparse.ArgumentParser(description=doc.splitlines()[0])
    parser.add_argument("--env", default=None, help="config/<ENV>.yaml (default: MLKIT_ENV or dev)")
    if other_file:
        parser.add_argument("--config", default=None, help="a config file elsewhere (instead of --env)")
    return parser


def load(args: argparse.Namespace):
    """The config ``args`` name, or None once it printed why the file is invalid (the command then
    exits 2)."""
    from stacks.config import ConfigError, load_config, select_config_path

    try:
        return load_config(select_config_path(config=getattr(args, "config", None), env=args.env))
    except ConfigError as error:
        print(f"mlkit: invalid config\n{error}", file=sys.stderr)
        return None
