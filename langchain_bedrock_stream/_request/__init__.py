"""LangChain messages and call parameters -> the kwargs of ``converse`` / ``converse_stream``.

The shapes are botocore's ``bedrock-runtime`` service model (``ConverseRequest`` /
``ConverseStreamRequest``). Blob members (image, document, video and audio bytes, redacted
reasoning) are ``bytes`` here: boto3 base64-encodes them on the wire.

Anything that cannot be converted raises :class:`~langchain_bedrock_stream.errors.
InputConversionError` naming the message index and the block type, before any request is sent.

Modules, from the whole request down to the pieces of one block:

- ``build``: :func:`build_request`, the request assembled from messages and call parameters.
- ``reasoning``: ``reasoning_effort`` / ``thinking_budget`` -> request fields.
- ``caching``: cache points, ``cache_control`` markers and Bedrock's rules for them.
- ``messages``: :func:`to_converse_messages`, the conversation rules and the converter table.
- ``limits``: Bedrock's input limits (sizes, counts, dimensions, roles, Unicode).
- ``media``: images, documents, video and audio: sources, formats, converters.
- ``blocks``: what converters share; text, citations, reasoning, tool calls, raw blocks.
- ``family``: what the builder reads from the model description (``models``).
"""

from .blocks import PLACEHOLDER_TEXT
from .build import NO_TOOL_CHOICE, build_request
from .caching import MAX_CACHE_POINTS, check_cache_points, create_cache_point
from .family import base_model_name
from .messages import to_converse_messages
from .reasoning import REASONING_EFFORTS, reasoning_fields, thinking_enabled

__all__ = [
    "MAX_CACHE_POINTS",
    "NO_TOOL_CHOICE",
    "PLACEHOLDER_TEXT",
    "REASONING_EFFORTS",
    "base_model_name",
    "build_request",
    "check_cache_points",
    "create_cache_point",
    "reasoning_fields",
    "thinking_enabled",
    "to_converse_messages",
]
