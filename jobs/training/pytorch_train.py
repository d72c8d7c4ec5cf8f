"""PyTorch sample for `algorithm: pytorch`: a small MLP on the curated churn channels.

Script mode (SageMaker PyTorch training container): hyperparameters `--epochs`, `--learning_rate`,
`--hidden_units`, `--batch_size`; channels SM_CHANNEL_TRAIN / SM_CHANNEL_VALIDATION. It prints
`validation-auc:…`, `validation-accuracy:…` and `train-auc:…` (jobs/training/metrics.py) and the
majority-class baseline in a form no regex reads.

The artifact is SM_MODEL_DIR/model.pt (the state dict, whose buffers hold the training medians,
means and scales: the model imputes and standardizes itself) and model.json (its shape). Serving
(the PyTorch inference container, this file as the entry point): model_fn / input_fn / predict_fn /
output_fn take text/csv rows of encoded features (no label, no header, empty = missing) and answer
text/csv, one positive-class probability per line.
"""

import json
from pathlib import Path

import numpy as np
import torch
from torch import nn

try:  # in the repository and in tests
    from jobs.training import churn_data, metrics
except ModuleNotFoundError:  # in the container, beside this file in the source directory
    import churn_data
    import metrics

MODEL_FILE, SHAPE_FILE = "model.pt", "model.json"
HYPERPARAMETERS = {"epochs": 40, "learning_rate": 0.01, "hidden_units": 16, "batch_size": 64}
METRICS = ["train:auc", "validation:auc", "validation:accuracy"]
METRIC_DEFINITIONS = metrics.metric_definitions(METRICS)
SEED = 0


class ChurnNetwork(nn.Module):
    """NaN → training median, standardize, one hidden ReLU layer, one logit."""

    def __init__(self, feature_count: int, hidden_units: int):
        super().__init__()
        self.register_buffer("medians", torch.zeros(feature_count))
        self.register_buffer("means", torch.zeros(feature_count))
        self.register_buffer("scales", torch.ones(feature_count))
        self.layers = nn.Sequential(
            nn.Linear(feature_count, hidden_units), nn.ReLU(), nn.Linear(hidden_units, 1)
        )

    def fit_preprocessing(self, features: np.ndarray) -> None:
        medians = churn_data.column_medians(features)
        filled = np.where(np.isnan(features), medians, features)
        scales = filled.std(axis=0)
        self.medians.copy_(torch.as_tensor(medians))
        self.means.copy_(torch.as_tensor(filled.mean(axis=0)))
        self.scales.copy_(torch.as_tensor(np.where(scales > 0, scales, 1.0)))

    def forward(self, features: torch.Tensor) -> torch.Tensor:
        filled = torch.where(torch.isnan(features), self.medians, features)
        return self.layers((filled - self.means) / self.scales).squeeze(-1)


def scores(model: ChurnNetwork, features: np.ndarray) -> np.ndarray:
    model.eval()
    with torch.no_grad():
        return torch.sigmoid(model(torch.as_tensor(features, dtype=torch.float32))).numpy()


def fit(model: ChurnNetwork, features: np.ndarray, labels: np.ndarray, hyperparameters: dict) -> None:
    """Adam on shuffled mini-batches; seeded, so a run repeats."""
    generator = torch.Generator().manual_seed(SEED)
    inputs = torch.as_tensor(features, dtype=torch.float32)
    targets = torch.as_tensor(labels, dtype=torch.float32)
    optimizer = torch.optim.Adam(model.parameters(), lr=hyperparameters["learning_rate"])
    loss_function = nn.BCEWithLogitsLoss()
    model.train()
    for _ in range(hyperparameters["epochs"]):
        for batch in torch.randperm(len(inputs), generator=generator).split(hyperparameters["batch_size"]):
            optimizer.zero_grad()
            loss_function(model(inputs[batch]), targets[batch]).backward()
            optimizer.step()


def save(model: ChurnNetwork, model_dir: str | Path) -> None:
    path = Path(model_dir)
    path.mkdir(parents=True, exist_ok=True)
    torch.save(model.state_dict(), path / MODEL_FILE)
    shape = {"feature_count": model.medians.numel(), "hidden_units": model.layers[0].out_features}
    (path / SHAPE_FILE).write_text(json.dumps(shape))


def train(
    train_dir: str | Path,
    validation_dir: str | Path,
    model_dir: str | Path | None = None,
    hyperparameters: dict | None = None,
) -> dict[str, float]:
    """Fit on train_dir, score validation_dir; save model.pt and model.json in model_dir when given."""
    values = churn_data.with_defaults(hyperparameters, HYPERPARAMETERS)
    torch.manual_seed(SEED)
    train_labels, train_features = churn_data.read_channel(train_dir)
    validation_labels, validation_features = churn_data.read_channel(validation_dir)
    model = ChurnNetwork(train_features.shape[1], values["hidden_units"])
    model.fit_preprocessing(train_features)
    fit(model, train_features, train_labels, values)
    results = churn_data.scored_metrics(
        train_labels, scores(model, train_features), validation_labels, scores(model, validation_features)
    )
    if model_dir is not None:
        save(model, model_dir)
    return results


def main(argv: list[str] | None = None) -> dict[str, float]:
    """Script-mode entry point."""
    return churn_data.run_script_mode(train, HYPERPARAMETERS, argv)


# ---- serving: the PyTorch inference toolkit's handler functions ----------------------------


def model_fn(model_dir: str) -> ChurnNetwork:
    shape = json.loads((Path(model_dir) / SHAPE_FILE).read_text())
    model = ChurnNetwork(shape["feature_count"], shape["hidden_units"])
    model.load_state_dict(torch.load(Path(model_dir) / MODEL_FILE, map_location="cpu", weights_only=True))
    return model.eval()


def input_fn(request_body: str | bytes, request_content_type: str) -> np.ndarray:
    return churn_data.request_features(request_body, request_content_type)


def predict_fn(input_data: np.ndarray, model: ChurnNetwork) -> np.ndarray:
    churn_data.check_feature_count(input_data, model.medians.numel())
    return scores(model, input_data)


def output_fn(prediction: np.ndarray, accept: str = churn_data.CSV_CONTENT_TYPE) -> tuple[str, str]:
    return churn_data.csv_answer(prediction, accept)


if __name__ == "__main__":
    main()
