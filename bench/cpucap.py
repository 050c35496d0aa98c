"""Cap a process's CPU (cgroup v1 `cpu` controller, CFS quota): the scale-out phase's capped
comparison, so that one process and two processes each get the same CPU share and the
machine (2 cores shared with PostgreSQL, Redis, Celery and the load generator) is not what
limits the second process. `systemd-run -p CPUQuota=…` does the same where systemd runs."""

from __future__ import annotations

import contextlib
import os
from pathlib import Path

ROOT = Path("/sys/fs/cgroup/cpu")
PERIOD_US = 100_000


def available() -> bool:
    return (ROOT / "cgroup.procs").exists() and os.access(ROOT, os.W_OK)


@contextlib.contextmanager
def capped(pids: list[int], share: float):
    """Each pid in its own cgroup, limited to `share` of one core (0.3 = 30%)."""
    groups = []
    try:
        for pid in pids:
            group = ROOT / f"hbbench-cap-{pid}"
            group.mkdir(exist_ok=True)
            (group / "cpu.cfs_period_us").write_text(str(PERIOD_US))
            (group / "cpu.cfs_quota_us").write_text(str(int(PERIOD_US * share)))
            (group / "cgroup.procs").write_text(str(pid))
            groups.append((group, pid))
        yield
    finally:
        for group, pid in groups:
            with contextlib.suppress(OSError):
                (ROOT / "cgroup.procs").write_text(str(pid))
            with contextlib.suppress(OSError):
                group.rmdir()
