"""Firmware built and run in QEMU: batch mode (`tinyml run --board`) and the serial protocol."""

import numpy as np
import pytest

from conftest import QEMU_BOARDS, SHARED
from tiny_model import N_IN, reference
from tinyml.harness import framing as fr
from tinyml.harness.errors import HarnessError
from tinyml.harness.firmware import build_firmware
from tinyml.harness.host import run_host
from tinyml.harness.qemu import QemuSession, run_firmware, run_on_board

pytestmark = pytest.mark.emulator

RNG = np.random.default_rng(0)
SAMPLES = RNG.integers(-128, 128, size=(10, 1, N_IN)).astype(np.int8)


@pytest.mark.parametrize("board", QEMU_BOARDS)
def test_tiny_model_batch_is_exact_and_deterministic(tiny_dir, board, tmp_path):
    fw = build_firmware(tiny_dir, board)
    assert fw.text > 0 and fw.bss >= 64
    outs, stats = run_firmware(fw, [SAMPLES])
    for n, x in enumerate(SAMPLES):
        for got, want in zip(outs, reference(x)):
            np.testing.assert_array_equal(got[n], want)
    _, again = run_firmware(fw, [SAMPLES])
    assert stats.sample_instructions == again.sample_instructions
    assert sum(stats.layer_instructions) == stats.instructions > 0
    assert len(stats.layer_instructions) == 2
    assert 0 < stats.peak_stack < 4096
    assert stats.status == 0


def test_single_sample_keeps_its_shape(tiny_dir):
    outs, stats = run_on_board(tiny_dir, "mps2-an386", [SAMPLES[0]])
    assert outs[0].shape == (1, 4) and outs[1].shape == (2,)
    assert stats["instructions"]["total"] == stats.instructions
    assert len(stats.to_dict()["instructions"]["per_layer"]) == 2


@pytest.mark.parametrize("board", QEMU_BOARDS)
def test_compiled_model_matches_host(hello_dir, board):
    xs = np.arange(-128, 128, 23, dtype=np.int8).reshape(-1, 1, 1)
    outs, stats = run_on_board(hello_dir, board, [xs])
    np.testing.assert_array_equal(outs[0], run_host(hello_dir, [xs])[0])
    assert sum(stats.layer_instructions) == stats.instructions
    assert stats.macs_per_instruction and stats.macs_per_instruction > 0


def test_compiled_model_in_qemu_matches_tflite_micro(hello_dir):
    """The same samples through TFLite Micro: an independent runtime, not our own host build."""
    from tinyml.references import tflm_run
    xs = np.arange(-128, 128, dtype=np.int8).reshape(-1, 1, 1)
    outs, _ = run_on_board(hello_dir, "mps2-an386", [xs])
    want = tflm_run(SHARED / "tflm" / "hello_world_int8.tflite", [xs])[0]
    np.testing.assert_array_equal(outs[0], np.asarray(want).reshape(outs[0].shape))


def test_real_board_is_refused_for_qemu(tiny_dir):
    with pytest.raises(HarnessError, match="real board"):
        run_on_board(tiny_dir, "nrf52840-dk", [SAMPLES[0]])


@pytest.mark.parametrize("board", ["mps2-an386", "mps2-an505"])
def test_protocol_session(tiny_dir, board, tmp_path):
    fw = build_firmware(tiny_dir, board)
    _, batch = run_firmware(fw, [SAMPLES[:3]])
    with QemuSession(fw, timeout=2.0) as s:
        info = s.device.info()
        assert info.name == "tiny" and info.arena_size == 64 and len(info.outputs) == 2
        assert info.inputs[0].zero_point == -3 and info.outputs[1].dtype == np.float32
        for n, x in enumerate(SAMPLES[:3]):
            outs, res = s.device.run([x])
            for got, want in zip(outs, reference(x)):
                np.testing.assert_array_equal(got, want)
            assert res.counter == "instructions" and res.count == batch.sample_instructions[n]


