"""Run a REAL LiteLLM proxy on loopback, with no upstream, for integration tests.

The gateway lives in its own virtual environment (never mixed with the tool's
dependencies) and answers from ``mock_response`` model entries, so no network
beyond 127.0.0.1 is needed once the venv is installed from PyPI.

Usage::

    from tests.support.litellm_proxy import litellm_proxy

    with litellm_proxy() as proxy:
        requests.post(f"{proxy.base_url}/chat/completions",
                      headers={"Authorization": f"Bearer {proxy.master_key}"},
                      json={"model": proxy.models.pong, "messages": [...]})

Environment:
    CHAT_SMOKE_CACHE  cache root (default ``~/.cache/chat-smoke``); the venv is
                      ``$CHAT_SMOKE_CACHE/litellm-venv-<LITELLM_VERSION>``.
"""

from __future__ import annotations

import contextlib
import ctypes
import dataclasses
import fcntl
import json
import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from pathlib import Path

from tests.support.env import scrubbed

# Pinned gateway. Never 1.107.0 (a compromised release; it is not even served any more),
# nor 1.82.7 / 1.82.8 (likewise withdrawn).
LITELLM_VERSION = "1.108.7"
PRISMA_VERSION = "0.15.0"
REQUIREMENTS = (f"litellm[proxy]=={LITELLM_VERSION}", f"prisma=={PRISMA_VERSION}")
_BANNED_VERSIONS = frozenset({"1.107.0", "1.82.7", "1.82.8"})

MARKER_NAME = ".chat-smoke-installed"
INSTALL_TIMEOUT_S = 1800.0
READY_TIMEOUT_S = 90.0
STOP_TIMEOUT_S = 10.0

# Environment that keeps the proxy offline and quiet.
OFFLINE_ENV = {
    "LITELLM_LOCAL_MODEL_COST_MAP": "True",  # don't fetch the model cost map from GitHub
    "LITELLM_MODE": "PRODUCTION",  # don't load a .env from the working directory
    "LITELLM_TELEMETRY": "False",
    "LITELLM_DONT_SHOW_FEEDBACK_BOX": "True",
    "DISABLE_SCHEMA_UPDATE": "True",
    "HF_HUB_OFFLINE": "1",
    "TRANSFORMERS_OFFLINE": "1",
    "DO_NOT_TRACK": "1",
    "ANONYMIZED_TELEMETRY": "False",
    "PYTHONUNBUFFERED": "1",
    "NO_PROXY": "127.0.0.1,localhost",
    "no_proxy": "127.0.0.1,localhost",
}
# Variables from the caller's environment that would change what the proxy does.
_SCRUBBED_ENV_PREFIXES = ("LITELLM_", "OPENAI_", "COMETAPI_", "COMET_", "AZURE_", "ANTHROPIC_")
_SCRUBBED_ENV = frozenset(
    {
        "DATABASE_URL",
        "DIRECT_URL",
        "REDIS_HOST",
        "REDIS_URL",
        "REDIS_PORT",
        "REDIS_PASSWORD",
        "STORE_MODEL_IN_DB",
        "UI_USERNAME",
        "UI_PASSWORD",
        "PROXY_BASE_URL",
        "CONFIG_FILE_PATH",
        "WORKER_CONFIG",
        "HTTP_PROXY",
        "HTTPS_PROXY",
        "http_proxy",
        "https_proxy",
        "ALL_PROXY",
        "all_proxy",
        "VIRTUAL_ENV",
        "PYTHONPATH",
        "PYTHONHOME",
    }
)


@dataclasses.dataclass(frozen=True)
class MockModels:
    """Model names served by the proxy, all answered by ``mock_response``.

    What each returns, exactly, is in docs/litellm-observed.md.
    """

    pong: str = "mock-pong"  # 200 "pong"
    pong2: str = "mock-pong-2"  # a second passing model: 200 "pong"
    wrong: str = "mock-wrong"  # 200, but "I cannot help with that." (a failing content check)
    ratelimit: str = "mock-ratelimit"  # 429 throttling_error (litellm.RateLimitError)
    internal: str = "mock-internal"  # 500 internal_server_error (litellm.InternalServerError)
    context_window: str = "mock-context-window"  # 400 (litellm.ContextWindowExceededError)
    content_filter: str = "mock-content-filter"  # 400 content-policy error
    overloaded: str = "mock-overloaded"  # 529 internal_server_error, before any byte
    midstream_error: str = "mock-midstream-error"  # stream=true: one chunk, then an error event
    timeout: str = "mock-timeout"  # sleeps 2 s then 408 timeout (litellm.Timeout)

    def all(self) -> list[str]:
        return [getattr(self, f.name) for f in dataclasses.fields(self)]


