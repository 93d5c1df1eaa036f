"""TD3: twin delayed deep deterministic policy gradient.

TD3 (Fujimoto et al. 2018, arXiv:1802.09477) is DDPG with three changes against Q-learning's overestimation:
clipped double Q, y = r + gamma (1 - terminated) min(Q1', Q2')(s', a~) (eq. 10); target policy smoothing,
a~ = clip(mu'(s') + clip(eps, -c, c), low, high) (eq. 14); the actor and targets updating once every
`policy_frequency` critic steps. Variant: the paper's settings as in CleanRL (256-256 ReLU networks, Adam 3e-4,
noises in units of each action dimension's half-range), 25,000 uniform random warm-up steps (CleanRL's MuJoCo
setting; 1,000 on small tasks, as the Pendulum command). A truncation is stored as not-done with its true final
observation (Pardo et al. 2018). Actions: Box only, each dimension scaled to its own bounds.

Run:    python algos/td3.py --env-id Pendulum-v1 --total-timesteps 20000 --learning-starts 1000
"""

# ---- Imports ----
import copy
import dataclasses
import glob
import os
import pickle
import random
import signal
import sys
import time

import gymnasium as gym
import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F
import tyro
from gymnasium.vector import AutoresetMode
from torch.utils.tensorboard import SummaryWriter


# ---- Args ----
@dataclasses.dataclass
class Args:
    exp_name: str = os.path.basename(__file__).removesuffix(".py")  # name used in the run and checkpoint names
    env_id: str = "Pendulum-v1"  # id of the gymnasium environment; ids retired by gymnasium 1.x map to their successor
    total_timesteps: int = 1_000_000  # total environment transitions to collect, summed over all envs
    seed: int = 1  # seed of random, numpy, torch and the environments
    torch_threads: int | None = None  # torch CPU threads, None for torch's default (one per core): fastest here
    cuda: bool = False  # use CUDA when available (small MLPs usually run faster on the CPU)
    track: bool = False  # mirror the run to Weights & Biases (set WANDB_MODE=offline to train without internet)
    wandb_project_name: str = "single-file-rl"  # Weights & Biases project
    wandb_entity: str | None = None  # Weights & Biases entity (team or user); None uses your default
    capture_video: bool = False  # record the evaluation episodes to videos/{run_name}/
    checkpoint_every: int = 10_000  # steps between saves of the run's full state to runs/{run_name}/{exp_name}.pt
    resume: str | None = None  # continue the run saved in this checkpoint or run folder (finished: evaluate it)
    eval_episodes: int = 10  # deterministic evaluation episodes at the end of training (0 skips it)
    hidden_sizes: tuple[int, ...] = (256, 256)  # hidden layer widths of the actor and of the critic

    # Algorithm-specific arguments.
    num_envs: int = 1  # parallel environments; each vector step stores num_envs transitions, takes one gradient step
    buffer_size: int = 1_000_000  # replay buffer capacity in transitions
    gamma: float = 0.99  # discount factor
    tau: float = 0.005  # Polyak coefficient of the target networks: target <- tau * online + (1 - tau) * target
    batch_size: int = 256  # transitions per gradient step
    learning_starts: int = 25_000  # transitions of uniform random actions before learning starts
    policy_lr: float = 3e-4  # Adam learning rate of the actor
    q_lr: float = 3e-4  # Adam learning rate of the critic
    policy_frequency: int = 2  # critic steps per actor and target update (the delay d of the paper)
    exploration_noise: float = 0.1  # std of the exploration noise, in units of each action dimension's half-range
    policy_noise: float = 0.2  # std of the target smoothing noise, in units of each action dimension's half-range
    noise_clip: float = 0.5  # clip of the target smoothing noise, in units of each action dimension's half-range


DEFAULTS = {}  # no default depends on the action space: the file takes one kind


# ---- Environment ----
def make_env(env_id: str, video_folder: str | None = None):
    def thunk():
        env = gym.make(env_id) if video_folder is None else gym.make(env_id, render_mode="rgb_array")
        if video_folder is not None:
            env = gym.wrappers.RecordVideo(env, video_folder, episode_trigger=lambda e: True, disable_logger=True)
        # Per-env statistics of the raw rewards, so every finished env of a step gets reported.
        return gym.wrappers.RecordEpisodeStatistics(env)

    return thunk


