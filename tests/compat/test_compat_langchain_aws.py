"""langchain-aws's own ``ChatBedrockConverse`` unit tests, run against ``ChatBedrockStream``.

"Change the class name and nothing else" measured directly: the sdist of langchain-aws
(pinned below) is fetched from the package index at test time with pip, its
``tests/unit_tests/chat_models/test_bedrock_converse.py`` is copied to a temporary folder
with one line changed (``from langchain_aws import ChatBedrockConverse`` becomes our class
under that name), and run with pytest in a subprocess next to its own ``conftest.py`` and
snapshots. Only the tests of public behaviour count: the ones listed in
``compat_private_tests.py`` reach private helpers of langchain-aws and are deselected.

The run fails when a counted test fails, except:

- ``DELIBERATE``: where we differ on purpose (each with its reason; the README's migration
  section lists them);
- ``PENDING``: known gaps not closed yet, each with what it waits for. They are reported as
  failing, never as passing; one that starts passing is reported so it can leave the list.

Skipped with the reason when the sdist cannot be downloaded (no package index).
"""

from __future__ import annotations

import importlib.util
import os
import subprocess
import sys
import tarfile
import tempfile
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from tests.support.compat_private_tests import PRIVATE

LANGCHAIN_AWS = "1.9.1"
UPSTREAM_TESTS = "tests/unit_tests"
TEST_FILE = "chat_models/test_bedrock_converse.py"
IMPORT_LINE = "from langchain_aws import ChatBedrockConverse\n"
OUR_IMPORT = "from langchain_bedrock_stream import ChatBedrockStream as ChatBedrockConverse\n"

_UNKNOWN_STREAMS = (
    "a model new to our family table still streams text (tool calls go through Converse); "
    "ChatBedrockConverse turns streaming off for it, though almost every Bedrock model "
    "takes ConverseStream"
)
_EFFORT_APPLIED = (
    "reasoning_effort is applied or refused, never ignored: on Claude 3.7 to 4.5 it becomes "
    "a thinking budget (1024 to 32000 tokens), on a model with no reasoning setting it raises "
    "ValueError at construction; ChatBedrockConverse warns and sends the request without it"
)
_UNKNOWN_ARGS = (
    "an unknown constructor argument raises (a typo is not ignored); ChatBedrockConverse "
    "moves it into model_kwargs with a warning. model_kwargs itself is accepted"
)
_ARN_PROVIDER = (
    "a model ARN without provider= is accepted: the provider comes from the ARN when it "
    "names a model, from base_model_id otherwise; ChatBedrockConverse raises"
)
_TYPED_ERRORS = (
    "AWS errors are typed (BedrockPermissionDeniedError is a ClientError and LangChain's "
    "ModelPermissionDeniedError); ChatBedrockConverse re-raises IAM errors as ValueError"
)
_LOCAL_TOKENS = (
    "get_num_tokens_from_messages estimates locally unless count_tokens_via_api=True: "
    "no network call each time middleware counts; ChatBedrockConverse calls CountTokens "
    "for Claude by default"
)

_SAME_MESSAGE = (
    "invoke() returns the same message whether it streamed or not (one text block is a "
    "string, as from Converse); ChatBedrockConverse with streaming=True returns the merged "
    "chunks' list of indexed blocks"
)
_USER_FIRST = (
    "a history that starts with an AI message gets a '.' user turn first, since Bedrock "
    "requires a conversation to start with a user turn; ChatBedrockConverse sends it as is"
)

