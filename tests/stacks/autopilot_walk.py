"""The state machine walker's old name: it serves every pipeline now (tests/stacks/state_machine_walk.py)."""

from tests.stacks.state_machine_walk import TaskFailed, Walk, get_path, render_definition, run

__all__ = ["TaskFailed", "Walk", "get_path", "render_definition", "run"]
