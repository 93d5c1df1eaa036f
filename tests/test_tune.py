"""benchmark/tune.py with real Optuna and a real local Ray instance, on vpg.py and CartPole-v1 with tiny budgets:
the study separates good learning rates from bad ones, its printed command reproduces the best score, the
pruner stops trailing trials early, a study stopped with SIGTERM continues where it was, bad input stops
before any trial."""

import importlib.util
import os
import re
import signal
import subprocess
import sys
import threading
import time

import numpy as np
import optuna
import pytest
import torch
from conftest import RAY_DAEMONS, RAY_RUNS, leftover_processes

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
TUNE = os.environ.get("TUNE_PY") or os.path.join(ROOT, "benchmark", "tune.py")
# 8 batches of 1000 steps; each batch writes a checkpoint, which the pruner reads.
VPG = "python algos/vpg.py --env-id CartPole-v1 --num-steps 250 --total-timesteps 8000 --eval-episodes 3"
LR = "policy_lr=loguniform:1e-5:1e-1"
pytestmark = pytest.mark.xdist_group("ray")  # one Ray instance at a time: 2 cores


@pytest.fixture(autouse=True)
def nothing_left_behind():
    before = set(leftover_processes(RAY_DAEMONS, wait=0))  # another test module's cluster may be up
    yield
    assert not leftover_processes(RAY_RUNS)
    deadline = time.time() + 60  # Ray's daemons take a while to go on a loaded 2-core machine
    while set(leftover_processes(RAY_DAEMONS, wait=0)) - before and time.time() < deadline:
        time.sleep(0.5)
    left = set(leftover_processes(RAY_DAEMONS, wait=0)) - before
    assert not left, left  # the study's Ray instance has stopped


def tune_args(study_dir, trials, *extra):
    flags = ["--command", VPG, "--param", LR, "--trials", str(trials), "--seeds", "1", "--report-every", "1000"]
    return [sys.executable, TUNE, *flags, "--study-dir", str(study_dir), "--workers", "2", *extra]


def load_study(study_dir):
    journal = optuna.storages.journal.JournalFileBackend(os.path.join(study_dir, "journal.log"))
    return optuna.load_study(study_name="tune", storage=optuna.storages.JournalStorage(journal))


