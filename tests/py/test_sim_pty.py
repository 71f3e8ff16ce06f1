"""build/tinybms-sim on a pseudo-terminal, driven by independent peers: pymodbus's serial
RTU client (slave id 0xAA, as real TinyBMS users do) and raw pyserial for what a stock
Modbus master cannot see (the TinyBMS NACK frame, the sleep wake-up, broadcast)."""
import os
import struct
import subprocess
import sys
import time
import types

import pytest
import serial

try:
    import serial_asyncio  # noqa: F401
except ImportError:
    # Debian's python3-pymodbus 3.0.0 imports serial_asyncio when the client package loads,
    # but only its asyncio client uses it and the package does not depend on
    # python3-serial-asyncio. The synchronous client used here never touches it.
    def _no_async_serial(*_args, **_kwargs):
        raise RuntimeError("python3-serial-asyncio is not installed")

    sys.modules["serial_asyncio"] = types.SimpleNamespace(
        create_serial_connection=_no_async_serial)

from pymodbus.client import ModbusSerialClient  # noqa: E402

from conftest import BUILD, parse_frame_line

TINYBMS_UNIT = 0xAA


def f32(lo, hi):
    """Two registers, low word first (tinybms-uart.md section 2), as an IEEE-754 float."""
    return struct.unpack("<f", struct.pack("<HH", lo, hi))[0]


def crc16(data):
    crc = 0xFFFF
    for b in data:
        crc ^= b
        for _ in range(8):
            crc = (crc >> 1) ^ 0xA001 if crc & 1 else crc >> 1
    return bytes([crc & 0xFF, crc >> 8])


def read_request(addr, count):
    body = bytes([0xAA, 0x03, addr >> 8, addr & 0xFF, 0, count])
    return body + crc16(body)


@pytest.fixture
def modbus():
    """Factory: a connected pymodbus serial client on a pty path; closed at teardown."""
    clients = []

    def connect(path):
        client = ModbusSerialClient(port=path, baudrate=115200, timeout=1, retries=0)
        assert client.connect()
        clients.append(client)
        return client

    yield connect
    for client in clients:
        client.close()


def read(client, addr, count):
    rr = client.read_holding_registers(addr, count, slave=TINYBMS_UNIT)
    assert not rr.isError(), rr
    assert len(rr.registers) == count
    return rr.registers


class Raw:
    """The pty opened with pyserial: whole frames out, whatever arrives back."""

    def __init__(self, path):
        self.port = serial.Serial(path, 115200, timeout=0.05)

    def ask(self, frame, wait=0.5, expect=None):
        self.port.reset_input_buffer()
        self.port.write(frame)
        return self.collect(wait, expect)

    def collect(self, wait, expect=None):
        got = b""
        end = time.monotonic() + wait
        while time.monotonic() < end:
            got += self.port.read(4096)
            if expect is not None and len(got) >= expect:
                break
        return got

    def close(self):
        self.port.close()


@pytest.fixture
def raw():
    ports = []

    def open_raw(path):
        r = Raw(path)
        ports.append(r)
        return r

    yield open_raw
    for r in ports:
        r.close()


def test_live_block_and_settings_read_by_pymodbus(tinybms_sim, modbus):
    sim = tinybms_sim("--no-sleep", "--soc", 60, "--seed", 7)
    client = modbus(sim.path)
    regs = read(client, 0, 56)
    cells = regs[0:16]
    assert regs[53] == 16
    assert all(30000 <= c <= 35000 for c in cells), cells  # 3.0..3.5 V around 60 % SOC
    assert len(set(cells)) > 1  # cells differ
    pack_v = f32(regs[36], regs[37])
    assert abs(pack_v - sum(cells) / 10000) < 0.01
    assert 40 < pack_v < 58
    current_a = f32(regs[38], regs[39])
    assert -200 < current_a < 200
    assert regs[40] == round(min(cells) / 10) and regs[41] == round(max(cells) / 10)
    soc_pct = (regs[46] | regs[47] << 16) / 1e6
    assert 55 <= soc_pct <= 65
    assert regs[50] in (0x91, 0x92, 0x93, 0x97)
    assert 0 < regs[42] < 600 and 0 < regs[48] < 600  # 0.1 degC

    s = dict(zip(range(300, 344), read(client, 300, 44)))
    assert s[316] <= s[301] - 10
    assert s[301] <= s[300] - 10
    assert s[300] <= s[315] - 10
    assert s[305] > s[317]
    assert s[307] == 16 and s[306] == 28000
    assert s[328] == 0xFFFF

    ver = read(client, 500, 10)
    assert ver[0] == 0x0102  # HW 2.1


