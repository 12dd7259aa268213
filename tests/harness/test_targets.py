import pytest

from tinyml.targets import BOARDS, CORES, available_tools, get_board, get_core


def test_core_flags():
    m4 = get_core("cortex-m4")
    assert m4.cflags == ("-mcpu=cortex-m4", "-mthumb", "-mfloat-abi=hard", "-mfpu=fpv4-sp-d16")
    assert m4.has_dsp and m4.has_fpu and m4.fpu == "sp"
    assert get_core("cortex-m7").fpu == "dp"
    m3 = get_core("cortex-m3")
    assert not m3.has_dsp and not m3.has_fpu and "-mfloat-abi=soft" in m3.cflags
    assert get_core("host").cflags == ()


def test_unknown_names_list_the_known_ones():
    with pytest.raises(Exception, match="cortex-m4"):
        get_core("cortex-a53")
    with pytest.raises(Exception, match="mps2-an386"):
        get_board("arduino")


def test_boards_are_consistent():
    for board in BOARDS.values():
        assert board.core.name in CORES
        assert board.flash.size >= 128 * 1024 and board.ram.size >= 16 * 1024
        assert board.uart.base and board.clock_hz > 0
        assert board.emulated == board.name.startswith(("mps2-", "mps3-", "microbit"))
    assert get_board("mps2-an505").uart.base == 0x50200000
    assert {b.core_name for b in BOARDS.values() if b.emulated} == {
        "cortex-m0", "cortex-m3", "cortex-m4", "cortex-m7", "cortex-m33", "cortex-m55"}


def test_available_tools_reports_every_tool():
    tools = available_tools()
    assert "qemu-system-arm" in tools and "arm-none-eabi-gcc" in tools
    assert all(v is None or isinstance(v, str) for v in tools.values())
