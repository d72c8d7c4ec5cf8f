"""The router's grants and how they split into managed policies, without a synth."""

import json

from benchmarks.catalog import catalog
from stacks.router_access import LONGEST, Grant, limit_problems, pack_policies, router_grants
from tests.stacks.synth import config_from

INVOKE = ("sagemaker:DescribeEndpoint", "sagemaker:InvokeEndpoint")


def characters(document: dict) -> int:
    statements = [{"Effect": "Allow", "Action": list(a), "Resource": r} for a, r in document.items()]
    return len(json.dumps({"Version": "2012-10-17", "Statement": statements}, separators=(",", ":")))


def test_documents_stay_under_the_limit_and_grant_every_row_once():
    rows = [Grant(INVOKE, f"arn:aws:sagemaker:us-east-1:1:endpoint/m{n}") for n in range(40)]
    rows += [Grant(("s3:PutObject",), "arn:aws:s3:::b/async-input/m1/*"), rows[0]]

    documents = pack_policies(rows, limit=600)

    assert len(documents) > 1
    assert all(characters(document) <= 600 for document in documents)
    granted = [(actions, r) for document in documents for actions, rs in document.items() for r in rs]
    assert sorted(granted) == sorted({(row.actions, row.resource) for row in rows})


def test_the_split_is_decided_on_the_longest_values_not_the_tokens():
    tokens = [Grant(INVOKE, f"${{Token[{n}]}}") for n in range(10)]
    longest = [Grant(INVOKE, "x" * 100 + str(n)) for n in range(10)]

    assert len(pack_policies(tokens, limit=600)) == 1
    split = pack_policies(tokens, longest, limit=600)
    assert len(split) > 1 and sum(len(r) for d in split for r in d.values()) == 10


def test_grants_name_exactly_each_model_and_the_key_only_for_async():
    config = config_from(catalog(8))
    rows = router_grants(config, LONGEST, {"bedrock-guardrail-004": "arn:guardrail"})
    sagemaker = [row.resource.rsplit("/", 1)[1] for row in rows if row.actions[0].startswith("sagemaker")]
    assert sorted(sagemaker) == sorted(
        f"mlkit-catalog-{m}" for m in config.models if not m.startswith("bedrock")
    )
    assert Grant(("bedrock:ApplyGuardrail",), "arn:guardrail") in rows
    assert [row.resource for row in rows if row.actions[0] == "kms:Encrypt"] == [LONGEST.data_key_arn]
    assert limit_problems(config) == []
