"""Shared fixtures for the Python peer tests (run with Debian's /usr/bin/python3)."""
import os
import pathlib
import signal
import socket
import subprocess
import time

import pytest

ROOT = pathlib.Path(__file__).resolve().parents[2]
BUILD = pathlib.Path(os.environ.get("TBVB_BUILD", ROOT / "build"))


def free_port():
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def terminate(proc, timeout=15.0):
    """SIGTERM, then SIGKILL if it has not stopped within timeout s; returns its exit status
    (negative for a signal). Nothing when it has already stopped."""
    if proc.poll() is None:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(5)
    return proc.returncode


def wait_for(cond, timeout=8.0, step=0.05):
    """Polls cond() until it returns something true or timeout s pass; returns its last value."""
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        value = cond()
        if value:
            return value
        time.sleep(step)
    return cond()


def _binary(name):
    path = BUILD / name
    if not path.exists():
        pytest.fail(f"{path} is missing: run 'make' first (TBVB_BUILD={BUILD})")
    return path


class Tool:
    """Runs build/tbms-tool, the command-line face of the core's TinyBMS codec."""

    def __init__(self, path):
        self.path = path

    def run(self, *args, check=True):
        res = subprocess.run([str(self.path), *map(str, args)], capture_output=True, text=True,
                             timeout=10)
        if check and res.returncode != 0:
            raise AssertionError(f"tbms-tool {args} failed ({res.returncode}): {res.stderr}")
        return res

    def frame(self, *args):
        return bytes.fromhex(self.run(*args).stdout.strip())

    def parse_response(self, data):
        res = self.run("parse-response", data.hex(), check=False)
        return res.stdout.splitlines()


def parse_frame_line(line):
    """'frame cmd=0x03 kind=data count=5 regs=1,2' -> dict of the key=value fields."""
    words = line.split()
    assert words[0] == "frame", line
    fields = dict(w.split("=", 1) for w in words[1:])
    if "regs" in fields:
        fields["regs"] = [int(v) for v in fields["regs"].split(",")]
    return fields


@pytest.fixture(scope="session")
def tool():
    return Tool(_binary("tbms-tool"))


class SimProcess:
    """A running build/tinybms-sim: `path` is the pty it serves, `proc` the Popen."""

    def __init__(self, proc, path):
        self.proc = proc
        self.path = path

    def stop(self, timeout=5):
        """SIGTERM, then the exit code (SIGKILL if it does not stop in time)."""
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=timeout)
        return self.proc.returncode


@pytest.fixture
def tinybms_sim():
    """Factory: start_sim(*args) runs build/tinybms-sim --pty ARGS, waits for the pty path it
    prints and returns a SimProcess. Every process started is killed at teardown."""
    import select

    started = []

    def start_sim(*args):
        exe = _binary("tinybms-sim")
        proc = subprocess.Popen([str(exe), "--pty", *map(str, args)], stdout=subprocess.PIPE,
                                stderr=subprocess.PIPE, text=True)
        sim = SimProcess(proc, None)
        started.append(sim)
        ready, _, _ = select.select([proc.stdout], [], [], 10)
        line = proc.stdout.readline().strip() if ready else ""
        if not line.startswith("/"):
            sim.stop()
            pytest.fail(f"tinybms-sim printed no pty path: {line!r} {proc.stderr.read()}")
        sim.path = line
        return sim

    yield start_sim
    for sim in started:
        sim.stop()
