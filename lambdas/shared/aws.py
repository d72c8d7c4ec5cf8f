"""AWS clients for the Lambdas, with botocore's own retries and timeouts.

Clients come from botocore directly: the Lambdas use clients only, never boto3's resources,
and ``import boto3`` also imports s3transfer, ~25 ms of every cold start for nothing.

Clients are made lazily (first use), so tests can set fake credentials and start
moto before any client exists, and a cold start pays only for the clients it uses.
"""

import functools

import botocore.session
from botocore.config import Config

# Standard retry mode backs off and retries throttling and transient errors. Three attempts in all
# (botocore's "max_attempts" counts retries only, so it would make four): three 8 s reads plus
# the back-off between them (at most 1 s, then 2 s) fit API Gateway's 29 s integration limit.
RETRY_CONFIG = Config(
    retries={"mode": "standard", "total_max_attempts": 3},
    connect_timeout=2,
    read_timeout=8,
)


@functools.cache
def _session() -> botocore.session.Session:
    # One session per process, as boto3's default one: credentials are resolved and each
    # service's model is parsed once for every client made from it.
    return botocore.session.get_session()


@functools.cache
def client(service_name: str):
    """A botocore client for ``service_name``, created once per process."""
    return _session().create_client(service_name, config=RETRY_CONFIG)


def reset_clients() -> None:
    """Forget cached clients and the session, whose credentials are read once (tests and the local run
    call this between moto contexts, and when the process switches to another role's credentials)."""
    client.cache_clear()
    _session.cache_clear()
