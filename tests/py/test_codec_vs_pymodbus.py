"""Cross-check of our TinyBMS Modbus framing against an independent implementation:
pymodbus's RTU framer (Debian python3-pymodbus). The TinyBMS answers the Modbus
functions 0x03/0x10 with 0xAA in the slave-id position (tinybms-uart.md section 1)."""
import random

import pytest
from pymodbus.factory import ClientDecoder, ServerDecoder
from pymodbus.framer.rtu_framer import ModbusRtuFramer
from pymodbus.register_read_message import (ReadHoldingRegistersRequest,
                                            ReadHoldingRegistersResponse)
from pymodbus.register_write_message import (WriteMultipleRegistersRequest,
                                             WriteMultipleRegistersResponse)

from conftest import parse_frame_line

TINYBMS_UNIT = 0xAA


def pymodbus_decode_request(data):
    """Feeds raw bytes to pymodbus's server-side RTU framer; returns the requests it accepts."""
    framer = ModbusRtuFramer(ServerDecoder())
    got = []
    framer.processIncomingPacket(data, got.append, unit=TINYBMS_UNIT)
    return got


def pymodbus_build_response(message):
    message.unit_id = TINYBMS_UNIT
    return ModbusRtuFramer(ClientDecoder()).buildPacket(message)


BLOCKS = [(0, 56), (300, 44), (500, 10), (5, 5), (32, 21), (0, 1), (0, 127), (65535, 1)]
rng = random.Random(20261124)
BLOCKS += [(a, rng.randint(1, min(127, 65536 - a))) for a in (rng.randrange(0, 65536) for _ in range(40))]


@pytest.mark.parametrize("addr,count", BLOCKS)
def test_our_read_request_is_accepted_by_pymodbus(tool, addr, count):
    frame = tool.frame("read", addr, count)
    reqs = pymodbus_decode_request(frame)
    assert len(reqs) == 1
    req = reqs[0]
    assert isinstance(req, ReadHoldingRegistersRequest)
    assert (req.address, req.count, req.unit_id) == (addr, count, TINYBMS_UNIT)


WRITES = [(315, [4200, 2500]), (300, [3650]), (300, list(range(100))),
          (306, [rng.randrange(0, 65536) for _ in range(7)])]


@pytest.mark.parametrize("addr,values", WRITES)
def test_our_write_request_is_accepted_by_pymodbus(tool, addr, values):
    frame = tool.frame("write", addr, *values)
    reqs = pymodbus_decode_request(frame)
    assert len(reqs) == 1
    req = reqs[0]
    assert isinstance(req, WriteMultipleRegistersRequest)
    assert req.address == addr
    assert list(req.values) == values


def test_vendor_example_frames_are_what_pymodbus_builds():
    # Vendor doc Rev D 1.3.1 / 1.3.2: pymodbus builds the same bytes, so the
    # examples really are plain Modbus RTU with slave id 0xAA.
    req = ReadHoldingRegistersRequest(5, 5)
    assert pymodbus_build_response(req) == bytes.fromhex("AA 03 00 05 00 05 8C 13")
    req = WriteMultipleRegistersRequest(315, [4200, 2500])
    assert pymodbus_build_response(req) == bytes.fromhex("AA 10 01 3B 00 02 04 10 68 09 C4 19 61")


@pytest.mark.parametrize("count", [1, 5, 10, 44, 56, 98, 127])
def test_pymodbus_read_response_parses_to_the_same_registers(tool, count):
    values = [rng.randrange(0, 65536) for _ in range(count)]
    raw = pymodbus_build_response(ReadHoldingRegistersResponse(values))
    lines = tool.parse_response(raw)
    assert len(lines) == 1, lines
    fields = parse_frame_line(lines[0])
    assert fields["cmd"] == "0x03"
    assert fields["regs"] == values


def test_pymodbus_write_response_parses_to_the_same_block(tool):
    raw = pymodbus_build_response(WriteMultipleRegistersResponse(315, 2))
    assert raw == bytes.fromhex("AA 10 01 3B 00 02 28 22")  # vendor doc 1.3.1 reply
    fields = parse_frame_line(tool.parse_response(raw)[0])
    assert (fields["cmd"], fields["addr"], fields["count"]) == ("0x10", "315", "2")


def test_pymodbus_response_with_a_corrupt_byte_is_rejected(tool):
    values = list(range(1000, 1056))
    raw = bytearray(pymodbus_build_response(ReadHoldingRegistersResponse(values)))
    raw[20] ^= 0x01
    lines = tool.parse_response(bytes(raw))
    assert "error CRC mismatch" in lines
    assert not any(line.startswith("frame") for line in lines)


def test_pymodbus_responses_back_to_back_after_ascii_garbage(tool):
    a = [rng.randrange(0, 65536) for _ in range(56)]
    b = [rng.randrange(0, 65536) for _ in range(10)]
    raw = (b"BPV:53.12\tMINCV:3.301\r\n" + pymodbus_build_response(ReadHoldingRegistersResponse(a))
           + pymodbus_build_response(ReadHoldingRegistersResponse(b)))
    lines = tool.parse_response(raw)
    frames = [parse_frame_line(line) for line in lines if line.startswith("frame")]
    assert [f["regs"] for f in frames] == [a, b]
    assert "garbage 23" in lines
