"""The class counters end to end: known loops run in QEMU mps2-an386 under the plugin, read
back through the harness's own command line, plugin arguments and mark parsing."""

import shutil
import subprocess
from pathlib import Path

import pytest

from tinyml.harness import cycles, icount
from tinyml.harness.qemu import qemu_base_command
from tinyml.targets.boards import get_board

PROGRAM = Path(__file__).parent / "icount_fixtures" / "loops.s"
N_SMLAD, M_VMLA = 100, 37
TOOLS = ("arm-none-eabi-gcc", "arm-none-eabi-nm", "qemu-system-arm", "gcc")

pytestmark = [pytest.mark.slow, pytest.mark.emulator,
              pytest.mark.skipif(any(shutil.which(t) is None for t in TOOLS), reason=f"needs {', '.join(TOOLS)}")]


@pytest.fixture(scope="module")
def invoke(tmp_path_factory):
    work = tmp_path_factory.mktemp("loops")
    elf = work / "loops.elf"
    subprocess.run(["arm-none-eabi-gcc", "-mcpu=cortex-m4", "-mthumb", "-mfpu=fpv4-sp-d16", "-mfloat-abi=hard",
                    "-nostdlib", "-Wl,-Ttext=0", "-Wl,-e,reset",
                    f"-Wa,--defsym,N_SMLAD={N_SMLAD}", f"-Wa,--defsym,M_VMLA={M_VMLA}",
                    str(PROGRAM), "-o", str(elf)], check=True)
    symbols = subprocess.run(["arm-none-eabi-nm", str(elf)], check=True, capture_output=True, text=True).stdout
    marks = next(int(line.split()[0], 16) for line in symbols.splitlines() if line.endswith(" tm_marks"))
    log = work / "marks.log"
    cmd = qemu_base_command(get_board("mps2-an386"), elf) + ["-serial", "null"] + \
        icount.plugin_args(icount.plugin_path(), marks, 6, log)
    subprocess.run(cmd, check=True, timeout=60, capture_output=True)
    (inv,) = icount.split_invokes(icount.parse_marks(icount.read_log(log)), 2)
    return inv


def test_classes_partition_each_layer(invoke):
    assert invoke.classes is not None and len(invoke.layer_classes) == 2
    for n, classes in zip(invoke.layers, invoke.layer_classes):
        assert sum(classes[c] for c in icount.CLASSES) == n
    assert sum(invoke.classes[c] for c in icount.CLASSES) == invoke.total == sum(invoke.layers)


def test_smlad_loop(invoke):
    layer = invoke.layer_classes[0]
    assert layer["dsp"] == N_SMLAD
    # The loop's BNE falls through once; every other branch (the BLs to the marks and the
    # marks' BX LR: 4 in this layer's stretches) is taken.
    assert layer["branch"] == N_SMLAD + 4
    assert layer["branch_taken"] == N_SMLAD - 1 + 4
    assert layer["alu"] == N_SMLAD + 1          # SUBS per iteration, MOVS before
    assert invoke.layers[0] == 3 * N_SMLAD + 5
    # The cycle table on these counts: DSP 1, ALU 1, branch 1 plus P = 2 when taken.
    assert cycles.estimate_cycles(layer) == N_SMLAD + (N_SMLAD + 1) + (N_SMLAD + 4) + 2 * (N_SMLAD + 3)


def test_vmla_ldm_loop(invoke):
    layer = invoke.layer_classes[1]
    assert layer["vfp_mac"] == M_VMLA
    assert layer["ldm"] == M_VMLA and layer["ldm_regs"] == 4 * M_VMLA
    assert layer["div"] == 1
    assert layer["load"] == 1                   # the literal-pool load of the buffer address
    assert layer["branch"] - layer["branch_taken"] == 1
    assert layer["dsp"] == 0
