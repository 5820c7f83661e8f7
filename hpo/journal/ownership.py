"""Which process owns a running trial, so that a restarted driver relaunches only orphans."""

from __future__ import annotations

import os
import socket

#: this process, as recorded in ``start`` / ``resume`` events
OWNER = f"{socket.gethostname()}:{os.getpid()}"


def owner_alive(owner: str | None) -> bool:
    """Whether the process that handed out a trial may still be running it.

    Owners on another host are assumed alive (they cannot be checked from here); an owner equal
    to this very process is a previous study object of ours, so nobody runs its trials now.
    """
    if not owner:
        return False
    host, _, pid = owner.rpartition(":")
    if host != socket.gethostname() or not pid.isdigit():
        return True
    if int(pid) == os.getpid():
        return False
    try:
        os.kill(int(pid), 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True
