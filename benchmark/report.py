"""Turn TensorBoard runs into a markdown table and a learning-curve plot.

    python benchmark/report.py --exp-name ppo_clip --out benchmark/results/ppo_clip

Reads every run directory `runs/{env_id}__{exp_name}__{seed}__{time}` of the experiment (the newest
run per env and seed) and writes `{out}.md` (one row per env: final deterministic evaluation return,
mean +- std over seeds; the mean of each run's last 100 training episodes, CleanRL's metric; steps;
wall time; SPS) and `{out}.png` (training episodic return against global step, mean over seeds with
a min-max band). Needs the benchmark extra (matplotlib).
"""

import argparse
import glob
import os
from collections import defaultdict

import numpy as np
from tensorboard.backend.event_processing.event_accumulator import EventAccumulator


def load_runs(runs_dir: str, exp_name: str) -> dict:
    """{env_id: {seed: run}} with the newest run of every (env, seed) pair."""
    newest = {}
    for path in glob.glob(os.path.join(runs_dir, f"*__{exp_name}__*__*")):
        env_id, _, seed, stamp = os.path.basename(path).rsplit("__", 3)
        key = (env_id, int(seed))
        if key not in newest or int(stamp) > newest[key][0]:
            newest[key] = (int(stamp), path)
    runs = defaultdict(dict)
    for (env_id, seed), (_, path) in sorted(newest.items()):
        acc = EventAccumulator(path, size_guidance={"scalars": 0})
        acc.Reload()
        tags = set(acc.Tags()["scalars"])
        if "eval/episodic_return" not in tags:
            print(f"skipping unfinished run {path}")
            continue
        train = acc.Scalars("charts/episodic_return")
        sps = acc.Scalars("charts/SPS")
        runs[env_id][seed] = {
            "eval": [e.value for e in acc.Scalars("eval/episodic_return")],
            "steps": np.array([e.step for e in train]),
            "returns": np.array([e.value for e in train]),
            "last_step": sps[-1].step,
            "sps": sps[-1].value,
            "wall": sps[-1].wall_time - acc.FirstEventTimestamp(),
        }
    return runs


def mean_std(values) -> str:
    return f"{np.mean(values):.1f} ± {np.std(values):.1f}"


def table(runs: dict, exp_name: str) -> str:
    lines = [
        f"| env | {exp_name}: eval return (mean ± std over seeds) | per-seed eval means | "
        "train return, last 100 episodes | seeds | steps | wall time per run | SPS |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for env_id, seeds in runs.items():
        evals = [np.mean(r["eval"]) for r in seeds.values()]
        trains = [np.mean(r["returns"][-100:]) for r in seeds.values()]
        per_seed = ", ".join(f"{s}: {np.mean(r['eval']):.1f}" for s, r in seeds.items())
        steps = {r["last_step"] for r in seeds.values()}
        wall = np.mean([r["wall"] for r in seeds.values()])
        sps = np.mean([r["sps"] for r in seeds.values()])
        lines.append(
            f"| {env_id} | {mean_std(evals)} | {per_seed} | {mean_std(trains)} | {len(seeds)} | "
            f"{'/'.join(str(s) for s in sorted(steps))} | {wall / 60:.1f} min | {sps:.0f} |"
        )
    return "\n".join(lines) + "\n"


def plot(runs: dict, exp_name: str, path: str):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, len(runs), figsize=(5 * len(runs), 3.6), squeeze=False)
    for ax, (env_id, seeds) in zip(axes[0], runs.items()):
        grid = np.linspace(0, max(r["last_step"] for r in seeds.values()), 200)
        curves = []
        for r in seeds.values():
            # Moving average over 20 episodes, then interpolated onto a common step grid.
            kernel = min(20, len(r["returns"]))
            smooth = np.convolve(r["returns"], np.ones(kernel) / kernel, mode="valid")
            curves.append(np.interp(grid, r["steps"][kernel - 1 :], smooth, left=np.nan))
        curves = np.array(curves)
        ax.plot(grid, np.nanmean(curves, 0), label=f"{exp_name} ({len(seeds)} seeds)")
        ax.fill_between(grid, np.nanmin(curves, 0), np.nanmax(curves, 0), alpha=0.25)
        ax.set_title(env_id)
        ax.set_xlabel("environment steps")
        ax.set_ylabel("episodic return (training)")
        ax.grid(alpha=0.3)
        ax.legend(loc="lower right")
    fig.tight_layout()
    fig.savefig(path, dpi=110)


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--exp-name", required=True)
    parser.add_argument("--runs-dir", default="runs")
    parser.add_argument("--out", required=True, help="output path without extension")
    parser.add_argument("--command", default=None, help="the command that made the runs, quoted in the table")
    args = parser.parse_args()
    runs = load_runs(args.runs_dir, args.exp_name)
    if not runs:
        raise SystemExit(f"error: no finished runs of {args.exp_name} in {args.runs_dir}")
    text = table(runs, args.exp_name)
    if args.command:
        text = f"Made by `{args.command}`.\n\n" + text
    os.makedirs(os.path.dirname(args.out) or ".", exist_ok=True)
    with open(f"{args.out}.md", "w") as f:
        f.write(text)
    plot(runs, args.exp_name, f"{args.out}.png")
    print(text)


if __name__ == "__main__":
    main()