def test_protocol_faults_against_firmware(tiny_dir, tmp_path):
    fw = build_firmware(tiny_dir, "mps2-an386")
    with QemuSession(fw, timeout=1.0) as s:
        dev = s.device
        dev._port.write(b"\x00\x13garbage\xa5\xa5")             # noise on the line
        assert dev.info().name == "tiny"
        bad = bytearray(fr.encode(fr.CMD_INFO, 77))
        bad[-2] ^= 0x10                                          # corrupted frame -> NAK
        dev._port.write(bytes(bad))
        dev._port.write(fr.encode(fr.CMD_LOAD_INPUT, 78, bytes(40))[:12])   # truncated frame
        outs, _ = dev.run([SAMPLES[4]])
        np.testing.assert_array_equal(outs[0], reference(SAMPLES[4])[0])
        with pytest.raises(HarnessError, match="refused READ_OUTPUT"):
            dev.request(fr.CMD_READ_OUTPUT, bytes([9, 0, 0, 0, 0, 1, 0]))
        dev.reset()                                              # the firmware reboots
        outs, _ = dev.run([SAMPLES[5]])
        np.testing.assert_array_equal(outs[0], reference(SAMPLES[5])[0])
        dev._port.write(fr.encode(fr.CMD_RESET, 200))            # a reset the host did not ask for
        with pytest.raises(HarnessError, match="reset while INFO"):
            dev.info()


@pytest.mark.parametrize("board", ["nucleo-l4r5zi", "stm32f746g-disco", "nrf52840-dk"])
def test_real_board_firmware_builds_warning_free(tiny_dir, board, tmp_path):
    fw = build_firmware(tiny_dir, board)   # -Wall -Wextra -Werror
    assert fw.board.flash.origin <= fw.symbols["tm_marks"] < fw.board.flash.origin + fw.board.flash.size
    assert fw.symbols["__stack_top"] == fw.board.ram.origin + fw.board.ram.size


def test_info_reply_too_big_for_a_frame_fails_the_build(tmp_path):
    """80 inputs of rank 4 make a 2.7 kB INFO reply: the glue's _Static_assert stops the build."""
    from tiny_model import TM_NN
    from tinyml.errors import BuildError
    n = 80
    defs = "".join(f"#define WIDE_INPUT{i}_DTYPE TM_DTYPE_INT8\n#define WIDE_INPUT{i}_SHAPE {{1, 1, 1, 1}}\n"
                   f"#define WIDE_INPUT{i}_BYTES 1\n" for i in range(n))
    (tmp_path / "tm_nn.h").write_text(TM_NN)
    (tmp_path / "wide.h").write_text(
        '#include <stdint.h>\n#include "tm_nn.h"\n#define WIDE_ARENA_SIZE 16\n#define WIDE_ARENA_ALIGN 16\n'
        f"#define WIDE_NUM_INPUTS {n}\n#define WIDE_NUM_OUTPUTS 1\n{defs}"
        "#define WIDE_OUTPUT0_DTYPE TM_DTYPE_INT8\n#define WIDE_OUTPUT0_SHAPE {1}\n#define WIDE_OUTPUT0_BYTES 1\n"
        "int wide_invoke_io(const void *const *inputs, void *const *outputs, uint8_t *arena);\n")
    (tmp_path / "wide.c").write_text(
        '#include "wide.h"\nint wide_invoke_io(const void *const *inputs, void *const *outputs, uint8_t *arena)\n'
        "{ (void)inputs; (void)outputs; (void)arena; return TM_OK; }\n")
    with pytest.raises(BuildError, match="INFO reply exceeds TM_FRAME_MAX_PAYLOAD") as err:
        build_firmware(tmp_path, "mps2-an386")
    assert isinstance(err.value, HarnessError) and "\n" not in str(err.value)
