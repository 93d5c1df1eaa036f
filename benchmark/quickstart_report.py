"""Summarise the quickstart benchmark (benchmark/quickstart.sh) as a markdown table.

    python benchmark/quickstart_report.py --log-dir benchmark/logs/quickstart --out benchmark/results/quickstart.md

Reads the `{name}.json` records and `{name}.log` outputs that benchmark/launch.py leaves for every
(command, seed): the command, its exit status, its wall time, and the final deterministic evaluation
line the algorithm prints (`eval <env id>: mean +- std over N episodes`). One row per command: seeds that reach
the task's solved threshold, evaluation mean ± std over seeds, and wall time per run.
"""

import argparse
import glob
import json
import os
import re
import shlex
from collections import defaultdict

import numpy as np

# Solved thresholds of the deterministic evaluation return (gymnasium's reward_threshold where it has one;
# Pendulum-v1 and Acrobot-v1 have none, -200 and -100 are the usual bars).
THRESHOLDS = {"CartPole-v1": 475, "Acrobot-v1": -100, "LunarLander": 200, "Pendulum-v1": -200, "InvertedPendulum": 1000}
EVAL_LINE = re.compile(r"^eval[^:]*: (-?[\d.]+) \+- ([\d.]+) over (\d+) episodes$", re.M)


def threshold(env_id: str) -> float:
    return next(v for k, v in THRESHOLDS.items() if env_id.startswith(k))


def load(log_dir: str) -> dict:
    """{command without --seed: [(seed, eval mean or None, wall seconds, exit status)]}."""
    rows = defaultdict(list)
    for path in sorted(glob.glob(os.path.join(log_dir, "*.json"))):
        with open(path) as f:
            record = json.load(f)
        with open(path[: -len(".json")] + ".log") as f:
            found = EVAL_LINE.findall(f.read())
        command, seed = record["command"].rsplit(" --seed ", 1)
        result = float(found[-1][0]) if found and record["returncode"] == 0 else None
        rows[command].append((int(seed), result, record["wall_seconds"], record["returncode"]))
    return rows


def table(rows: dict, order: list) -> str:
    lines = [
        "| command | solved (threshold) | eval return, mean ± std over seeds | per seed | wall time per run |",
        "|---|---|---|---|---|",
    ]
    for command in sorted(rows, key=lambda c: order.index(c) if c in order else len(order)):
        runs = sorted(rows[command])
        words = shlex.split(command)
        bar = threshold(words[words.index("--env-id") + 1])
        evals = [r for _, r, _, _ in runs if r is not None]
        solved = sum(r is not None and r >= bar for _, r, _, _ in runs)
        per_seed = ", ".join(
            f"{s}: {r:.1f}" if r is not None else f"{s}: failed (exit {code})" for s, r, _, code in runs
        )
        walls = [w for _, _, w, _ in runs]
        lines.append(
            f"| `{command}` | {solved} of {len(runs)} (>= {bar}) | {np.mean(evals):.1f} ± {np.std(evals):.1f} | "
            f"{per_seed} | {np.mean(walls) / 60:.1f} min (max {np.max(walls) / 60:.1f}) |"
        )
    return "\n".join(lines) + "\n"


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--log-dir", default="benchmark/logs/quickstart")
    parser.add_argument("--script", default="benchmark/quickstart.sh", help="orders the rows as the script does")
    parser.add_argument("--out", default=None, help="write the table to this markdown file after --header")
    parser.add_argument("--header", default="", help="text put above the table in --out")
    args = parser.parse_args()
    rows = load(args.log_dir)
    if not rows:
        raise SystemExit(f"error: no finished runs in {args.log_dir}")
    order = re.findall(r'--command "([^"]+)"', open(args.script).read()) if os.path.isfile(args.script) else []
    text = table(rows, order)
    if args.out:
        with open(args.out, "w") as f:
            f.write(args.header + text)
    print(text)


if __name__ == "__main__":
    main()
