"""`hall server` as its own process, as it runs in a hall: for the load bench and for the
tests that kill it (SIGKILL) and start it again."""
from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


class ServerProcess:
    def __init__(self, config: Path | str, broker_url: str, database_url: str, log_path: Path, *,
                 web: bool = True, command: list[str] | None = None) -> None:
        """`command`: another entry point to run instead of `hall server --config …` (the soak's)."""
        self.args = command or [sys.executable, "-m", "hall.cli", "server", "--config", str(config),
                                "--broker", broker_url, "--database", database_url, *([] if web else ["--no-web"])]
        self.log_path = log_path
        self.proc: subprocess.Popen | None = None
        self.kills = 0                       # how often kill9() has killed it

    def start(self) -> ServerProcess:
        with open(self.log_path, "ab") as log:
            self.proc = subprocess.Popen(self.args, stdout=log, stderr=subprocess.STDOUT, cwd=ROOT)
        return self

    def kill9(self) -> None:
        """Kill it as a power cut would: no goodbye, no last commit."""
        if self.proc is not None and self.proc.poll() is None:
            os.kill(self.proc.pid, signal.SIGKILL)
            self.proc.wait()
            self.kills += 1

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(15)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()

    def log_tail(self, lines: int = 20) -> str:
        try:
            return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return "(no log)"

    def errors_logged(self) -> int:
        """How many ERROR lines its log holds (across its restarts)."""
        try:
            return self.log_path.read_text(errors="replace").count(" ERROR ")
        except OSError:
            return 0

    def rss_kb(self) -> int | None:
        return rss_kb(self.proc.pid) if self.proc is not None else None

    def cpu_s(self) -> float | None:
        return cpu_s(self.proc.pid) if self.proc is not None else None


def cpu_s(pid: int) -> float | None:
    """A process's CPU time so far (user + system, all its threads) in seconds, or None when it is gone."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except (OSError, IndexError):
        return None
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")   # utime, stime


def rss_kb(pid: int) -> int | None:
    """A process's resident memory (VmRSS) in kB, or None when it is gone."""
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    except OSError:
        return None
    return None
