"""AWS clients for the Lambdas, with botocore's own retries and timeouts.

Clients are made lazily (first use), so tests can set fake credentials and start
moto before any client exists, and a cold start pays only for the clients it uses.
"""

import functools

import boto3
from botocore.config import Config

# Standard retry mode backs off and retries throttling and transient errors; three
# attempts with these timeouts stay well under API Gateway's 29 s integration limit.
RETRY_CONFIG = Config(
    retries={"mode": "standard", "max_attempts": 3},
    connect_timeout=2,
    read_timeout=8,
)


@functools.cache
def client(service_name: str):
    """A boto3 client for ``service_name``, created once per process."""
    return boto3.client(service_name, config=RETRY_CONFIG)


def reset_clients() -> None:
    """Forget cached clients (tests call this between moto contexts)."""
    client.cache_clear()