# ---- Networks ----
def mlp(in_dim: int, hidden_sizes: tuple[int, ...], out_dim: int) -> nn.Sequential:
    sizes, layers = (in_dim,) + tuple(hidden_sizes) + (out_dim,), []
    for i in range(len(sizes) - 1):
        layers += [nn.Linear(sizes[i], sizes[i + 1]), nn.ReLU()]
    return nn.Sequential(*layers[:-1])


class QNetwork(nn.Module):
    def __init__(self, obs_dim: int, act_dim: int, hidden_sizes: tuple[int, ...]):
        super().__init__()
        self.net = mlp(obs_dim + act_dim, hidden_sizes, 1)

    def forward(self, obs: torch.Tensor, action: torch.Tensor) -> torch.Tensor:
        return self.net(torch.cat([obs, action], -1)).squeeze(-1)


class Actor(nn.Module):
    def __init__(self, obs_dim: int, action_space: gym.spaces.Box, hidden_sizes: tuple[int, ...]):
        super().__init__()
        self.net = mlp(obs_dim, hidden_sizes, int(np.prod(action_space.shape)))
        low, high = (torch.as_tensor(b, dtype=torch.float32) for b in (action_space.low, action_space.high))
        # tanh's (-1, 1) mapped onto [low, high] per dimension.
        self.register_buffer("action_scale", (high - low) / 2.0)
        self.register_buffer("action_bias", (high + low) / 2.0)
        self.register_buffer("low", low)
        self.register_buffer("high", high)

    def forward(self, obs: torch.Tensor) -> torch.Tensor:
        return torch.tanh(self.net(obs)) * self.action_scale + self.action_bias


# ---- Storage ----
class ReplayBuffer:
    """A ring buffer of transitions in numpy arrays, sampled uniformly with its own seeded generator."""

    def __init__(self, capacity: int, obs_dim: int, action_shape: tuple, action_dtype, seed: int):
        self.data = {k: np.zeros((capacity, obs_dim), np.float32) for k in ("obs", "next_obs")}
        self.data.update(actions=np.zeros((capacity,) + action_shape, action_dtype))
        self.data.update(rewards=np.zeros(capacity, np.float32), terminations=np.zeros(capacity, np.float32))
        self.capacity, self.pos, self.size, self.rng = capacity, 0, 0, np.random.default_rng(seed)

    def add(self, obs, next_obs, actions, rewards, terminations):
        idx = (self.pos + np.arange(len(obs))) % self.capacity  # one row per env, wrapping around
        for k, rows in zip(self.data, (obs, next_obs, actions, rewards, terminations)):
            self.data[k][idx] = rows
        self.pos, self.size = (self.pos + len(obs)) % self.capacity, min(self.size + len(obs), self.capacity)

    def sample(self, batch_size: int, device: torch.device) -> dict:
        idx = self.rng.integers(0, self.size, batch_size)
        return {k: torch.as_tensor(v[idx], device=device) for k, v in self.data.items()}

    def state_dict(self) -> dict:  # the filled part only: a checkpoint early in a run stays small
        return dict({k: torch.from_numpy(v[: self.size]) for k, v in self.data.items()}, pos=self.pos, size=self.size)

    def load_state_dict(self, state: dict):
        self.pos, self.size = state["pos"], state["size"]
        for k, v in self.data.items():
            v[: self.size] = state[k].numpy()


# ---- Helpers ----
def soft_update(target: nn.Module, source: nn.Module, tau: float):
    """Polyak averaging, target <- tau * source + (1 - tau) * target (DDPG paper, sec. 3)."""
    with torch.no_grad():
        for t, s in zip(target.parameters(), source.parameters()):
            t.lerp_(s, tau)


