"""Credentials never leave in text: a masking function, known secret values, and a log filter.

``redact`` masks Authorization / X-Amz-Security-Token values, SigV4 credential scopes,
key-shaped strings and every value passed to ``register_secrets``. The log filter applies it
to botocore's, urllib3's and our own records (botocore logs signed requests at DEBUG).
"""

from __future__ import annotations

import contextlib
import logging
import re
import threading
from collections.abc import Iterable
from typing import Any

__all__ = [
    "install_log_redaction",
    "redact",
    "register_request_secrets",
    "register_secrets",
    "scrub_chain",
]

_REDACTED = "<redacted>"
_SECRET_PATTERNS = (
    # The Authorization header, in botocore's request repr and in "Name: value" form.
    re.compile(r"(?i)(\bauthorization['\"]?\s*[:=]\s*b?['\"]?)[^'\"\r\n]+"),
    # The session token as a header, in a canonical request, or as a query parameter.
    re.compile(r"(?i)(\bx-amz-security-token['\"]?\s*[:=]\s*b?['\"]?)[^'\"\s,&]+"),
    # The access key id inside a SigV4 credential scope.
    re.compile(r"(?i)(\b(?:x-amz-)?credential=)[^/\s,'\"&]+"),
    # Secrets written as assignments (config files, environment dumps, reprs).
    re.compile(
        r"(?i)(\b(?:aws_)?(?:secret_access_key|session_token|secret_key)['\"]?\s*[:=]\s*['\"]?)"
        r"[A-Za-z0-9/+=]{8,}"
    ),
    # Access key ids on their own (long-term AKIA..., temporary ASIA...).
    re.compile(r"()\b(?:AKIA|ASIA)[A-Z0-9]{16}\b"),
)
_known_secrets: set[str] = set()


def register_secrets(values: Iterable[str | None]) -> None:
    """Remember credential values so ``redact`` masks them wherever they appear.

    Values shorter than 8 characters are ignored (masking them would mangle ordinary text).
    """
    for value in values:
        if value and len(value) >= 8:
            _known_secrets.add(value)


_CREDENTIAL_SCOPE = re.compile(r"Credential=([^/\s,]+)/")


def register_request_secrets(request: Any, **_: Any) -> None:
    """A botocore ``before-send`` hook: remember the session token and access key id a
    signed request carries, whatever the credentials came from (profile, SSO, role), so
    a service that echoes them back is masked too. The secret key itself never travels."""
    headers = getattr(request, "headers", None)
    if headers is None:
        return
    values: list[str | None] = []
    for name in ("X-Amz-Security-Token", "x-amz-security-token"):
        token = headers.get(name)
        if token:
            values.append(token.decode() if isinstance(token, bytes) else str(token))
    authorization = headers.get("Authorization") or headers.get("authorization")
    if authorization:
        text = authorization.decode() if isinstance(authorization, bytes) else str(authorization)
        scope = _CREDENTIAL_SCOPE.search(text)
        if scope:
            values.append(scope.group(1))
    if any(value and value not in _known_secrets for value in values):
        register_secrets(values)


def redact(text: str) -> str:
    """``text`` with credentials masked: Authorization and X-Amz-Security-Token values,
    SigV4 credential scopes, key-shaped strings, and every value passed to
    ``register_secrets``."""
    for value in tuple(_known_secrets):  # a snapshot: another thread may be adding
        if value in text:
            text = text.replace(value, _REDACTED)
    for pattern in _SECRET_PATTERNS:
        text = pattern.sub(lambda m: m.group(1) + _REDACTED, text)
    return text


class _RedactingFilter(logging.Filter):
    """Masks credentials in a record's message before any handler sees it.

    botocore logs, at DEBUG, each request with its headers (``Authorization`` with the
    access key id, ``X-Amz-Security-Token``) and the canonical request it signs. The
    message is formatted (only for records that pass the level check) and rewritten.
    """

    def filter(self, record: logging.LogRecord) -> bool:
        try:
            message = record.getMessage()
        except Exception:  # a broken record is the handler's business, not ours
            return True
        clean = redact(message)
        if clean != message:
            record.msg, record.args = clean, None
        return True


_FILTER = _RedactingFilter()
_FILTERED_LOGGERS = (
    "langchain_bedrock_stream",
    "botocore",
    "botocore.auth",
    "botocore.awsrequest",
    "botocore.endpoint",
    "botocore.hooks",
    "botocore.httpsession",
    "botocore.parsers",
    "botocore.retries.standard",
    "botocore.retryhandler",
    "urllib3.connection",
    "urllib3.connectionpool",
)
_filter_lock = threading.Lock()


def install_log_redaction() -> None:
    """Add the credential-masking filter to botocore's, urllib3's and our loggers (idempotent).

    A logger filter applies to the records that logger creates, so it is added to each
    logger by name: the ones listed here and every ``botocore.*``/``urllib3.*`` logger that
    exists when a client is built.
    """
    with _filter_lock:
        names = set(_FILTERED_LOGGERS)
        names.update(
            name
            for name in list(logging.Logger.manager.loggerDict)
            if name.startswith(("botocore.", "urllib3.", "langchain_bedrock_stream."))
        )
        for name in names:
            target = logging.getLogger(name)
            if _FILTER not in target.filters:
                target.addFilter(_FILTER)


def _scrub_value(value: Any) -> Any:
    """``value`` with every string inside it (dicts, lists, tuples) redacted."""
    if isinstance(value, str):
        return redact(value)
    if isinstance(value, dict):
        return {k: _scrub_value(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_scrub_value(v) for v in value]
    if isinstance(value, tuple):
        return tuple(_scrub_value(v) for v in value)
    return value


def scrub_chain(error: BaseException) -> None:
    """Mask credentials, in place, in a foreign exception and every exception chained to it.

    Services echo credentials back (a signature mismatch quotes the canonical request with
    its ``x-amz-security-token`` line), and the foreign errors are kept as ``__cause__``,
    where tracebacks and LangChain tracers print them: their ``args`` and every string,
    dict or list attribute (``response``, ``message``, ``payload``) are redacted.
    """
    seen: set[int] = set()
    pending: list[BaseException | None] = [error]
    while pending:
        current = pending.pop()
        if current is None or id(current) in seen:
            continue
        seen.add(id(current))
        with contextlib.suppress(Exception):  # an exception that refuses new attributes
            args = _scrub_value(current.args)
            if args != current.args:
                current.args = args
            for name, value in list(vars(current).items()):
                if isinstance(value, (str, dict, list, tuple)):
                    clean = _scrub_value(value)
                    if clean != value:
                        setattr(current, name, clean)
        pending.extend((current.__cause__, current.__context__))
