"""The seed's documented interface against `tinybms-bridge --simulate` (issue 11): the seed
README's own config.json starts the bridge with one logged warning per key that does not apply
on Linux, and a settings change keeps those keys in the file; hardware.can.mode "loopback"
returns the bridge's own frames to it; GET /api/diagnostics has the seed's .uart, .heap_free and
.watchdog (advanced.* keys)."""
import json
import re
import signal
import subprocess
import time
import urllib.error
import urllib.request

import pytest

from conftest import _binary, free_port, wait_for

USER, PASSWORD = "admin", "correct-horse"

# The seed README's data/config.json ("Installation", step 3), verbatim.
SEED_README_FILE = """{
  "wifi": {
    "sta_ssid": "VotreSSID",
    "sta_password": "VotreMotDePasse",
    "sta_hostname": "tinybms-bridge"
  },
  "hardware": {
    "uart": {
      "rx_pin": 16,
      "tx_pin": 17,
      "baudrate": 19200
    },
    "can": {
      "tx_pin": 4,
      "rx_pin": 5,
      "bitrate": 500000
    }
  },
  "cvl": {
    "enabled": true,
    "bulk_soc_threshold": 80.0,
    "float_soc_threshold": 95.0
  }
}
"""


class Bridge:
    def __init__(self, tmp, config_text, *extra):
        self.dir = tmp
        self.config = tmp / "config.json"
        self.config.write_text(config_text)
        self.can_log = tmp / "can.log"
        self.port = free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        self.err = open(tmp / "stderr.log", "ab")
        self.proc = subprocess.Popen(
            [str(_binary("tinybms-bridge")), "--simulate", "--can", f"log:{self.can_log}",
             "--http", f"127.0.0.1:{self.port}", "--data-dir", str(tmp), "--config",
             str(self.config), *extra],
            stdout=subprocess.DEVNULL, stderr=self.err)

        def up():
            try:
                return self.get("/api/status")[0] == 200
            except OSError:
                return False
        assert wait_for(up, 10), self.stderr()[-2000:]

    def stderr(self):
        return (self.dir / "stderr.log").read_text()

    def request(self, method, path, body=None, auth=False):
        req = urllib.request.Request(self.base + path, method=method,
                                     data=None if body is None else json.dumps(body).encode())
        if auth:
            import base64
            token = base64.b64encode(f"{USER}:{PASSWORD}".encode()).decode()
            req.add_header("Authorization", f"Basic {token}")
        try:
            with urllib.request.urlopen(req, timeout=5) as r:
                return r.status, json.loads(r.read() or b"null")
        except urllib.error.HTTPError as e:
            return e.code, json.loads(e.read() or b"null")

    def get(self, path):
        return self.request("GET", path)

    def stop(self):
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            self.proc.wait(10)
        self.err.close()


@pytest.fixture
def seed_bridge(tmp_path):
    text = SEED_README_FILE.replace(
        '"cvl": {', '"web_server": {"username": "%s", "password": "%s"},\n  "cvl": {'
        % (USER, PASSWORD))
    b = Bridge(tmp_path, text)
    yield b
    b.stop()


def test_seed_readme_file_starts_with_one_warning_per_key_not_used(seed_bridge):
    log = seed_bridge.stderr()
    warned = re.findall(r"WARN +configuration \S+: ([a-z_.]+): ", log)
    assert warned == ["wifi.sta_ssid", "wifi.sta_password", "wifi.sta_hostname",
                      "hardware.uart.rx_pin", "hardware.uart.tx_pin", "hardware.uart.baudrate",
                      "hardware.can.tx_pin", "hardware.can.rx_pin",
                      "cvl.transition_soc_threshold", "cvl.float_exit_soc"], log[-3000:]
    assert "VotreMotDePasse" not in log
    code, s = seed_bridge.get("/api/settings")
    assert code == 200
    doc = s.get("settings", s)
    assert doc["wifi"]["sta_ssid"] == "VotreSSID"
    assert doc["wifi"]["sta_password"] == "********"  # a secret, redacted
    assert doc["hardware"]["uart"]["baudrate"] == 115200
    assert doc["cvl"]["bulk_soc_threshold"] == 80 and doc["cvl"]["float_soc_threshold"] == 95


