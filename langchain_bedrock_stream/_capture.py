"""botocore builds and signs the request; the event loop sends it.

A handler on botocore's documented ``before-send`` event (registered once per client)
keeps the fully prepared request (URL, signed headers, body) and answers with an empty
placeholder, so botocore sends nothing. Everything configured on the client stays in force
because botocore built the request: endpoint URL with a path prefix, SigV4 or bearer-token
auth, user agent, the caller's own event handlers (extra headers). The handler acts only
while a capture is armed in the calling thread; any other use of the client is untouched.

``http_settings`` reads what botocore's ``Config`` says about connections (timeouts,
proxies, CA bundle, client certificate, pool size, TCP keep-alive) for the async HTTP
client. Both run in the bounded pool, never on the event loop.
"""

from __future__ import annotations

import contextlib
import json
import os
import ssl
import threading
import types
import weakref
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any

from botocore.awsrequest import AWSResponse
from botocore.client import BaseClient
from botocore.httpsession import ProxyConfiguration, create_urllib3_context, get_cert_path
from botocore.utils import get_environ_proxies

from ._accumulator import CONVERSE_OPTIONAL_MEMBERS
from ._http import HttpSettings

__all__ = [
    "Prepared",
    "capture",
    "http_settings",
    "parse_answer",
    "raise_for_answer",
    "sends_itself",
    "watcher",
]

_MARK = "x-langchain-bedrock-stream-captured"
_HANDLER_ID = "langchain-bedrock-stream-capture"
_slot = threading.local()


@dataclass
class Prepared:
    """A signed request ready to send, and where to send it from."""

    operation: str  # the API name: ``ConverseStream``
    method: str
    url: str
    headers: list[tuple[str, str | bytes]]
    body: bytes
    settings: HttpSettings


class _Placeholder:
    """The empty body of the placeholder answer (botocore never reads a stream's body)."""

    def stream(self, *_: Any, **__: Any) -> Iterator[bytes]:
        return iter(())

    def read(self, *_: Any, **__: Any) -> bytes:
        return b""

    def close(self) -> None:
        pass


def _on_before_send(request: Any, **_: Any) -> AWSResponse | None:
    captured = getattr(_slot, "requests", None)
    if captured is None:
        return None
    captured.append(request)
    return AWSResponse(request.url, 200, {_MARK: "1"}, _Placeholder())


def _install(client: Any) -> bool:
    events = getattr(getattr(client, "meta", None), "events", None)
    register = getattr(events, "register", None)
    if not callable(register) or not isinstance(client, BaseClient):
        return False
    register("before-send.bedrock-runtime", _on_before_send, unique_id=_HANDLER_ID)
    return True


def _captured(result: Any) -> bool:
    """Whether ``result`` is botocore's parse of our placeholder (not someone else's answer:
    a handler registered before ours may have answered first)."""
    if not isinstance(result, Mapping):
        return False
    headers = (result.get("ResponseMetadata") or {}).get("HTTPHeaders") or {}
    return _MARK in headers


def sends_itself(client: Any, operation: str = "ConverseStream") -> bool:
    """Whether calls of ``client``'s ``operation`` can be captured and sent on the event
    loop: a genuine botocore client with botocore's own HTTP layer that nothing else
    watches."""
    return (
        isinstance(client, BaseClient)
        and not _http_layer_replaced(client)
        and watcher(client, operation) is None
    )


# What sees a call's answer inside botocore: a wrapper of the API call or of the client's
# methods (tracing), or a handler on an event that carries the answer.
_WRAPPABLE = ("_make_api_call", "converse", "converse_stream")
_ANSWER_EVENTS = (
    "before-parse",
    "after-call",
    "after-call-error",
    "needs-retry",
    "response-received",
)
_OWN_MODULES = ("botocore.", "boto3.", "langchain_bedrock_stream.")


def watcher(client: Any, operation: str = "ConverseStream") -> str | None:
    """What, if anything, expects to see ``client``'s real answers inside botocore's call.

    Auto-instrumentation (OpenTelemetry, Datadog, OpenLLMetry, OpenInference...) wraps
    ``BaseClient._make_api_call`` or the client's own ``converse`` / ``converse_stream``
    methods, and reads the answer (and the events of a streamed one) as it comes back;
    others register handlers on the events botocore emits with the answer. Such a client
    is left to send its calls itself (in a thread), so that all of them see exactly what
    they would see without this package. Returns a short description, or ``None``.
    """
    cls = type(client)
    own = vars(client) if hasattr(client, "__dict__") else {}
    for name in _WRAPPABLE:
        if name in own:
            return f"{name} replaced on the client"
        attribute = getattr(cls, name, None)
        if attribute is not None and not _botocore_own(attribute):
            return f"{name} wrapped ({type(attribute).__name__})"
    return _answer_handler(client, operation)


def _botocore_own(function: Any) -> bool:
    """A plain function of botocore's (``type``, not ``isinstance``: a wrapper object
    may pass as the function it wraps)."""
    return type(function) is types.FunctionType and (function.__module__ or "").startswith(
        _OWN_MODULES
    )