def test_settings_write_reads_back_and_bad_write_gets_tinybms_nack(tinybms_sim, modbus, raw, tool):
    sim = tinybms_sim("--no-sleep")
    client = modbus(sim.path)
    wr = client.write_registers(308, [25], slave=TINYBMS_UNIT)
    assert not wr.isError(), wr
    assert read(client, 308, 1) == [25]
    wr = client.write_registers(315, [3800, 2600], slave=TINYBMS_UNIT)
    assert not wr.isError(), wr
    assert read(client, 315, 2) == [3800, 2600]
    client.close()

    port = raw(sim.path)
    # 300 = 3795 breaks 300 <= 315 - 10: the whole write is refused with AA 00 10 00.
    reply = port.ask(tool.frame("write", 300, 3795), expect=6)
    assert reply == bytes([0xAA, 0x00, 0x10, 0x00]) + crc16(bytes([0xAA, 0x00, 0x10, 0x00]))
    fields = parse_frame_line(tool.parse_response(reply)[0])
    assert fields["kind"] == "nack"
    # Outside 300..343 is read-only.
    assert port.ask(tool.frame("write", 36, 1), expect=6)[:4] == bytes([0xAA, 0x00, 0x10, 0x00])
    reply = port.ask(read_request(300, 1), expect=7)
    assert struct.unpack(">H", reply[3:5])[0] == 3550


def test_bad_crc_gets_crc_error_nack(tinybms_sim, raw):
    sim = tinybms_sim("--no-sleep")
    port = raw(sim.path)
    bad = bytearray(read_request(0, 16))
    bad[-1] ^= 0x55
    reply = port.ask(bytes(bad), expect=6)
    assert reply == bytes([0xAA, 0x00, 0x03, 0x01]) + crc16(bytes([0xAA, 0x00, 0x03, 0x01]))
    assert len(port.ask(read_request(0, 16), expect=37)) == 37


def test_14_cells_are_top_aligned(tinybms_sim, modbus):
    sim = tinybms_sim("--no-sleep", "--cells", 14, "--capacity-ah", 66)
    regs = read(modbus(sim.path), 0, 56)
    assert regs[0] == 0 and regs[1] == 0
    assert all(regs[i] > 25000 for i in range(2, 16))
    assert regs[53] == 14
    assert abs(f32(regs[36], regs[37]) - sum(regs[2:16]) / 10000) < 0.01


def test_sleeping_bms_ignores_the_first_request_and_answers_the_retry(tinybms_sim, raw):
    sim = tinybms_sim("--sleep-after-ms", 1500, "--current-a", 0)
    port = raw(sim.path)
    time.sleep(2.0)  # UART idle > sleep timeout, 0 A: asleep
    req = read_request(114, 1)
    assert port.ask(req, wait=0.4) == b""  # the retry must come before it sleeps again
    reply = port.ask(req, expect=7)
    assert len(reply) == 7 and reply[:3] == bytes([0xAA, 0x03, 0x02])
    assert reply[3] == 3  # reg 114 high byte: woken by UART communication
    # Polled faster than the timeout it stays awake.
    for _ in range(4):
        time.sleep(0.1)
        assert len(port.ask(req, expect=7)) == 7


def test_no_sleep_option_keeps_it_awake(tinybms_sim, raw):
    sim = tinybms_sim("--no-sleep", "--sleep-after-ms", 100, "--current-a", 0)
    port = raw(sim.path)
    time.sleep(0.5)
    assert len(port.ask(read_request(0, 1), expect=7)) == 7


def test_time_scale_and_fixed_current_move_soc(tinybms_sim, modbus):
    sim = tinybms_sim("--no-sleep", "--soc", 50, "--current-a", 56, "--time-scale", 360)
    client = modbus(sim.path)
    regs = read(client, 36, 12)
    soc0 = (regs[10] | regs[11] << 16) / 1e6
    assert abs(f32(regs[2], regs[3]) - 56.0) < 0.01
    time.sleep(2.0)  # 720 model seconds at 56 A: +4 % of 280 Ah
    regs = read(client, 46, 2)
    soc1 = (regs[0] | regs[1] << 16) / 1e6
    assert 2.0 < soc1 - soc0 < 6.0


def test_broadcast_lines_come_between_answers(tinybms_sim, raw):
    sim = tinybms_sim("--no-sleep", "--broadcast")
    port = raw(sim.path)
    lines = port.collect(2.5)
    assert b"BPV:" in lines and b"MINCV:" in lines and lines.count(b"\r\n") >= 2
    req = read_request(53, 1)
    reply = port.ask(req, wait=0.3)
    frame = bytes([0xAA, 0x03, 0x02, 0x00, 0x10])
    assert frame + crc16(frame) in reply


def timed_answer(port, frame, length):
    """Writes frame, reads until `length` bytes came back; returns the seconds from just
    before the write to just after the last byte (time.monotonic, the simulator's clock)."""
    port.port.reset_input_buffer()
    got = b""
    t0 = time.monotonic()
    port.port.write(frame)
    while len(got) < length and time.monotonic() < t0 + 5.0:
        got += port.port.read(length - len(got))  # returns as soon as that many are in
    t1 = time.monotonic()
    assert len(got) == length, got.hex()
    return t1 - t0, got