DELIBERATE: dict[str, str] = {
    "test_set_disable_streaming[us.amazon.nonstreaming-model-v1:0-True]": _UNKNOWN_STREAMS,
    "test_set_disable_streaming_warning[us.amazon.nonstreaming-model-v1:0-model_kwargs0-True]": (
        _UNKNOWN_STREAMS
    ),
    "test_disable_streaming_with_arn[arn:aws:bedrock:us-west-2::custom-model/amazon.nova-8b/"
    "MyModel-amazon.nova-8b-amazon-True]": _UNKNOWN_STREAMS,
    "test_reasoning_effort_unsupported_model_warns": _EFFORT_APPLIED,
    "test_reasoning_effort_older_claude_model_warns_not_translates": _EFFORT_APPLIED,
    "test_model_kwargs": _UNKNOWN_ARGS,
    "test__get_provider": _ARN_PROVIDER,
    "test_generate_with_iam_permission_error": _TYPED_ERRORS,
    "test_get_num_tokens_from_messages_supported_model": _LOCAL_TOKENS,
    "test_get_num_tokens_from_messages_unsupported_model_fallback": _LOCAL_TOKENS,
    "test_get_num_tokens_from_messages_api_error_fallback": _LOCAL_TOKENS,
    "test_stream_accepts_complete_response[False]": _SAME_MESSAGE,
    "test_incomplete_stream_retries_on_invoke": _SAME_MESSAGE,
    "test_tool_conversion_warning_integration": _USER_FIRST,
}

PENDING: dict[str, str] = {}

_FETCH_TIMEOUT = 180
_RUN_TIMEOUT = 900


def _cache_dir() -> Path:
    root = Path(os.environ.get("BEDROCK_STREAM_COMPAT_CACHE") or tempfile.gettempdir())
    path = root / f"langchain-bedrock-stream-compat-{LANGCHAIN_AWS}"
    path.mkdir(parents=True, exist_ok=True)
    return path


def _sdist() -> Path:
    """The langchain-aws sdist, downloaded once into the cache folder."""
    cache = _cache_dir()
    found = sorted(cache.glob(f"langchain_aws-{LANGCHAIN_AWS}.tar.gz"))
    if found:
        return found[0]
    command = [
        sys.executable, "-m", "pip", "download", "--no-binary", ":all:", "--no-deps",
        "--disable-pip-version-check", "-d", str(cache), f"langchain-aws=={LANGCHAIN_AWS}",
    ]  # fmt: skip
    try:
        done = subprocess.run(
            command, capture_output=True, text=True, timeout=_FETCH_TIMEOUT, check=False
        )
    except (OSError, subprocess.TimeoutExpired) as err:
        pytest.skip(f"cannot download langchain-aws=={LANGCHAIN_AWS}: {err}")
    found = sorted(cache.glob(f"langchain_aws-{LANGCHAIN_AWS}.tar.gz"))
    if done.returncode != 0 or not found:
        pytest.skip(
            f"cannot download langchain-aws=={LANGCHAIN_AWS} from the package index: "
            f"{(done.stderr or done.stdout).strip().splitlines()[-1:]}"
        )
    return found[0]


def _prepare(sdist: Path, into: Path) -> Path:
    """The upstream test file with our class imported under its name, beside its conftest
    and snapshots."""
    prefix = f"langchain_aws-{LANGCHAIN_AWS}/{UPSTREAM_TESTS}/"
    wanted = (f"{prefix}conftest.py", f"{prefix}{TEST_FILE}", f"{prefix}chat_models/__snapshots__/")
    with tarfile.open(sdist) as archive:
        for member in archive.getmembers():
            if member.isfile() and member.name.startswith(wanted):
                target = into / member.name[len(prefix) :]
                target.parent.mkdir(parents=True, exist_ok=True)
                source = archive.extractfile(member)
                assert source is not None
                target.write_bytes(source.read())
    test_file = into / TEST_FILE
    text = test_file.read_text()
    assert text.count(IMPORT_LINE) == 1, "the upstream import line changed: update IMPORT_LINE"
    test_file.write_text(text.replace(IMPORT_LINE, OUR_IMPORT))
    (into / "chat_models" / "conftest.py").write_text(_DESELECT_PLUGIN)
    (into / "pytest.ini").write_text("[pytest]\nasyncio_mode = auto\n")
    (into / "private.txt").write_text("\n".join(sorted(PRIVATE)))
    return test_file