# field -> litellm_params beyond model/api_key/api_base
_MOCK_PARAMS: dict[str, dict[str, object]] = {
    "pong": {"mock_response": "pong"},
    "pong2": {"mock_response": "pong"},
    "wrong": {"mock_response": "I cannot help with that."},
    "ratelimit": {"mock_response": "litellm.RateLimitError"},
    "internal": {"mock_response": "litellm.InternalServerError"},
    "context_window": {"mock_response": "litellm.ContextWindowExceededError"},
    "content_filter": {"mock_response": "Exception: content_filter_policy (mock)"},
    "overloaded": {"mock_response": "Exception: mock_streaming_error"},
    "midstream_error": {"mock_response": "pong"},  # the error comes from the callback below
    "timeout": {"mock_response": "pong", "mock_timeout": True, "timeout": 2.0},
}


# A proxy callback (loaded from the config's directory) that breaks the stream of
# the mid-stream model after its first chunk, through LiteLLM's own error path.
CALLBACK_MODULE = "chat_smoke_callbacks"
_CALLBACK_SOURCE = """\
import litellm
from litellm.integrations.custom_logger import CustomLogger

MIDSTREAM_MODEL = {model!r}


class MidStreamError(CustomLogger):
    async def async_post_call_streaming_iterator_hook(
        self, user_api_key_dict, response, request_data
    ):
        sent = 0
        async for item in response:
            if request_data.get("model") == MIDSTREAM_MODEL and sent >= 1:
                raise litellm.InternalServerError(
                    message="chat-smoke mock: upstream connection lost mid-stream",
                    llm_provider="openai",
                    model=MIDSTREAM_MODEL,
                )
            sent += 1
            yield item


handler = MidStreamError()
"""


@dataclasses.dataclass
class LiteLLMProxy:
    """A running proxy. ``base_url`` ends in ``/v1``: POST ``{base_url}/chat/completions``."""

    base_url: str
    root_url: str
    master_key: str
    models: MockModels
    port: int
    pid: int
    config_path: Path
    log_path: Path
    version: str
    startup_seconds: float

    @property
    def auth_headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.master_key}"}

    def log_text(self, tail: int | None = None) -> str:
        try:
            text = self.log_path.read_text(errors="replace")
        except OSError:
            return ""
        return text if tail is None else "\n".join(text.splitlines()[-tail:])


# --------------------------------------------------------------------------- venv


def cache_root() -> Path:
    root = os.environ.get("CHAT_SMOKE_CACHE")
    return Path(root).expanduser() if root else Path.home() / ".cache" / "chat-smoke"


def venv_path() -> Path:
    return cache_root() / f"litellm-venv-{LITELLM_VERSION}"


def _venv_bin(venv: Path, name: str) -> Path:
    return venv / "bin" / name


def _marker_content() -> str:
    return json.dumps({"requirements": list(REQUIREMENTS), "python": sys.version.split()[0]})


def _tail(text: str, n: int = 40) -> str:
    return "\n".join(text.splitlines()[-n:])


def _run(cmd: list[str], what: str, timeout: float) -> None:
    try:
        proc = subprocess.run(
            cmd,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            timeout=timeout,
            stdin=subprocess.DEVNULL,
            env=_pip_env(),
        )
    except subprocess.TimeoutExpired as exc:
        out = exc.stdout or ""
        if isinstance(out, bytes):
            out = out.decode(errors="replace")
        raise RuntimeError(f"{what} timed out after {timeout:.0f}s:\n{_tail(out)}") from exc
    except OSError as exc:
        raise RuntimeError(f"{what} could not run {cmd[0]}: {exc}") from exc
    if proc.returncode != 0:
        raise RuntimeError(
            f"{what} failed (exit {proc.returncode}): {' '.join(cmd)}\n--- last lines ---\n"
            f"{_tail(proc.stdout)}"
        )


def _pip_env() -> dict[str, str]:
    drop = ("VIRTUAL_ENV", "PYTHONPATH", "PYTHONHOME")
    env = {k: v for k, v in os.environ.items() if k not in drop}
    env["PIP_DISABLE_PIP_VERSION_CHECK"] = "1"
    env["PIP_NO_INPUT"] = "1"
    return env


