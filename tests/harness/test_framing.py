"""Frame codec: the host decoder, and the firmware's C codec compiled for the host."""

import shutil
import struct
import subprocess
import zlib

import pytest

from tinyml.harness import framing as fr
from tinyml.resources import data_dir


def test_roundtrip_and_crc_is_zlibs():
    wire = fr.encode(fr.CMD_INFO, 7, b"abc")
    assert wire[:2] == fr.MAGIC and wire[-4:] == zlib.crc32(wire[2:-4]).to_bytes(4, "little")
    assert fr.decode_all(wire) == [fr.Frame(fr.CMD_INFO, 7, b"abc")]


def test_garbage_is_skipped():
    d = fr.Decoder()
    frames = d.feed(b"\x00\xa5junk\xa5" + fr.encode(3, 1, b"x") + b"\xff\xff" + fr.encode(4, 2))
    assert [(f.cmd, f.seq) for f in frames] == [(3, 1), (4, 2)]
    assert d.skipped >= 8


def test_corrupted_frame_is_flagged_and_the_next_one_found():
    bad = bytearray(fr.encode(3, 1, b"hello"))
    bad[8] ^= 0x40
    frames = fr.decode_all(bytes(bad) + fr.encode(4, 2, b"ok"))
    assert [f.crc_ok for f in frames] == [False, True] and frames[1].payload == b"ok"


def test_truncated_frame_does_not_hide_the_next():
    whole = fr.encode(3, 1, b"0123456789")
    frames = fr.decode_all(whole[:9] + fr.encode(4, 2, b"ok") + bytes(16))
    assert any(f.crc_ok and f.payload == b"ok" for f in frames)


def test_byte_by_byte_feeding():
    d = fr.Decoder()
    wire = fr.encode(5, 9, bytes(range(200)))
    got = [f for b in wire for f in d.feed(bytes([b]))]
    assert got == [fr.Frame(5, 9, bytes(range(200)))]


def test_oversized_length_resyncs():
    fake = fr.MAGIC + bytes([1, 1, 0xFF, 0xFF])
    assert fr.decode_all(fake + fr.encode(2, 3, b"z"))[-1] == fr.Frame(2, 3, b"z")


_STUB = r"""
#include <stdio.h>
#include <stdlib.h>
#include "tm_frame.h"
#include "tm_fw.h"
uint8_t tm_uart_getc(void) { int c = getchar(); if (c == EOF) exit(0); return (uint8_t)c; }
void tm_uart_write(const uint8_t *d, size_t n) { fwrite(d, 1, n, stdout); }
void tm_uart_putc(uint8_t c) { putchar(c); }
/* Echo every good frame back as its reply; NAK the bad ones, like the firmware. */
int main(void) {
    static tm_frame_t f;
    for (;;) {
        int bad = tm_frame_read(&f);
        if (bad) { uint8_t p[2] = {(uint8_t)bad, f.cmd}; tm_frame_send(TM_CMD_NAK, f.seq, p, 2); }
        else tm_frame_send((uint8_t)(f.cmd | TM_CMD_REPLY), f.seq, f.payload, f.len);
        fflush(stdout);
    }
}
"""


@pytest.fixture(scope="module")
def c_codec(tmp_path_factory):
    if shutil.which("gcc") is None:
        pytest.skip("needs gcc")
    tmp = tmp_path_factory.mktemp("codec")
    (tmp / "stub.c").write_text(_STUB)
    common = data_dir("firmware_templates") / "common"
    exe = tmp / "codec"
    subprocess.run(["gcc", "-std=gnu11", "-Wall", "-Wextra", "-Werror", f"-I{common}",
                    str(common / "tm_frame.c"), str(tmp / "stub.c"), "-o", str(exe)], check=True)
    return exe


def test_c_codec_agrees_with_python(c_codec):
    bad = bytearray(fr.encode(3, 4, b"corrupt me"))
    bad[7] ^= 1
    wire = (b"garbage" + fr.encode(1, 1, b"") + bytes(bad) + b"\xa5\x00"
            + fr.encode(2, 2, bytes(range(256)) * 4))
    out = subprocess.run([str(c_codec)], input=wire, capture_output=True, check=True).stdout
    frames = fr.decode_all(out)
    assert frames[0] == fr.Frame(0x81, 1, b"")
    assert frames[1].cmd == fr.CMD_NAK and frames[1].payload[0] == 1   # bad CRC
    assert frames[2] == fr.Frame(0x82, 2, bytes(range(256)) * 4)


# -- batch mode: the RESULT and STATS frames `tinyml run --board` reads back from the UART --
def _batch_outputs(frames, count=2):
    """Outputs of a firmware with one int8 [4] output, from (sample, output, offset), bytes."""
    from types import SimpleNamespace

    import numpy as np

    from tinyml.harness.model_dir import TensorInfo
    from tinyml.harness.qemu import _collect_outputs
    fw = SimpleNamespace(model=SimpleNamespace(outputs=(TensorInfo(np.dtype(np.int8), (4,), 4),)))
    return _collect_outputs(fw, [fr.Frame(fr.CMD_RESULT, 0, head if isinstance(head, bytes) else
                                          struct.pack("<IBI", *head) + data)
                                 for head, data in frames], count)


def test_result_frames_assemble_outputs():
    out = _batch_outputs([((0, 0, 0), b"\1\2"), ((0, 0, 2), b"\3\4"), ((1, 0, 0), b"\5\6\7\x08")])
    assert out[0].tolist() == [[1, 2, 3, 4], [5, 6, 7, 8]]


@pytest.mark.parametrize("head, data, match", [
    ((2, 0, 0), b"\0", "sample 2 of 2"),
    ((0, 1, 0), b"\0", "output 1 of 1"),
    ((0, 0, 3), b"\0\0", "bytes 3..5 of 4"),
])
def test_result_frames_out_of_bounds_are_harness_errors(head, data, match):
    from tinyml.harness.errors import HarnessError
    with pytest.raises(HarnessError, match=match):
        _batch_outputs([(head, data)])


def test_short_result_and_stats_frames_are_harness_errors():
    from tinyml.harness.errors import HarnessError
    from tinyml.harness.qemu import _collect_stats
    with pytest.raises(HarnessError, match="less than its 9-byte header"):
        _batch_outputs([(b"\0\0", b"")])
    for payload, match in ((b"\0", "has 1 bytes"), (b"\5\0\0\0" + bytes(17), "sample 5 of 1"),
                           (b"\0\0\0\0\1", "INVOKE reply of 1 bytes")):
        with pytest.raises(HarnessError, match=match):
            _collect_stats([fr.Frame(fr.CMD_STATS, 0, payload)], 1)
