"""Fixed addresses for the warm parents, so that nothing a player can see of an address changes between processes.

A player can see an object's address (in the `repr` of a function, in the order a set of functions iterates),
and a player that branches on one would score differently in each process. Each sandbox child is forked from a
template in the same state every time (`sandbox.zygote`), so within one warm parent every address repeats; with
address-space randomisation off, they repeat in every warm parent started the same way, too. This module is
imported before anything else in a warm parent: it only needs `ctypes`.
"""

from __future__ import annotations

import ctypes
import os
import sys

ADDR_NO_RANDOMIZE = 0x0040000  # linux/personality.h
QUERY = 0xFFFFFFFF


def exec_with_fixed_addresses() -> bool:
    """Re-execute this interpreter, with the same arguments, with address-space randomisation off.

    Returns only when randomisation is already off (True) or cannot be turned off here (False: e.g. a container
    whose seccomp profile refuses the `personality` call; the sandbox then works, and only a player that reads
    addresses can score differently in different warm parents).
    """
    libc = ctypes.CDLL(None, use_errno=True)
    current = libc.personality(QUERY)
    if current == -1:
        return False
    if current & ADDR_NO_RANDOMIZE:
        return True
    if libc.personality(current | ADDR_NO_RANDOMIZE) == -1:
        return False
    os.execv(sys.executable, [sys.executable, *sys.orig_argv[1:]])
    return False  # not reached
