"""One description of a Bedrock model: its id parsed once, and what its family can do.

Every module that needs to know something about a model reads it here:
:func:`describe` parses a model id (plain id, inference-profile id, or ARN of any kind) into a
:class:`ModelId` and looks its family up in one table of :class:`FamilyProfile` facts (tool
use while streaming, tool-choice kinds, reasoning, native structured output, citations,
prompt caching, input kinds, tool-result ``status``, context and output limits).

The table holds what Bedrock's documentation (Converse "supported models and features",
``ToolChoice``, ``ToolResultBlock``) and recorded traffic show; a model it does not know gets
:data:`UNKNOWN`, whose cautious defaults never make a request Bedrock would reject for that
reason. Settings on the chat model (``supports_tool_choice_values``, ``disable_streaming``)
win over the table.
"""

from __future__ import annotations

import dataclasses
import re
from dataclasses import dataclass
from functools import lru_cache
from typing import Any, Literal, get_args

__all__ = [
    "ARN_KINDS",
    "PROFILE_PREFIXES",
    "UNKNOWN",
    "FamilyProfile",
    "ModelDescription",
    "ModelId",
    "describe",
    "langchain_profile",
    "parse_model_id",
]

ArnKind = Literal[
    "foundation-model",
    "inference-profile",
    "application-inference-profile",
    "provisioned-model",
    "custom-model",
    "imported-model",
    "prompt",
    "prompt-router",
    "default-prompt-router",
    "other",
]

ARN_KINDS: frozenset[str] = frozenset(get_args(ArnKind)) - {"other"}
"""ARN resource types of a Bedrock ``modelId``."""

PROFILE_PREFIXES: frozenset[str] = frozenset(
    {"us", "eu", "apac", "ap", "amer", "us-gov", "jp", "au", "ca", "sa", "in", "global"}
)
"""Prefixes of system-defined inference profiles: geographic (cross-Region) and global."""

#: ``-v1:0``, ``:0``, ``-v2:0:200k``, ``-v1:0:mm``; a bare ``-v1`` stays part of the name
#: (``claude-opus-4-6-v1`` and ``titan-embed-text-v1`` name the model without a version).
_VERSION = re.compile(r"(?:-v\d+)?(?::\d+)+(?::\d+k|:mm)?$")
_PROVIDER_NAME = re.compile(r"^[a-z0-9-]+\.[a-z0-9]")


@dataclass(frozen=True)
class ModelId:
    """A Bedrock ``modelId`` taken apart.

    ``us.anthropic.claude-sonnet-4-20250514-v1:0`` gives ``scope="us"``,
    ``base="anthropic.claude-sonnet-4-20250514-v1:0"``,
    ``name="anthropic.claude-sonnet-4-20250514"``, ``provider="anthropic"``,
    ``version="-v1:0"``. An ARN that hides its model (application inference
    profile, provisioned or imported model, prompt) has ``base=None``.
    """

    raw: str
    """The id as given."""
    arn_kind: str | None = None
    """The ARN resource type (one of :data:`ARN_KINDS` or ``"other"``); ``None`` for a plain id."""
    partition: str | None = None
    """``aws``, ``aws-us-gov``, ``aws-cn``: from an ARN."""
    region: str | None = None
    """The Region named by an ARN (``None`` for plain ids and Region-less ARNs)."""
    account: str | None = None
    """The account named by an ARN."""
    resource: str | None = None
    """The ARN's resource id (after the resource type)."""
    scope: str | None = None
    """Inference-profile prefix (``us``, ``eu``, ``global``, ...), lowercase."""
    base: str | None = None
    """The foundation model id with its version, no prefix:
    ``anthropic.claude-3-haiku-20240307-v1:0``."""
    name: str | None = None
    """``base`` without its version suffix, lowercase: ``anthropic.claude-3-haiku-20240307``."""
    provider: str | None = None
    """The first part of ``name``: ``anthropic``, ``amazon``, ``meta``, ..."""
    version: str | None = None
    """The version suffix removed from ``base`` (``-v1:0``), if any."""

    @property
    def names_model(self) -> bool:
        """Whether the id says which foundation model answers."""
        return self.base is not None

    @property
    def is_arn(self) -> bool:
        return self.arn_kind is not None


