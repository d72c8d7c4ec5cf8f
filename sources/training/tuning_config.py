"""A training model's optional ``tuning:``: a SageMaker hyperparameter tuning job instead of one training job.

The shape of each range is checked here for every algorithm; ``check_ranges`` also checks names and
bounds against ``KNOWN_HYPERPARAMETERS`` for the algorithms whose hyperparameters the kit knows.
"""

import math
from typing import Literal, NamedTuple

from pydantic import Field, model_validator

from stacks.config.base import StrictModel, invalid

SCALINGS = Literal["Auto", "Linear", "Logarithmic", "ReverseLogarithmic"]
# SageMaker's limits: 30 hyperparameters searched, 30 values per categorical range.
MAX_RANGES = 30
MAX_CATEGORICAL_VALUES = 30


class Bounds(NamedTuple):
    """Where a known hyperparameter's values lie; None is unbounded, ``open_minimum`` excludes the minimum."""

    kind: Literal["integer", "continuous"]
    minimum: float | None = None
    maximum: float | None = None
    open_minimum: bool = False

    def holds(self, value: float) -> bool:
        if self.kind == "integer" and not float(value).is_integer():
            return False
        if self.minimum is not None and (
            value <= self.minimum if self.open_minimum else value < self.minimum
        ):
            return False
        return self.maximum is None or value <= self.maximum

    def describe(self) -> str:
        low = "-inf" if self.minimum is None else f"{self.minimum:g}"
        high = "inf" if self.maximum is None else f"{self.maximum:g}"
        opening = "(" if self.open_minimum or self.minimum is None else "["
        closing = ")" if self.maximum is None else "]"
        return f"{self.kind} values in {opening}{low}, {high}{closing}"


_XGBOOST = {
    # SageMaker XGBoost's documented ranges (the built-in algorithm; script mode runs the same library).
    "eta": Bounds("continuous", 0, 1),
    "max_depth": Bounds("integer", 0),
    "num_round": Bounds("integer", 1),
    "subsample": Bounds("continuous", 0, 1, open_minimum=True),
    "min_child_weight": Bounds("continuous", 0),
    "gamma": Bounds("continuous", 0),
    "alpha": Bounds("continuous", 0),
    "lambda": Bounds("continuous", 0),
    "colsample_bytree": Bounds("continuous", 0, 1, open_minimum=True),
}
KNOWN_HYPERPARAMETERS: dict[str, dict[str, Bounds]] = {
    "xgboost": _XGBOOST,
    "script": _XGBOOST,
    # The kit's sample, jobs/training/sklearn_train.py (GradientBoostingClassifier).
    "sklearn": {
        "n_estimators": Bounds("integer", 1),
        "max_depth": Bounds("integer", 1),
        "learning_rate": Bounds("continuous", 0, 1, open_minimum=True),
        "subsample": Bounds("continuous", 0, 1, open_minimum=True),
    },
}


class TuningObjective(StrictModel):
    """The metric the tuning job optimizes, and which way."""

    metric: str = Field(
        pattern=r"^[A-Za-z0-9_:@./-]{1,255}$", description="A metric the training job reports."
    )
    direction: Literal["Maximize", "Minimize"]


class TuningRange(StrictModel):
    """One hyperparameter's search range: ``min``/``max`` (and ``scaling``) or categorical ``values``."""

    type: Literal["continuous", "integer", "categorical"]
    minimum: float | None = Field(default=None, alias="min", description="continuous and integer.")
    maximum: float | None = Field(default=None, alias="max", description="continuous and integer.")
    scaling: SCALINGS = Field(default="Auto", description="continuous and integer. Default Auto.")
    values: list[str | int | float] | None = Field(
        default=None, min_length=1, max_length=MAX_CATEGORICAL_VALUES, description="categorical."
    )

    def shape_problem(self) -> tuple[str, str] | None:
        """(field, message) for a range SageMaker would refuse whatever the algorithm; None if sound."""
        if self.type == "categorical":
            if self.values is None or self.minimum is not None or self.maximum is not None:
                return "values", "a categorical range takes values (a list), not min or max"
            if self.scaling != "Auto":
                return "scaling", "a categorical range has no scaling"
            if len({str(value) for value in self.values}) != len(self.values):
                return "values", f"{self.values} lists a value twice"
            return None
        if self.minimum is None or self.maximum is None or self.values is not None:
            return "min", f"a {self.type} range takes min and max, not values"
        if self.type == "integer" and not all(float(x).is_integer() for x in (self.minimum, self.maximum)):
            return "min", f"an integer range needs whole numbers, not {self.minimum:g}..{self.maximum:g}"
        if self.minimum >= self.maximum:
            return "min", f"min ({self.minimum:g}) must be below max ({self.maximum:g})"
        if self.scaling == "Logarithmic" and self.minimum <= 0:
            return "scaling", f"Logarithmic scaling needs min > 0 (min is {self.minimum:g})"
        if self.scaling == "ReverseLogarithmic" and (
            self.type != "continuous" or self.minimum < 0 or self.maximum >= 1
        ):
            return "scaling", "ReverseLogarithmic scaling needs a continuous range within 0 <= x < 1"
        return None


