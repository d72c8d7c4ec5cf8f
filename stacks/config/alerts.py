"""Operating an environment: who is told when something fails, log retention, and the monthly budget."""

import re

from pydantic import Field, field_validator, model_validator

from stacks.config.base import StrictModel, invalid

EMAIL = r"^[^@\s]+@[^@\s]+\.[A-Za-z]{2,}$"
TOPIC_ARN = r"^arn:aws[a-z-]*:sns:[a-z0-9-]+:\d{12}:[A-Za-z0-9_-]{1,256}$"
# What CloudWatch Logs accepts for RetentionInDays.
RETENTION_DAYS = (1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557,
                  2922, 3288, 3653)  # fmt: skip


class AlertThresholds(StrictModel):
    error_rate_percent: float = Field(
        default=5, gt=0, le=100, description="Server errors per invocation, in %. Default 5."
    )
    latency_p90_ms: float = Field(
        default=2000, gt=0, le=900000, description="Model latency p90, in ms. Default 2000."
    )
    throttles: float = Field(default=10, ge=1, description="Bedrock throttles in 5 minutes. Default 10.")
    async_backlog_age_seconds: float = Field(
        default=900, ge=60, le=86400, description="Oldest queued async request, in s. Default 900."
    )


class AlertSettings(StrictModel):
    """Alarms and failure notifications go to one KMS-encrypted topic per environment (or yours)."""

    emails: list[str] = Field(default_factory=list, description="Subscribed to the topic. Default none.")
    topic_arn: str | None = Field(
        default=None,
        pattern=TOPIC_ARN,
        description="An existing SNS topic (e.g. one AWS Chatbot watches) instead of mlkit's. "
        "Its policy and key must let CloudWatch, EventBridge and Budgets publish. Default: mlkit's.",
    )
    thresholds: AlertThresholds = Field(default_factory=AlertThresholds)

    @model_validator(mode="after")
    def _emails(self) -> "AlertSettings":
        for index, email in enumerate(self.emails):
            if not re.fullmatch(EMAIL, email):
                raise invalid(
                    f"emails.{index}", f"{email!r} is not an email address, e.g. ml-team@example.com"
                )
        return self


class LogSettings(StrictModel):
    """Every log group mlkit declares is encrypted with the environment's key and kept this long."""

    retention_days: int = Field(
        default=90, description="One of CloudWatch Logs' retention periods (1, 3, 5, ..., 3653). Default 90."
    )

    @field_validator("retention_days")
    @classmethod
    def _a_retention_cloudwatch_accepts(cls, value: int) -> int:
        if value not in RETENTION_DAYS:
            allowed = ", ".join(str(days) for days in RETENTION_DAYS)
            raise ValueError(f"{value} is not a CloudWatch Logs retention; allowed: {allowed}")
        return value


class BudgetSettings(StrictModel):
    """A monthly AWS Budget over this environment's cost allocation tag, notifying the alerts topic."""

    monthly_usd: float = Field(gt=0, description="The monthly limit in US dollars.")
    alert_percent: list[float] = Field(
        default_factory=lambda: [80, 100],
        min_length=1,
        max_length=5,  # AWS Budgets takes at most 5 notifications per budget
        description="Actual spend thresholds, in % of the limit. Default [80, 100].",
    )

    @field_validator("alert_percent")
    @classmethod
    def _percentages(cls, value: list[float]) -> list[float]:
        for percent in value:
            if not 0 < percent <= 1000:
                raise ValueError(f"{percent} is not a threshold AWS Budgets takes: give 0 < percent <= 1000")
        if len(set(value)) != len(value):
            raise ValueError(f"{value} repeats a threshold: give each once")
        return value
