"""The headline figure of every benchmark beside its goal, gathered into one table.

Each benchmark calls ``record`` where it prints a figure that has a goal. ``make bench`` points
``WHISTLE_BENCH_RESULTS`` at a file, clears it first (``--start``), and prints the table last:

    .venv/bin/python -m bench.results --start    # forget the previous run, note the start
    .venv/bin/python -m bench.results            # the table (Markdown), with date and machine

Without the variable ``record`` does nothing, so a benchmark run by hand prints as before.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import re
import time
from datetime import UTC, datetime
from pathlib import Path

RESULTS_VARIABLE = "WHISTLE_BENCH_RESULTS"


def _results_file() -> Path | None:
    name = os.environ.get(RESULTS_VARIABLE)
    return Path(name) if name else None


def record(benchmark: str, figure: str, value: float, goal: str, *, unit: str = "x") -> None:
    """Note one figure (a ratio unless ``unit`` says otherwise) and its goal, as printed."""
    path = _results_file()
    if path is None:
        return
    entry = {"benchmark": benchmark, "figure": figure, "value": value, "unit": unit, "goal": goal}
    with path.open("a", encoding="utf-8") as out:
        out.write(json.dumps(entry) + "\n")


def _machine() -> str:
    model = "unknown CPU"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    memory_gib = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30
    return (
        f"{os.cpu_count()} cores ({model}), {memory_gib:.0f} GiB, "
        f"{platform.system()} {platform.release()}, Python {platform.python_version()}"
    )


def _value(entry: dict) -> str:
    if entry["unit"] == "x":
        return f"{entry['value']:.2f} x"
    if not entry["unit"]:
        return f"{entry['value']:.3g}"
    return f"{entry['value']:,.1f} {entry['unit']}"


# A goal the table can judge: a bound ("<= 1.0 x", ">= 0.9 x", "<= 356 MiB") or an exact count
# ("0"); a goal with more words ("<= 20 ms at 1,000,000 cases", "about 1 x") is left to the reader.
_BOUND = re.compile(r"(?:(<=|>=) )?([0-9][0-9,]*(?:\.[0-9]+)?)(?: [A-Za-z]+)?")


def verdict(entry: dict) -> str:
    """'yes' or 'NO' where the goal is a plain bound or count, else empty."""
    match = _BOUND.fullmatch(entry["goal"])
    if match is None:
        return ""
    bound = float(match.group(2).replace(",", ""))
    value = entry["value"]
    met = {"<=": value <= bound, ">=": value >= bound, None: value == bound}[match.group(1)]
    return "yes" if met else "NO"


def table(lines: list[str]) -> str:
    """The Markdown table of the recorded figures, headed by the date, machine and duration."""
    started: float | None = None
    rows = []
    for line in lines:
        entry = json.loads(line)
        if "started" in entry:
            started = entry["started"]
            continue
        rows.append(
            f"| {entry['benchmark']} | {entry['figure']} | {_value(entry)} | {entry['goal']} "
            f"| {verdict(entry)} |"
        )
    took = f", `make bench` took {(time.time() - started) / 60:.1f} min" if started else ""
    load = os.getloadavg()[0]
    head = [
        f"{datetime.now(UTC):%Y-%m-%d %H:%M} UTC; {_machine()}; load average {load:.1f}{took}",
        "",
        "| benchmark | figure | measured | goal | met |",
        "|---|---|---|---|---|",
    ]
    return "\n".join(head + rows)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--start", action="store_true", help="forget earlier figures")
    args = parser.parse_args()
    path = _results_file()
    if path is None:
        raise SystemExit(f"set {RESULTS_VARIABLE} to the file the benchmarks write to")
    if args.start:
        path.write_text(json.dumps({"started": time.time()}) + "\n", encoding="utf-8")
        return
    print(table(path.read_text(encoding="utf-8").splitlines() if path.exists() else []))


if __name__ == "__main__":
    main()