def smoothed_target_actions(target_actor, next_obs, policy_noise, noise_clip):
    """Target policy smoothing (TD3 eq. 14): clipped Gaussian noise on mu'(s'), then clipped per
    dimension to the action bounds, so the target averages Q' over a small region of actions."""
    mu = target_actor(next_obs)
    noise = (torch.randn_like(mu) * policy_noise).clamp(-noise_clip, noise_clip) * target_actor.action_scale
    return torch.max(torch.min(mu + noise, target_actor.high), target_actor.low)


def td_targets(data, target_actor, qf1_target, qf2_target, gamma, policy_noise, noise_clip):
    """Clipped double Q (eq. 10): y = r + gamma (1 - terminated) min(Q1', Q2')(s', a~), the smaller of the
    two target critics at the smoothed target action a~ (eq. 14)."""
    with torch.no_grad():
        next_actions = smoothed_target_actions(target_actor, data["next_obs"], policy_noise, noise_clip)
        next_q = torch.min(qf1_target(data["next_obs"], next_actions), qf2_target(data["next_obs"], next_actions))
        return data["rewards"] + gamma * (1.0 - data["terminations"]) * next_q


def evaluate(actor, args, video_folder, writer=None, global_step=0):
    """Returns of deterministic episodes (no exploration noise) on a fresh env; logged if a writer is given."""
    if args.eval_episodes <= 0:
        return []
    device = next(actor.parameters()).device
    env, returns = make_env(args.env_id, video_folder if args.capture_video else None)(), []
    for episode in range(args.eval_episodes):
        (obs, _), done, total = env.reset(seed=args.seed + 10_000 + episode), False, 0.0
        while not done:
            with torch.no_grad():
                action = actor(torch.as_tensor(obs[None], dtype=torch.float32, device=device))[0].cpu().numpy()
            obs, reward, terminated, truncated, _ = env.step(action)
            total, done = total + float(reward), terminated or truncated
        returns.append(total)
        if writer is not None:
            writer.add_scalar("eval/episodic_return", total, global_step)
    env.close()
    print(f"eval {args.env_id}: {np.mean(returns):.2f} +- {np.std(returns):.2f} over {len(returns)} episodes")
    return returns


