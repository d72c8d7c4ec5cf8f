"""The router's CloudWatch metrics: the router publishes them; dashboards and alarms read them."""

NAMESPACE = "mlkit"  # POWERTOOLS_METRICS_NAMESPACE of mlkit's functions
MODEL_DIMENSION = "model"  # beside Powertools' own "service" dimension
LATENCY = "Latency"  # milliseconds
ERRORS = "Errors"  # 5xx answers
CLIENT_ERRORS = "ClientErrors"  # 4xx answers other than 429
THROTTLES = "Throttles"  # 429 answers
