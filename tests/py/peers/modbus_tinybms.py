"""A TinyBMS stand-in built on pymodbus: an RTU server with slave id 0xAA on a serial
port (a socat pty), holding a known 16S LFP register image. It answers standard
Modbus 0x03/0x10 like a TinyBMS; TinyBMS-only behaviour (sleep, error frames) is not
emulated (test-peers.md).

usage: modbus_tinybms.py PORT [--control]

With --control the registers can be changed while it runs, one command a line on stdin,
each acknowledged by a line "ok" on stdout once it is in effect (or "error ..."):
  set ADDR V1 [V2 ...]   holding registers ADDR, ADDR+1, ... (16-bit words), all at once
  mute / unmute          stop / resume answering (requests are read and dropped, the pty
                         stays open: a TinyBMS whose UART went silent)
"""
import struct
import sys
import threading

from pymodbus.datastore import (ModbusSequentialDataBlock, ModbusServerContext,
                                ModbusSlaveContext)
from pymodbus.exceptions import NoSuchSlaveException
from pymodbus.server import StartSerialServer
from pymodbus.transaction import ModbusRtuFramer

TINYBMS_UNIT = 0xAA


def f32_words(value):
    """IEEE-754 single as two registers, LOW word first (tinybms-uart.md section 2)."""
    (bits,) = struct.unpack("<I", struct.pack("<f", value))
    return [bits & 0xFFFF, bits >> 16]


def u32_words(value):
    return [value & 0xFFFF, value >> 16]


# What the test expects the bridge to decode from this image.
EXPECTED = {
    "cells_mv": [3300 + i for i in range(16)],
    "pack_v": 52.92,
    "current_a": -12.5,
    "soc_pct": 76.54321,
    "temp1_c": 25.0,
    "internal_c": 30.0,
    "capacity_ah": 200,
}


def register_image():
    regs = [0] * 600
    for i, mv in enumerate(EXPECTED["cells_mv"]):
        regs[i] = mv * 10  # 0.1 mV
    regs[32:34] = u32_words(1234567)
    regs[34:36] = u32_words(36000)
    regs[36:38] = f32_words(EXPECTED["pack_v"])
    regs[38:40] = f32_words(EXPECTED["current_a"])
    regs[40] = min(EXPECTED["cells_mv"])
    regs[41] = max(EXPECTED["cells_mv"])
    regs[42] = int(EXPECTED["temp1_c"] * 10)
    regs[43] = 0x8000  # sensor 2 not connected
    regs[45] = 49000  # SOH 98 %
    regs[46:48] = u32_words(int(EXPECTED["soc_pct"] * 1e6))
    regs[48] = int(EXPECTED["internal_c"] * 10)
    regs[50] = 0x93  # discharging
    regs[53] = 16
    settings = {300: 3550, 301: 2900, 303: 3400, 304: 1000, 306: EXPECTED["capacity_ah"] * 100,
                307: 16, 308: 15, 315: 3650, 316: 2800, 317: 150, 318: 80, 319: 60, 320: 0,
                328: 0xFFFF}
    for addr, value in settings.items():
        regs[addr] = value
    regs[500:504] = [0x0102, 0x0301, 242, 0x0418]
    return regs


class LockedBlock(ModbusSequentialDataBlock):
    """A block whose reads and writes are atomic against the control thread: a request never
    sees half of a multi-register change (a float, or cells with their min/max)."""

    def __init__(self, address, values):
        super().__init__(address, values)
        self.lock = threading.Lock()

    def getValues(self, address, count=1):  # noqa: N802 - pymodbus API
        with self.lock:
            return super().getValues(address, count)

    def setValues(self, address, values):  # noqa: N802 - pymodbus API
        with self.lock:
            super().setValues(address, values)


class MutableContext(ModbusServerContext):
    """The server context; while muted, every unit is missing, so (with ignore_missing_slaves)
    the request is read and no answer goes out."""

    muted = False

    def __getitem__(self, slave):
        if self.muted:
            raise NoSuchSlaveException("muted")
        return super().__getitem__(slave)


def control(block, context):
    for line in sys.stdin:
        words = line.split()
        try:
            if words and words[0] == "set" and len(words) >= 3:
                block.setValues(int(words[1], 0), [int(w, 0) & 0xFFFF for w in words[2:]])
            elif words == ["mute"]:
                context.muted = True
            elif words == ["unmute"]:
                context.muted = False
            else:
                raise ValueError(f"unknown command {line.strip()!r}")
        except ValueError as e:
            print(f"error {e}", flush=True)
            continue
        print("ok", flush=True)


def main():
    port = sys.argv[1]
    controlled = sys.argv[2:] == ["--control"]
    block = LockedBlock(0, register_image())
    slave = ModbusSlaveContext(hr=block, zero_mode=True)
    context = MutableContext(slaves={TINYBMS_UNIT: slave}, single=False)
    if controlled:
        threading.Thread(target=control, args=(block, context), daemon=True).start()
    print("ready", flush=True)
    StartSerialServer(context=context, framer=ModbusRtuFramer, port=port, baudrate=115200,
                      timeout=0.05, ignore_missing_slaves=controlled)


if __name__ == "__main__":
    main()