# ---- Main ----
def main(args: Args) -> dict:
    state, args, obs_space, action_space = setup(args)
    num_iterations = args.total_timesteps // args.num_envs
    run_name = state["run_name"] if state else f"{args.env_id}__{args.exp_name}__{args.seed}__{int(time.time())}"

    random.seed(args.seed)
    np.random.seed(args.seed)
    torch.manual_seed(args.seed)
    # One stream per consumer, all derived from --seed: numpy generators seeded with one integer would replay
    # one random sequence as the envs' start states, the warm-up actions and the buffer's samples.
    streams = np.random.SeedSequence(args.seed).spawn(3)
    env_seed, action_seed, buffer_seed = (int(s.generate_state(1)[0]) for s in streams)
    device = torch.device("cuda" if args.cuda and torch.cuda.is_available() else "cpu")
    obs_dim = int(np.prod(obs_space.shape))
    actor = Actor(obs_dim, action_space, args.hidden_sizes).to(device)
    qf1 = QNetwork(obs_dim, int(np.prod(action_space.shape)), args.hidden_sizes).to(device)
    qf2 = QNetwork(obs_dim, int(np.prod(action_space.shape)), args.hidden_sizes).to(device)
    target_actor, qf1_target, qf2_target = copy.deepcopy(actor), copy.deepcopy(qf1), copy.deepcopy(qf2)
    actor_optimizer = torch.optim.Adam(actor.parameters(), lr=args.policy_lr, fused=True)
    q_optimizer = torch.optim.Adam(list(qf1.parameters()) + list(qf2.parameters()), lr=args.q_lr, fused=True)
    rb = ReplayBuffer(args.buffer_size, obs_dim, action_space.shape, np.float32, buffer_seed)
    # What a checkpoint holds beside the loop's state and the random streams: everything with a state_dict.
    modules = dict(actor=actor, qf1=qf1, qf2=qf2, target_actor=target_actor, qf1_target=qf1_target)
    modules.update(qf2_target=qf2_target, actor_optimizer=actor_optimizer, q_optimizer=q_optimizer, rb=rb)
    for k, m in modules.items():  # weights only: the pickled envs and random streams are left to resume()
        if state and m is not None:
            m.load_state_dict(state[k])
    if state and state["loop"]["iteration"] >= num_iterations:  # a finished run: evaluate its policy, train nothing
        returns = evaluate(actor, args, f"videos/{run_name}-eval")
        return dict(eval_returns=returns, eval_mean_return=float(np.mean(returns)) if returns else None)
    writer, wandb_id, stop = open_run(args, run_name, state)
    # SAME_STEP autoreset: when an episode ends, step() returns the next episode's first observation
    # and puts the true last one in infos["final_obs"], which is the next_obs the buffer must store.
    envs = gym.vector.SyncVectorEnv([make_env(args.env_id)] * args.num_envs, autoreset_mode=AutoresetMode.SAME_STEP)
    assert envs.metadata["autoreset_mode"] == AutoresetMode.SAME_STEP

    global_step, iteration, q_updates, actor_updates, episodes, recent_returns = 0, 0, 0, 0, 0, []
    obs, _ = envs.reset(seed=env_seed)
    envs.action_space.seed(action_seed)
    generators = [envs.action_space.np_random, rb.rng]
    if state:
        loop, exact = resume(state, envs, generators)
        global_step, iteration, q_updates, actor_updates, episodes, recent_returns, obs = loop.values()
        obs = obs.numpy() if exact else envs.reset()[0]
    start_time, start_step, start_iteration, last_print = time.time(), global_step, iteration, 0.0
    for iteration in range(start_iteration + 1, num_iterations + 1):
        global_step += args.num_envs
        if global_step <= args.learning_starts:
            actions = envs.action_space.sample()
        else:
            with torch.no_grad():
                actions = actor(torch.as_tensor(obs, dtype=torch.float32, device=device))
                actions += torch.randn_like(actions) * actor.action_scale * args.exploration_noise
                actions = torch.max(torch.min(actions, actor.high), actor.low).cpu().numpy()
        next_obs, rewards, terminations, truncations, infos = envs.step(actions)

        if "final_info" in infos:
            ep = infos["final_info"]["episode"]
            for i in np.nonzero(infos["final_info"]["_episode"])[0]:
                episodes += 1
                recent_returns = (recent_returns + [float(ep["r"][i])])[-100:]
                writer.add_scalar("charts/episodic_return", ep["r"][i], global_step)
                writer.add_scalar("charts/episodic_length", ep["l"][i], global_step)

        # Store the true final observation of a finished episode and only `terminations` as done:
        # a truncated episode's last state still has a future the target must bootstrap from.
        real_next_obs = next_obs.copy()
        for i in np.nonzero(terminations | truncations)[0]:
            real_next_obs[i] = infos["final_obs"][i]
        rb.add(obs, real_next_obs, actions, rewards, terminations)
        obs = next_obs

        # ALGO LOGIC: the TD3 critic, delayed actor and target steps on a sampled batch
        if global_step > args.learning_starts:
            data = rb.sample(args.batch_size, device)
            target_q = td_targets(
                data, target_actor, qf1_target, qf2_target, args.gamma, args.policy_noise, args.noise_clip
            )
            qf1_a_values, qf2_a_values = qf1(data["obs"], data["actions"]), qf2(data["obs"], data["actions"])
            qf1_loss, qf2_loss = F.mse_loss(qf1_a_values, target_q), F.mse_loss(qf2_a_values, target_q)
            qf_loss = qf1_loss + qf2_loss
            q_optimizer.zero_grad()
            qf_loss.backward()
            q_optimizer.step()
            q_updates += 1
            if q_updates % args.policy_frequency == 0:
                actor_loss = -qf1(data["obs"], actor(data["obs"])).mean()  # deterministic policy gradient
                actor_optimizer.zero_grad()
                actor_loss.backward()
                actor_optimizer.step()
                actor_updates += 1
                soft_update(target_actor, actor, args.tau)
                soft_update(qf1_target, qf1, args.tau)
                soft_update(qf2_target, qf2, args.tau)

            if q_updates % 100 == 0:
                losses = dict(qf1_loss=qf1_loss, qf2_loss=qf2_loss, qf_loss=qf_loss / 2.0, q_values=qf1_a_values.mean())
                for name, value in losses.items():
                    writer.add_scalar(f"losses/{name}", value, global_step)
                if actor_updates:  # with a policy delay above 100 the actor may not have stepped yet
                    writer.add_scalar("losses/actor_loss", actor_loss.item(), global_step)
        if time.time() - last_print > 5.0 or iteration == num_iterations:
            last_print, sps = time.time(), int((global_step - start_step) / (time.time() - start_time))
            writer.add_scalar("charts/SPS", sps, global_step)
            eta = (args.total_timesteps - global_step) / max(sps, 1) / 60
            recent = f"{np.mean(recent_returns[-20:]):.1f}" if recent_returns else "n/a"
            line = f"step {global_step}/{args.total_timesteps}  SPS {sps}  return(last 20) {recent}  ETA {eta:.1f} min"
            print(line, flush=True)
        if stop or iteration == num_iterations or global_step % args.checkpoint_every < args.num_envs:
            loop = dict(global_step=global_step, iteration=iteration, q_updates=q_updates, actor_updates=actor_updates)
            loop.update(episodes=episodes, train_returns=recent_returns, obs=torch.from_numpy(obs))
            save_checkpoint(args, run_name, wandb_id, modules, loop, envs, generators)
        if stop:
            break

    envs.close()
    eval_returns = evaluate(actor, args, f"videos/{run_name}", writer, global_step) if not stop else []
    close_run(args, writer, stop, run_name, global_step)
    eval_mean_return = float(np.mean(eval_returns)) if eval_returns else None
    return dict(loop, run_name=run_name, args=args, eval_returns=eval_returns, eval_mean_return=eval_mean_return)


