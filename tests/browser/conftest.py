"""Fixtures for the real-browser tests: headless Chromium and local Jupyter servers.

The browser is Debian's chromium (``bash .ci/install-browser``) driven by Python
playwright; ``playwright install`` is never needed. Without chromium or playwright the
browser tests are skipped, except under CI (``CI`` set to a true value), where they fail.

Servers (JupyterLab, Voila) run as subprocesses on 127.0.0.1 at a free port, in a
temporary root directory with temporary settings, runtime and workspace directories, and
are stopped by their PID when the test ends.

Screenshots go to ``test-artifacts/browser/`` at the repository root (gitignored).
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from ..conftest import in_ci

CHROMIUM = Path("/usr/bin/chromium")
REPO = Path(__file__).resolve().parents[2]
ARTIFACTS = REPO / "test-artifacts" / "browser"
VENV_BIN = Path(sys.executable).parent

SERVER_START_TIMEOUT_S = 60


INSTALL_BROWSER = "bash .ci/install-browser"


def missing_requirement() -> str | None:
    """Why the browser tests cannot run here (how to fix it), or None when they can."""
    if not CHROMIUM.exists():
        return f"{CHROMIUM} not found: install it with `{INSTALL_BROWSER}` (Debian's chromium)"
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        return (
            "the Python package playwright is not installed: "
            "`.venv/bin/python -m pip install -e '.[dev]'`"
        )
    return None


def requirement_outcome(
    missing: str | None, environ: Mapping[str, str] = os.environ
) -> tuple[str, str] | None:
    """``None`` (run), ``("skip", reason)`` on a developer machine, or ``("fail", reason)``
    under CI, where a missing browser must not turn the suite green without these tests.

    >>> requirement_outcome(None, {"CI": "true"}) is None
    True
    >>> requirement_outcome("no chromium", {})
    ('skip', 'no chromium')
    >>> requirement_outcome("no chromium", {"CI": "true"})[0]
    'fail'
    """
    if missing is None:
        return None
    if in_ci(environ):
        return (
            "fail",
            f"{missing}. CI={environ.get('CI')!r}: under CI the browser tests fail instead "
            "of being skipped (.ci/run installs both)",
        )
    return "skip", missing


@pytest.hookimpl(tryfirst=True)
def pytest_runtest_setup(item):
    """Browser tests (marked ``browser``) skip, or under CI fail, when chromium or
    playwright is missing; doctests of these helper modules always run."""
    if item.get_closest_marker("browser") is None:
        return
    outcome = requirement_outcome(missing_requirement())
    if outcome is None:
        return
    kind, reason = outcome
    if kind == "fail":
        pytest.fail(reason, pytrace=False)
    pytest.skip(reason)


# ---------------------------------------------------------------- servers
def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@dataclass
class Server:
    """A server subprocess; ``stop()`` ends it (and its kernels) by its PID."""

    name: str
    args: Sequence[str]
    url: str
    ready_url: str | None  # None: ready once the port accepts connections
    cwd: Path
    log_path: Path
    env: dict[str, str] = field(default_factory=dict)
    input: Path | None = None  # the file the server shows, if any
    process: subprocess.Popen | None = None

    def start(self, timeout: float = SERVER_START_TIMEOUT_S) -> Server:
        log = self.log_path.open("wb")
        # A new session makes the server the leader of its own process group, so the
        # kernels it starts can be found (and stopped) by the server's PID.
        self.process = subprocess.Popen(
            list(self.args),
            cwd=self.cwd,
            env={**os.environ, **self.env},
            stdout=log,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            start_new_session=True,
        )
        log.close()
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(
                    f"{self.name} exited with code {self.process.returncode} before it "
                    f"answered at {self.ready_url}.\n{self.log_tail()}"
                )
            if self._ready():
                return self
            time.sleep(0.25)
        self.stop()
        raise RuntimeError(
            f"{self.name} did not answer at {self.ready_url} within {timeout:.0f} s.\n"
            f"{self.log_tail()}"
        )

    def _ready(self) -> bool:
        try:
            if self.ready_url is None:
                host, port = self.url.rsplit("/", 1)[-1].rsplit(":", 1)
                with socket.create_connection((host, int(port)), timeout=2):
                    return True
            with urllib.request.urlopen(self.ready_url, timeout=2) as response:
                return response.status == 200
        except (urllib.error.URLError, ConnectionError, TimeoutError, OSError):
            return False

    def stop(self, timeout: float = 15) -> None:
        proc = self.process
        if proc is None or proc.poll() is not None:
            return
        pid = proc.pid
        os.kill(pid, signal.SIGTERM)  # the server shuts its kernels down on SIGTERM
        try:
            proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            os.kill(pid, signal.SIGKILL)
            proc.wait(timeout=5)
        # Anything the server left behind in its own process group (a kernel that did not
        # stop in time) goes too; the group id is the server's PID.
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(pid, signal.SIGKILL)

    def log_tail(self, lines: int = 40) -> str:
        try:
            text = self.log_path.read_text(errors="replace")
        except OSError:
            return "(no server log)"
        text = re.sub(r"\x1b\[[0-9;]*m", "", text)  # tracebacks arrive coloured
        tail = "\n".join(text.splitlines()[-lines:])
        return f"--- last {lines} lines of {self.log_path} ---\n{tail}"


def jupyter_env(root: Path) -> dict[str, str]:
    """Private config / data / runtime dirs: nothing from the user's ~/.jupyter leaks in."""
    dirs = {
        "JUPYTER_CONFIG_DIR": root / "jupyter-config",
        "JUPYTER_RUNTIME_DIR": root / "jupyter-runtime",
        "IPYTHONDIR": root / "ipython",
    }
    for path in dirs.values():
        path.mkdir(parents=True, exist_ok=True)
    return {
        **{k: str(v) for k, v in dirs.items()},
        "JUPYTER_PLATFORM_DIRS": "1",
        "PYDEVD_DISABLE_FILE_VALIDATION": "1",
        "PATH": f"{VENV_BIN}{os.pathsep}{os.environ.get('PATH', '')}",
    }


