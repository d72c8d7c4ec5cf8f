"""make local's scikit-learn models: a bounded, seeded search over the configured ranges."""

import math

from sources.training import local_script as script_model_run
from stacks.config import MlKitConfig

RANGES = {
    "n_estimators": {"type": "integer", "min": 50, "max": 150},
    "learning_rate": {"type": "continuous", "min": 0.03, "max": 0.3, "scaling": "Logarithmic"},
    "max_depth": {"type": "categorical", "values": [2, 3]},
}


def model(tuning: dict | None):
    entry = {"source": "training", "dataset": "churn", "target": "churned", "algorithm": "sklearn"}
    if tuning:
        entry["tuning"] = tuning
    config = MlKitConfig.model_validate({"environment": "t", "region": "us-east-1", "models": {"m": entry}})
    return config.models["m"]


def test_the_search_draws_max_jobs_candidates_inside_the_ranges_the_same_every_run():
    tuned = model({"strategy": "Random", "max_jobs": 5, "ranges": RANGES})
    drawn = script_model_run.candidates(tuned)
    assert len(drawn) == 5 and drawn == script_model_run.candidates(tuned)
    assert all(50 <= c["n_estimators"] <= 150 and isinstance(c["n_estimators"], int) for c in drawn)
    assert all(0.03 <= c["learning_rate"] <= 0.3 for c in drawn)
    assert {c["max_depth"] for c in drawn} <= {2, 3}
    # Logarithmic scaling draws evenly in log space: not all from the top of the range.
    assert min(math.log(c["learning_rate"]) for c in drawn) < math.log(0.1)


def test_without_tuning_one_run_with_the_configured_hyperparameters():
    assert script_model_run.candidates(model(None)) == [{}]