# ---- Plumbing: env ids, input checks, checkpoints, stop and resume (the same in every file) ----
RUN_FLAGS = "total_timesteps checkpoint_every resume eval_episodes capture_video torch_threads cuda track".split()


def fail(message: str):  # bad input: one line and exit status 1, no traceback
    raise SystemExit(f"error: {message}")


def resolve_env(env_id: str):
    """The env's id and spaces; ids gymnasium 1.x retired (LunarLander-v2) map to their newest version."""
    if os.getcwd() not in sys.path:  # `module:Name-v0` ids import from the user's folder, not the script's
        sys.path.append(os.getcwd())
    try:
        probe = gym.make(env_id)
    except gym.error.DeprecatedEnv:
        ns, base, _ = gym.envs.registration.parse_env_id(name := env_id.rpartition(":")[2])
        newest = gym.envs.registration.get_env_id(ns, base, gym.envs.registration.find_highest_version(ns, base))
        print(f"notice: {env_id} is retired in gymnasium {gym.__version__}; using {env_id.removesuffix(name) + newest}")
        return resolve_env(env_id.removesuffix(name) + newest)
    except Exception as e:  # an unknown id, or the user's module or env failed: bad input, not a crash
        fail(f"cannot create {env_id}: {type(e).__name__}: {e}")
    probe.close()
    return env_id, probe.observation_space, probe.action_space


def with_defaults(args: Args, action_space: gym.Space) -> Args:  # each None in Args: DEFAULTS' (Discrete, Box)
    box = int(isinstance(action_space, gym.spaces.Box))
    return dataclasses.replace(args, **{k: v[box] for k, v in DEFAULTS.items() if getattr(args, k) is None})


def setup(args: Args) -> tuple:  # a resumed run's checkpoint and flags, the env, its action space's defaults, checks
    state = load_checkpoint(args.resume) if args.resume else None
    args = merge(Args(**state["args"]), args, Args()) if state else args
    env_id, obs_space, action_space = resolve_env(args.env_id)
    args = with_defaults(dataclasses.replace(args, env_id=env_id), action_space)
    check_args(args, obs_space, action_space)
    torch.set_num_threads(args.torch_threads or torch.get_num_threads())
    return state, args, obs_space, action_space