def test_a_study_stopped_and_continued_ranks_prunes_and_prints_a_reproducing_command(tmp_path):
    """SIGTERM once two trials have finished: exit 143. The same command continues the numbering, keeps the
    finished trials, runs the interrupted ones again with their values, and completes 8 trials, some pruned
    before their last report; the best learning rate clearly beats the worst, and the printed command
    reproduces the best score."""
    args = tune_args(tmp_path / "study", 8, "--prune-after", "3")
    proc = subprocess.Popen(args, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    lines = []
    threading.Thread(target=lambda: lines.extend(proc.stdout), daemon=True).start()
    deadline = time.time() + 300
    while sum(bool(re.match(r"trial \d+: -?[\d.]+ \(seeds", line)) for line in lines) < 2:
        assert time.time() < deadline and proc.poll() is None, "".join(lines)
        time.sleep(0.2)
    proc.send_signal(signal.SIGTERM)
    assert proc.wait(timeout=120) == 143
    assert "SIGTERM: stopped" in proc.stderr.read()
    first = load_study(tmp_path / "study")
    finished = {t.number for t in first.trials if t.state == optuna.trial.TrialState.COMPLETE}
    params = {t.number: t.params for t in first.trials}
    assert len(finished) >= 2

    again = subprocess.run(args, capture_output=True, text=True, timeout=600)
    assert again.returncode == 0, again.stdout + again.stderr
    started = {int(n) for n in re.findall(r"^trial (\d+): --", again.stdout, re.M)}
    assert started and min(started) == max(params) + 1  # numbering continues
    study = load_study(tmp_path / "study")
    for number in finished:  # kept as they were, not run again
        assert study.trials[number].state == optuna.trial.TrialState.COMPLETE
        assert study.trials[number].params == params[number]
    lost = [n for n in params if n not in finished]  # running at the stop: run again with the same values
    assert all(params[n] in [t.params for t in study.trials if t.number in started] for n in lost)

    complete = [t for t in study.trials if t.state == optuna.trial.TrialState.COMPLETE]
    pruned = [t for t in study.trials if t.state == optuna.trial.TrialState.PRUNED]
    assert len(complete) + len(pruned) == 8
    assert pruned and all(max(t.intermediate_values) < 8 for t in pruned)  # stopped before the 8th report
    assert all(sorted(t.intermediate_values) == list(range(1, 8)) for t in complete)  # whole curves to compare
    values = sorted(t.value for t in complete)
    assert values[-1] - values[0] >= 50, values  # a learning rate over four decades matters
    assert (tmp_path / "study" / "history.png").stat().st_size > 0
    assert "Parameter importances (fANOVA): policy_lr 1.00" in again.stdout
    (command,) = re.findall(r"^    (python algos/vpg\.py .*) --seed SEED$", again.stdout, re.M)
    _, script, *flags = command.split()
    best = subprocess.run(
        [sys.executable, os.path.join(ROOT, script), *flags, "--seed", "1"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=300,
    )
    (score,) = re.findall(r"^eval CartPole-v1: (-?[\d.]+) ", best.stdout, re.M)
    assert float(score) == pytest.approx(values[-1], abs=0.005)  # printed with two decimals


def load_tune():
    spec = importlib.util.spec_from_file_location("tune", TUNE)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.mark.parametrize(
    "command,param,message",
    [
        (VPG, "no_such_flag=uniform:0:1", "--param no_such_flag=uniform:0:1: the script has no flag --no-such-flag"),
        (VPG, "policy_lr=uniform:1", "expected NAME=uniform:LOW:HIGH"),
        (VPG, "policy_lr=loguniform:0:1", "need LOW < HIGH and LOW > 0"),
        (VPG, "num_envs=categorical:4,x", "--param num_envs: the script rejects --num-envs x"),
        (VPG, "num_envs=categorical:4,0", "--param num_envs: --num-envs must be positive, got 0"),
        (VPG, "num_steps=int:250:300", "--num-steps is set in --command too"),
        (VPG, "norm_adv=categorical:True,yes", "--param norm_adv=categorical:True,yes: --norm-adv is True or False"),
        ("python algos/vpg.py --env-id NoSuchEnv-v0", LR, "--command: cannot create NoSuchEnv-v0: NameNotFound"),
        ("python algos/nope.py", LR, "names no script of this project"),
    ],
)
def test_bad_input_stops_before_any_trial(command, param, message, tmp_path):
    tune = load_tune()
    with pytest.raises(SystemExit) as e:
        tune.main(["--command", command, "--param", param, "--study-dir", str(tmp_path / "study")])
    assert str(e.value).startswith("error: ") and message in str(e.value) and "\n" not in str(e.value)
    assert not (tmp_path / "study").exists()  # no study, no trial


def test_a_finished_runs_missed_reports_come_from_its_tensorboard_events(tmp_path):
    """curve(): at each report point k * every but the last (the evaluation's), the mean of the last 20
    training returns logged at or before it, against a slow reference; an episode ends exactly at one point. Of
    two attempts of a run (the first on a lost node), the newer counts."""
    from torch.utils.tensorboard import SummaryWriter

    rng = np.random.default_rng(0)
    steps = sorted(set(rng.integers(1, 5000, 300).tolist()) | {2000})
    values = rng.normal(0, 100, len(steps)).astype(np.float32).tolist()
    run = tmp_path / "runs" / "CartPole-v1__vpg__1__1"
    writer = SummaryWriter(str(run))
    for step, value in zip(steps, values):
        writer.add_scalar("charts/episodic_return", value, step)
    writer.close()
    torch.save({"args": {"total_timesteps": 5000}}, run / "vpg.pt")
    lost = tmp_path / "runs" / "CartPole-v1__vpg__1__0"  # an attempt whose node was lost: Ray ran it again
    writer = SummaryWriter(str(lost))
    writer.add_scalar("charts/episodic_return", 1e6, 1)
    writer.close()
    torch.save({"args": {"total_timesteps": 5000}}, lost / "vpg.pt")
    os.utime(lost, (time.time() - 60, time.time() - 60))
    expected = {}
    for k in (1, 2, 3, 4):
        seen = [v for s, v in zip(steps, values) if s <= k * 1000][-20:]
        expected[k] = sum(seen) / len(seen)
    assert load_tune().curve(str(tmp_path), 1000) == pytest.approx(expected, rel=1e-6)


def test_boolean_flags_are_tuned_as_the_script_spells_them():
    """A bool field is --flag / --no-flag for tyro; `--flag False` would be rejected by the script."""
    tune = load_tune()
    words, given, module = tune.load_script(VPG)
    fields = {f.name: f for f in tune.dataclasses.fields(module.Args)}
    field, kind, values = tune.parse_param("norm_adv=categorical:True,False", fields, given)
    assert (field, kind, values) == ("norm_adv", "categorical", [True, False])
    assert tune.as_flags({"norm_adv": True, "policy_lr": 0.01}) == ["--norm-adv", "--policy-lr", "0.01"]
    for value in values:  # both parse, and reach the script as the value tuned
        args = tune.tyro.cli(module.Args, args=given + tune.as_flags({field: value}))
        assert args.norm_adv is value


def test_bad_input_on_the_command_line_is_one_line_and_exit_1(tmp_path):
    proc = subprocess.run(
        [sys.executable, TUNE, "--command", VPG, "--param", "policy_lr=uniform:1", "--study-dir", str(tmp_path)],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 1 and len(proc.stderr.strip().splitlines()) == 1, proc.stderr