def lab_user_settings(settings_dir: Path) -> None:
    """User settings that keep JupyterLab quiet: no news / update popup."""
    path = settings_dir / "@jupyterlab" / "apputils-extension" / "notification.jupyterlab-settings"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps({"fetchNews": "false", "checkForUpdates": False}))


@pytest.fixture
def lab_root(tmp_path: Path) -> Path:
    """The directory JupyterLab serves; tests copy their notebooks into it."""
    root = tmp_path / "lab-root"
    root.mkdir()
    return root


@pytest.fixture
def jupyterlab(lab_root: Path, tmp_path: Path) -> Iterator[Server]:
    """JupyterLab on 127.0.0.1 serving ``lab_root``; stopped by PID afterwards."""
    port = free_port()
    settings = tmp_path / "lab-user-settings"
    workspaces = tmp_path / "lab-workspaces"
    workspaces.mkdir()
    lab_user_settings(settings)
    server = Server(
        name="JupyterLab",
        args=[
            str(VENV_BIN / "jupyter"),
            "lab",
            "--no-browser",
            "--ip=127.0.0.1",
            f"--port={port}",
            "--port-retries=0",
            "--IdentityProvider.token=",
            "--ServerApp.password=",
            "--allow-root",
            f"--ServerApp.root_dir={lab_root}",
            f"--LabApp.user_settings_dir={settings}",
            f"--LabApp.workspaces_dir={workspaces}",
        ],
        url=f"http://127.0.0.1:{port}",
        ready_url=f"http://127.0.0.1:{port}/api/status",
        cwd=lab_root,
        log_path=tmp_path / "jupyterlab.log",
        env=jupyter_env(tmp_path),
    )
    server.start()
    try:
        yield server
    finally:
        server.stop()
        keep_log(server, "jupyterlab-server.log")


def explore_server(tmp_path: Path, *options: str) -> Server:
    """``screenkit explore data/sample/screening_log.xlsx [options]`` (Voila) on
    127.0.0.1, not started yet."""
    port = free_port()
    sample = REPO / "data" / "sample" / "screening_log.xlsx"
    return Server(
        name="screenkit explore (Voila)",
        args=[
            str(VENV_BIN / "screenkit"),
            "explore",
            str(sample),
            f"--port={port}",
            "--no-browser",
            *options,
        ],
        url=f"http://127.0.0.1:{port}",
        ready_url=None,
        cwd=tmp_path,
        log_path=tmp_path / "voila.log",
        env=jupyter_env(tmp_path),
        input=sample,
    )


@pytest.fixture
def voila(tmp_path: Path) -> Iterator[Server]:
    """``screenkit explore data/sample/screening_log.xlsx`` (Voila) on 127.0.0.1."""
    server = explore_server(tmp_path).start()
    try:
        yield server
    finally:
        server.stop()
        keep_log(server, "voila-server.log")


def kernel_pids(server_pid: int) -> list[int]:
    """PIDs of the kernels a server started (``ipykernel`` children of ``server_pid``),
    read from ``/proc``."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
            cmdline = (entry / "cmdline").read_bytes()
        except OSError:  # the process ended while we looked
            continue
        parent = int(stat.rsplit(")", 1)[1].split()[1])
        if parent == server_pid and b"ipykernel" in cmdline:
            found.append(int(entry.name))
    return sorted(found)


def keep_log(server: Server, name: str) -> None:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    with contextlib.suppress(OSError):
        shutil.copyfile(server.log_path, ARTIFACTS / name)


# ---------------------------------------------------------------- the browser
@pytest.fixture(scope="session")
def chromium():
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(
            executable_path=str(CHROMIUM), headless=True, args=["--no-sandbox"]
        )
        try:
            yield browser
        finally:
            browser.close()


@pytest.fixture
def page(chromium):
    context = chromium.new_context(viewport={"width": 1400, "height": 1000})
    page = context.new_page()
    page.set_default_timeout(30_000)
    messages: list[str] = []
    page.on("console", lambda m: messages.append(f"[{m.type}] {m.text}"))
    page.on("pageerror", lambda e: messages.append(f"[pageerror] {e}"))
    page.console_messages = messages  # read by failure messages
    try:
        yield page
    finally:
        context.close()


@pytest.fixture(scope="session")
def artifacts() -> Path:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    return ARTIFACTS
