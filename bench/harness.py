"""The benchmarks' shared harness: timed subprocesses, process-tree sampling, results, report.

Every benchmark runs the real programs (``.venv/bin/chorus``, ``.venv/bin/pelican``) with
``run()``, which times them, kills what is left of their process group afterwards and, when
asked, samples the memory and CPU of their process tree; it adds its numbers to ``Results``.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import platform
import resource
import signal
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent  # make bench runs .venv/bin/python: chorus and pelican sit beside
SUBPROCESS_TIMEOUT = 600  # seconds; nothing here should come close
SAMPLE_INTERVAL = 0.05  # seconds between two samples of the fetch process tree's memory


# ---------------------------------------------------------------------------------------------
# Subprocesses.


@dataclass
class Run:
    seconds: float
    returncode: int
    stdout: str
    stderr: str
    cpu_seconds: float = 0.0  # user + system of the process and every descendant it waited for
    tree: TreeSampler | None = None  # memory and CPU per process, when sampled


def run(
    command: list[str], cwd: Path, *, sample: bool = False, env: dict[str, str] | None = None
) -> Run:
    """Run a command and time it (wall clock, from spawn to exit).

    The command runs in a session of its own; whatever happens (a time-out, an interruption),
    its whole process group is killed afterwards, so no worker process outlives it. With
    ``sample``, the summed memory of the process and its descendants is sampled while it runs.
    ``env`` adds to (or replaces) variables of this process's environment.
    """
    env = {k: v for k, v in os.environ.items() if k != "CHORUS_SETTINGS"} | (env or {})
    # Only the command's tree is reaped in this window (the feed server lives on), so the
    # difference is the CPU time of the command and of every descendant it waited for.
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    process = subprocess.Popen(
        command,
        cwd=cwd,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,
    )
    sampler = TreeSampler(process.pid) if sample else None
    try:
        stdout, stderr = process.communicate(timeout=SUBPROCESS_TIMEOUT)
        seconds = time.perf_counter() - start
    finally:
        if sampler:
            sampler.stop()
        kill_group(process)
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return Run(seconds, process.returncode, stdout, stderr, cpu, sampler)


def kill_group(process: subprocess.Popen[str]) -> None:
    """Kill what is left of the process group the command leads (it may have exited already)."""
    with contextlib.suppress(ProcessLookupError, PermissionError):  # empty: all exited
        os.killpg(process.pid, signal.SIGKILL)
    if process.returncode is None:
        process.communicate()  # reap it; its pipes are closed now


class TreeSampler:
    """Samples, every SAMPLE_INTERVAL, the summed resident memory of a process and of all its
    descendants, from /proc (this kernel has no /proc/<pid>/task/<tid>/children, so /proc is
    listed and each new process's parent read once). Keeps the peak, what each process held at
    that moment, and each process's last CPU time (user + system)."""

    PAGE = os.sysconf("SC_PAGE_SIZE")
    TICK = os.sysconf("SC_CLK_TCK")

    def __init__(self, root: int) -> None:
        self.root = root
        self.peak_bytes = 0
        self.peak_at = 0.0  # seconds after the start
        self.peak_by_process: dict[str, int] = {}
        self.samples = 0
        self.cpu: dict[int, float] = {}
        self.names: dict[int, str] = {}
        self._tree = {root}
        self._parents: dict[int, int | None] = {}
        self._start = time.perf_counter()
        self._done = threading.Event()
        self._thread = threading.Thread(target=self._loop, name="tree-sampler", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._done.set()
        self._thread.join(5)

    @staticmethod
    def _stat(pid: int) -> list[str] | None:
        try:
            text = Path(f"/proc/{pid}/stat").read_text()
        except OSError:
            return None
        return text[text.rfind(")") + 2 :].split()  # the fields after "(comm)", from state on

    def _name(self, pid: int) -> str:
        if pid == self.root:
            return "main"
        try:
            argv = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
        except OSError:
            return "?"
        text = " ".join(part.decode(errors="replace") for part in argv)
        for marker, name in (("resource_tracker", "resource tracker"), ("spawn", "worker")):
            if marker in text:
                return name
        return Path(argv[0].decode(errors="replace")).name or "?"

    def _loop(self) -> None:
        while True:
            self.sample()
            if self._done.wait(SAMPLE_INTERVAL):
                break

    def sample(self) -> None:
        pids = sorted(int(name) for name in os.listdir("/proc") if name.isdigit())
        new = [pid for pid in pids if pid not in self._parents]
        for pid in new:
            fields = self._stat(pid)
            self._parents[pid] = int(fields[1]) if fields else None
        grown = True
        while grown:  # a child may have a lower pid than its parent when pids wrap around
            grown = False
            for pid in new:
                if pid not in self._tree and self._parents[pid] in self._tree:
                    self._tree.add(pid)
                    self.names[pid] = self._name(pid)
                    grown = True
        self.names.setdefault(self.root, "main")
        total, by_process = 0, {}
        for pid in self._tree:
            if self.names.get(pid) not in ("main", "worker", "resource tracker"):
                self.names[pid] = self._name(pid)  # seen between fork and exec: look again
            fields = self._stat(pid)
            if fields is None:
                continue
            rss = int(fields[21]) * self.PAGE
            total += rss
            by_process[f"{self.names.get(pid, '?')} {pid}"] = rss
            self.cpu[pid] = (int(fields[11]) + int(fields[12])) / self.TICK
        self.samples += 1
        if total > self.peak_bytes:
            self.peak_bytes = total
            self.peak_at = time.perf_counter() - self._start
            self.peak_by_process = by_process

    def cpu_by_kind(self) -> dict[str, float]:
        """CPU seconds per kind of process, as last sampled (the final 50 ms may be missing)."""
        kinds: dict[str, float] = {}
        for pid, seconds in self.cpu.items():
            name = self.names.get(pid, "?")
            kinds[name] = kinds.get(name, 0.0) + seconds
        return {name: round(seconds, 2) for name, seconds in kinds.items()}


class CommandFailed(Exception):
    pass


def check(result: Run, what: str) -> Run:
    if result.returncode != 0:
        tail = "\n".join((result.stdout + result.stderr).splitlines()[-20:])
        raise CommandFailed(f"{what} exited with {result.returncode}:\n{tail}")
    return result


def snapshot(root: Path) -> dict[str, tuple[int, int, str]]:
    """Every file under ``root``: (inode, mtime_ns, sha256), to see what a run (re)wrote."""
    files = {}
    for path in root.rglob("*"):
        if path.is_file():
            stat = path.stat()
            digest = hashlib.sha256(path.read_bytes()).hexdigest()
            files[str(path.relative_to(root))] = (stat.st_ino, stat.st_mtime_ns, digest)
    return files


def warnings_in(result: Run) -> list[str]:
    return [
        line.strip()
        for line in (result.stdout + result.stderr).splitlines()
        if "WARNING" in line or "ERROR" in line
    ]


def tree_details(result: Run) -> dict[str, Any]:
    tree = result.tree
    if tree is None:
        return {}
    return {
        "peak_mb": round(tree.peak_bytes / 1e6, 1),
        "peak_at_s": round(tree.peak_at, 2),
        "peak_by_process_mb": {k: round(v / 1e6, 1) for k, v in tree.peak_by_process.items()},
        "samples": tree.samples,
        "cpu_s_by_process_kind": tree.cpu_by_kind(),
        "cpu_s_total": round(result.cpu_seconds, 2),
    }


# ---------------------------------------------------------------------------------------------
# Measurements.


@dataclass
class Measurement:
    name: str
    value: float | int | None
    unit: str
    target: str = ""
    met: bool | None = None  # None: informational, no target
    note: str = ""


@dataclass
class Results:
    measurements: list[Measurement] = field(default_factory=list)
    details: dict[str, Any] = field(default_factory=dict)
    errors: list[str] = field(default_factory=list)

    def add(self, *args: Any, **kwargs: Any) -> None:
        self.measurements.append(Measurement(*args, **kwargs))


# ---------------------------------------------------------------------------------------------
# Report.


def environment() -> dict[str, Any]:
    from importlib.metadata import PackageNotFoundError, version

    packages = {}
    for name in ("pelican", "aiohttp", "feedparser", "nh3", "lxml", "pagefind", "pelican-chorus"):
        try:
            packages[name] = version(name)
        except PackageNotFoundError:
            packages[name] = None
    return {
        "python": platform.python_version(),
        "implementation": platform.python_implementation(),
        "platform": platform.platform(),
        "cpu_count": os.cpu_count(),
        "usable_cpus": len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else None,
        "work_dir": f"{tempfile.gettempdir()} ({filesystem_of(Path(tempfile.gettempdir()))})",
        "load_average_at_start": os.getloadavg(),
        "packages": packages,
    }


def filesystem_of(path: Path) -> str:
    """The file system type holding ``path`` (from /proc/mounts), or "unknown"."""
    try:
        mounts = [line.split()[1:3] for line in Path("/proc/mounts").read_text().splitlines()]
    except OSError:
        return "unknown"
    resolved = str(path.resolve())
    found = [
        (point, kind)
        for point, kind in mounts
        if resolved == point or resolved.startswith(point.rstrip("/") + "/")
    ]
    return max(found, key=lambda mount: len(mount[0]))[1] if found else "unknown"


def print_table(results: Results, env: dict[str, Any]) -> None:
    rows = [("measurement", "value", "target", "met?")]
    for m in results.measurements:
        value = "-" if m.value is None else f"{m.value:g} {m.unit}"
        met = "" if m.met is None else ("yes" if m.met else "MISSED")
        rows.append((m.name, value, m.target, met))
    widths = [max(len(row[i]) for row in rows) for i in range(4)]
    print()
    for number, row in enumerate(rows):
        print(
            "  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True)).rstrip()
        )
        if number == 0:
            print("  ".join("-" * width for width in widths))
    for m in results.measurements:
        if m.note:
            print(f"  note: {m.name}: {m.note}")
    print()
    print(
        f"Python {env['python']} ({env['implementation']}), {env['cpu_count']} CPUs "
        f"({env['usable_cpus']} usable), {env['platform']}"
    )
    print(f"Work directory: {env['work_dir']} (set TMPDIR to move it)")
    loads = [env.get("load_average_at_start"), env.get("load_average_at_end")]
    if all(loads):
        shown = [", ".join(f"{x:.1f}" for x in load) for load in loads]
        print(f"Load average (1, 5, 15 min): {shown[0]} at the start, {shown[1]} at the end")
        if max(max(load) for load in loads) > (env["usable_cpus"] or env["cpu_count"] or 1):
            print(
                "  above the number of CPUs: other work competed for them, so wall times grew "
                "(the CPU times in the notes and in latest.json are less disturbed)"
            )
    print("Packages: " + ", ".join(f"{k} {v}" for k, v in env["packages"].items()))
    for error in results.errors:
        print(f"ERROR: {error}")