def _answer_handler(client: Any, operation: str) -> str | None:
    """A handler of the caller's own on an event that carries the answer, if any."""
    meta = client.meta
    emitter = getattr(meta.events, "_emitter", None)
    handlers = getattr(emitter, "_handlers", None)  # botocore's prefix trie of handlers
    search = getattr(handlers, "prefix_search", None)
    if not callable(search):
        return None
    service = meta.service_model.service_id.hyphenize()
    for event in _ANSWER_EVENTS:
        for handler in search(f"{event}.{service}.{operation}"):
            module = getattr(handler, "__module__", None) or ""
            if not module.startswith(_OWN_MODULES):
                name = getattr(handler, "__qualname__", None) or repr(handler)
                return f"a handler on {event}: {module}.{name}"
    return None


def capture(client: Any, operation: str, request: Mapping[str, Any]) -> Prepared | Any:
    """Call ``operation`` (``converse`` / ``converse_stream``) of a client that
    :func:`sends_itself` with the sending held back.

    Returns the ``Prepared`` request; or, when nothing could be captured (another handler
    that answered), whatever the call itself returned, for the caller to read the way
    botocore would. Blocking (credentials, signing).
    """
    method = getattr(client, operation)
    if not _install(client):
        return method(**request)
    captured: list[Any] = []
    _slot.requests = captured
    try:
        result = method(**request)
    finally:
        _slot.requests = None
    if not captured or not _captured(result):
        return result
    sent = captured[-1]
    body = sent.body
    if body is None:
        body = b""
    elif isinstance(body, str):
        body = body.encode("utf-8")
    elif not isinstance(body, bytes):
        body = body.read()
    return Prepared(
        operation=client.meta.method_to_api_mapping.get(operation, operation),
        method=sent.method,
        url=sent.url,
        headers=list(sent.headers.items()),
        body=body,
        settings=http_settings(client),
    )


def _http_layer_replaced(client: Any) -> bool:
    """Whether botocore's HTTP layer was swapped (vcrpy, a custom session): then the call
    goes through it, so that whoever replaced it sees the request."""
    from botocore import awsrequest
    from botocore.httpsession import URLLib3Session

    if awsrequest.AWSHTTPSConnectionPool.ConnectionCls is not awsrequest.AWSHTTPSConnection:
        return True
    if awsrequest.AWSHTTPConnectionPool.ConnectionCls is not awsrequest.AWSHTTPConnection:
        return True
    session = getattr(getattr(client, "_endpoint", None), "http_session", None)
    return session is not None and type(session) is not URLLib3Session


# --- connection settings from botocore's Config --------------------------------------------

_settings: weakref.WeakKeyDictionary[Any, HttpSettings] = weakref.WeakKeyDictionary()
_settings_lock = threading.Lock()


def _new_lock_after_fork() -> None:
    """A forked child has none of the parent's threads: a lock one held stays held."""
    global _settings_lock
    _settings_lock = threading.Lock()


os.register_at_fork(after_in_child=_new_lock_after_fork)


def http_settings(client: Any) -> HttpSettings:
    """What ``client.meta.config`` (and the environment) say about connections; cached."""
    try:
        with _settings_lock:
            return _settings[client]
    except (KeyError, TypeError):
        pass
    settings = _read_settings(client)
    with _settings_lock, contextlib.suppress(TypeError):
        _settings[client] = settings
    return settings


def _verify(client: Any) -> bool | str:
    """The CA bundle botocore resolved for this client (``verify=``, ``AWS_CA_BUNDLE``, the
    config file's ``ca_bundle``, ``REQUESTS_CA_BUNDLE``), or ``False``."""
    session = getattr(getattr(client, "_endpoint", None), "http_session", None)
    resolved = getattr(session, "_verify", None)  # set by botocore's URLLib3Session
    if isinstance(resolved, (bool, str)):
        return resolved
    return os.environ.get("AWS_CA_BUNDLE") or os.environ.get("REQUESTS_CA_BUNDLE") or True


def _tls_context(verify: bool | str, cert: str | tuple[str, str] | None) -> ssl.SSLContext:
    context = create_urllib3_context()  # botocore's own TLS defaults
    if verify:
        path = get_cert_path(verify)
        if os.path.isdir(path):
            context.load_verify_locations(capath=path)
        else:
            context.load_verify_locations(cafile=path)
        context.check_hostname = True
    else:
        context.check_hostname = False
        context.verify_mode = ssl.CERT_NONE
    if isinstance(cert, tuple):
        context.load_cert_chain(cert[0], keyfile=cert[1])
    elif isinstance(cert, str):
        context.load_cert_chain(cert)
    context.set_alpn_protocols(["http/1.1"])
    return context


