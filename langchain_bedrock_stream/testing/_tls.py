"""Throwaway TLS certificates for loopback HTTPS, made at test time.

:func:`make_certificate` writes a self-signed certificate for ``127.0.0.1`` and
``localhost`` (with the ``openssl`` command-line tool); :func:`server_ssl_context` loads it
for :class:`~langchain_bedrock_stream.testing.BedrockWireServer`, a
:class:`~langchain_bedrock_stream.testing.ConnectProxy` or a
:class:`~langchain_bedrock_stream.testing.TcpRelay` target. boto3 clients trust it
through ``AWS_CA_BUNDLE`` (or ``Config(proxies_config={"proxy_ca_bundle": ...})`` for an
HTTPS proxy)::

    cert, key = make_certificate(tmp_path)
    monkeypatch.setenv("AWS_CA_BUNDLE", str(cert))
    with BedrockWireServer(ssl_context=server_ssl_context(cert, key)) as server:
        ...
"""

from __future__ import annotations

import os
import shutil
import ssl
import subprocess
from pathlib import Path

__all__ = ["client_ssl_context", "make_certificate", "server_ssl_context"]


def make_certificate(
    directory: str | os.PathLike[str], name: str = "loopback"
) -> tuple[Path, Path]:
    """Write ``<name>.crt`` and ``<name>.key`` into ``directory``; return their paths.

    A self-signed RSA certificate valid for one day, for the IP ``127.0.0.1`` and the
    host ``localhost``, usable as its own CA bundle. Needs the ``openssl`` tool on ``PATH``
    (``RuntimeError`` otherwise).
    """
    openssl = shutil.which("openssl")
    if openssl is None:
        raise RuntimeError("make_certificate needs the openssl command-line tool on PATH")
    folder = Path(directory)
    folder.mkdir(parents=True, exist_ok=True)
    cert, key = folder / f"{name}.crt", folder / f"{name}.key"
    subprocess.run(
        [
            openssl,
            "req",
            "-x509",
            "-newkey",
            "rsa:2048",
            "-nodes",
            "-days",
            "1",
            "-subj",
            "/CN=127.0.0.1",
            "-addext",
            "subjectAltName=IP:127.0.0.1,DNS:localhost",
            "-addext",
            "basicConstraints=critical,CA:TRUE",
            "-keyout",
            str(key),
            "-out",
            str(cert),
        ],
        check=True,
        capture_output=True,
    )
    return cert, key


def server_ssl_context(cert: str | os.PathLike[str], key: str | os.PathLike[str]) -> ssl.SSLContext:
    """A server-side context presenting ``cert`` (for the wire server, proxy or relay)."""
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(cert, key)
    return context


def client_ssl_context(cafile: str | os.PathLike[str]) -> ssl.SSLContext:
    """A client-side context trusting ``cafile`` only (for tests' own clients)."""
    return ssl.create_default_context(ssl.Purpose.SERVER_AUTH, cafile=str(cafile))
