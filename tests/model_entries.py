"""Config entries the tests of several layers build their configs from (one truth for a sample model)."""

# A small text-classification model on the HF inference DLC: any hosting type takes it.
SENTIMENT = {
    "source": "huggingface",
    "model_id": "distilbert/distilbert-base-uncased-finetuned-sst-2-english",
    "task": "text-classification",
}
# The sample churn dataset (sample-data/churn.csv), gated as the shipped dev config gates it.
CHURN = {
    "source": "training",
    "dataset": "churn",
    "target": "churned",
    "metric": "validation:auc",
    "threshold": 0.75,
}
