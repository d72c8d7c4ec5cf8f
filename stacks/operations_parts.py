"""Which operations stack holds each dashboard page and each stackless model's alarms.

One stack held every page and every alarm of the models without a stack of their own (plain Bedrock
models), and past ~300 models of the usual mix, or ~160 Bedrock models, its template broke CloudFormation's
limits (1 MB, 500 resources). Part 1 is ``mlkit-<env>-operations`` (the first dashboard page, the failure
rules, the budget); part n is ``mlkit-<env>-operations-<n>``. Each part holds at most one dashboard page
(``MODELS_PER_DASHBOARD`` models) and a share of the stackless models' alarms (about
``STACKLESS_MODELS_PER_PART`` each), so no part grows with the catalogue. Plain functions, no CDK import.

Pages follow the config's order, as before (a dashboard never changes stack, only its rows change). Alarms
are placed by a consistent hash of the model's name: adding or removing a model moves no other model's
alarms, unless the number of shares changes. When it grows, alarms move only into the new last part, which
depends on the parts before it, so they are deployed first and release the alarms it then creates (alarm
names are unique in an account). When it shrinks, the last part's alarms move into earlier parts, which are
deployed first: that part must be updated or deleted before them (docs/deploy.md, "Would AWS accept it?").
"""

import hashlib
from dataclasses import dataclass

# A CloudWatch dashboard holds at most 500 widgets; a model's row has up to 7 (its title included).
MODELS_PER_DASHBOARD = 60
# Three alarms of ~1 KB each per Bedrock model: a part's share stays far below 500 resources and 1 MB.
STACKLESS_MODELS_PER_PART = 50


@dataclass(frozen=True)
class OperationsPart:
    """Part ``number`` (1: the operations stack itself): its dashboard page's models (empty past the last
    page, a dashboard of the API's graphs alone on part 1 of an empty config) and the models whose alarms
    it holds."""

    number: int
    page: list[str]
    alarms: list[str]


def operations_parts(labels: list[str], stackless: list[str]) -> list[OperationsPart]:
    """Every part for a config's models (``labels``, in order) and those without a stack of their own."""
    pages, shares = dashboard_pages(labels), alarm_shares(stackless)
    return [
        OperationsPart(
            number=index + 1,
            page=pages[index] if index < len(pages) else [],
            alarms=shares[index] if index < len(shares) else [],
        )
        for index in range(max(len(pages), len(shares), 1))
    ]


def dashboard_pages(labels: list[str]) -> list[list[str]]:
    """The models of each dashboard page, in the config's order."""
    return [
        labels[start : start + MODELS_PER_DASHBOARD] for start in range(0, len(labels), MODELS_PER_DASHBOARD)
    ]


def alarm_shares(stackless: list[str]) -> list[list[str]]:
    """The stackless models' names in ``ceil(n / STACKLESS_MODELS_PER_PART)`` shares, by consistent hash."""
    count = -(-len(stackless) // STACKLESS_MODELS_PER_PART)
    shares: list[list[str]] = [[] for _ in range(count)]
    for label in stackless:
        shares[jump_hash(label, count)].append(label)
    return shares


def jump_hash(label: str, buckets: int) -> int:
    """Lamping and Veach's jump consistent hash: from n to n + 1 buckets, a key stays or moves to bucket n."""
    key = int.from_bytes(hashlib.sha256(label.encode()).digest()[:8], "big")
    bucket, candidate = -1, 0
    while candidate < buckets:
        bucket = candidate
        key = (key * 2862933555777941757 + 1) % 2**64
        candidate = int((bucket + 1) * (2**31 / ((key >> 33) + 1)))
    return bucket
