"""Start-up cost of the CLI: CPU per invocation against ``python -c 'import typer'``.

Each command runs as a whole process several times, paired with the baseline run by run (the
machine's speed drifts), and the median ratio of CPU time (user + system, from the kernel's
accounting of finished children) is printed against the targets of the issue that set them.
"""

from __future__ import annotations

import os
import resource
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Final

SMSGATE: Final = str(Path(sys.executable).with_name("smsgate"))
BASELINE: Final = [sys.executable, "-c", "import typer"]
RUNS: Final = 9
CASES: Final = [
    ("smsgate segments", [SMSGATE, "segments", "Hello"], 3.0),
    ("smsgate --help", [SMSGATE, "--help"], 3.0),
    ("smsgate send to sandbox://", [SMSGATE, "send", "--to", "0612345678", "Hello"], 5.0),
]


def cpu_of(command: list[str], env: dict[str, str]) -> float:
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    subprocess.run(command, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    return (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)


def cli_environment(data: str) -> dict[str, str]:
    """The environment a benchmarked ``smsgate`` runs in: no settings but its data folder,
    and Python's bytecode cache on, as it is for anyone who has not turned it off (a pip
    install writes it too). With PYTHONDONTWRITEBYTECODE, as this project's machines set it,
    every module of an editable install is compiled again at every start."""
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith("SMSGATE_") and k != "PYTHONDONTWRITEBYTECODE"
    }
    env["SMSGATE_DATA_DIR"] = data
    return env


def main() -> None:
    print("\n## Start-up: CPU per invocation / CPU of python -c 'import typer' (median ratio)")
    with tempfile.TemporaryDirectory() as data:
        env = cli_environment(data)
        for label, command, target in CASES:
            cpu_of(command, env)  # warm-up: caches, the store's first migration
            ratios, seconds = [], []
            for _ in range(RUNS):
                ours = cpu_of(command, env)
                base = cpu_of(BASELINE, env)
                ratios.append(ours / base)
                seconds.append(ours)
            ratio = statistics.median(ratios)
            verdict = "meets" if ratio <= target else "MISSES"
            print(
                f"{label:28} {ratio:5.1f}x  ({statistics.median(seconds) * 1000:,.0f} ms CPU; "
                f"{RUNS} pairs)  {verdict} the <= {target:g}x target"
            )


if __name__ == "__main__":
    main()