class TuningSettings(StrictModel):
    """``tuning:`` on a training model: a SageMaker hyperparameter tuning job finds the hyperparameters."""

    strategy: Literal["Bayesian", "Random", "Hyperband"] = Field(
        default="Bayesian", description="Default Bayesian."
    )
    objective: TuningObjective | None = Field(
        default=None, description="Default: the model's gate metric, minimized for error metrics."
    )
    max_jobs: int = Field(default=10, ge=1, le=500, description="Training jobs in all. Default 10.")
    max_parallel_jobs: int = Field(default=2, ge=1, le=100, description="At once. Default 2.")
    ranges: dict[str, TuningRange] = Field(min_length=1, max_length=MAX_RANGES)
    early_stopping: Literal["Off", "Auto"] = Field(default="Off", description="Default Off.")

    def resolved_objective(self, model_metric: str, lower_is_better: bool) -> tuple[str, str]:
        """(metric, Maximize or Minimize): the configured objective, else the model's gate metric."""
        if self.objective:
            return self.objective.metric, self.objective.direction
        return model_metric, "Minimize" if lower_is_better else "Maximize"

    def worst_case_seconds(self, max_runtime: int) -> int:
        """How long the tuning job may run: its jobs in waves of max_parallel_jobs, each up to max_runtime."""
        return math.ceil(self.max_jobs / self.max_parallel_jobs) * max_runtime

    @model_validator(mode="after")
    def _consistent(self) -> "TuningSettings":
        if self.max_parallel_jobs > self.max_jobs:
            raise invalid(
                "max_parallel_jobs",
                f"{self.max_parallel_jobs} parallel jobs exceed max_jobs ({self.max_jobs})",
            )
        if self.strategy == "Hyperband" and self.early_stopping == "Auto":
            raise invalid(
                "early_stopping",
                "Hyperband stops poor training jobs early itself; SageMaker refuses early_stopping Auto "
                "with it: set early_stopping: Off (the default) or another strategy",
            )
        for name, tuning_range in self.ranges.items():
            problem = tuning_range.shape_problem()
            if problem:
                field, message = problem
                raise invalid(f"ranges.{name}.{field}", f"{name}: {message}")
        return self


def _bounds_problem(name: str, tuning_range: TuningRange, bounds: Bounds) -> str | None:
    allowed = f"{name} takes {bounds.describe()}"
    if tuning_range.type == "categorical":
        numbers = []
        for value in tuning_range.values or []:
            try:
                numbers.append(float(value))
            except ValueError:
                return f"{value!r} is not a number: {allowed}"
        outside = [value for value in numbers if not bounds.holds(value)]
        return f"{[f'{value:g}' for value in outside]} outside the bounds: {allowed}" if outside else None
    if tuning_range.type == "continuous" and bounds.kind == "integer":
        return f"a continuous range on an integer hyperparameter: use type integer ({allowed})"
    if not (bounds.holds(tuning_range.minimum) and bounds.holds(tuning_range.maximum)):
        return f"{tuning_range.minimum:g}..{tuning_range.maximum:g} is outside the bounds: {allowed}"
    return None


def check_ranges(algorithm: str, tuning: TuningSettings) -> None:
    """Refuse, as ``tuning.ranges.<name>``, a range SageMaker or the algorithm would refuse.

    Every algorithm gets the shape checks; those in ``KNOWN_HYPERPARAMETERS`` also get their names
    and bounds checked. Others (e.g. container, whose image the kit cannot read) get shape checks only.
    """
    known = KNOWN_HYPERPARAMETERS.get(algorithm)
    for name, tuning_range in tuning.ranges.items():
        problem = tuning_range.shape_problem()
        message = f"{name}: {problem[1]}" if problem else None
        if message is None and known is not None:
            if name not in known:
                message = (
                    f"{algorithm} has no hyperparameter {name!r} to tune; known: {', '.join(sorted(known))}"
                )
            else:
                message = _bounds_problem(name, tuning_range, known[name])
        if message:
            raise invalid(f"tuning.ranges.{name}", message)
