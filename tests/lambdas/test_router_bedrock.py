"""The router against Bedrock Converse, through a Stubber on the cached client (moto has no Converse)."""

import pytest
from botocore.stub import Stubber
from router_events import call, converse_event, invoke_event
from shared.aws import client

pytestmark = pytest.mark.usefixtures("aws")  # moto underneath: nothing unstubbed can reach AWS

CHAT_MODEL = "anthropic.claude-3-haiku-20240307-v1:0"
GUARDRAIL = {"guardrailIdentifier": "gr-123", "guardrailVersion": "1"}
CHAT_DEFAULTS = {"maxTokens": 512, "temperature": 0.5, "topP": 0.9}


def converse_answer(*texts: str, stop_reason: str = "end_turn") -> dict:
    return {
        "output": {"message": {"role": "assistant", "content": [{"text": text} for text in texts]}},
        "stopReason": stop_reason,
        "usage": {"inputTokens": 11, "outputTokens": 7, "totalTokens": 18},
        "metrics": {"latencyMs": 420},
    }


def converse(event: dict, expected_params: dict | None, answer: dict | None = None):
    """Call the router with Converse stubbed to expect ``expected_params`` exactly."""
    with Stubber(client("bedrock-runtime")) as stubber:
        stubber.add_response("converse", answer or converse_answer("Hi!"), expected_params)
        result = call(event)
        stubber.assert_no_pending_responses()
    return result


def test_a_prompt_becomes_a_user_message_with_defaults_and_guardrail():
    expected = {
        "modelId": CHAT_MODEL,
        "messages": [{"role": "user", "content": [{"text": "Tell me a joke"}]}],
        "inferenceConfig": CHAT_DEFAULTS,
        "guardrailConfig": GUARDRAIL,
    }

    status, headers, body = converse(converse_event(prompt="Tell me a joke"), expected)

    assert (status, headers["Content-Type"]) == (200, "application/json")


def test_the_answer_has_text_stop_reason_usage_and_model_id():
    answer = converse_answer("Why did the ", "model cross the road?", stop_reason="max_tokens")

    _, _, body = converse(converse_event(prompt="Tell me a joke"), None, answer)

    assert body == {
        "text": "Why did the model cross the road?",
        "stop_reason": "max_tokens",
        "usage": {"input_tokens": 11, "output_tokens": 7, "total_tokens": 18},
        "model_id": CHAT_MODEL,
    }


def test_simple_messages_and_system_text_are_normalised_and_inference_merged():
    event = converse_event(
        messages=[
            {"role": "user", "content": "Hello"},
            {"role": "assistant", "content": "Hi, how can I help?"},
            {"role": "user", "content": "Summarise this"},
        ],
        system="You are terse.",
        inference={"temperature": 0.1, "max_tokens": 2048, "stop_sequences": ["END"]},
    )
    expected = {
        "modelId": CHAT_MODEL,
        "messages": [
            {"role": "user", "content": [{"text": "Hello"}]},
            {"role": "assistant", "content": [{"text": "Hi, how can I help?"}]},
            {"role": "user", "content": [{"text": "Summarise this"}]},
        ],
        "system": [{"text": "You are terse."}],
        "inferenceConfig": {"maxTokens": 2048, "temperature": 0.1, "topP": 0.9, "stopSequences": ["END"]},
        "guardrailConfig": GUARDRAIL,
    }

    status, _, _ = converse(event, expected)

    assert status == 200


# The config's inference defaults (sources/bedrock/config.py), which every Bedrock entry carries.
CONFIG_DEFAULTS = {"maxTokens": 512, "temperature": 0.5, "topP": 0.9}


def test_converse_shaped_messages_and_system_blocks_pass_through_unchanged():
    messages = [{"role": "user", "content": [{"text": "Describe"}, {"text": "briefly"}]}]
    system = [{"text": "Be kind."}]
    expected = {
        "modelId": "us.amazon.nova-lite-v1:0",
        "messages": messages,
        "system": system,
        "inferenceConfig": CONFIG_DEFAULTS,
    }

    status, _, body = converse(converse_event("plain-chat", messages=messages, system=system), expected)

    assert (status, body["model_id"]) == (200, "us.amazon.nova-lite-v1:0")