def ensure_venv() -> Path:
    """Create (once) the gateway's own venv with the pinned litellm[proxy] and prisma.

    Returns the venv directory. A marker file is written only after a complete
    install, so a half-finished venv is wiped and redone. Raises RuntimeError
    (with pip's last lines) when anything fails.
    """
    if LITELLM_VERSION in _BANNED_VERSIONS:  # pragma: no cover - guard against a bad edit
        raise RuntimeError(f"litellm {LITELLM_VERSION} is a known-compromised release")
    venv = venv_path()
    marker = venv / MARKER_NAME
    venv.parent.mkdir(parents=True, exist_ok=True)
    lock_path = venv.parent / f".{venv.name}.lock"
    with open(lock_path, "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # serialise concurrent installers (xdist, parallel CI)
        try:
            if (
                marker.is_file()
                and marker.read_text() == _marker_content()
                and _venv_bin(venv, "litellm").is_file()
            ):
                return venv
            if venv.exists():
                shutil.rmtree(venv)
            _run([sys.executable, "-m", "venv", str(venv)], "creating the litellm venv", 300)
            py = str(_venv_bin(venv, "python"))
            _run(
                [py, "-m", "pip", "install", "--progress-bar", "off", "--no-input", *REQUIREMENTS],
                f"pip install {' '.join(REQUIREMENTS)}",
                INSTALL_TIMEOUT_S,
            )
            if not _venv_bin(venv, "litellm").is_file():
                raise RuntimeError(f"install finished but {venv}/bin/litellm is missing")
            marker.write_text(_marker_content())
            return venv
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)


# --------------------------------------------------------------------------- proxy


def new_master_key() -> str:
    """A strong per-run key of the usual LiteLLM shape (``sk-`` + 48 url-safe chars)."""
    return "sk-" + secrets.token_urlsafe(36)


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def write_config(path: Path, master_key: str, models: MockModels) -> None:
    lines = ["model_list:"]
    for field in dataclasses.fields(models):
        name = getattr(models, field.name)
        lines += [
            f"  - model_name: {json.dumps(name)}",
            "    litellm_params:",
            f"      model: {json.dumps('openai/' + name)}",
            '      api_key: "sk-upstream-unused"',
            '      api_base: "http://127.0.0.1:9/v1"',  # discard port: never reached
        ]
        lines += [f"      {k}: {json.dumps(v)}" for k, v in _MOCK_PARAMS[field.name].items()]
    lines += [
        "litellm_settings:",
        f"  callbacks: [{CALLBACK_MODULE}.handler]",
        "  telemetry: false",
        "  drop_params: false",
        "  num_retries: 0",
        "  request_timeout: 30",
        "general_settings:",
        f"  master_key: {json.dumps(master_key)}",
        "  disable_spend_logs: true",
        "  disable_reset_budget: true",
        "  disable_adding_master_key_hash_to_db: true",
        "",
    ]
    path.write_text("\n".join(lines))
    (path.parent / f"{CALLBACK_MODULE}.py").write_text(
        _CALLBACK_SOURCE.format(model=models.midstream_error)
    )


def proxy_env(home: Path) -> dict[str, str]:
    env = {
        k: v
        for k, v in scrubbed().items()
        if k not in _SCRUBBED_ENV and not k.startswith(_SCRUBBED_ENV_PREFIXES)
    }
    env.update(OFFLINE_ENV)
    # Caches the gateway might write (tiktoken, HF, prisma) stay in the temp dir.
    env["XDG_CACHE_HOME"] = str(home / "cache")
    env["HF_HOME"] = str(home / "cache" / "hf")
    return env


def _child_setup(parent_pid: int) -> Callable[[], None]:
    """Run in the child before exec: own process group, and die with the parent.

    PR_SET_PDEATHSIG makes the kernel SIGTERM the proxy if the test process dies
    without running its cleanup (SIGKILL, a crash), so no gateway is left behind.
    """

    def setup() -> None:
        os.setsid()
        with contextlib.suppress(Exception):
            libc = ctypes.CDLL(None, use_errno=True)
            libc.prctl(1, signal.SIGTERM, 0, 0, 0)  # 1 == PR_SET_PDEATHSIG (Linux)
        if os.getppid() != parent_pid:  # parent already gone before prctl took effect
            os._exit(1)

    return setup


