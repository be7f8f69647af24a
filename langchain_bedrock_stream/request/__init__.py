"""LangChain messages and call parameters -> the kwargs of ``converse`` / ``converse_stream``.

The shapes are botocore's ``bedrock-runtime`` service model (``ConverseRequest`` /
``ConverseStreamRequest``). Blob members (image, document, video and audio bytes, redacted
reasoning) are ``bytes`` here: boto3 base64-encodes them on the wire.

Anything that cannot be converted raises :class:`~langchain_bedrock_stream.errors.
InputConversionError` naming the message index and the block type, before any request is sent.

Modules, from the whole request down to the pieces of one block:

- ``_build``: :func:`build_request`, the request assembled.
- ``_reasoning_options``: ``reasoning_effort`` / ``thinking_budget`` -> request fields.
- ``_cache_points``: ``cache_control`` markers and the limit of cache points per request.
- ``_messages``: :func:`to_converse_messages` and the conversation rules.
- ``_content``: one content item -> Converse blocks (the converter table, tool results).
- ``_text``, ``_media``, ``_reasoning_blocks``, ``_tool_use``, ``_raw``: the converters by kind.
- ``_sources``, ``_formats``, ``_document_names``: where media data lives, its format, names.
- ``_context``, ``_blocks``: what the converters share.
"""

from ._blocks import PLACEHOLDER_TEXT
from ._build import build_request
from ._cache_points import MAX_CACHE_POINTS, check_cache_points
from ._messages import to_converse_messages
from ._reasoning_options import (
    REASONING_EFFORTS,
    base_model_name,
    reasoning_fields,
    thinking_enabled,
)

__all__ = [
    "MAX_CACHE_POINTS",
    "PLACEHOLDER_TEXT",
    "REASONING_EFFORTS",
    "base_model_name",
    "build_request",
    "check_cache_points",
    "reasoning_fields",
    "thinking_enabled",
    "to_converse_messages",
]