def open_run(args: Args, run_name: str, state: dict | None) -> tuple:
    """TensorBoard, mirrored to W&B with --track; a resumed run continues both."""
    wandb_id, stop = state and state["wandb_id"], []
    if args.track:
        import wandb  # only when tracking: it is slow to import

        settings = dict(project=args.wandb_project_name, entity=args.wandb_entity, name=run_name, config=vars(args))
        wandb_id = wandb.init(**settings, id=wandb_id, resume="allow", sync_tensorboard=True, save_code=True).id
    # A resumed run hides the events logged after its checkpoint, so the step axis has no duplicates.
    writer = SummaryWriter(f"runs/{run_name}", purge_step=state and state["loop"]["global_step"] + 1)
    table = "\n".join(f"|{k}|{v}|" for k, v in vars(args).items())
    writer.add_text("hyperparameters", f"|param|value|\n|-|-|\n{table}")
    for sig in (signal.SIGINT, signal.SIGTERM):  # the first asks the loop to save and stop, a second exits at once
        signal.signal(sig, lambda signum, _: os._exit(128 + signum) if stop else stop.append(signum))
    return writer, wandb_id, stop


def close_run(args: Args, writer: SummaryWriter, stop: list, run_name: str, global_step: int):
    writer.close()
    if args.track:
        import wandb

        wandb.finish()
    if stop:  # the command that resumes the run, and exit status 130 (SIGINT) or 143 (SIGTERM)
        command = f"python {os.path.relpath(__file__)} --resume runs/{run_name}"
        print(f"{signal.Signals(stop[0]).name}: stopped at step {global_step}; resume with {command}", file=sys.stderr)
        raise SystemExit(128 + stop[0])
    signal.signal(signal.SIGINT, signal.default_int_handler)
    signal.signal(signal.SIGTERM, signal.SIG_DFL)
    print(f"checkpoint saved to runs/{run_name}/{args.exp_name}.pt")


def save_checkpoint(args: Args, run_name: str, wandb_id, modules: dict, loop: dict, envs, generators: list):
    """Weights, the loop's state, every random stream and the envs pickled (Box2D and MuJoCo envs, EzPickle, pickle
    their arguments: their RNG and MjData go beside). Renamed once written: a kill leaves the last one whole."""
    keep = ("_np_random", "_np_random_seed", "data")  # the env's RNG (its seed too, or reading it reseeds) and MjData
    envs_ = [(env, {k: v for k, v in vars(env.unwrapped).items() if k in keep}) for env in envs.envs]
    try:
        envs_ = pickle.dumps(envs_)
    except Exception:  # an env that does not pickle (a lambda inside, say) restarts its episodes on resume
        envs_ = pickle.dumps([(None, {"_np_random": env.unwrapped.np_random}) for env in envs.envs])
    randoms = (envs_, [g.bit_generator.state for g in generators], np.random.get_state(), random.getstate())
    state = dict(file=os.path.basename(__file__), args=dataclasses.asdict(args), run_name=run_name, wandb_id=wandb_id)
    state.update({k: None if m is None else m.state_dict() for k, m in modules.items()}, loop=loop)
    pickled = torch.frombuffer(bytearray(pickle.dumps(randoms)), dtype=torch.uint8)
    path = f"runs/{run_name}/{args.exp_name}.pt"
    with open(f"{path}.tmp", "wb") as f:
        torch.save(dict(state, torch_rng=torch.get_rng_state(), pickled=pickled), f)
        os.fsync(f.fileno())
    os.replace(f"{path}.tmp", path)


def load_checkpoint(path: str) -> dict:  # weights only, from a checkpoint of this file or its run folder
    if os.path.isdir(path):  # a run folder holds one checkpoint, {exp_name}.pt
        path = (glob.glob(os.path.join(path, "*.pt")) + [os.path.join(path, "*.pt")])[0]
    try:
        state = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as e:  # missing, truncated, corrupt or not torch's: bad input, not a crash
        fail(f"cannot read checkpoint {path}: {e if isinstance(e, OSError) else 'truncated, corrupt or not ours'}")
    owner, name = state.get("file") if isinstance(state, dict) else None, os.path.basename(__file__)
    if owner != name:
        fail(f"{path} is {f'a checkpoint of {owner}' if owner else 'not a checkpoint of this project'}, not of {name}")
    return state


