"""Tune a script's hyperparameters for your env with Optuna, trials run as Ray tasks (here or on a cluster).

    python benchmark/tune.py --command "python algos/a2c.py --env-id LunarLander-v2 --total-timesteps 300000" \\
        --param learning_rate=loguniform:1e-5:1e-2 --param num_envs=categorical:4,8,16 \\
        --param ent_coef=uniform:0:0.05 --trials 60 --seeds 1 2

Objective: the mean over `--seeds` of each run's final deterministic evaluation (the `eval ...` line the
script prints at the end of training), maximised. A trial runs the command once per seed with the trial's
values as flags (`--param` names a field of the script's Args: learning_rate or learning-rate), one CPU and
one torch thread per run. Distributions: uniform:LOW:HIGH, loguniform:LOW:HIGH, int:LOW:HIGH,
categorical:A,B,C (categorical:True,False for a switch such as norm_adv).

- Sampler: Optuna's TPE, seeded (`--sampler-seed`). Pruner: Optuna's median rule on the runs' training
  returns (mean of the last 20 episodes) read from their checkpoints while they run, every
  `--report-every` steps: a trial below the median of earlier trials at the same point stops there. A
  finished trial's reports the pruner missed while it ran are filled in from its TensorBoard events, so
  later trials are compared with its whole curve.
- Trials are jobs of benchmark/launch.py's machinery: a Ray task per run, on a local Ray instance with
  `--workers` CPUs (default: all cores) or on a cluster with `--address host:port`. A run whose node is lost
  runs once more from its first step (Ray's retry), unlike a launch.py job, which resumes from its checkpoint.
- The study lives in `--study-dir` (Optuna's journal file, and each run's TensorBoard folder and log under
  `trials/`): the same command after Ctrl-C, SIGTERM or a crash continues it; finished trials are kept and
  trials that were running are run again under new numbers. `--trials` counts finished trials.
- Output, also in `{study_dir}/results.md`: the best trials (values, score mean +- std over seeds), the
  command that reproduces the best one, parameter importances (Optuna's fANOVA) and `{study_dir}/history.png`.
- `--track`: every run is a W&B run (its flags, the trial's values among them, in its config), all in one
  group per study.

Bad input (an unknown flag, a malformed distribution, a value the flag cannot take, a command that fails its
own checks) stops with one line before any trial runs.
"""

import argparse
import contextlib
import dataclasses
import glob
import importlib.util
import io
import itertools
import os
import shlex
import signal
import sys
import uuid

import numpy as np
import optuna
import ray
import torch
import tyro
from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import launch  # noqa: E402  (the job machinery: a Ray task per run, its files and reports sent back)

KINDS = {"uniform": 2, "loguniform": 2, "int": 2, "categorical": None}


def fail(message: str):
    raise SystemExit(f"error: {message}")


def load_script(command: str):
    words = shlex.split(command)
    scripts = [w for w in words if w.endswith(".py")]
    if not scripts or not os.path.isfile(os.path.join(launch.ROOT, scripts[0])):
        fail(f"--command {command!r} names no script of this project (for example algos/ppo_clip.py)")
    spec = importlib.util.spec_from_file_location("tuned_script", os.path.join(launch.ROOT, scripts[0]))
    module = sys.modules["tuned_script"] = importlib.util.module_from_spec(spec)  # tyro reads its source
    spec.loader.exec_module(module)  # the scripts run nothing on import
    return words, words[words.index(scripts[0]) + 1 :], module


def parse_param(text: str, fields: dict, given: list) -> tuple:
    """NAME=KIND:ARGS as (field name, kind, values), checked against the script's Args."""
    name, _, spec = text.partition("=")
    kind, _, rest = spec.partition(":")
    field = name.strip().replace("-", "_")
    if field not in fields:
        fail(f"--param {text}: the script has no flag --{field.replace('_', '-')}")
    if f"--{field.replace('_', '-')}" in given or f"--{field}" in given:
        fail(f"--param {text}: --{field.replace('_', '-')} is set in --command too")
    values = rest.split(",") if kind == "categorical" else rest.split(":")
    if kind not in KINDS or not rest or (KINDS[kind] and len(values) != KINDS[kind]):
        fail(f"--param {text}: expected NAME=uniform:LOW:HIGH, loguniform:LOW:HIGH, int:LOW:HIGH or categorical:A,B")
    if kind == "categorical" and fields[field].type is bool:  # tyro's --flag / --no-flag, not --flag True
        if not set(values) <= {"True", "False"}:
            fail(f"--param {text}: --{field.replace('_', '-')} is True or False")
        values = [v == "True" for v in values]
    elif kind != "categorical":
        try:
            values = [int(v) if kind == "int" else float(v) for v in values]
        except ValueError:
            fail(f"--param {text}: {kind} bounds must be {'integers' if kind == 'int' else 'numbers'}")
        if values[0] >= values[1] or (kind == "loguniform" and values[0] <= 0):
            fail(f"--param {text}: need LOW < HIGH{' and LOW > 0' if kind == 'loguniform' else ''}")
    return field, kind, values