@pytest.mark.parametrize("latency", ["15-40", "20"])
def test_latency_option_never_answers_before_min(tinybms_sim, raw, latency):
    """--latency-ms MIN[-MAX]: an answer never leaves less than MIN ms after its request came
    in (the write starts before the simulator can see the request, the read ends after the
    answer left). Only the lower bound is checked: on a loaded machine the answer may come
    later than MAX; the spread of the delays is tested in test_tbms_sim.c on a fake clock."""
    lo_ms = int(latency.split("-")[0])
    sim = tinybms_sim("--no-sleep", "--latency-ms", latency, "--seed", 3)
    port = raw(sim.path)
    delays = []
    for _ in range(25):
        dt, got = timed_answer(port, read_request(0, 56), 5 + 2 * 56)
        assert got[:3] == bytes([0xAA, 0x03, 112])
        delays.append(dt)
    print(f"\n--latency-ms {latency}: answers after {1000 * min(delays):.1f} .. "
          f"{1000 * max(delays):.1f} ms (median {1000 * sorted(delays)[12]:.1f})")
    assert min(delays) >= lo_ms / 1000, delays
    # Half-duplex, in order: a second request sent with the first is taken up only when the
    # first answer has left, so its answer comes no sooner than 2 x MIN after the write.
    two = read_request(53, 1) + read_request(0, 2)
    dt, got = timed_answer(port, two, 7 + 9)
    first = bytes([0xAA, 0x03, 0x02, 0x00, 0x10])
    assert got[:7] == first + crc16(first) and got[7:10] == bytes([0xAA, 0x03, 0x04])
    assert dt >= 2 * lo_ms / 1000, dt


def test_link_option_and_sigterm_exit_cleanly(tinybms_sim, tmp_path):
    link = tmp_path / "tinybms"
    sim = tinybms_sim("--no-sleep", "--link", link)
    assert os.path.islink(link) and os.readlink(link) == sim.path
    assert sim.stop() == 0
    assert not os.path.lexists(link)


def test_help_version_and_bad_options():
    exe = BUILD / "tinybms-sim"
    res = subprocess.run([str(exe), "--help"], capture_output=True, text=True, timeout=5)
    assert res.returncode == 0 and "--pty" in res.stdout and "--latency-ms MIN[-MAX]" in res.stdout
    res = subprocess.run([str(exe), "--version"], capture_output=True, text=True, timeout=5)
    assert res.returncode == 0 and res.stdout.startswith("tinybms-sim ")
    for args in (["--pty", "--cells", "3"], ["--pty", "--soc", "abc"], ["--bogus"], [],
                 ["--pty", "--latency-ms", "25-2"], ["--pty", "--latency-ms", "10001"],
                 ["--pty", "--latency-ms", "5-"]):
        res = subprocess.run([str(exe), *args], capture_output=True, text=True, timeout=5)
        assert res.returncode == 2, args
        assert res.stderr.startswith("tinybms-sim: "), res.stderr


def pack_current(port):
    """Reg 38-39 (FLOAT A) read over one pack's pty."""
    got = port.ask(read_request(38, 2), expect=9)
    assert len(got) == 9 and got[:3] == bytes([0xAA, 0x03, 4]), got.hex()
    lo, hi = struct.unpack(">HH", got[3:7])
    return f32(lo, hi)


def test_packs_serve_a_bank_on_one_bus_with_stdin_commands(raw):
    exe = BUILD / "tinybms-sim"
    proc = subprocess.Popen([str(exe), "--pty", "--packs", "3", "--no-sleep", "--current-a", "50"],
                            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True)
    try:
        paths = [proc.stdout.readline().strip() for _ in range(3)]
        assert all(p.startswith("/") for p in paths) and len(set(paths)) == 3, paths
        ports = [raw(p) for p in paths]
        amps = [pack_current(p) for p in ports]
        assert abs(sum(amps) - 50.0) < 0.01, amps
        assert max(amps) - min(amps) > 1.0  # mismatched packs share unequally

        proc.stdin.write("open 2\n")
        proc.stdin.flush()
        time.sleep(0.3)
        amps = [pack_current(p) for p in ports]
        assert amps[1] == 0.0 and abs(amps[0] + amps[2] - 50.0) < 0.01, amps

        proc.stdin.write("close 2\nmute 3\n")
        proc.stdin.flush()
        time.sleep(0.3)
        assert ports[2].ask(read_request(38, 2), wait=0.3) == b""
        assert pack_current(ports[1]) != 0.0
    finally:
        proc.terminate()
        _, err = proc.communicate(timeout=5)
    assert proc.returncode == 0, err
    assert "pack 2 switch open" in err and "pack 3 UART muted" in err, err
    res = subprocess.run([str(exe), "--pty", "--packs", "5"], capture_output=True, text=True,
                         timeout=5)
    assert res.returncode == 2 and "--packs" in res.stderr
    res = subprocess.run([str(exe), "--pty", "--packs", "2", "--link", "/tmp/x"],
                         capture_output=True, text=True, timeout=5)
    assert res.returncode == 2 and "--link" in res.stderr
