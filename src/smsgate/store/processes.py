"""Which process wrote a message ahead of its request, and whether that process still runs.

A message left ``submitting`` by a process that no longer runs was in a request when that
process died (SIGKILL, a crash, a power cut): whether the provider has it is unknown. The
identity is host, pid and the process's start time (so a pid the system reused is not taken
for the writer); a process on another host cannot be judged from here.
"""

from __future__ import annotations

import os
import socket
from functools import cache


def _start_time(pid: int) -> str:
    """The process's start, in clock ticks since boot (Linux /proc); blank elsewhere."""
    try:
        with open(f"/proc/{pid}/stat", encoding="ascii", errors="replace") as stat:
            fields = stat.read().rpartition(")")[2].split()
    except OSError:
        return ""
    return fields[19] if len(fields) > 19 else ""


@cache
def this_process() -> str:
    pid = os.getpid()
    return f"{socket.gethostname()}:{pid}:{_start_time(pid)}"


def gone(identity: str) -> bool:
    """True when the process that wrote ``identity`` is known to run no more (on this host)."""
    parts = identity.split(":")
    if len(parts) < 3:
        return False
    host, pid_text, started = ":".join(parts[:-2]), parts[-2], parts[-1]
    if host != socket.gethostname() or not pid_text.isdigit():
        return False
    pid = int(pid_text)
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    except PermissionError:
        pass  # it runs, as another user
    return bool(started) and _start_time(pid) != started