def as_flags(values: dict) -> list:
    flags = [[f"--{'no-' * (v is False)}{k}"] if isinstance(v, bool) else [f"--{k}", str(v)] for k, v in values.items()]
    return [word.replace("_", "-") if word.startswith("--") else word for word in itertools.chain(*flags)]


def check(module, flags: list, what: str):
    """The script's own parsing and checks (those its main runs before training), on `flags`."""
    errors = io.StringIO()
    try:
        with contextlib.redirect_stderr(errors), contextlib.redirect_stdout(io.StringIO()):
            args = tyro.cli(module.Args, args=flags)
    except (SystemExit, ValueError, TypeError):
        lines = [line.strip(" │╭╰─-") for line in errors.getvalue().splitlines()]
        reason = next((line for line in lines if line.startswith("Error parsing")), "").partition(": ")[2]
        fail(f"{what}: the script rejects {' '.join(flags[-2:])}{': ' + reason if reason else ''}")
    try:
        with contextlib.redirect_stdout(io.StringIO()):
            module.setup(args)  # the env, the defaults of its action space, the input checks
    except SystemExit as e:
        fail(f"{what}: {str(e).removeprefix('error: ')}")


def suggest(trial: optuna.Trial, params: list) -> dict:
    values = {}
    for field, kind, spec in params:
        if kind == "categorical":
            values[field] = trial.suggest_categorical(field, spec)
        elif kind == "int":
            values[field] = trial.suggest_int(field, *spec)
        else:
            values[field] = trial.suggest_float(field, *spec, log=kind == "loguniform")
    return values


def report_step(checkpoint: str, every: int):
    """(index of the report, mean of the last 20 training returns) of a checkpoint written while a run trains;
    no value for the last one, written as training ends: the evaluation decides then."""
    state = torch.load(checkpoint, map_location="cpu", weights_only=True, mmap=True)
    returns, step = state["loop"]["train_returns"][-20:], state["loop"]["global_step"]
    last = step >= state["args"]["total_timesteps"]
    return round(step / every), (float(np.mean(returns)) if returns and not last else None)