def test_settings_change_keeps_the_esp32_keys_and_a_wrong_one_changes_nothing(seed_bridge):
    code, doc = seed_bridge.request("POST", "/api/settings", {"mqtt": {"qos": 1}}, auth=True)
    assert code == 200, doc
    saved = json.loads(seed_bridge.config.read_text())
    assert saved["wifi"] == {"sta_ssid": "VotreSSID", "sta_password": "VotreMotDePasse",
                             "sta_hostname": "tinybms-bridge"}
    assert saved["hardware"]["uart"]["rx_pin"] == 16 and saved["hardware"]["can"]["tx_pin"] == 4
    assert saved["mqtt"]["qos"] == 1
    before = seed_bridge.config.read_bytes()
    code, doc = seed_bridge.request("POST", "/api/settings",
                                    {"hardware": {"uart": {"rx_pin": "16"}}}, auth=True)
    assert code == 400 and doc.get("key") == "hardware.uart.rx_pin", doc
    assert seed_bridge.config.read_bytes() == before


def test_can_loopback_returns_the_bridges_own_frames(tmp_path):
    b = Bridge(tmp_path, json.dumps({"hardware": {"can": {"mode": "loopback"}}}))
    try:
        def looped():
            code, s = b.get("/api/status")
            can = s["stats"]["can"]
            return can if code == 200 and can["rx_count"] >= 4 and can["tx_count"] >= 4 else None
        can = wait_for(looped, 10)
        assert can, b.get("/api/status")[1]["stats"]["can"]
        code, frames = b.get("/api/can")
        rx = [f for f in frames["frames"] if f["dir"] == "rx"]
        tx = [f for f in frames["frames"] if f["dir"] == "tx"]
        assert rx and tx
        assert {f["id"] for f in rx} <= {f["id"] for f in tx}  # only our own frames come back
        assert 0x351 in {f["id"] for f in rx}
        # The log back-end is a record, not a bus: it still has the frames.
        assert " 351#" in b.can_log.read_text()
        # Our own frames are not a GX: no keepalive.
        st = b.get("/api/status")[1]
        assert st["gx"]["keepalive_ok"] is False
        # The seed README's health indicators, flat under stats, the same counters.
        assert st["stats"]["uart_success_count"] > 0
        assert st["stats"]["uart_success_count"] == st["stats"]["uart"]["success"]
        assert st["stats"]["can_tx_count"] == st["stats"]["can"]["tx_count"] > 0
        assert st["stats"]["uart_errors"] == st["stats"]["uart"]["errors"]
        assert st["stats"]["can_tx_errors"] == st["stats"]["can"]["tx_errors"]
        assert st["stats"]["victron_keepalive_ok"] is False
        assert "loopback mode" in b.stderr()
    finally:
        b.stop()


def test_diagnostics_have_the_seed_uart_heap_and_watchdog(tmp_path):
    cfg = {"advanced": {"watchdog_timeout_s": 60, "enable_watchdog": False},
           "tinybms": {"poll_interval_ms": 200, "bms_timeout_ms": 6000}}
    b = Bridge(tmp_path, json.dumps(cfg))
    try:
        def diag():
            code, d = b.get("/api/diagnostics")
            ok = code == 200 and d.get("uart", {}).get("success") and d["watchdog"]["feed_count"]
            return d if ok else None  # the first document is built before the first turn
        d = wait_for(diag, 10)
        assert d, b.get("/api/diagnostics")
        u = d["uart"]
        assert u["polls"] >= u["success"] > 0 and u["errors"] >= 0
        assert {"timeouts", "crc_errors", "retry_count", "latency_avg_ms", "latency_last_ms",
                "latency_max_ms"} <= set(u)
        assert u["interval_ms_current"] == 200 and u["device"] == "simulator"
        with open("/proc/meminfo") as f:
            total = int(re.search(r"MemTotal: +(\d+) kB", f.read()).group(1)) * 1024
        assert 0 < d["heap_free"] <= total and d["heap_free_min"] <= d["heap_free"]
        w = d["watchdog"]
        assert w["enabled"] is False and w["timeout_ms"] == 60000
        assert w["health_ok"] is True and w["stalls"] == 0 and w["feed_count"] > 0
        assert 0 <= w["time_since_last_feed_ms"] < 60000
        assert w["restarts_on_stall"] is False
    finally:
        b.stop()
