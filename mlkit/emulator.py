"""The embedded AWS emulator: moto in server mode (mlkit.emulator_server) on a free localhost port.

`Emulator` starts it (or reuses one that `make local-up` left running), and stops what it
started, also on failure, Ctrl-C or SIGTERM, so no process is left behind.
"""

import contextlib
import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
# Where `make local-up` notes the emulator it leaves running; MLKIT_EMULATOR_STATE moves it (the tests
# keep their own, so a developer's kept emulator is never theirs).
STATE_FILE = ROOT / ".cache" / "emulator.json"


def state_file() -> Path:
    return Path(os.environ.get("MLKIT_EMULATOR_STATE") or STATE_FILE)


PREFERRED_PORT = 4599
FAKE_CREDENTIALS = {
    "AWS_ACCESS_KEY_ID": "testing",
    "AWS_SECRET_ACCESS_KEY": "testing",
    "AWS_SESSION_TOKEN": "testing",
}


def free_port(preferred: int = PREFERRED_PORT) -> int:
    """``preferred`` if nothing listens there, otherwise a port the OS picks."""
    for port in (preferred, 0):
        with socket.socket() as probe:
            try:
                probe.bind(("127.0.0.1", port))
            except OSError:
                continue
            return probe.getsockname()[1]
    raise RuntimeError("no free localhost port")


def is_answering(endpoint: str) -> bool:
    try:
        # /moto-api/ itself: data.json answers 500 once a Lambda exists (moto looks for Docker).
        with urllib.request.urlopen(f"{endpoint}/moto-api/", timeout=2):
            return True
    except OSError:
        return False


class Emulator:
    """A moto server for one run. ``keep`` (default False) leaves it running for exploration."""

    def __init__(self, *, region: str, keep: bool = False) -> None:
        self.region = region
        self.keep = keep
        self.process: subprocess.Popen | None = None
        self._previous_sigterm = None
        self.endpoint = ""
        self.reused = False

    def __enter__(self) -> "Emulator":
        return self.start()

    def __exit__(self, *exc_info) -> None:
        self.stop()

    def start(self) -> "Emulator":
        """Reuse a kept emulator that still answers, or start one on a free port."""
        # SIGTERM unwinds like Ctrl-C, so `finally` blocks stop the server either way.
        self._previous_sigterm = signal.signal(signal.SIGTERM, _raise_keyboard_interrupt)
        running = read_state()
        if running and is_answering(running["endpoint"]):
            self.endpoint, self.reused = running["endpoint"], True
            return self
        port = free_port()
        # localhost, not 127.0.0.1: moto reads the bucket of a template URL wrongly otherwise.
        self.endpoint = f"http://localhost:{port}"
        self.process = subprocess.Popen(
            # moto's server, with the CloudFormation gaps mlkit.emulator_server closes.
            [sys.executable, "-m", "mlkit.emulator_server", "-H", "127.0.0.1", "-p", str(port)],
            cwd=ROOT,
            stdout=subprocess.DEVNULL,
            stderr=(ROOT / ".cache" / "moto.log").open("w") if _cache_dir() else subprocess.DEVNULL,
            start_new_session=True,  # its own process group, so Ctrl-C reaches us first and we stop it
        )
        self._wait_until_ready()
        if self.keep:
            state_file().write_text(json.dumps({"endpoint": self.endpoint, "pid": self.process.pid}))
        return self

    def stop(self) -> None:
        """Stop the server this run started, unless it is to be kept."""
        if getattr(self, "_previous_sigterm", None) is not None:
            signal.signal(signal.SIGTERM, self._previous_sigterm)
        if self.process and not self.keep:
            stop_process(self.process.pid)
            self.process.wait(timeout=10)
            self.process = None

    def environment(self) -> dict[str, str]:
        """Variables that point boto3, the CDK CLI and the Lambdas' code at the emulator."""
        return {
            **FAKE_CREDENTIALS,
            "AWS_ENDPOINT_URL": self.endpoint,
            "AWS_REGION": self.region,
            "AWS_DEFAULT_REGION": self.region,
        }

    def _wait_until_ready(self, timeout: float = 30) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(
                    f"the emulator exited with code {self.process.returncode}; see .cache/moto.log"
                )
            if is_answering(self.endpoint):
                return
            time.sleep(0.2)
        stop_process(self.process.pid)
        raise RuntimeError(f"the emulator did not answer on {self.endpoint} within {timeout:.0f} s")


def _cache_dir() -> Path:
    (ROOT / ".cache").mkdir(exist_ok=True)
    return ROOT / ".cache"


def _raise_keyboard_interrupt(signum, frame):
    raise KeyboardInterrupt


def read_state() -> dict | None:
    try:
        return json.loads(state_file().read_text())
    except (OSError, ValueError):
        return None


def stop_process(pid: int) -> None:
    """Stop the emulator's whole process group; already gone is fine."""
    with contextlib.suppress(ProcessLookupError):
        os.killpg(pid, signal.SIGTERM)


def stop_kept_emulator() -> str:
    """`make local-down`: stop the emulator `make local-up` left running."""
    state = read_state()
    state_file().unlink(missing_ok=True)
    if not state:
        return "no emulator was left running"
    stop_process(state["pid"])
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline and _alive(state["pid"]):
        time.sleep(0.1)
    return f"stopped the emulator on {state['endpoint']}"


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True