def _read_settings(client: Any) -> HttpSettings:
    config = client.meta.config
    verify = _verify(client)
    tls = _tls_context(verify, getattr(config, "client_cert", None))
    proxies = getattr(config, "proxies", None)
    if proxies is None:
        proxies = get_environ_proxies(client.meta.endpoint_url)
    options = dict(getattr(config, "proxies_config", None) or {})
    proxy_ca = options.get("proxy_ca_bundle")
    proxy_cert = options.get("proxy_client_cert")
    proxy_tls = tls
    if proxy_ca is not None or proxy_cert is not None:
        proxy_tls = _tls_context(proxy_ca or verify, proxy_cert)
    return HttpSettings(
        connect_timeout=getattr(config, "connect_timeout", 60),
        read_timeout=getattr(config, "read_timeout", 60),
        tls=tls,
        proxy_tls=proxy_tls,
        proxies=ProxyConfiguration(proxies=proxies, proxies_settings=options),
        forward_https=bool(options.get("proxy_use_forwarding_for_https")),
        max_pool_connections=int(getattr(config, "max_pool_connections", None) or 10),
        tcp_keepalive=bool(getattr(config, "tcp_keepalive", False)),
    )


# --- reading an answer the way botocore would ------------------------------------------------


#: Optional members of a Converse answer. One botocore cannot read (``"metrics": "test"``:
#: botocore fails on a value of another type than its shape) is kept as received rather
#: than costing the answer.
OPTIONAL_MEMBERS = CONVERSE_OPTIONAL_MEMBERS
_KEEP_OPTIONAL = "langchain-bedrock-stream-keep-optional-members"


def split_optional_members(body: bytes, operation_model: Any) -> tuple[bytes, dict[str, Any]]:
    """A Converse answer's body without the optional members botocore cannot read, and
    those members as received. Members botocore reads stay for it (nothing moves when the
    body is not a JSON object)."""
    from botocore.parsers import create_parser

    try:
        data = json.loads(body)
    except ValueError:
        return body, {}
    if not isinstance(data, dict):
        return body, {}
    parser = create_parser(operation_model.service_model.resolved_protocol)
    moved: dict[str, Any] = {}
    for key in OPTIONAL_MEMBERS:
        if key not in data:
            continue
        probe = {"status_code": 200, "headers": {}, "body": json.dumps({key: data[key]}).encode()}
        try:
            parser.parse(probe, operation_model.output_shape)
        except Exception:  # botocore cannot read this value: keep it as received
            moved[key] = data.pop(key)
    return (json.dumps(data).encode() if moved else body), moved


def _keep_optional_members(
    response_dict: dict[str, Any],
    customized_response_dict: dict[str, Any],
    operation_model: Any = None,
    **_: Any,
) -> None:
    """``before-parse`` handler: optional members botocore cannot read are taken out of
    the body before it parses it, and added back as received (see :data:`OPTIONAL_MEMBERS`)."""
    if operation_model is None or response_dict.get("status_code", 500) >= 300:
        return
    body = response_dict.get("body")
    if not isinstance(body, bytes):
        return
    response_dict["body"], moved = split_optional_members(body, operation_model)
    customized_response_dict.update(moved)


def keep_optional_members(client: Any) -> None:
    """Have ``client``'s Converse answers keep their optional members as received
    (registered once per client; a client without botocore's events is left alone)."""
    register = getattr(getattr(getattr(client, "meta", None), "events", None), "register", None)
    if callable(register) and isinstance(client, BaseClient):
        register(
            "before-parse.bedrock-runtime.Converse",
            _keep_optional_members,
            unique_id=_KEEP_OPTIONAL,
        )


def _parse(
    client: Any, operation: str, status: int, headers: Mapping[str, str], body: bytes
) -> tuple[dict[str, Any], str]:
    from botocore.parsers import create_parser

    model = client.meta.service_model
    operation_model = model.operation_model(operation)
    parser = create_parser(model.resolved_protocol)
    response = {
        "status_code": status,
        "headers": dict(headers),
        "body": body,
        "context": {"operation_name": operation_model.name},
    }
    shape = operation_model.output_shape
    moved: dict[str, Any] = {}
    if status < 300 and operation_model.name == "Converse":
        response["body"], moved = split_optional_members(body, operation_model)
    parsed = parser.parse(response, shape)
    parsed.update(moved)
    if status >= 300:
        code = (parsed.get("Error") or {}).get("Code")
        error_shape = model.shape_for_error_code(code) if code else None
        if error_shape is not None:
            parsed.update(parser.parse(response, error_shape))
    return parsed, operation_model.name


def raise_for_answer(
    client: Any, operation: str, status: int, headers: Mapping[str, str], body: bytes
) -> None:
    """Raise what botocore raises for an HTTP error answer (a ``ClientError`` subclass
    with the parsed error, request id and headers, ``Retry-After`` included)."""
    parsed, name = _parse(client, operation, status, headers, body)
    code = (parsed.get("Error") or {}).get("Code")
    raise client.exceptions.from_code(code)(parsed, name)


def parse_answer(
    client: Any, operation: str, status: int, headers: Mapping[str, str], body: bytes
) -> dict[str, Any]:
    """botocore's parse of a successful (non-streamed) answer."""
    parsed, _ = _parse(client, operation, status, headers, body)
    return dict(parsed)