def _http_status(url: str, headers: dict[str, str] | None = None, timeout: float = 3.0) -> int:
    req = urllib.request.Request(url, headers=headers or {})
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
    try:
        with opener.open(req, timeout=timeout) as resp:
            return int(resp.status)
    except urllib.error.HTTPError as exc:
        return int(exc.code)
    except (urllib.error.URLError, OSError):
        return 0


def _stop(proc: subprocess.Popen[bytes], timeout: float = STOP_TIMEOUT_S) -> None:
    """SIGTERM the proxy's process group, then SIGKILL it if it lingers."""
    if proc.poll() is not None:
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(proc.pid, signal.SIGKILL)  # reap any orphaned children of the group
        return
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(proc.pid, signal.SIGTERM)
    try:
        proc.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        pass
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(proc.pid, signal.SIGKILL)
    with contextlib.suppress(subprocess.TimeoutExpired):
        proc.wait(timeout=timeout)


@contextlib.contextmanager
def litellm_proxy(
    ready_timeout: float = READY_TIMEOUT_S,
    master_key: str | None = None,
    extra_args: tuple[str, ...] = (),
) -> Iterator[LiteLLMProxy]:
    """Start the pinned LiteLLM proxy on a free 127.0.0.1 port; stop it on exit."""
    venv = ensure_venv()
    key = master_key or new_master_key()
    models = MockModels()
    with tempfile.TemporaryDirectory(prefix="chat-smoke-litellm-") as tmp:
        home = Path(tmp)
        config = home / "config.yaml"
        write_config(config, key, models)
        log_path = home / "litellm.log"
        env = proxy_env(home)
        attempts = 3
        for attempt in range(1, attempts + 1):
            port = free_port()
            root = f"http://127.0.0.1:{port}"
            cmd = [
                str(_venv_bin(venv, "litellm")),
                "--config",
                str(config),
                "--host",
                "127.0.0.1",
                "--port",
                str(port),
                *extra_args,
            ]
            log = open(log_path, "ab")
            started = time.monotonic()
            proc = subprocess.Popen(
                cmd,
                cwd=home,
                env=env,
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                preexec_fn=_child_setup(os.getpid()),
            )
            try:
                ready = False
                deadline = started + ready_timeout
                while time.monotonic() < deadline:
                    if proc.poll() is not None:
                        break
                    if (
                        _http_status(f"{root}/health/liveliness") == 200
                        and _http_status(f"{root}/v1/models", {"Authorization": f"Bearer {key}"})
                        == 200
                    ):
                        ready = True
                        break
                    time.sleep(0.25)
                if not ready:
                    exited = proc.poll()
                    _stop(proc)
                    log.close()
                    text = log_path.read_text(errors="replace")
                    port_taken = "address already in use" in text.lower()
                    if exited is not None and port_taken and attempt < attempts:
                        continue
                    why = (
                        f"exited with code {exited}"
                        if exited is not None
                        else f"not ready within {ready_timeout:.0f}s"
                    )
                    raise RuntimeError(
                        f"litellm proxy {LITELLM_VERSION} {why} ({' '.join(cmd)}).\n"
                        f"--- proxy log (last 60 lines) ---\n{_tail(text, 60)}"
                    )
                yield LiteLLMProxy(
                    base_url=f"{root}/v1",
                    root_url=root,
                    master_key=key,
                    models=models,
                    port=port,
                    pid=proc.pid,
                    config_path=config,
                    log_path=log_path,
                    version=LITELLM_VERSION,
                    startup_seconds=time.monotonic() - started,
                )
                return
            finally:
                _stop(proc)
                if not log.closed:
                    log.close()


if __name__ == "__main__":  # manual use: python -m tests.support.litellm_proxy [--wait]
    # Turn SIGTERM into a normal exit so the context manager's cleanup runs.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    t0 = time.monotonic()
    print("venv:", ensure_venv(), f"({time.monotonic() - t0:.1f}s)")
    with litellm_proxy() as p:
        print(f"ready in {p.startup_seconds:.1f}s at {p.base_url} key={p.master_key}")
        print("models:", p.models.all())
        print("log:", p.log_path, "config:", p.config_path, flush=True)
        if "--wait" in sys.argv:
            with contextlib.suppress(KeyboardInterrupt):
                signal.pause()
