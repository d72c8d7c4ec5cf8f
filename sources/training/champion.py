"""Champion/challenger: when a candidate past the threshold replaces the model in service.

The champion is the newest Approved package of the model's group. The candidate replaces it only if the
two were scored the same way (the same metric on the same validation data, read from the champion's
CustomerMetadataProperties) and the candidate beats it by ``min_improvement``; a tie keeps the champion.
The state machine (champion_steps.py) and the local run (local.py) both decide with what is here.
"""

# CustomerMetadataProperties a trained package carries (its lineage, and what its challengers read).
METRIC, METRIC_VALUE, VALIDATION_DATA = "metric", "metric_value", "validation_data"
CHAMPION, CHAMPION_METRIC_VALUE, MIN_IMPROVEMENT = "champion", "champion_metric_value", "min_improvement"
# The champion fields of the first model of an environment, which has none.
NO_CHAMPION = "none"


def margin(model) -> str:
    """``+min_improvement 0.0``: the direction the candidate must move the metric in, and by how much."""
    return f"{'-' if model.gate_lower_is_better else '+'}min_improvement {model.min_improvement}"


def kept_out_template(model) -> str:
    """Why a candidate is kept out, with ``{}`` for its value and the champion's (States.Format's and
    str.format's placeholder alike)."""
    return f"{model.metric} {{}} does not beat the champion ({{}} {margin(model)})"


def beats(model, value: float, champion_value: float) -> bool:
    """Strictly better than the champion by min_improvement: a tie keeps the model in service."""
    if model.gate_lower_is_better:
        return value < champion_value - model.min_improvement
    return value > champion_value + model.min_improvement


def comparable(model, metadata: dict[str, str], validation_data: str) -> bool:
    """The champion's registered score was made as the candidate's: same metric, same validation data.
    A score made another way is never compared (re-scoring the champion needs a Batch Transform job)."""
    return (
        metadata.get(METRIC) == model.metric
        and metadata.get(VALIDATION_DATA) == validation_data
        and METRIC_VALUE in metadata
    )
