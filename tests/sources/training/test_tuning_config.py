"""``tuning:`` settings: defaults, the objective, and every bad range or pairing refused naming its key."""

import pytest
from pydantic import ValidationError
from pydantic_core import PydanticCustomError

from sources.training.tuning_config import KNOWN_HYPERPARAMETERS, TuningRange, TuningSettings, check_ranges
from stacks.config.base import format_validation_error

ETA = {"type": "continuous", "min": 0.05, "max": 0.5}


def settings(**fields) -> TuningSettings:
    return TuningSettings.model_validate({"ranges": {"eta": ETA}, **fields})


def refused(data: dict) -> list[str]:
    """The lines format_validation_error gives for ``data``: each names its key."""
    with pytest.raises(ValidationError) as caught:
        TuningSettings.model_validate(data)
    return format_validation_error("env.yaml", caught.value).splitlines()


def refused_for(algorithm: str, ranges: dict) -> tuple[str, str]:
    """(key, message) check_ranges raises for ``ranges`` on ``algorithm``."""
    with pytest.raises(PydanticCustomError) as caught:
        check_ranges(algorithm, TuningSettings.model_validate({"ranges": ranges}))
    return caught.value.context["key"], caught.value.message()


def test_defaults_and_the_objective_follow_the_models_gate():
    tuning = settings()
    assert (tuning.strategy, tuning.max_jobs, tuning.max_parallel_jobs, tuning.early_stopping) == (
        "Bayesian",
        10,
        2,
        "Off",
    )
    assert tuning.resolved_objective("validation:auc", False) == ("validation:auc", "Maximize")
    assert tuning.resolved_objective("validation:logloss", True) == ("validation:logloss", "Minimize")
    chosen = settings(objective={"metric": "validation:error", "direction": "Minimize"})
    assert chosen.resolved_objective("validation:auc", False) == ("validation:error", "Minimize")
    assert settings(max_jobs=7, max_parallel_jobs=3).worst_case_seconds(600) == 3 * 600


def test_sound_ranges_pass_for_known_and_unknown_algorithms():
    ranges = {
        "eta": {"type": "continuous", "min": 0.01, "max": 1, "scaling": "Logarithmic"},
        "max_depth": {"type": "integer", "min": 0, "max": 10},
        "num_round": {"type": "categorical", "values": [50, 100, 200]},
        "subsample": {"type": "continuous", "min": 0.5, "max": 1},
        "colsample_bytree": {"type": "continuous", "min": 0.1, "max": 0.9, "scaling": "ReverseLogarithmic"},
    }
    tuning = TuningSettings.model_validate({"ranges": ranges, "strategy": "Hyperband"})
    check_ranges("xgboost", tuning)
    check_ranges("script", tuning)
    sklearn = {"n_estimators": {"type": "integer", "min": 10, "max": 500}, "learning_rate": ETA}
    check_ranges("sklearn", TuningSettings.model_validate({"ranges": sklearn}))
    # The kit cannot read a container's hyperparameters: any name, shape checks only.
    check_ranges("container", TuningSettings.model_validate({"ranges": {"my_own": ETA}}))


@pytest.mark.parametrize(
    ("algorithm", "ranges", "key", "words"),
    [
        ("xgboost", {"eta": {"type": "continuous", "min": 0.1, "max": 1.5}}, "tuning.ranges.eta", "[0, 1]"),
        (
            "xgboost",
            {"subsample": {"type": "continuous", "min": 0, "max": 1}},
            "tuning.ranges.subsample",
            "(0, 1]",
        ),
        (
            "xgboost",
            {"num_round": {"type": "integer", "min": 0, "max": 10}},
            "tuning.ranges.num_round",
            "[1, inf)",
        ),
        (
            "xgboost",
            {"gamma": {"type": "continuous", "min": -1, "max": 1}},
            "tuning.ranges.gamma",
            "[0, inf)",
        ),
        ("xgboost", {"eta": {"type": "categorical", "values": [0.1, 2]}}, "tuning.ranges.eta", "['2']"),
        (
            "xgboost",
            {"eta": {"type": "categorical", "values": ["fast"]}},
            "tuning.ranges.eta",
            "not a number",
        ),
        (
            "xgboost",
            {"max_depth": {"type": "continuous", "min": 1, "max": 9}},
            "tuning.ranges.max_depth",
            "integer",
        ),
        (
            "xgboost",
            {"max_depth": {"type": "categorical", "values": [2.5]}},
            "tuning.ranges.max_depth",
            "integer",
        ),
        (
            "sklearn",
            {"learning_rate": {"type": "continuous", "min": 0, "max": 0.5}},
            "tuning.ranges.learning_rate",
            "(0, 1]",
        ),
        (
            "sklearn",
            {"max_depth": {"type": "integer", "min": 0, "max": 5}},
            "tuning.ranges.max_depth",
            "[1, inf)",
        ),
    ],
    ids=[
        "eta-above-1",
        "subsample-at-0",
        "num-round-0",
        "gamma-negative",
        "categorical-outside",
        "categorical-not-a-number",
        "continuous-on-integer",
        "categorical-fraction-on-integer",
        "sklearn-learning-rate-0",
        "sklearn-max-depth-0",
    ],
)
def test_a_range_outside_the_algorithms_bounds_is_refused_with_the_bounds(algorithm, ranges, key, words):
    found_key, message = refused_for(algorithm, ranges)
    assert found_key == key
    assert words in message, message