def _split_arn(text: str) -> tuple[dict[str, Any], str | None]:
    """ARN fields and the model-naming part of its resource, if it has one."""
    parts = text.split(":", 5)
    if len(parts) < 6:
        return {"arn_kind": "other"}, None
    _, partition, _service, region, account, rest = parts
    kind, _, resource = rest.partition("/")
    fields: dict[str, Any] = {
        "arn_kind": kind if kind in ARN_KINDS else "other",
        "partition": partition or None,
        "region": region or None,
        "account": account or None,
        "resource": resource or None,
    }
    if kind in ("foundation-model", "inference-profile"):
        return fields, resource or None
    if kind == "custom-model":
        # custom-model/<base model id>/<id>: the base model is named when it has that shape.
        head = resource.split("/")[0] if "/" in resource else ""
        return fields, head if _PROVIDER_NAME.match(head.lower()) else None
    return fields, None


@lru_cache(maxsize=1024)
def parse_model_id(model_id: str) -> ModelId:
    """Take ``model_id`` apart once (see :class:`ModelId`). Never raises."""
    raw = model_id
    text = model_id.strip()
    for router in ("bedrock/", "converse/"):  # LiteLLM-style routing prefixes
        if text.lower().startswith(router):
            text = text[len(router) :]
    fields: dict[str, Any] = {}
    named: str | None = text
    if text.lower().startswith("arn:"):
        fields, named = _split_arn(text)
    if not named:
        return ModelId(raw=raw, **fields)
    head, dot, rest = named.partition(".")
    scope = None
    if dot and head.lower() in PROFILE_PREFIXES and "." in rest:
        scope, named = head.lower(), rest
    lowered = named.lower()
    match = _VERSION.search(lowered)
    cut = match.start() if match and match.start() > 0 else len(lowered)
    if lowered[:cut].endswith(".claude"):  # claude-v2:1: "v2" is the model, ":1" its version
        cut = lowered.index(":", cut) if ":" in lowered[cut:] else len(lowered)
    name, version = lowered[:cut], lowered[cut:] or None
    provider = name.split(".", 1)[0] if "." in name else None
    return ModelId(
        raw=raw,
        scope=scope,
        base=named,
        name=name,
        provider=provider,
        version=version,
        **fields,
    )


# --- what a family can do -----------------------------------------------------------------

Streaming = Literal["full", "no_tools", "none"]
ReasoningStyle = Literal[
    "none", "budget", "adaptive", "nova", "effort_field", "effort_object", "always"
]
ReasoningHistory = Literal["native", "think_tags", "signed_only"]


@dataclass(frozen=True)
class FamilyProfile:
    """What a model family accepts and returns through Converse."""

    family: str = "unknown"
    """Short family name: ``claude``, ``nova``, ``nova-2``, ``llama``, ``deepseek-r1``, ..."""
    streaming: Streaming = "no_tools"
    """``full``: ConverseStream with tools; ``no_tools``: ConverseStream only without tools
    (tool calls go through Converse); ``none``: Converse only."""
    tool_calling: bool = True
    """Whether the model takes ``toolConfig`` at all."""
    tool_choices: tuple[str, ...] = ()
    """``toolChoice`` kinds accepted (``auto``, ``any``, ``tool``); empty: send none."""
    forced_choice_with_thinking: bool = True
    """Whether a forced tool choice (``any``/``tool``) is accepted while thinking is on."""
    reasoning: ReasoningStyle = "none"
    """How reasoning is asked for: ``budget`` (Claude ``thinking.budget_tokens``),
    ``adaptive`` (Claude adaptive thinking + ``output_config.effort``), ``nova``
    (``reasoningConfig``), ``effort_field`` (``reasoning_effort``), ``effort_object``
    (``reasoning.effort``), ``always`` (the model always reasons; nothing to ask)."""
    reasoning_efforts: tuple[str, ...] = ()
    """The ``reasoning_effort`` levels accepted (empty: not configurable)."""
    thinking_by_default: bool = False
    """Whether the model thinks with no ``thinking`` field in the request."""
    reasoning_history: ReasoningHistory = "native"
    """How earlier reasoning goes back: ``reasoningContent`` as is, ``<think>`` text, or
    only signed reasoning (unsigned left out)."""
    inline_thinking: bool = False
    """Whether the model writes its reasoning inline as ``<thinking>...</thinking>`` text."""
    structured_output: bool = False
    """Native structured output (``outputConfig.textFormat`` JSON schema)."""
    citations: bool = False
    """Document citations (``citations: {enabled: true}`` on documents)."""
    prompt_caching: bool = False
    """``cachePoint`` blocks accepted."""
    image_input: bool = False
    document_input: bool = False
    video_input: bool = False
    audio_input: bool = False
    tool_result_status: bool = False
    """``toolResult.status`` (``success``/``error``) accepted."""
    tool_result_images: bool = False
    """Images accepted inside a ``toolResult``."""
    temperature: bool = True
    """Whether ``inferenceConfig.temperature`` is accepted."""
    max_input_tokens: int | None = None
    """Context window in tokens, when published."""
    max_output_tokens: int | None = None
    """Most output tokens per answer, when published."""

    @property
    def accepts_reasoning_in_history(self) -> bool:
        """Whether ``reasoningContent`` blocks may be sent back as they are."""
        return self.reasoning_history == "native"

    @property
    def supports_tool_result_status(self) -> bool:
        return self.tool_result_status

    @property
    def streams_tool_use(self) -> bool:
        return self.streaming == "full"