def curve(folder: str, every: int) -> dict:
    """{index of the report: mean of the last 20 training returns at step index * every} of a finished run,
    from its TensorBoard events: a run is polled for a new checkpoint five times a second, so a fast run's live
    reports are sparse, and a later trial is compared only where a finished one has a value."""
    run = max(glob.glob(os.path.join(folder, "runs", "*")), key=os.path.getmtime)  # a retry's run is the newest
    total = torch.load(glob.glob(os.path.join(run, "*.pt"))[0], weights_only=True, mmap=True)["args"]["total_timesteps"]
    returns = EventAccumulator(run, size_guidance={"scalars": 0}).Reload().Scalars("charts/episodic_return")
    steps, values = np.array([e.step for e in returns]), np.array([e.value for e in returns])
    reports = range(1, -(-total // every))  # as report_step: the last one is the evaluation's
    return {k: float(np.mean(values[steps <= k * every][-20:])) for k in reports if (steps <= k * every).any()}


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--command", required=True, help="the training command, without --seed")
    parser.add_argument("--param", action="append", required=True, help="NAME=KIND:ARGS (repeatable)")
    parser.add_argument("--trials", type=int, default=50, help="finished trials the study should hold")
    parser.add_argument("--seeds", type=int, nargs="+", default=[1], help="seeds each trial runs")
    parser.add_argument("--study-dir", default="benchmark/tune", help="where the study and its runs live")
    parser.add_argument("--address", default=os.environ.get("RAY_ADDRESS"), help="a running Ray cluster (host:port)")
    parser.add_argument("--workers", type=int, default=None, help="CPUs of the local Ray instance (default: all)")
    parser.add_argument("--report-every", type=int, default=20_000, help="steps between reports to the pruner")
    parser.add_argument("--prune-after", type=int, default=5, help="trials finished before pruning starts")
    parser.add_argument("--sampler-seed", type=int, default=0, help="seed of the TPE sampler")
    parser.add_argument("--track", action="store_true", help="track every run in Weights & Biases, one group")
    args = parser.parse_args(argv)
    for flag in ("trials", "report_every", "workers"):
        if getattr(args, flag) is not None and getattr(args, flag) <= 0:
            fail(f"--{flag.replace('_', '-')} must be positive")
    words, given, module = load_script(args.command)
    fields = {f.name: f for f in dataclasses.fields(module.Args)}
    params = [parse_param(text, fields, given) for text in args.param]
    if len({field for field, _, _ in params}) < len(params):
        fail("a flag is tuned by two --param")
    check(module, given, "--command")
    for field, _, spec in params:  # every categorical value and both ends of every range
        for value in spec:
            check(module, given + as_flags({field: value}), f"--param {field}")

    os.makedirs(os.path.join(args.study_dir, "trials"), exist_ok=True)
    journal = optuna.storages.journal.JournalFileBackend(os.path.join(args.study_dir, "journal.log"))
    storage = optuna.storages.JournalStorage(journal)
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    study = optuna.create_study(study_name="tune", storage=storage, direction="maximize", load_if_exists=True)
    setup = {"command": args.command, "params": [f"{f}={k}:{v}" for f, k, v in params], "seeds": args.seeds}
    if not study.user_attrs:
        for key, value in dict(setup, group=f"tune-{uuid.uuid4().hex[:8]}").items():
            study.set_user_attr(key, value)
    elif any(study.user_attrs.get(k) != v for k, v in setup.items()):
        fail(f"{args.study_dir} holds a study of another command, --param or --seeds; choose another --study-dir")
    for trial in study.get_trials(deepcopy=False, states=(optuna.trial.TrialState.RUNNING,)):
        study.tell(trial.number, state=optuna.trial.TrialState.FAIL)  # stopped with its process: run it again
        study.enqueue_trial(trial.params)
    study.sampler = optuna.samplers.TPESampler(seed=args.sampler_seed + len(study.trials))  # no replay on restart
    study.pruner = optuna.pruners.MedianPruner(n_startup_trials=args.prune_after, n_warmup_steps=1)
    finished_states = (optuna.trial.TrialState.COMPLETE, optuna.trial.TrialState.PRUNED)

    env = {k: v for k, v in os.environ.items() if launch.PASSED_ENV.match(k)}
    if args.track:
        env.update(WANDB_RUN_GROUP=study.user_attrs["group"])
        words = words + ["--track"]
    ray.cloudpickle.register_pickle_by_value(launch)  # the nodes get launch.py's task with the code, not a module
    events = launch.connect(args.address, args.workers)
    task = ray.remote(launch.run_job).options(num_cpus=1, max_retries=1)
    capacity = max(int(ray.cluster_resources().get("CPU", 1)), len(args.seeds))
    trials, runs = {}, {}  # trial number: (trial, values, {seed: score}, {report: {seed: value}}); ref: (number, seed)

    def start_trial():
        trial = study.ask()
        values = suggest(trial, params)
        trials[trial.number] = (trial, values, {}, {})
        for seed in args.seeds:
            flags = as_flags(values) + ["--seed", str(seed), "--checkpoint-every", str(args.report_every)]
            name = f"trial{trial.number}__seed{seed}"
            runs[task.remote(name, 1, words + flags, 1, env, events, None)] = (trial.number, seed)
        print(f"trial {trial.number}: {' '.join(as_flags(values))}", flush=True)

    def end_trial(number: int, state, value=None):
        trial, values, scores, _ = trials.pop(number)
        for ref in [ref for ref, (n, _) in runs.items() if n == number]:
            ray.cancel(ref, force=True)
            runs.pop(ref)
        if state == optuna.trial.TrialState.COMPLETE:
            trial.set_user_attr("scores", [scores[s] for s in args.seeds])
            study.tell(trial, value)
            print(f"trial {number}: {value:.2f} (seeds {', '.join(f'{scores[s]:.1f}' for s in args.seeds)})")
        else:
            study.tell(trial, state=state)
            print(f"trial {number}: {state.name.lower()}", flush=True)

    def on_report(name: str, blob: bytes):
        number, seed = int(name.split("__")[0][5:]), int(name.split("seed")[1])
        if number not in trials:
            return
        folder = os.path.join(args.study_dir, "trials", str(number), f"seed{seed}")
        checkpoint = next(p for p in launch.unpack(blob, folder) if p.endswith(".pt"))
        step, value = report_step(os.path.join(folder, checkpoint), args.report_every)
        trial, _, _, reports = trials[number]
        reports.setdefault(step, {})[seed] = value
        if len(reports[step]) == len(args.seeds) and None not in reports[step].values():
            trial.report(float(np.mean(list(reports[step].values()))), step)
            if trial.should_prune():
                end_trial(number, optuna.trial.TrialState.PRUNED)

    stopped = []
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda signum, _: stopped.append(signum) or launch.interrupt(signum, None))
    try:
        while True:
            finished = len(study.get_trials(deepcopy=False, states=finished_states))
            while finished + len(trials) < args.trials and len(runs) + len(args.seeds) <= capacity:
                start_trial()
            if not runs:
                break
            done, _ = ray.wait(list(runs), num_returns=1, timeout=1.0)
            while not events.empty():
                kind, name, _, *report = events.get()
                if kind == "checkpoint":
                    on_report(name, report[0])
            for ref in done:
                if ref not in runs:
                    continue
                number, seed = runs.pop(ref)
                try:
                    result = ray.get(ref)
                except ray.exceptions.RayError as e:
                    print(f"trial {number} seed {seed}: {type(e).__name__}", flush=True)
                    end_trial(number, optuna.trial.TrialState.FAIL)
                    continue
                folder = os.path.join(args.study_dir, "trials", str(number), f"seed{seed}")
                launch.unpack(result["files"], folder)
                with open(os.path.join(folder, "output.log"), "w") as f:
                    f.write(result["output"])
                evals = launch.EVAL_LINE.findall(result["output"])
                if result["returncode"] != 0 or not evals:
                    print(f"trial {number} seed {seed} failed (exit {result['returncode']}); see {folder}/output.log")
                    end_trial(number, optuna.trial.TrialState.FAIL)
                    continue
                trials[number][2][seed] = float(evals[-1][0])
                if len(trials[number][2]) == len(args.seeds):
                    trial, _, _, reports = trials[number]
                    curves = [
                        curve(os.path.join(args.study_dir, "trials", str(number), f"seed{s}"), args.report_every)
                        for s in args.seeds
                    ]
                    live = {k for k, r in reports.items() if len(r) == len(args.seeds) and None not in r.values()}
                    for k in sorted(set(curves[0]).intersection(*curves[1:]) - live):
                        trial.report(float(np.mean([c[k] for c in curves])), k)
                    end_trial(
                        number, optuna.trial.TrialState.COMPLETE, float(np.mean(list(trials[number][2].values())))
                    )
    except KeyboardInterrupt:
        for ref in runs:
            ray.cancel(ref, force=True)
        ray.shutdown()
        sig = signal.Signals(stopped[-1])
        print(f"{sig.name}: stopped; the same command continues the study in {args.study_dir}", file=sys.stderr)
        return 128 + sig
    ray.shutdown()
    summarize(study, args)
    return 0


def summarize(study: optuna.Study, args):
    done = sorted(study.get_trials(states=(optuna.trial.TrialState.COMPLETE,)), key=lambda t: -t.value)
    if not done:
        print("no trial completed")
        return
    rows = [
        "| trial | " + " | ".join(done[0].params) + " | score, mean ± std over seeds |",
        "|---" * (len(done[0].params) + 2) + "|",
    ]
    for t in done[:10]:
        scores = t.user_attrs["scores"]
        rows.append(
            f"| {t.number} | "
            + " | ".join(f"{v:.4g}" if isinstance(v, float) else str(v) for v in t.params.values())
            + f" | {np.mean(scores):.2f} ± {np.std(scores):.2f} |"
        )
    best = done[0]
    command = f"{args.command} {' '.join(as_flags(best.params))} --torch-threads 1"
    lines = [
        f"Objective: mean over seeds {args.seeds} of the final deterministic evaluation, maximised.",
        "",
        *rows,
        "",
        f"Best (trial {best.number}), for each seed in {' '.join(map(str, args.seeds))}:",
        "",
        f"    {command} --seed SEED",
        "",
    ]
    if len(done) >= 2 and len(best.params) >= 1:
        importances = optuna.importance.get_param_importances(study)
        lines.append("Parameter importances (fANOVA): " + ", ".join(f"{k} {v:.2f}" for k, v in importances.items()))
    text = "\n".join(lines)
    print(text)
    with open(os.path.join(args.study_dir, "results.md"), "w") as f:
        f.write(f"Made by `python benchmark/tune.py {' '.join(shlex.quote(a) for a in sys.argv[1:])}`\n\n{text}\n")
    import warnings

    import matplotlib

    matplotlib.use("Agg")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # Optuna marks its matplotlib plots experimental
        axes = optuna.visualization.matplotlib.plot_optimization_history(study)
    axes.figure.savefig(os.path.join(args.study_dir, "history.png"), dpi=100, bbox_inches="tight")


if __name__ == "__main__":
    sys.exit(main())