def test_an_unknown_hyperparameter_of_a_known_algorithm_is_refused_listing_the_known_ones():
    key, message = refused_for("xgboost", {"learning_rate": ETA})
    assert key == "tuning.ranges.learning_rate"
    assert "xgboost has no hyperparameter 'learning_rate'" in message
    assert ", ".join(sorted(KNOWN_HYPERPARAMETERS["xgboost"])) in message


@pytest.mark.parametrize(
    ("ranges", "line"),
    [
        (
            {"eta": {"type": "continuous", "min": 0.5, "max": 0.5}},
            "env.yaml: ranges.eta.min: eta: min (0.5) must be below max (0.5)",
        ),
        (
            {"max_depth": {"type": "integer", "min": 8, "max": 3}},
            "env.yaml: ranges.max_depth.min: max_depth: min (8) must be below max (3)",
        ),
        (
            {"eta": {"type": "continuous", "min": 0, "max": 1, "scaling": "Logarithmic"}},
            "env.yaml: ranges.eta.scaling: eta: Logarithmic scaling needs min > 0 (min is 0)",
        ),
        (
            {"eta": {"type": "continuous", "min": 0.5, "max": 1, "scaling": "ReverseLogarithmic"}},
            "env.yaml: ranges.eta.scaling: eta: ReverseLogarithmic scaling needs a continuous range "
            "within 0 <= x < 1",
        ),
        (
            {"max_depth": {"type": "integer", "min": 1.5, "max": 3}},
            "env.yaml: ranges.max_depth.min: max_depth: an integer range needs whole numbers, not 1.5..3",
        ),
        (
            {"eta": {"type": "continuous", "values": [0.1]}},
            "env.yaml: ranges.eta.min: eta: a continuous range takes min and max, not values",
        ),
        (
            {"booster": {"type": "categorical", "values": ["gbtree"], "min": 1}},
            "env.yaml: ranges.booster.values: booster: a categorical range takes values (a list), "
            "not min or max",
        ),
        (
            {"booster": {"type": "categorical", "values": ["gbtree", "gbtree"]}},
            "env.yaml: ranges.booster.values: booster: ['gbtree', 'gbtree'] lists a value twice",
        ),
    ],
    ids=[
        "min-equals-max",
        "min-above-max",
        "log-from-0",
        "reverse-log-to-1",
        "fractional-integer",
        "values-on-continuous",
        "min-on-categorical",
        "duplicate-value",
    ],
)
def test_a_badly_shaped_range_is_refused_for_any_algorithm(ranges, line):
    assert refused({"ranges": ranges}) == [line]
    # check_ranges refuses it too (the model's validator may call it alone), under tuning.ranges.<name>.
    (name,) = ranges
    with pytest.raises(PydanticCustomError) as caught:
        check_ranges("container", TuningSettings.model_construct(ranges={name: _constructed(ranges[name])}))
    assert caught.value.context["key"] == f"tuning.ranges.{name}"


def _constructed(data: dict):
    fields = {"minimum": data.get("min"), "maximum": data.get("max"), "values": data.get("values")}
    return TuningRange.model_construct(type=data["type"], scaling=data.get("scaling", "Auto"), **fields)


def test_hyperband_refuses_early_stopping_auto_with_the_reason():
    (line,) = refused({"ranges": {"eta": ETA}, "strategy": "Hyperband", "early_stopping": "Auto"})
    assert line.startswith("env.yaml: early_stopping: Hyperband stops poor training jobs early itself")
    assert settings(strategy="Bayesian", early_stopping="Auto").early_stopping == "Auto"


def test_more_parallel_jobs_than_jobs_is_refused():
    assert refused({"ranges": {"eta": ETA}, "max_jobs": 3, "max_parallel_jobs": 4}) == [
        "env.yaml: max_parallel_jobs: 4 parallel jobs exceed max_jobs (3)"
    ]


@pytest.mark.parametrize(
    ("data", "key"),
    [
        ({"ranges": {}}, "env.yaml: ranges: "),
        ({}, "env.yaml: ranges: is required"),
        ({"ranges": {"eta": ETA}, "max_jobs": 0}, "env.yaml: max_jobs: "),
        ({"ranges": {"eta": ETA}, "strategy": "Grid"}, "env.yaml: strategy: "),
        (
            {"ranges": {"eta": ETA}, "objective": {"metric": "auc"}},
            "env.yaml: objective.direction: is required",
        ),
        ({"ranges": {"eta": {**ETA, "step": 1}}}, "env.yaml: ranges.eta.step: "),
    ],
    ids=[
        "no-ranges",
        "ranges-missing",
        "zero-jobs",
        "unknown-strategy",
        "objective-direction",
        "unknown-key",
    ],
)
def test_malformed_settings_name_their_key(data, key):
    (line,) = refused(data)
    assert line.startswith(key), line
