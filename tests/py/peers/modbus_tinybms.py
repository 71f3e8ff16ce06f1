"""A TinyBMS stand-in built on pymodbus: an RTU server with slave id 0xAA on a serial
port (a socat pty), holding a known 16S LFP register image. It answers standard
Modbus 0x03/0x10 like a TinyBMS; TinyBMS-only behaviour (sleep, error frames) is not
emulated (test-peers.md).

usage: modbus_tinybms.py PORT
"""
import struct
import sys

from pymodbus.datastore import (ModbusSequentialDataBlock, ModbusServerContext,
                                ModbusSlaveContext)
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


def main():
    port = sys.argv[1]
    block = ModbusSequentialDataBlock(0, register_image())
    slave = ModbusSlaveContext(hr=block, zero_mode=True)
    context = ModbusServerContext(slaves={TINYBMS_UNIT: slave}, single=False)
    print("ready", flush=True)
    StartSerialServer(context=context, framer=ModbusRtuFramer, port=port, baudrate=115200,
                      timeout=0.05)


if __name__ == "__main__":
    main()
