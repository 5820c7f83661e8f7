"""One virtualenv per peer library, created on demand from ``requirements/<peer>.txt``.

Peers pin clashing dependencies (DEHB: numpy < 2; SMAC: ConfigSpace >= 1.0; Syne Tune 0.13:
numpy < 1.27), so none of them is installed beside scaletune. Environments live under
``$SCALETUNE_PEER_ENVS`` (default ``~/.cache/scaletune/peers``), keyed by a hash of the
requirements file, and are built once (under a file lock, so parallel runs share the work).
A failed install is remembered with its log and reported, and the suite continues without
that peer.
"""

from __future__ import annotations

import fcntl
import hashlib
import os
import subprocess
import sys
from pathlib import Path

from hpo.errors import HPOError

REQUIREMENTS = Path(__file__).resolve().parent / "requirements"
IMPORTS = {"dehb": "dehb", "optuna": "optuna", "smac": "smac", "synetune": "syne_tune",
           "carbs": "carbs"}
#: peers whose source is not on a package index: a local archive, installed with --no-deps after
#: the requirements (found in ``$SCALETUNE_PEER_SOURCES``, else ``<data>/../peers``)
ARCHIVES = {"carbs": "carbs-8f7fee0.tar.gz"}
INSTALL_TIMEOUT_S = 1200


class PeerUnavailable(HPOError):
    """A peer library could not be installed or started."""


def envs_root() -> Path:
    return Path(os.environ.get("SCALETUNE_PEER_ENVS",
                               Path.home() / ".cache" / "scaletune" / "peers"))


def archive(peer: str) -> Path:
    """The local source archive of ``peer`` (see :data:`ARCHIVES`)."""
    from benchmarks.data import data_root

    env = os.environ.get("SCALETUNE_PEER_SOURCES")
    root = data_root()
    folder = Path(env) if env else (root.parent / "peers" if root is not None else None)
    if folder is None or not (folder / ARCHIVES[peer]).exists():
        raise PeerUnavailable(f"{peer}: source archive {ARCHIVES[peer]} not found (set "
                              f"SCALETUNE_PEER_SOURCES to the folder holding it)")
    return folder / ARCHIVES[peer]


def env_dir(peer: str) -> Path:
    text = (REQUIREMENTS / f"{peer}.txt").read_bytes()
    digest = hashlib.sha256(text + sys.version.encode()).hexdigest()[:10]
    return envs_root() / f"{peer}-{digest}"


def ensure_env(peer: str) -> Path:
    """The python executable of ``peer``'s virtualenv, building it if needed.

    Raises:
        PeerUnavailable: unknown peer, or the install failed (now or in an earlier attempt);
            the message names the log file.
    """
    if peer not in IMPORTS:
        raise PeerUnavailable(f"unknown peer {peer!r}; known: {sorted(IMPORTS)}")
    directory = env_dir(peer)
    python = directory / "bin" / "python"
    ok, failed = directory / ".ok", directory / ".failed"
    log = directory.with_name(directory.name + ".install.log")  # venv --clear empties the dir
    envs_root().mkdir(parents=True, exist_ok=True)
    with open(envs_root() / f"{peer}.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if ok.exists():
            return python
        if failed.exists():
            raise PeerUnavailable(f"{peer}: an earlier install failed; see {log} (delete "
                                  f"{directory} to retry)")
        directory.mkdir(parents=True, exist_ok=True)
        steps = [[sys.executable, "-m", "venv", "--clear", str(directory)],
                 [str(python), "-m", "pip", "install", "-q", "-r",
                  str(REQUIREMENTS / f"{peer}.txt")]]
        if peer in ARCHIVES:
            steps.append([str(python), "-m", "pip", "install", "-q", "--no-deps",
                          str(archive(peer))])
        steps.append([str(python), "-c", f"import {IMPORTS[peer]}"])
        with open(log, "w") as out:
            for step in steps:
                try:
                    code = subprocess.run(step, stdout=out, stderr=subprocess.STDOUT,
                                          timeout=INSTALL_TIMEOUT_S, check=False).returncode
                except subprocess.TimeoutExpired:
                    code = -1
                if code != 0:
                    failed.write_text(" ".join(step))
                    raise PeerUnavailable(f"{peer}: `{' '.join(step[:4])}...` failed (exit "
                                          f"{code}); see {log}")
        ok.write_text("ok")
    return python


def main() -> None:  # pragma: no cover - a convenience for `python -m benchmarks.peers.envs`
    for peer in sys.argv[1:] or sorted(IMPORTS):
        try:
            print(peer, ensure_env(peer))
        except PeerUnavailable as err:
            print(peer, "UNAVAILABLE:", err)


if __name__ == "__main__":  # pragma: no cover
    main()
