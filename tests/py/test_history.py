"""GET /api/history while the TinyBMS data goes stale (docs/api.md, GET /api/history).

No sample is recorded from stale data (the live values are then the last ones read, not the
battery's state), and the start of the stale period is marked by one entry whose values are
all null, so the chart shows a gap instead of a line across it. The TinyBMS is the pymodbus
stand-in on a socat pty pair (tests/py/peers), killed and restarted on the same path."""
import json
import signal
import subprocess
import time
import urllib.error
import urllib.request

import pytest

from conftest import _binary, free_port, wait_for
from test_bridge_e2e import ModbusPeer, SocatPair

INTERVAL_S = 10  # HISTORY_INTERVAL_MS
BMS_TIMEOUT_MS = 1000  # the minimum: the data is stale 1 s after the peer dies
COLUMNS = ("voltage", "current", "soc_percent", "min_cell_mv", "max_cell_mv", "temperature",
           "cvl_v", "ccl_a", "dcl_a")


class HttpBridge:
    def __init__(self, tmp, uart):
        self.dir = tmp / "bridge"
        self.dir.mkdir(exist_ok=True)
        config = self.dir / "config.json"
        config.write_text(json.dumps({"tinybms": {"bms_timeout_ms": BMS_TIMEOUT_MS}}))
        self.port = free_port()
        self.err = open(self.dir / "stderr.log", "w")
        self.proc = subprocess.Popen(
            [str(_binary("tinybms-bridge")), "--uart", uart, "--can", f"log:{self.dir / 'can.log'}",
             "--http", f"127.0.0.1:{self.port}", "--data-dir", str(self.dir),
             "--config", str(config)],
            stdout=subprocess.DEVNULL, stderr=self.err)

    def get(self, path):
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{self.port}{path}", timeout=5) as r:
                return r.status, json.loads(r.read())
        except urllib.error.HTTPError as e:
            return e.code, json.loads(e.read())
        except OSError:
            return 0, None

    def data_state(self):
        code, doc = self.get("/api/status")
        return doc["data_state"] if code == 200 else None

    def history(self):
        code, doc = self.get("/api/history")
        return doc if code == 200 else None

    def stop(self):
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            self.proc.wait(10)
        self.err.close()
        return self.proc.returncode

    def stderr(self):
        return (self.dir / "stderr.log").read_text()


def entries(doc):
    """The history as a list of (t, {column: value})."""
    return [(t, {c: doc[c][i] for c in COLUMNS}) for i, t in enumerate(doc["t"])]


def is_gap(values):
    return all(v is None for v in values.values())


@pytest.fixture
def rig(tmp_path):
    uart = SocatPair(tmp_path, "uart")
    peer = ModbusPeer(uart.b)
    peer.start()
    bridge = HttpBridge(tmp_path, uart.a)
    yield uart, peer, bridge
    bridge.stop()
    peer.kill()
    uart.close()


def test_stale_data_records_no_sample_and_marks_the_gap_with_nulls(rig):
    _, peer, bridge = rig
    first = wait_for(lambda: bridge.history() if bridge.data_state() == "valid" else None, 15)
    assert first and first["count"] >= 1, bridge.stderr()
    assert not is_gap(entries(first)[-1][1])
    first_t = first["t"][0]

    killed = time.time()
    peer.kill()
    assert wait_for(lambda: bridge.data_state() == "stale", 5), bridge.stderr()
    stale_seen = time.time()
    # Past the time the next sample was due (first + 10 s): none may come from stale data.
    time.sleep(max(0.0, first_t + INTERVAL_S + 2.5 - time.time()))
    assert bridge.data_state() == "stale"
    doc = bridge.history()
    rows = entries(doc)
    assert doc["count"] == len(rows)
    gaps = [(t, v) for t, v in rows if is_gap(v)]
    assert len(gaps) == 1, rows[-5:]
    assert rows[-1] == gaps[0], f"a sample was recorded after the data went stale: {rows[-5:]}"
    assert int(killed) <= gaps[0][0] <= stale_seen, (killed, gaps[0][0], stale_seen)
    assert all(t <= stale_seen for t, v in rows if not is_gap(v))

    # Data back: a sample at once (one was due long ago), after the marker; no second marker.
    peer.start()
    assert wait_for(lambda: bridge.data_state() == "valid", 10), bridge.stderr()
    back = wait_for(lambda: (lambda d: d if d and not is_gap(entries(d)[-1][1]) else None)(
        bridge.history()), 5)
    assert back, bridge.history()
    rows = entries(back)
    assert [r for r in rows if is_gap(r[1])] == gaps
    assert rows[-1][0] >= gaps[0][0]
    assert rows[-1][1]["voltage"] == pytest.approx(52.92, abs=0.01)
    assert bridge.stop() == 0