def merge(saved: Args, given: Args, default: Args) -> Args:  # RUN_FLAGS set apart from `default` may change
    for k, value in vars(given).items():
        if k in RUN_FLAGS and value != getattr(default, k):
            setattr(saved, k, value)
        elif value not in (getattr(default, k), getattr(saved, k)):
            fail(f"--{k.replace('_', '-')} cannot change from the saved run's {getattr(saved, k)}, got {value}")
    return saved


def resume(state: dict, envs, generators: list) -> tuple[dict, bool]:
    """The checkpoint's envs and random streams (unpickling runs code: for the user's own runs) and its loop."""
    torch.set_rng_state(state["torch_rng"])
    envs_, states, np_state, py_state = pickle.loads(state["pickled"].numpy().tobytes())
    for generator, saved in zip(generators, states):
        generator.bit_generator.state = saved
    np.random.set_state(np_state)
    random.setstate(py_state)
    saved_envs = pickle.loads(envs_)
    envs.envs = [current if env is None else env for (env, _), current in zip(saved_envs, envs.envs)]
    for env, (_, attrs) in zip(envs.envs, saved_envs):
        vars(env.unwrapped).update(attrs)
    lost = [e is None or ("data" not in a and isinstance(e.unwrapped, gym.utils.EzPickle)) for e, a in saved_envs]
    print(f"resumed {state['run_name']} at step {state['loop']['global_step']}" + ", episodes restarted" * any(lost))
    return state["loop"], not any(lost)  # envs whose state is lost (Box2D) restart their episodes


def cli() -> Args:
    """The command line with the defaults --help shows: the env's action space's, or with --resume the saved run's."""
    words = [w for w in sys.argv[1:] if w not in ("-h", "--help")]
    given = tyro.cli(Args, args=words, default=with_defaults(Args(), gym.spaces.Discrete(2)))  # its env and --resume
    if given.resume:
        saved = Args(**load_checkpoint(given.resume)["args"])
        return merge(saved, tyro.cli(Args, default=saved), saved)
    env_id, _, action_space = resolve_env(given.env_id)
    return dataclasses.replace(tyro.cli(Args, default=with_defaults(Args(env_id=env_id), action_space)), env_id=env_id)


def check_args(args: Args, obs_space: gym.Space, action_space: gym.Space):
    """Bad input stops here with a one-line error, before any training starts."""
    name = os.path.basename(__file__)
    if not isinstance(obs_space, gym.spaces.Box) or len(obs_space.shape) != 1:
        fail(f"{args.env_id} has observations {obs_space}; {name} supports flat Box observations")
    if not isinstance(action_space, gym.spaces.Box) or len(action_space.shape) != 1:
        hint = "for Discrete actions use dqn.py, ppo_clip.py, a2c.py, trpo.py or vpg.py"
        fail(f"{args.env_id} has actions {action_space}; {name} needs 1-d Box actions; {hint}")
    if not np.all(np.isfinite(action_space.low) & np.isfinite(action_space.high)):
        fail(f"{args.env_id} has unbounded actions {action_space}; {name} needs finite bounds")
    positive = "buffer_size batch_size policy_lr q_lr policy_frequency"
    for k in f"total_timesteps num_envs checkpoint_every torch_threads {positive}".split():  # threads may be None
        if getattr(args, k) is not None and getattr(args, k) <= 0:
            fail(f"--{k.replace('_', '-')} must be positive, got {getattr(args, k)}")
    if min(args.hidden_sizes, default=0) <= 0:
        fail(f"--hidden-sizes must be positive, got {args.hidden_sizes}")
    if not 0 <= args.seed < 2**32:  # numpy's legacy seeding range
        fail(f"--seed must be in [0, 2**32), got {args.seed}")
    if args.total_timesteps <= args.learning_starts:
        fail(f"--total-timesteps {args.total_timesteps} must exceed --learning-starts {args.learning_starts}")


if __name__ == "__main__":
    main(cli())