_DESELECT_PLUGIN = """
from pathlib import Path
import re

_PRIVATE = set(Path(__file__).parents[1].joinpath("private.txt").read_text().split("\\n"))


def _key(item):
    base = re.sub(r"\\[.*", "", item.name)
    return f"{item.cls.__name__}::{base}" if item.cls is not None else base


def pytest_collection_modifyitems(config, items):
    kept = [item for item in items if _key(item) not in _PRIVATE]
    config.hook.pytest_deselected(items=[item for item in items if _key(item) in _PRIVATE])
    items[:] = kept
"""


def _outcomes(report: Path) -> dict[str, str]:
    outcomes: dict[str, str] = {}
    for case in ET.parse(report).iter("testcase"):
        klass = case.get("classname", "").rsplit(".", 1)[-1]
        name = case.get("name", "")
        key = name if klass == "test_bedrock_converse" else f"{klass}::{name}"
        kinds = {child.tag for child in case}
        outcomes[key] = (
            "failed"
            if kinds & {"failure", "error"}
            else "skipped"
            if "skipped" in kinds
            else "passed"
        )
    return outcomes


def _bounded_memory() -> None:
    """In the child: a runaway test (a mock iterated forever) fails instead of taking the
    machine's memory."""
    import resource

    limit = 8 * 1024**3
    resource.setrlimit(resource.RLIMIT_AS, (limit, limit))


@pytest.mark.timeout(_RUN_TIMEOUT + _FETCH_TIMEOUT + 60)
def test_changing_the_class_name_is_the_whole_migration(tmp_path: Path) -> None:
    test_file = _prepare(_sdist(), tmp_path)
    report = tmp_path / "report.xml"
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(Path(__file__).parents[2]), *sys.path])}
    # Only the plugins the upstream file uses: loading every installed one (tracing, profiling,
    # recording...) took about a third of the run. One it needed and lacked would show as an
    # unexpected failure below.
    env["PYTEST_DISABLE_PLUGIN_AUTOLOAD"] = "1"
    plugins = ["pytest_asyncio.plugin", "syrupy", "pytest_timeout", "pytest_benchmark.plugin"]
    plugins = [name for name in plugins if importlib.util.find_spec(name.split(".")[0])]
    done = subprocess.run(
        [
            sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider",
            *(arg for plugin in plugins for arg in ("-p", plugin)),
            "--timeout=5", f"--junitxml={report}", "-o", "addopts=", str(test_file),
        ],
        cwd=tmp_path, env=env, capture_output=True, text=True, timeout=_RUN_TIMEOUT, check=False,
        preexec_fn=_bounded_memory if sys.platform != "win32" else None,
    )  # fmt: skip
    assert report.exists(), done.stdout[-3000:] + done.stderr[-3000:]
    outcomes = _outcomes(report)
    passed = sorted(k for k, v in outcomes.items() if v == "passed")
    failed = sorted(k for k, v in outcomes.items() if v == "failed")
    skipped = sorted(k for k, v in outcomes.items() if v == "skipped")
    unexpected = [k for k in failed if k not in DELIBERATE and k not in PENDING]
    now_passing = [k for k in passed if k in DELIBERATE or k in PENDING]
    summary = (
        f"langchain-aws {LANGCHAIN_AWS} public tests: {len(passed)} passed, "
        f"{len([k for k in failed if k in DELIBERATE])} deliberate differences, "
        f"{len([k for k in failed if k in PENDING])} pending, {len(unexpected)} failing, "
        f"{len(skipped)} skipped upstream; {len(PRIVATE)} private-helper tests not run"
    )
    print(summary)
    if now_passing:
        print("listed but now passing (remove from DELIBERATE/PENDING):", now_passing)
    assert len(set(DELIBERATE.values())) <= 8, "at most 8 deliberate differences"
    assert outcomes, done.stdout[-3000:]
    assert not unexpected, f"{summary}\nfailing: {unexpected}\n{done.stdout[-6000:]}"