UNKNOWN = FamilyProfile()
"""The profile of a model the table does not know: tools without streaming, no forced tool
choice, no ``toolResult.status``, text only."""

_ALL = ("auto", "any", "tool")
_AUTO_ANY = ("auto", "any")
_LOW_HIGH = ("low", "medium", "high")
_CLAUDE_4_6 = ("low", "medium", "high", "max")
_CLAUDE_4_7 = ("low", "medium", "high", "xhigh", "max")
_GPT = ("none", "low", "medium", "high", "xhigh")
_GPT_MAX = (*_GPT, "max")

_CLAUDE = {
    "family": "claude",
    "streaming": "full",
    "tool_choices": _ALL,
    "reasoning_history": "signed_only",
    "citations": True,
    "image_input": True,
    "document_input": True,
    "tool_result_status": True,
    "tool_result_images": True,
    "max_input_tokens": 200_000,
    "max_output_tokens": 4096,
}
_CLAUDE_THINKING = {
    "reasoning": "budget",
    "forced_choice_with_thinking": False,
    "prompt_caching": True,
    "max_output_tokens": 64_000,
}
_CLAUDE_LARGE = {
    "reasoning": "adaptive",
    "structured_output": True,
    "max_input_tokens": 1_000_000,
    "max_output_tokens": 128_000,
}
_NOVA = {
    "family": "nova",
    "streaming": "full",
    "tool_choices": _ALL,
    "inline_thinking": True,
    "prompt_caching": True,
    "image_input": True,
    "document_input": True,
    "video_input": True,
    "tool_result_status": True,
    "tool_result_images": True,
    "max_input_tokens": 300_000,
    "max_output_tokens": 10_000,
}
_TEXT_ONLY = {"image_input": False, "document_input": False, "video_input": False}

