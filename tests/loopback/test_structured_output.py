"""``with_structured_output``: every method, schema kind and output mode, on the loopback
Bedrock-wire server with scripted answers (real boto3 on a real socket)."""

from __future__ import annotations

import itertools
import json
import warnings
from typing import Annotated, Any

import pytest
from langchain_core.callbacks import BaseCallbackHandler
from langchain_core.exceptions import OutputParserException
from langchain_core.messages import AIMessage
from pydantic import BaseModel, Field
from typing_extensions import TypedDict

from langchain_bedrock_stream import ChatBedrockStream
from langchain_bedrock_stream.testing import BedrockWireServer, JsonReply, StreamReply
from tests.support import loopback, recordings

MODEL = "us.anthropic.claude-sonnet-4-6"
JOKE = {
    "setup": "Why did the cat sit on the computer?",
    "punchline": "To keep an eye on the mouse.",
}


class Joke(BaseModel):
    """Joke to tell user."""

    setup: str = Field(description="question to set up a joke")
    punchline: str = Field(description="answer to resolve the joke")


class JokeDict(TypedDict):
    """Joke to tell user."""

    setup: Annotated[str, ..., "question to set up a joke"]
    punchline: Annotated[str, ..., "answer to resolve the joke"]


JOKE_SCHEMA = Joke.model_json_schema()
SCHEMAS: dict[str, Any] = {"pydantic": Joke, "typeddict": JokeDict, "json_schema": JOKE_SCHEMA}
NAMES = {"pydantic": "Joke", "typeddict": "JokeDict", "json_schema": "Joke"}


def fragments(text: str, size: int = 9) -> list[str]:
    return [text[i : i + size] for i in range(0, len(text), size)]


def tool_events(name: str, args: dict[str, Any], *, preamble: str | None = None) -> list[Any]:
    events: list[Any] = [{"messageStart": {"role": "assistant"}}]
    index = 0
    if preamble:
        events += [
            {"contentBlockDelta": {"contentBlockIndex": 0, "delta": {"text": preamble}}},
            {"contentBlockStop": {"contentBlockIndex": 0}},
        ]
        index = 1
    start = {"toolUse": {"toolUseId": "tooluse_joke01", "name": name, "type": "tool_use"}}
    events.append({"contentBlockStart": {"contentBlockIndex": index, "start": start}})
    for piece in fragments(json.dumps(args)):
        delta = {"toolUse": {"input": piece}}
        events.append({"contentBlockDelta": {"contentBlockIndex": index, "delta": delta}})
    events += [
        {"contentBlockStop": {"contentBlockIndex": index}},
        {"messageStop": {"stopReason": "tool_use"}},
        {"metadata": {"usage": {"inputTokens": 400, "outputTokens": 60, "totalTokens": 460}}},
    ]
    return events


def text_events(text: str) -> list[Any]:
    return [
        {"messageStart": {"role": "assistant"}},
        *(
            {"contentBlockDelta": {"contentBlockIndex": 0, "delta": {"text": piece}}}
            for piece in fragments(text)
        ),
        {"contentBlockStop": {"contentBlockIndex": 0}},
        {"messageStop": {"stopReason": "end_turn"}},
        {"metadata": {"usage": {"inputTokens": 40, "outputTokens": 30, "totalTokens": 70}}},
    ]


def tool_body(name: str, args: dict[str, Any]) -> dict[str, Any]:
    use = {"toolUseId": "tooluse_joke01", "name": name, "input": args, "type": "tool_use"}
    return {
        "output": {"message": {"role": "assistant", "content": [{"toolUse": use}]}},
        "stopReason": "tool_use",
        "usage": {"inputTokens": 400, "outputTokens": 60, "totalTokens": 460},
        "metrics": {"latencyMs": 900},
    }


def text_body(text: str) -> dict[str, Any]:
    return {
        "output": {"message": {"role": "assistant", "content": [{"text": text}]}},
        "stopReason": "end_turn",
        "usage": {"inputTokens": 40, "outputTokens": 30, "totalTokens": 70},
        "metrics": {"latencyMs": 700},
    }


