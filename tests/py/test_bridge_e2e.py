"""End-to-end: build/tinybms-bridge between real peers.

UART side: a pymodbus RTU server posing as a TinyBMS (slave 0xAA) on a socat pty pair, or
build/tinybms-sim --pty. CAN side: slcan on another socat pty pair, read by python-can as a
GX would (test-peers.md). Frames are decoded here in Python straight from the byte layout of
victron-can-bms.md A.2, independently of the bridge's own decoders."""
import json
import os
import pathlib
import re
import signal
import struct
import subprocess
import sys
import threading
import time

import can
import pytest

from conftest import BUILD, ROOT, _binary, wait_for

PEER = ROOT / "tests" / "py" / "peers" / "modbus_tinybms.py"
sys.path.insert(0, str(PEER.parent))
from modbus_tinybms import EXPECTED  # noqa: E402



class SocatPair:
    def __init__(self, tmp, name):
        self.a = str(tmp / f"{name}-a")
        self.b = str(tmp / f"{name}-b")
        self.proc = subprocess.Popen(
            ["socat", f"pty,raw,echo=0,link={self.a}", f"pty,raw,echo=0,link={self.b}"],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        assert wait_for(lambda: os.path.exists(self.a) and os.path.exists(self.b), 5), "socat"

    def close(self):
        self.proc.terminate()
        self.proc.wait(5)


class ModbusPeer:
    """The pymodbus TinyBMS stand-in, as a process that a test may kill and restart."""

    def __init__(self, port):
        self.port = port
        self.proc = None

    def start(self):
        self.proc = subprocess.Popen(["/usr/bin/python3", str(PEER), self.port],
                                     stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
        assert self.proc.stdout.readline().strip() == "ready"

    def kill(self):
        if self.proc and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(5)


class Gx:
    """python-can on the slcan pty: collects every frame with its arrival time."""

    def __init__(self, port):
        self.bus = can.interface.Bus(interface="slcan", channel=port, bitrate=500000)
        self.frames = []
        self.lock = threading.Lock()
        self.running = True
        self.thread = threading.Thread(target=self._rx, daemon=True)
        self.thread.start()

    def _rx(self):
        while self.running:
            msg = self.bus.recv(0.1)
            if msg is not None:
                with self.lock:
                    self.frames.append((time.monotonic(), msg.arbitration_id, bytes(msg.data)))

    def send(self, arb_id, data):
        self.bus.send(can.Message(arbitration_id=arb_id, data=data, is_extended_id=False))

    def ids(self, since=0.0):
        with self.lock:
            return [f[1] for f in self.frames if f[0] >= since]

    def last(self, arb_id):
        with self.lock:
            for t, i, d in reversed(self.frames):
                if i == arb_id:
                    return d
        return None

    def times(self, arb_id):
        with self.lock:
            return [t for t, i, _ in self.frames if i == arb_id]

    def close(self):
        self.running = False
        self.thread.join(2)
        self.bus.shutdown()


class Bridge:
    def __init__(self, tmp, uart, can_spec, **cfg_overrides):
        self.dir = tmp / "bridge"
        self.dir.mkdir(exist_ok=True)
        config = {"tinybms": {"bms_timeout_ms": 2000},
                  "victron": {"keepalive_timeout_ms": 1000}}
        for section, values in cfg_overrides.items():
            config.setdefault(section, {}).update(values)
        (self.dir / "config.json").write_text(json.dumps(config))
        self.out = open(self.dir / "stdout.log", "w")
        self.err = open(self.dir / "stderr.log", "w")
        self.proc = subprocess.Popen(
            [str(_binary("tinybms-bridge")), "--uart", uart, "--can", can_spec,
             "--data-dir", str(self.dir), "--config", str(self.dir / "config.json")],
            stdout=self.out, stderr=self.err)

    def stop(self):
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            self.proc.wait(10)
        self.out.close()
        self.err.close()
        return self.proc.returncode

    def stderr(self):
        return (self.dir / "stderr.log").read_text()

    def summary(self):
        text = (self.dir / "stdout.log").read_text()
        line = [ln for ln in text.splitlines() if ln.startswith("summary ")][-1]
        return {k: v for k, v in (w.split("=", 1) for w in line.split()[1:])}


@pytest.fixture
def rig(tmp_path):
    """socat pairs for the UART and the CAN link; everything is stopped at teardown."""
    made = {"uart": SocatPair(tmp_path, "uart"), "can": SocatPair(tmp_path, "can")}
    cleanup = []
    made["cleanup"] = cleanup
    yield made
    for fn in reversed(cleanup):
        try:
            fn()
        except Exception:  # noqa: BLE001 - teardown must go on
            pass
    made["uart"].close()
    made["can"].close()


def decode_351(d):
    cvl, ccl, dcl, dvl = struct.unpack("<HhhH", d)
    return cvl / 10, ccl / 10, dcl / 10, dvl / 10


def test_pymodbus_tinybms_values_reach_the_gx(rig, tmp_path):
    peer = ModbusPeer(rig["uart"].b)
    peer.start()
    rig["cleanup"].append(peer.kill)
    bridge = Bridge(tmp_path, rig["uart"].a, "slcan:" + rig["can"].a)
    rig["cleanup"].append(bridge.stop)
    gx = Gx(rig["can"].b)
    rig["cleanup"].append(gx.close)

    assert wait_for(lambda: {0x351, 0x355, 0x356, 0x35A, 0x373, 0x379} <= set(gx.ids()), 10), \
        bridge.stderr()

    cvl, ccl, dcl, dvl = decode_351(gx.last(0x351))
    assert cvl == pytest.approx(55.2)  # 16 x 3.45 V, under the 3.65 V cutoff less 0.1 V
    assert ccl == pytest.approx(50.0)  # configured 50 A, under the BMS's 80 A cutoff
    assert dcl == pytest.approx(100.0)
    assert dvl == pytest.approx(46.4)

    soc, soh, soc_hires = struct.unpack("<HHH", gx.last(0x355)[:6])
    assert soc == round(EXPECTED["soc_pct"])
    assert soh == 98
    assert soc_hires == round(EXPECTED["soc_pct"] * 100)

    v, i, t = struct.unpack("<hhh", gx.last(0x356)[:6])
    assert v / 100 == pytest.approx(EXPECTED["pack_v"], abs=0.01)
    assert i / 10 == pytest.approx(EXPECTED["current_a"], abs=0.1)
    assert t / 10 == pytest.approx(EXPECTED["temp1_c"])  # sensor 2 absent, not -3276.8

    a = gx.last(0x35A)
    assert a[0] & 0x0C == 0x08 and a[0] & 0x30 == 0x20  # high/low voltage pairs: OK (0b10)

    vmin, vmax, tmin_k, tmax_k = struct.unpack("<HHHH", gx.last(0x373))
    assert (vmin, vmax) == (min(EXPECTED["cells_mv"]), max(EXPECTED["cells_mv"]))
    assert tmin_k == 273 + 25
    assert struct.unpack("<H", gx.last(0x379)[:2])[0] == EXPECTED["capacity_ah"]
    assert gx.last(0x35E).rstrip(b"\0") == b"TinyBMS"

    assert 0x305 not in gx.ids() and 0x307 not in gx.ids()
    assert bridge.stop() == 0
    s = bridge.summary()
    assert int(s["uart_success"]) > 0
    assert int(s["decode_errors"]) == 0


def test_keepalive_from_gx_is_supervised(rig, tmp_path):
    peer = ModbusPeer(rig["uart"].b)
    peer.start()
    rig["cleanup"].append(peer.kill)
    bridge = Bridge(tmp_path, rig["uart"].a, "slcan:" + rig["can"].a)
    rig["cleanup"].append(bridge.stop)
    gx = Gx(rig["can"].b)
    rig["cleanup"].append(gx.close)
    assert wait_for(lambda: 0x351 in gx.ids(), 10)
    for _ in range(6):
        gx.send(0x305, bytes(8))
        time.sleep(0.25)
    assert wait_for(lambda: "GX keepalive (0x305) received" in bridge.stderr(), 3)
    # silence for longer than keepalive_timeout_ms (1000 in this test's config)
    assert wait_for(lambda: "GX keepalive (0x305) lost" in bridge.stderr(), 4)
    assert bridge.stop() == 0
    s = bridge.summary()
    assert int(s["keepalive_rx"]) == 6
    assert s["keepalive_ok"] == "0"
    assert 0x305 not in gx.ids()


def test_killing_the_bms_stops_battery_frames_and_restarting_resumes(rig, tmp_path):
    peer = ModbusPeer(rig["uart"].b)
    peer.start()
    rig["cleanup"].append(peer.kill)
    bridge = Bridge(tmp_path, rig["uart"].a, "slcan:" + rig["can"].a)
    rig["cleanup"].append(bridge.stop)
    gx = Gx(rig["can"].b)
    rig["cleanup"].append(gx.close)
    assert wait_for(lambda: len(gx.times(0x351)) >= 2, 10)

    killed = time.monotonic()
    peer.kill()
    time.sleep(2.0 + 2.0)  # bms_timeout_ms 2000, then watch a while
    last = max(gx.times(0x351))
    assert last - killed <= 2.0 + 1.0, f"0x351 still sent {last - killed:.2f} s after the BMS died"
    quiet_from = time.monotonic()
    time.sleep(1.0)
    assert not [i for i in gx.ids(since=quiet_from)], "frames sent while the data is stale"
    assert "battery frames STOPPED" in bridge.stderr()

    peer.start()
    resumed_from = time.monotonic()
    assert wait_for(lambda: 0x351 in gx.ids(since=resumed_from), 5), bridge.stderr()
    assert bridge.stop() == 0
    assert int(bridge.summary()["stale_events"]) == 1


def test_simulator_pty_drives_the_bridge(rig, tmp_path, tinybms_sim):
    sim = tinybms_sim("--no-sleep")
    bridge = Bridge(tmp_path, sim.path, "slcan:" + rig["can"].a)
    rig["cleanup"].append(bridge.stop)
    gx = Gx(rig["can"].b)
    rig["cleanup"].append(gx.close)
    assert wait_for(lambda: {0x351, 0x355, 0x356} <= set(gx.ids()), 10), bridge.stderr()
    v, i, t = struct.unpack("<hhh", gx.last(0x356)[:6])
    assert 16 * 2.5 < v / 100 < 16 * 3.65
    soc = struct.unpack("<H", gx.last(0x355)[:2])[0]
    assert 0 <= soc <= 100
    cvl = decode_351(gx.last(0x351))[0]
    assert cvl <= 16 * 3.65
    assert bridge.stop() == 0
    s = bridge.summary()
    assert int(s["uart_crc_errors"]) == 0 and int(s["uart_success"]) > 10
    print("UART cycle against tinybms-sim:", {k: s[k] for k in s if k.startswith(("uart", "lat"))})


def test_sleeping_bms_first_request_lost_recovers_without_stale_period(rig, tmp_path, tinybms_sim):
    # The simulator sleeps after 300 ms of UART silence; by the time the bridge starts it is
    # asleep, swallows the first request (tinybms-uart.md section 1) and answers the resend.
    sim = tinybms_sim("--sleep-after-ms", "300", "--current-a", "0")  # sleep needs |I| small
    time.sleep(1.0)
    bridge = Bridge(tmp_path, sim.path, "slcan:" + rig["can"].a)
    rig["cleanup"].append(bridge.stop)
    gx = Gx(rig["can"].b)
    rig["cleanup"].append(gx.close)
    assert wait_for(lambda: 0x351 in gx.ids(), 5), bridge.stderr()
    time.sleep(1.5)
    assert bridge.stop() == 0
    s = bridge.summary()
    assert int(s["uart_timeouts"]) == 1, s
    assert int(s["uart_retries"]) == 1, s
    assert int(s["uart_failures"]) == 0, s
    assert int(s["stale_events"]) == 0, s
    assert s["state"] == "valid"


def run_bridge_once(tmp_path, *args):
    return subprocess.run([str(_binary("tinybms-bridge")), "--data-dir", str(tmp_path / "d"),
                           *args], capture_output=True, text=True, timeout=20)


def test_missing_serial_device_exits_1_with_a_clear_message(tmp_path):
    res = run_bridge_once(tmp_path, "--uart", "/dev/ttyNOPE9", "--can", "log:-")
    assert res.returncode == 1
    assert "cannot open the TinyBMS serial port" in res.stderr
    assert "/dev/ttyNOPE9" in res.stderr


def test_unusable_can_interface_exits_1_with_a_clear_message(tmp_path):
    res = run_bridge_once(tmp_path, "--simulate", "--can", "socketcan:can7")
    assert res.returncode == 1
    assert "cannot open the CAN interface 'socketcan:can7'" in res.stderr
    res = run_bridge_once(tmp_path, "--simulate", "--can", "carrier-pigeon:1")
    assert res.returncode in (1, 2)
    assert "carrier-pigeon" in res.stderr


def test_bad_configuration_exits_2_naming_the_key_and_changes_nothing(tmp_path):
    cfg = tmp_path / "bad.json"
    original = '{"victron": {"thresholds": {"overtemp_c": 300}}}'
    cfg.write_text(original)
    res = run_bridge_once(tmp_path, "--simulate", "--can", "log:-", "--config", str(cfg))
    assert res.returncode == 2
    assert "victron.thresholds.overtemp_c" in res.stderr
    assert cfg.read_text() == original
    res = run_bridge_once(tmp_path, "--simulate", "--frobnicate")
    assert res.returncode == 2


def test_missing_config_is_created_with_defaults_and_help_lists_every_flag(tmp_path):
    res = run_bridge_once(tmp_path, "--simulate", "--can", "log:-", "--duration", "0.5")
    assert res.returncode == 0, res.stderr
    cfg = json.loads((tmp_path / "d" / "config.json").read_text())
    assert cfg["hardware"]["uart"]["baudrate"] == 115200
    assert cfg["hardware"]["can"]["bitrate"] == 500000
    assert "351#" in res.stdout  # candump -L lines on stdout
    text = subprocess.run([str(_binary("tinybms-bridge")), "--help"], capture_output=True,
                          text=True, timeout=5).stdout
    for flag in ("--uart", "--baud", "--can", "--simulate", "--config", "--data-dir",
                 "--duration", "--print-frames", "--log-level", "--help", "--version"):
        assert flag in text


def test_sigterm_stops_the_bridge_cleanly(tmp_path):
    proc = subprocess.Popen([str(_binary("tinybms-bridge")), "--simulate", "--can", "log:-",
                             "--data-dir", str(tmp_path / "d")],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    time.sleep(1.0)
    proc.send_signal(signal.SIGTERM)
    out, err = proc.communicate(timeout=10)
    assert proc.returncode == 0
    assert "stopping on signal" in err
    assert "summary " in out