# Ordered rules: every rule whose pattern matches the model name (no prefix, no version)
# adds its facts over those before it. Families first, then narrower models.
_RULES: tuple[tuple[str, dict[str, Any]], ...] = (
    # Anthropic
    (
        r"anthropic\.claude-(v2|instant)",
        {
            "family": "claude-legacy",
            "streaming": "no_tools",
            "tool_calling": False,
            "max_input_tokens": 100_000,
        },
    ),
    (r"anthropic\.claude-3", _CLAUDE),
    (r"anthropic\.claude-3-5", {"max_output_tokens": 8192}),
    (r"anthropic\.claude-3-5-haiku", {"prompt_caching": True}),
    (r"anthropic\.claude-3-7", _CLAUDE_THINKING),
    (r"anthropic\.claude-(sonnet|opus|haiku|fable)-\d", {**_CLAUDE, **_CLAUDE_THINKING}),
    (r"anthropic\.claude-opus-4(-1)?(-\d{8}|$)", {"max_output_tokens": 32_000}),
    (r"anthropic\.claude-(sonnet|haiku|opus)-4-5", {"structured_output": True}),
    (r"anthropic\.claude-opus-4-5", {"reasoning_efforts": _LOW_HIGH}),
    (r"anthropic\.claude-(sonnet|opus)-4-6", {**_CLAUDE_LARGE, "reasoning_efforts": _CLAUDE_4_6}),
    (r"anthropic\.claude-opus-4-[78]", {**_CLAUDE_LARGE, "reasoning_efforts": _CLAUDE_4_7}),
    (r"anthropic\.claude-opus-4-8", {"forced_choice_with_thinking": True}),
    (
        r"anthropic\.claude-(sonnet|opus|haiku|fable)-5",
        {
            **_CLAUDE_LARGE,
            "thinking_by_default": True,
            "forced_choice_with_thinking": True,
            "reasoning_efforts": _CLAUDE_4_7,
        },
    ),
    (r"anthropic\.claude-(fable-5-1|opus-5-5|sonnet-5-5)", {"tool_choices": ("auto",)}),
    # Amazon
    (r"amazon\.nova-(lite|pro|premier|micro)", _NOVA),
    (r"amazon\.nova-micro", {**_TEXT_ONLY, "max_input_tokens": 128_000}),
    (r"amazon\.nova-premier", {"max_input_tokens": 1_000_000}),
    (
        r"amazon\.nova-2-(lite|pro)",
        {
            **_NOVA,
            "family": "nova-2",
            "inline_thinking": False,
            "reasoning": "nova",
            "reasoning_efforts": _LOW_HIGH,
            "citations": True,
            "max_input_tokens": 1_000_000,
            "max_output_tokens": 65_535,
        },
    ),
    (r"amazon\.titan-text", {"family": "titan", "streaming": "no_tools", "tool_calling": False}),
    # Meta
    (
        r"meta\.llama",
        {
            "family": "llama",
            "streaming": "no_tools",
            "max_input_tokens": 128_000,
            "max_output_tokens": 4096,
        },
    ),
    (r"meta\.llama3-[13]-|meta\.llama3-2-(11|90)b|meta\.llama4", {"tool_choices": ("auto",)}),
    (r"meta\.llama3-2-(11|90)b|meta\.llama4", {"image_input": True}),
    (r"meta\.llama4", {"max_output_tokens": 8192}),
    (r"meta\.llama4-maverick", {"max_input_tokens": 1_000_000}),
    (r"meta\.llama4-scout", {"max_input_tokens": 10_000_000}),
    # Mistral
    (r"mistral\.", {"family": "mistral", "streaming": "no_tools", "document_input": True}),
    (r"mistral\.mistral-large", {"tool_choices": _AUTO_ANY}),
    (
        r"mistral\.pixtral",
        {"image_input": True, "max_input_tokens": 128_000, "max_output_tokens": 8192},
    ),
    # Cohere
    (r"cohere\.command", {"family": "cohere", "streaming": "no_tools", "tool_calling": False}),
    (r"cohere\.command-r", {"streaming": "full", "tool_calling": True, "document_input": True}),
    # DeepSeek
    (
        r"deepseek\.r1",
        {
            "family": "deepseek-r1",
            "streaming": "no_tools",
            "tool_calling": False,
            "reasoning": "always",
            "reasoning_history": "think_tags",
            "max_input_tokens": 128_000,
            "max_output_tokens": 32_768,
        },
    ),
    (
        r"deepseek\.v3",
        {
            "family": "deepseek-v3",
            "streaming": "full",
            "tool_choices": _AUTO_ANY,
            "reasoning": "effort_field",
            "forced_choice_with_thinking": False,
            "structured_output": True,
            "max_input_tokens": 163_840,
            "max_output_tokens": 81_920,
        },
    ),
    # OpenAI
    (
        r"openai\.gpt-oss",
        {
            "family": "gpt-oss",
            "streaming": "full",
            "reasoning": "effort_field",
            "reasoning_efforts": _LOW_HIGH,
            "structured_output": True,
            "max_input_tokens": 131_072,
            "max_output_tokens": 128_000,
        },
    ),
    (
        r"openai\.gpt-\d",
        {
            "family": "gpt",
            "streaming": "full",
            "tool_choices": _ALL,
            "reasoning": "effort_object",
            "reasoning_efforts": _GPT,
            "structured_output": True,
            "image_input": True,
            "max_input_tokens": 1_000_000,
            "max_output_tokens": 128_000,
        },
    ),
    (r"openai\.gpt-(5\.[6-9]|6)", {"reasoning_efforts": _GPT_MAX}),
    (r"openai\.gpt-(6-astra|6\.1)", {"reasoning_efforts": _CLAUDE_4_7}),
    # Others that stream tool use
    (r"qwen\.qwen3", {"family": "qwen", "streaming": "full", "structured_output": True}),
    (
        r"moonshot(ai)?\.kimi",
        {
            "family": "kimi",
            "streaming": "full",
            "reasoning": "effort_field",
            "reasoning_efforts": ("low", "high", "max"),
            "structured_output": True,
        },
    ),
    (
        r"xai\.grok",
        {"family": "grok", "streaming": "full", "tool_choices": _ALL, "image_input": True},
    ),
    (
        r"zai\.glm",
        {
            "family": "glm",
            "streaming": "full",
            "tool_choices": _AUTO_ANY,
            "reasoning": "effort_field",
            "structured_output": True,
        },
    ),
    (r"zai\.glm-5\.3", {"tool_choices": _ALL, "reasoning_efforts": _CLAUDE_4_7}),
    (r"ai21\.jamba", {"family": "jamba", "streaming": "no_tools"}),
    (r"ai21\.jamba-1-5", {"streaming": "full"}),
    (r"writer\.palmyra", {"family": "palmyra", "streaming": "no_tools"}),
)
_COMPILED = tuple((re.compile(pattern), facts) for pattern, facts in _RULES)