def model_on(server: BedrockWireServer, **kwargs: Any) -> ChatBedrockStream:
    # One chunk per event, so streaming shows every intermediate object.
    return loopback.model_on(server, MODEL, stream_chunking="event", **kwargs)


def as_dict(value: Any) -> dict[str, Any]:
    return value.model_dump() if isinstance(value, BaseModel) else dict(value)


def assert_growing(partials: list[Any], final: dict[str, Any]) -> None:
    """Several partial objects, each extending the one before, ending at ``final``."""
    dicts = [as_dict(p) for p in partials]
    assert len(dicts) >= 3, dicts
    assert dicts[-1] == final
    for before, after in itertools.pairwise(dicts):
        for key, value in before.items():
            assert str(after[key]).startswith(str(value)), (before, after)


# --- function_calling ------------------------------------------------------------------------


@pytest.mark.parametrize("kind", list(SCHEMAS))
def test_function_calling_invoke(server: BedrockWireServer, kind: str) -> None:
    name = NAMES[kind]
    server.enqueue(JsonReply(tool_body(name, JOKE)))
    result = model_on(server).with_structured_output(SCHEMAS[kind]).invoke("Tell me a joke.")
    assert isinstance(result, Joke) if kind == "pydantic" else result == JOKE
    assert as_dict(result) == JOKE
    tool_config = server.requests[0].body["toolConfig"]
    assert tool_config["toolChoice"] == {"tool": {"name": name}}
    spec = tool_config["tools"][0]["toolSpec"]
    assert spec["name"] == name
    assert spec["description"] == "Joke to tell user."
    assert spec["inputSchema"]["json"]["required"] == ["setup", "punchline"]


@pytest.mark.parametrize("kind", list(SCHEMAS))
def test_function_calling_stream_yields_growing_objects(
    server: BedrockWireServer, kind: str
) -> None:
    server.enqueue(StreamReply(tool_events(NAMES[kind], JOKE)))
    partials = list(model_on(server).with_structured_output(SCHEMAS[kind]).stream("A joke."))
    assert_growing(partials, JOKE)
    if kind == "pydantic":
        assert all(isinstance(p, Joke) for p in partials)
    assert server.requests[0].operation == "converse-stream"


async def test_function_calling_async(server: BedrockWireServer) -> None:
    replies = (JsonReply(tool_body("JokeDict", JOKE)), StreamReply(tool_events("JokeDict", JOKE)))
    server.enqueue(*replies)
    structured = model_on(server).with_structured_output(JokeDict)
    assert await structured.ainvoke("A joke.") == JOKE
    partials = [p async for p in structured.astream("A joke.")]
    assert_growing(partials, JOKE)


def test_function_calling_strict(server: BedrockWireServer) -> None:
    server.enqueue(JsonReply(tool_body("Joke", JOKE)))
    model_on(server).with_structured_output(Joke, strict=True).invoke("A joke.")
    spec = server.requests[0].body["toolConfig"]["tools"][0]["toolSpec"]
    assert spec["strict"] is True
    assert spec["inputSchema"]["json"]["additionalProperties"] is False


def test_function_calling_with_thinking_falls_back_to_auto(server: BedrockWireServer) -> None:
    model = model_on(server, thinking_budget=2048)
    with pytest.warns(UserWarning, match="rejects forced tool use while extended thinking"):
        structured = model.with_structured_output(Joke)
    server.enqueue(JsonReply(tool_body("Joke", JOKE)), JsonReply(text_body("No joke today.")))
    assert structured.invoke("A joke.") == Joke(**JOKE)
    body = server.requests[0].body
    assert "toolChoice" not in body["toolConfig"]
    assert body["additionalModelRequestFields"]["thinking"]["type"] == "enabled"
    assert structured.invoke("A joke.") is None  # answered without calling the tool


def test_reasoning_effort_also_counts_as_thinking() -> None:
    model = ChatBedrockStream(model=MODEL, region_name="us-east-1", reasoning_effort="low")
    with pytest.warns(UserWarning, match="automatic tool choice"):
        model.with_structured_output(JokeDict)
    plain = ChatBedrockStream(model=MODEL, region_name="us-east-1")
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        plain.with_structured_output(JokeDict)