def test_a_model_without_a_guardrail_sends_none_and_the_config_defaults():
    expected = {
        "modelId": "us.amazon.nova-lite-v1:0",
        "messages": [{"role": "user", "content": [{"text": "Hi"}]}],
        "inferenceConfig": CONFIG_DEFAULTS,
    }

    status, _, _ = converse(invoke_event("plain-chat", '{"prompt": "Hi"}', content_type=None), expected)

    assert status == 200


def test_max_tokens_over_the_limit_is_refused_naming_the_limit():
    with Stubber(client("bedrock-runtime")) as stubber:
        status, _, body = call(converse_event(prompt="Hi", inference={"max_tokens": 4096}))
        stubber.assert_no_pending_responses()

    assert (status, body["error"]) == (400, "validation")
    assert body["message"] == "inference.max_tokens is 4096, over this model's limit of 2048"


@pytest.mark.parametrize(
    ("payload", "message"),
    [
        ({"prompt": "Hi", "messages": [{"role": "user", "content": "Hi"}]}, "either 'messages' or 'prompt'"),
        ({"system": "Be kind"}, "either 'messages' or 'prompt'"),
        ({"prompt": ""}, "'prompt' must be non-empty text"),
        ({"prompt": 42}, "'prompt' must be non-empty text"),
        ({"prompt": "Hi", "temperature": 0.2}, "Unknown field(s) temperature"),
        ({"messages": []}, "'messages' must be a non-empty list"),
        ({"messages": "Hi"}, "'messages' must be a non-empty list"),
        (
            {"messages": [{"role": "system", "content": "Hi"}]},
            "messages[0].role must be one of user, assistant",
        ),
        ({"messages": [{"role": "user"}]}, "messages[0] must be an object with exactly 'role' and 'content'"),
        (
            {"messages": [{"role": "user", "content": []}]},
            "messages[0].content must be text or a non-empty list",
        ),
        (
            {"messages": [{"role": "user", "content": [42]}]},
            "messages[0].content must be text or a non-empty list",
        ),
        ({"prompt": "Hi", "system": 7}, "'system' must be text or a non-empty list"),
        ({"prompt": "Hi", "inference": [1]}, "'inference' must be an object"),
        ({"prompt": "Hi", "inference": {"top_k": 5}}, "Unknown inference setting(s) top_k"),
        ({"prompt": "Hi", "inference": {"temperature": "hot"}}, "inference.temperature must be a number"),
        ({"prompt": "Hi", "inference": {"top_p": 1.5}}, "inference.top_p must be between 0 and 1"),
        ({"prompt": "Hi", "inference": {"max_tokens": 1.5}}, "inference.max_tokens must be a whole number"),
        ({"prompt": "Hi", "inference": {"stop_sequences": "END"}}, "inference.stop_sequences must be a list"),
    ],
)
def test_a_malformed_request_is_a_400_saying_what_is_wrong(payload, message):
    with Stubber(client("bedrock-runtime")) as stubber:
        status, _, body = call(converse_event(**payload))
        stubber.assert_no_pending_responses()

    assert (status, body["error"]) == (400, "validation")
    assert message in body["message"]


def test_json_nested_past_the_parsers_stack_is_a_400_not_a_crash():
    """Found by the property test: Python's parser raises RecursionError, not a JSONDecodeError."""
    nested = "[" * 1_900 + "]" * 1_900  # past Python's 1,000 levels, within the tests' 4 KB body limit
    with Stubber(client("bedrock-runtime")) as stubber:
        status, _, body = call(invoke_event("chat", '{"prompt": ' + nested + "}"))
        stubber.assert_no_pending_responses()

    assert (status, body["error"]) == (400, "validation")
    assert body["message"] == "Request body nests JSON arrays or objects too deeply"


def test_a_non_json_content_type_is_a_415():
    status, _, body = call(invoke_event("chat", '{"prompt": "Hi"}', content_type="text/plain"))

    assert (status, body["error"]) == (415, "unsupported_media_type")
    assert "application/json" in body["message"]