@lru_cache(maxsize=512)
def family_profile(name: str | None) -> FamilyProfile:
    """The profile of a foundation model ``name`` (no prefix, no version); :data:`UNKNOWN`
    when no rule matches."""
    if not name:
        return UNKNOWN
    facts: dict[str, Any] = {}
    for pattern, rule in _COMPILED:
        if pattern.match(name):
            facts.update(rule)
    return dataclasses.replace(UNKNOWN, **facts) if facts else UNKNOWN


@dataclass(frozen=True)
class ModelDescription:
    """A model id, the foundation model behind it, and that model's family profile."""

    id: ModelId
    """The id requests are sent with."""
    base: ModelId
    """The id the family is read from: ``base_model_id`` when given, else ``id``."""
    profile: FamilyProfile

    @property
    def provider(self) -> str:
        """``anthropic``, ``amazon``, ...; ``""`` when the id names no model."""
        return self.base.provider or self.id.provider or ""

    @property
    def family(self) -> str:
        return self.profile.family

    @property
    def name(self) -> str | None:
        """The foundation model name (no prefix, no version), when known."""
        return self.base.name

    @property
    def known(self) -> bool:
        """Whether the family table knows this model."""
        return self.profile is not UNKNOWN

    def supports_tool_choice(self, kind: str) -> bool:
        return kind in self.profile.tool_choices


@lru_cache(maxsize=512)
def describe(model_id: str, base_model_id: str | None = None) -> ModelDescription:
    """Describe ``model_id``; ``base_model_id`` names the foundation model when the id hides
    it (application inference profile, provisioned or imported model)."""
    parsed = parse_model_id(model_id)
    base = parse_model_id(base_model_id) if base_model_id else parsed
    return ModelDescription(id=parsed, base=base, profile=family_profile(base.name))


def langchain_profile(model: ModelDescription) -> dict[str, Any]:
    """LangChain's ``ModelProfile`` for ``model`` (``{}`` when the family is unknown).

    Converse moves every system message into ``system`` and takes tools only in
    ``toolConfig``, so ``mid_conversation_system_messages`` / ``mid_conversation_tools`` are
    never claimed.
    """
    if not model.known:
        return {}
    p = model.profile
    profile: dict[str, Any] = {
        "text_inputs": True,
        "text_outputs": True,
        "image_inputs": p.image_input,
        "pdf_inputs": p.document_input,
        "video_inputs": p.video_input,
        "audio_inputs": p.audio_input,
        "image_tool_message": p.tool_result_images,
        "pdf_tool_message": p.document_input and p.tool_result_images,
        "tool_calling": p.tool_calling,
        "tool_choice": bool(set(p.tool_choices) & {"any", "tool"}),
        "tool_call_streaming": p.tool_calling and p.streaming == "full",
        "reasoning_output": p.reasoning != "none",
        "structured_output": p.structured_output,
        "temperature": p.temperature,
    }
    if p.reasoning_efforts:
        profile["reasoning_effort_levels"] = list(p.reasoning_efforts)
    if p.max_input_tokens:
        profile["max_input_tokens"] = p.max_input_tokens
    if p.max_output_tokens:
        profile["max_output_tokens"] = p.max_output_tokens
    return profile
