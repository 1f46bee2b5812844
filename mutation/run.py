"""The mutation check: every guarantee the project makes is proven by a test that catches it
breaking.

`mutation/*.toml` (one file per area) list small, realistic changes to the code behind each guarantee (a
dropped filter, a wrong axis, the wrong item id), each with the tests that must catch it. For every
mutation this script applies the change to a private copy of the repository, runs only those
tests, and restores the file. A mutation is

- killed: at least one of its tests failed on an assertion (what a user would notice);
- survived: every test passed; the guarantee is untested, and the check fails;
- crashed: tests failed only with exceptions (ImportError, TypeError...): the change broke the
  code rather than its behaviour, which proves nothing, so the check fails too;
- stale: its `find` text is not in the file exactly once (the code moved: update the entry).

    python mutation/run.py                 # all, 2 workers
    python mutation/run.py --only ID [ID…]  # some
    python mutation/run.py --list
"""

from __future__ import annotations

import argparse
import os
import queue
import shutil
import subprocess
import sys
import tempfile
import threading
import time
import tomllib
import xml.etree.ElementTree as ET
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
LISTS = ROOT / "mutation"
TIMEOUT_S = 300
ASSERTION_FAILURES = ("AssertionError", "Failed", "assert ")


@dataclass
class Mutation:
    id: str
    guarantee: str
    file: str
    find: str
    replace: str
    tests: list[str]


@dataclass
class Outcome:
    mutation: Mutation
    verdict: str  # killed | survived | crashed | stale | timeout
    seconds: float
    detail: str = ""


def load(folder: Path = LISTS) -> list[Mutation]:
    mutations = []
    for path in sorted(folder.glob("*.toml")):
        data = tomllib.loads(path.read_text(encoding="utf-8"))
        mutations += [Mutation(**entry) for entry in data.get("mutation", [])]
    ids = [m.id for m in mutations]
    dupes = sorted({i for i in ids if ids.count(i) > 1})
    if dupes:
        raise SystemExit(f"mutation ids repeat: {', '.join(dupes)}")
    return mutations


def copy_repo(dest: Path) -> None:
    files = subprocess.run(
        ["git", "ls-files", "--cached", "--others", "--exclude-standard"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
    ).stdout.split("\n")
    for rel in filter(None, files):
        src = ROOT / rel
        if src.is_file():
            target = dest / rel
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(src, target)


def verdict_from_junit(xml_path: Path) -> tuple[str, str]:
    """killed if any test failed on an assertion; crashed if only on other exceptions."""
    try:
        tree = ET.parse(xml_path)
    except (ET.ParseError, FileNotFoundError):
        return "crashed", "no test report (collection failed?)"
    failures = []
    for case in tree.iter("testcase"):
        for tag in ("failure", "error"):
            for node in case.iter(tag):
                failures.append((case.get("name"), tag, node.get("message") or ""))
    if not failures:
        return "survived", ""
    semantic = [f for f in failures if f[1] == "failure" and f[2].startswith(ASSERTION_FAILURES)]
    if semantic:
        return "killed", f"{semantic[0][0]}: {semantic[0][2][:120]}"
    return "crashed", f"{failures[0][0]}: {failures[0][2][:160]}"


def run_one(m: Mutation, workdir: Path) -> Outcome:
    started = time.monotonic()
    target = workdir / m.file
    if not target.is_file():
        return Outcome(m, "stale", 0.0, f"{m.file} does not exist")
    original = target.read_text(encoding="utf-8")
    if original.count(m.find) != 1:
        found = original.count(m.find)
        return Outcome(m, "stale", 0.0, f"`find` occurs {found} times in {m.file}")
    target.write_text(original.replace(m.find, m.replace), encoding="utf-8")
    report = workdir / f".mutation-{m.id}.xml"
    try:
        cmd = [sys.executable, "-m", "pytest", "-x", "-q", "-p", "no:cacheprovider",
               f"--junitxml={report}", *m.tests]  # fmt: skip
        env = {**os.environ, "PYTHONDONTWRITEBYTECODE": "1"}
        try:
            proc = subprocess.run(
                cmd, cwd=workdir, env=env, capture_output=True, text=True, timeout=TIMEOUT_S
            )
        except subprocess.TimeoutExpired:
            return Outcome(m, "timeout", time.monotonic() - started, f"over {TIMEOUT_S} s")
        if proc.returncode == 0:
            return Outcome(m, "survived", time.monotonic() - started, "every test passed")
        if proc.returncode in (4, 5):  # usage error / no tests collected: the entry is wrong
            return Outcome(m, "stale", time.monotonic() - started, proc.stdout[-300:])
        verdict, detail = verdict_from_junit(report)
        return Outcome(m, verdict, time.monotonic() - started, detail)
    finally:
        target.write_text(original, encoding="utf-8")
        report.unlink(missing_ok=True)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--only", nargs="+", metavar="ID")
    parser.add_argument("--list", action="store_true")
    parser.add_argument("--jobs", type=int, default=2)
    args = parser.parse_args(argv)
    mutations = load()
    if args.only:
        unknown = set(args.only) - {m.id for m in mutations}
        if unknown:
            raise SystemExit(f"unknown mutation id(s): {', '.join(sorted(unknown))}")
        mutations = [m for m in mutations if m.id in args.only]
    if args.list:
        for m in mutations:
            print(f"{m.id:40} {m.guarantee}")
        return 0
    todo: queue.Queue[Mutation] = queue.Queue()
    for m in mutations:
        todo.put(m)
    outcomes: list[Outcome] = []
    lock = threading.Lock()
    started = time.monotonic()

    def worker() -> None:
        with tempfile.TemporaryDirectory(prefix="mutation-") as tmp:
            workdir = Path(tmp)
            copy_repo(workdir)
            while True:
                try:
                    m = todo.get_nowait()
                except queue.Empty:
                    return
                outcome = run_one(m, workdir)
                with lock:
                    outcomes.append(outcome)
                    print(f"{outcome.verdict:9} {outcome.seconds:5.1f}s  {m.id}", flush=True)

    threads = [threading.Thread(target=worker) for _ in range(max(1, args.jobs))]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    bad = [o for o in outcomes if o.verdict != "killed"]
    print(
        f"\nmutations: {len(outcomes)}, killed {len(outcomes) - len(bad)}, "
        f"not killed {len(bad)}, in {time.monotonic() - started:.0f} s"
    )
    for o in sorted(bad, key=lambda o: o.mutation.id):
        print(f"  {o.verdict.upper()}: {o.mutation.id} ({o.mutation.guarantee}) {o.detail}")
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
