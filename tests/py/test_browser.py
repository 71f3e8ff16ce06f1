"""Browser end-to-end tests of the web UI (issue 5): headless Debian Chromium driven by
playwright-core (tests/browser/*.test.mjs, node's test runner) against two
build/tinybms-bridge --simulate processes, one with credentials and one without; the bank view
(packs.test.mjs) against a --simulate=2 bridge (two packs) and a one-pack one.

Screenshots land in tests/artifacts/. Needs node + npm (`npm ci` is run by `make test`)
and /usr/bin/chromium (scripts/install-deps)."""
import json
import os
import pathlib
import shutil
import socket
import subprocess
import time
import urllib.request

import pytest

from conftest import BUILD, ROOT, free_port

USER = "admin"
PASSWORD = "browser-test-pass"
CHROMIUM = os.environ.get("CHROMIUM", "/usr/bin/chromium")
ARTIFACTS = ROOT / "tests" / "artifacts"



class Bridge:
    """build/tinybms-bridge --simulate serving the embedded UI on 127.0.0.1:PORT
    (simulate="--simulate=2": two simulated packs on one DC bus)."""

    def __init__(self, data_dir, web_server, simulate="--simulate"):
        self.simulate = simulate
        self.data_dir = pathlib.Path(data_dir)
        self.data_dir.mkdir(parents=True, exist_ok=True)
        self.config = self.data_dir / "config.json"
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.config.write_text(json.dumps({"web_server": web_server}, indent=2))
        self.config.chmod(0o600)
        self.proc = None
        self.log = self.data_dir / "bridge.log"

    def start(self):
        exe = BUILD / "tinybms-bridge"
        if not exe.exists():
            pytest.fail(f"{exe} is missing: run 'make' first (TBVB_BUILD={BUILD})")
        self.proc = subprocess.Popen(
            [str(exe), self.simulate, "--can", "log:/dev/null", "--http", f"127.0.0.1:{self.port}",
             "--data-dir", str(self.data_dir), "--config", str(self.config)],
            stdout=open(self.log, "ab"), stderr=subprocess.STDOUT)
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                pytest.fail(f"bridge exited with {self.proc.returncode}:\n{self.log.read_text()}")
            try:
                with urllib.request.urlopen(self.url + "/api/status", timeout=2) as r:
                    if json.load(r).get("data_state") == "valid":
                        return
            except (OSError, ValueError):
                pass
            time.sleep(0.2)
        pytest.fail(f"bridge on {self.url} never reported valid data:\n{self.log.read_text()}")

    def stop(self):
        if self.proc and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=5)
        self.proc = None


def _node_test(files, env, timeout=150):
    """Runs node --test on the files; fails the pytest with the runner's output."""
    cmd = ["node", "--test", "--test-reporter=spec", *[str(ROOT / "tests" / "browser" / f) for f in files]]
    try:
        res = subprocess.run(cmd, cwd=ROOT, env=env, capture_output=True, text=True, timeout=timeout)
    except subprocess.TimeoutExpired as e:
        partial = (e.stdout or b"").decode(errors="replace") + (e.stderr or b"").decode(errors="replace")
        pytest.fail(f"{' '.join(files)} did not finish in {timeout} s:\n{partial}", pytrace=False)
    out = res.stdout + res.stderr
    if res.returncode != 0:
        pytest.fail(f"{' '.join(files)} failed (exit {res.returncode}):\n{out}", pytrace=False)
    return out


@pytest.fixture(scope="module")
def prerequisites():
    if shutil.which("node") is None:
        pytest.fail("node is missing: the browser tests need Node.js 20 and npm (see scripts/install-deps)")
    if not (ROOT / "node_modules" / "playwright-core").is_dir():
        pytest.fail("node_modules/playwright-core is missing: run 'npm ci' (make test does)")
    if not os.access(CHROMIUM, os.X_OK):
        pytest.fail(f"{CHROMIUM} is missing: install the Debian package chromium (scripts/install-deps)")


def test_browser_ui(prerequisites, tmp_path):
    """The whole browser run: ui.test.mjs and firmware.test.mjs on two bridges, a restart,
    restart.test.mjs."""
    if ARTIFACTS.exists():
        for f in ARTIFACTS.glob("*.png"):
            f.unlink()
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    auth = Bridge(tmp_path / "auth", {"username": USER, "password": PASSWORD, "bind_address": "127.0.0.1"})
    noauth = Bridge(tmp_path / "noauth", {"bind_address": "127.0.0.1"})
    try:
        auth.start()
        noauth.start()
        env = dict(os.environ,
                   TBVB_URL=auth.url, TBVB_URL_NOAUTH=noauth.url,
                   TBVB_USER=USER, TBVB_PASS=PASSWORD,
                   TBVB_CONFIG=str(auth.config), TBVB_CONFIG_NOAUTH=str(noauth.config),
                   TBVB_ARTIFACTS=str(ARTIFACTS), CHROMIUM=CHROMIUM)
        started = time.monotonic()
        out = _node_test(["ui.test.mjs", "firmware.test.mjs"], env)
        noauth.stop()
        auth.stop()
        auth.start()
        out += _node_test(["restart.test.mjs"], env)
        elapsed = time.monotonic() - started
        # How long it took is a figure, not a verdict (the node tests time out on their own).
        (ARTIFACTS / "browser-tests.txt").write_text(out + f"\nbrowser run: {elapsed:.1f} s\n")
    finally:
        auth.stop()
        noauth.stop()


def test_browser_packs(prerequisites, tmp_path):
    """packs.test.mjs: the bank view on a --simulate=2 bridge (two packs, with credentials for
    the register write) and the one-pack page on a plain --simulate bridge."""
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    packs = Bridge(tmp_path / "packs", {"username": USER, "password": PASSWORD, "bind_address": "127.0.0.1"},
                   simulate="--simulate=2")
    one = Bridge(tmp_path / "one", {"bind_address": "127.0.0.1"})
    try:
        packs.start()
        one.start()
        env = dict(os.environ, TBVB_URL_PACKS=packs.url, TBVB_URL_ONE=one.url,
                   TBVB_USER=USER, TBVB_PASS=PASSWORD, TBVB_ARTIFACTS=str(ARTIFACTS), CHROMIUM=CHROMIUM)
        out = _node_test(["packs.test.mjs"], env)
        (ARTIFACTS / "browser-packs-tests.txt").write_text(out)
    finally:
        packs.stop()
        one.stop()