def test_function_calling_after_a_text_preamble(server: BedrockWireServer) -> None:
    server.enqueue(StreamReply(tool_events("Joke", JOKE, preamble="Here is one:")))
    partials = list(model_on(server).with_structured_output(JOKE_SCHEMA).stream("A joke."))
    assert partials[-1] == JOKE


# --- json_schema (native outputConfig) -------------------------------------------------------


@pytest.mark.parametrize("kind", list(SCHEMAS))
def test_json_schema_request_and_answer(server: BedrockWireServer, kind: str) -> None:
    server.enqueue(JsonReply(text_body(json.dumps(JOKE))))
    structured = model_on(server).with_structured_output(SCHEMAS[kind], method="json_schema")
    result = structured.invoke("Tell me a joke.")
    assert as_dict(result) == JOKE
    assert isinstance(result, Joke) is (kind == "pydantic")
    body = server.requests[0].body
    assert "toolConfig" not in body
    text_format = body["outputConfig"]["textFormat"]
    assert text_format["type"] == "json_schema"
    definition = text_format["structure"]["jsonSchema"]
    assert definition["name"] == NAMES[kind]
    assert definition["description"] == "Joke to tell user."
    schema = json.loads(definition["schema"])
    assert schema["additionalProperties"] is False
    assert schema["required"] == ["setup", "punchline"]
    assert set(schema["properties"]) == {"setup", "punchline"}


@pytest.mark.parametrize("kind", list(SCHEMAS))
def test_json_schema_stream_yields_growing_objects(server: BedrockWireServer, kind: str) -> None:
    server.enqueue(StreamReply(text_events(json.dumps(JOKE))))
    structured = model_on(server).with_structured_output(SCHEMAS[kind], method="json_schema")
    partials = list(structured.stream("Tell me a joke."))
    assert_growing(partials, JOKE)


def test_json_schema_closes_nested_objects(server: BedrockWireServer) -> None:
    class Place(BaseModel):
        city: str
        country: str

    class Trip(BaseModel):
        """A trip."""

        stops: list[Place]

    answer = {"stops": [{"city": "Paris", "country": "France"}]}
    server.enqueue(JsonReply(text_body(json.dumps(answer))))
    result = model_on(server).with_structured_output(Trip, method="json_schema").invoke("Plan.")
    assert result == Trip(stops=[Place(city="Paris", country="France")])
    schema = json.loads(
        server.requests[0].body["outputConfig"]["textFormat"]["structure"]["jsonSchema"]["schema"]
    )
    assert schema["additionalProperties"] is False
    assert schema["properties"]["stops"]["items"]["additionalProperties"] is False


@recordings.requires_recordings
def test_json_schema_matches_the_request_bedrock_accepted(server: BedrockWireServer) -> None:
    """The outputConfig we send equals the one in a real, accepted recording."""
    interaction = recordings.load("test_bedrock_native_output_supported_model.yaml")[
        "interactions"
    ][0]
    recorded = json.loads(interaction["request"]["body"])["outputConfig"]

    class CityInfo(BaseModel):
        """Information about a city."""

        city: str
        country: str
        population: int

    answer = json.loads(interaction["response"]["body"]["string"])
    server.enqueue(JsonReply(answer))
    model = model_on(server)
    result = model.with_structured_output(CityInfo, method="json_schema").invoke(
        "What is the capital of France? Give me the city name, country, and population."
    )
    assert result == CityInfo(city="Paris", country="France", population=2161000)
    ours = server.requests[0].body["outputConfig"]
    definition, theirs = (
        config["textFormat"]["structure"]["jsonSchema"] for config in (ours, recorded)
    )
    assert json.loads(definition.pop("schema")) == json.loads(theirs.pop("schema"))
    assert ours == recorded


# --- json_mode -------------------------------------------------------------------------------


