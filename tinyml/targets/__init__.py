"""Cores, boards and the tools present on this machine."""

from tinyml.targets.boards import BOARDS, Board, available_tools, get_board
from tinyml.targets.cores import CORES, Core, get_core

__all__ = ["BOARDS", "CORES", "Board", "Core", "available_tools", "get_board", "get_core"]
