"""Shared fixtures for the Python peer tests (run with Debian's /usr/bin/python3)."""
import os
import pathlib
import subprocess

import pytest

ROOT = pathlib.Path(__file__).resolve().parents[2]
BUILD = pathlib.Path(os.environ.get("TBVB_BUILD", ROOT / "build"))


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