@pytest.mark.parametrize("kind", list(SCHEMAS))
def test_json_mode_parses_the_answer(server: BedrockWireServer, kind: str) -> None:
    fenced = f"```json\n{json.dumps(JOKE)}\n```"
    server.enqueue(JsonReply(text_body(fenced)))
    structured = model_on(server).with_structured_output(SCHEMAS[kind], method="json_mode")
    result = structured.invoke("Tell me a joke as JSON with 'setup' and 'punchline' keys.")
    assert as_dict(result) == JOKE
    assert isinstance(result, Joke) is (kind == "pydantic")
    body = server.requests[0].body
    assert "outputConfig" not in body and "toolConfig" not in body


def test_json_mode_streams_partial_json(server: BedrockWireServer) -> None:
    server.enqueue(StreamReply(text_events(json.dumps(JOKE))))
    partials = list(
        model_on(server).with_structured_output(JokeDict, method="json_mode").stream("x")
    )
    assert_growing(partials, JOKE)


# --- include_raw, callbacks, errors ----------------------------------------------------------


def test_include_raw_success_and_failure(server: BedrockWireServer) -> None:
    server.enqueue(JsonReply(text_body(json.dumps(JOKE))), JsonReply(text_body("not json")))
    structured = model_on(server).with_structured_output(
        Joke, method="json_schema", include_raw=True
    )
    good: Any = structured.invoke("A joke.")
    assert isinstance(good["raw"], AIMessage)
    assert good["parsed"] == Joke(**JOKE)
    assert good["parsing_error"] is None
    bad: Any = structured.invoke("A joke.")
    assert isinstance(bad["raw"], AIMessage)
    assert bad["raw"].text == "not json"
    assert bad["parsed"] is None
    assert isinstance(bad["parsing_error"], OutputParserException)


def test_include_raw_with_function_calling_and_a_wrong_argument(server: BedrockWireServer) -> None:
    server.enqueue(JsonReply(tool_body("Joke", {"setup": "Only a setup"})))
    result: Any = model_on(server).with_structured_output(Joke, include_raw=True).invoke("x")
    assert result["raw"].tool_calls[0]["args"] == {"setup": "Only a setup"}
    assert result["parsed"] is None
    assert result["parsing_error"] is not None


def test_invalid_answer_raises_without_include_raw(server: BedrockWireServer) -> None:
    server.enqueue(JsonReply(text_body('{"setup": "no punchline"}')))
    structured = model_on(server).with_structured_output(Joke, method="json_schema")
    with pytest.raises(OutputParserException, match="does not match Joke"):
        structured.invoke("A joke.")


class Options(BaseCallbackHandler):
    def __init__(self) -> None:
        self.options: list[Any] = []

    def on_chat_model_start(self, serialized: Any, messages: Any, **kwargs: Any) -> None:
        self.options.append(kwargs.get("options"))


@pytest.mark.parametrize("method", ["function_calling", "json_schema", "json_mode"])
def test_callbacks_see_the_structured_output_format(server: BedrockWireServer, method: str) -> None:
    reply = tool_body("Joke", JOKE) if method == "function_calling" else text_body(json.dumps(JOKE))
    server.enqueue(JsonReply(reply))
    handler = Options()
    structured = model_on(server).with_structured_output(Joke, method=method)  # type: ignore[arg-type]
    structured.invoke("A joke.", config={"callbacks": [handler]})
    (options,) = handler.options
    assert options["ls_structured_output_format"]["kwargs"]["method"] == method
    assert options["ls_structured_output_format"]["schema"]["title"] == "Joke"
    body = server.requests[0].body
    assert "ls_structured_output_format" not in json.dumps(body)


def test_unknown_method_and_arguments_are_refused() -> None:
    model = ChatBedrockStream(model=MODEL, region_name="us-east-1")
    with pytest.raises(ValueError, match="unknown structured output method 'xml'"):
        model.with_structured_output(Joke, method="xml")  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="unsupported argument"):
        model.with_structured_output(Joke, tools=[])
    with pytest.raises(ValueError, match="needs a schema"):
        model.with_structured_output(None)  # type: ignore[arg-type]
