"""PPO-Clip: proximal policy optimisation with the clipped surrogate objective.

PPO (Schulman et al. 2017, arXiv:1707.06347) takes several epochs of minibatch Adam steps on each batch's loss:
the clipped surrogate L^CLIP (eq. 7), which removes the incentive to move pi/pi_old outside [1 - eps, 1 + eps],
plus a value loss and an entropy bonus (eq. 9), with GAE(lambda) advantages (Schulman et al. 2016). Variant:
separate tanh actor and critic MLPs (orthogonal init), advantages normalised per minibatch, optional value clipping,
grad-norm clipping and KL early stop. Deviation: a truncation bootstraps from V(final observation) (Pardo et al.
2018). Actions: Discrete (categorical) or Box (diagonal Gaussian). Defaults by action space: Discrete the RL Zoo's
LunarLander settings, Box the paper's MuJoCo settings with observation/reward normalisation (benchmark/results/).

Run:    python algos/ppo_clip.py --env-id LunarLander-v2
"""

# ---- Imports ----
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
import tyro
from gymnasium.vector import AutoresetMode
from gymnasium.wrappers.utils import RunningMeanStd
from torch.utils.tensorboard import SummaryWriter


# ---- Args ----
@dataclasses.dataclass
class Args:
    exp_name: str = os.path.basename(__file__).removesuffix(".py")  # name used in the run and checkpoint names
    env_id: str = "CartPole-v1"  # id of the gymnasium environment; ids retired by gymnasium 1.x map to their successor
    total_timesteps: int = 1_000_000  # total environment transitions to collect, summed over all envs
    seed: int = 1  # seed of random, numpy, torch and the environments
    torch_threads: int | None = 1  # torch CPU threads, None for torch's default (one per core); 1 is fastest here
    cuda: bool = False  # use CUDA when available (small MLPs usually run faster on the CPU)
    track: bool = False  # mirror the run to Weights & Biases (set WANDB_MODE=offline to train without internet)
    wandb_project_name: str = "single-file-rl"  # Weights & Biases project
    wandb_entity: str | None = None  # Weights & Biases entity (team or user); None uses your default
    capture_video: bool = False  # record the evaluation episodes to videos/{run_name}/
    checkpoint_every: int = 100_000  # steps between saves of the run's full state to runs/{run_name}/{exp_name}.pt
    resume: str | None = None  # continue the run saved in this checkpoint or run folder (finished: evaluate it)
    eval_episodes: int = 10  # deterministic evaluation episodes at the end of training (0 skips it)
    hidden_sizes: tuple[int, ...] = (64, 64)  # hidden layer widths of the actor and of the critic

    # Algorithm-specific arguments. None: the default for the env's action space, [Discrete, Box], which --help shows.
    learning_rate: float = 3e-4  # Adam learning rate
    anneal_lr: bool = None  # anneal the learning rate linearly to zero over training [False, True]
    num_envs: int = None  # parallel environments [16, 1]
    num_steps: int = None  # steps per environment per rollout [1024, 2048]
    gamma: float = None  # discount factor [0.999, 0.99]
    gae_lambda: float = None  # lambda of GAE(lambda) [0.98, 0.95]
    num_minibatches: int = None  # minibatches per epoch; must divide num_envs * num_steps [256, 32]
    update_epochs: int = None  # epochs over each batch [4, 10]
    norm_adv: bool = True  # normalise advantages per minibatch
    clip_coef: float = 0.2  # epsilon of the clipped surrogate (and of the value clip)
    clip_vloss: bool = None  # clip the value loss around the old value estimates [False, True]
    ent_coef: float = None  # entropy bonus coefficient [0.01, 0.0]
    vf_coef: float = 0.5  # value loss coefficient
    max_grad_norm: float = 0.5  # maximum global norm of the gradient
    target_kl: float | None = None  # stop an update's epochs early once the approximate KL exceeds this (None: never)
    norm_obs: bool = None  # normalise observations by their running mean and std [False, True]
    norm_reward: bool = None  # scale rewards by the running std of the discounted return [False, True]
    clip_action: bool = None  # clip Gaussian actions to the action bounds before stepping [False, True]


# Defaults that depend on the action space, (Discrete, Box).
# fmt: off
DEFAULTS = dict(anneal_lr=(False, True), num_envs=(16, 1), num_steps=(1024, 2048), gamma=(0.999, 0.99),
                gae_lambda=(0.98, 0.95), num_minibatches=(256, 32), update_epochs=(4, 10), clip_vloss=(False, True),
                ent_coef=(0.01, 0.0), norm_obs=(False, True), norm_reward=(False, True), clip_action=(False, True))
# fmt: on


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
def mlp(in_dim: int, hidden_sizes: tuple[int, ...], out_dim: int, out_std: float) -> nn.Sequential:
    # Orthogonal init, gain sqrt(2) in hidden layers, 0.01 on the policy head and 1 on the value head
    # (Engstrom et al. 2020, "Implementation Matters in Deep RL", sec. 3).
    sizes, layers = (in_dim,) + tuple(hidden_sizes) + (out_dim,), []
    for i in range(len(sizes) - 1):
        layer = nn.Linear(sizes[i], sizes[i + 1])
        nn.init.orthogonal_(layer.weight, out_std if i == len(sizes) - 2 else np.sqrt(2))
        nn.init.zeros_(layer.bias)
        layers += [layer, nn.Tanh()]
    return nn.Sequential(*layers[:-1])


class Agent(nn.Module):
    def __init__(self, obs_dim: int, action_space: gym.Space, hidden_sizes: tuple[int, ...]):
        super().__init__()
        self.discrete = isinstance(action_space, gym.spaces.Discrete)
        self.critic = mlp(obs_dim, hidden_sizes, 1, out_std=1.0)
        if self.discrete:
            self.actor = mlp(obs_dim, hidden_sizes, int(action_space.n), out_std=0.01)
        else:
            act_dim = int(np.prod(action_space.shape))
            self.actor_mean = mlp(obs_dim, hidden_sizes, act_dim, out_std=0.01)
            # State-independent log-std, as in the paper's MuJoCo policy (sec. 6.1).
            self.actor_logstd = nn.Parameter(torch.zeros(1, act_dim))

    def get_value(self, x: torch.Tensor) -> torch.Tensor:
        return self.critic(x).squeeze(-1)

    def sample(self, x: torch.Tensor) -> torch.Tensor:
        """An action from pi(.|x). The rollout only samples: log-probs come later in one batched pass."""
        if self.discrete:  # Gumbel-max trick: argmax(logits + Gumbel noise) is a categorical sample
            logits = self.actor(x)
            return torch.argmax(logits - torch.log(-torch.log(torch.rand_like(logits))), -1)
        mean = self.actor_mean(x)
        return torch.normal(mean, self.actor_logstd.exp().expand_as(mean))

    def evaluate_actions(self, x: torch.Tensor, action: torch.Tensor):
        """log pi(action|x), the entropy of pi(.|x) and V(x). The categorical and diagonal-Gaussian
        formulas are written out: torch.distributions' per-call overhead outweighs these small MLPs."""
        if self.discrete:
            log_probs = torch.log_softmax(self.actor(x), -1)
            logprob = log_probs.gather(-1, action.long().unsqueeze(-1)).squeeze(-1)
            entropy = -(log_probs.exp() * log_probs).sum(-1)
        else:  # a diagonal Gaussian factorises: sum the per-dimension terms
            mean = self.actor_mean(x)
            log_std = self.actor_logstd.expand_as(mean)
            logprob = (-0.5 * ((action - mean) / log_std.exp()) ** 2 - log_std - 0.5 * np.log(2 * np.pi)).sum(-1)
            entropy = (0.5 + 0.5 * np.log(2 * np.pi) + log_std).sum(-1)
        return logprob, entropy, self.get_value(x)

    def act_deterministic(self, x: torch.Tensor) -> torch.Tensor:
        return self.actor(x).argmax(-1) if self.discrete else self.actor_mean(x)


# ---- Storage ----
class RunningStats(RunningMeanStd):
    """gymnasium's running mean and variance (Chan et al. 1979 parallel update), kept in checkpoints as tensors."""

    def normalize(self, x: np.ndarray, clip: float = 10.0) -> np.ndarray:
        return np.clip((x - self.mean) / np.sqrt(self.var + 1e-8), -clip, clip).astype(np.float32)

    def state_dict(self) -> dict:
        return {k: torch.from_numpy(np.array(v, np.float64)) for k, v in vars(self).items()}

    def load_state_dict(self, state: dict) -> "RunningStats":
        vars(self).update({k: v.numpy() for k, v in state.items()})
        return self


# ---- Helpers ----
def compute_gae(rewards, values, terminations, truncations, final_values, next_value, gamma, gae_lambda):
    """GAE(lambda) advantages and lambda-returns of (num_steps, num_envs) arrays. Flags at step t mark
    an episode that ended at that transition; under SAME_STEP autoreset obs t + 1 already starts the next
    one, so the trace is cut there. A truncated step keeps a future worth gamma * V(final observation)
    (`final_values`), a terminated one none. `next_value` is V of the observation after the last step."""
    rewards = rewards + gamma * final_values * truncations * (1.0 - terminations)
    not_done = 1.0 - np.maximum(terminations, truncations)
    advantages, last_gae = np.zeros_like(rewards), np.zeros_like(next_value)
    for t in reversed(range(rewards.shape[0])):
        next_values = next_value if t == rewards.shape[0] - 1 else values[t + 1]
        delta = rewards[t] + gamma * next_values * not_done[t] - values[t]  # TD error, GAE eq. 11
        last_gae = delta + gamma * gae_lambda * not_done[t] * last_gae  # GAE eq. 16
        advantages[t] = last_gae
    return advantages, advantages + values


def clipped_surrogate_loss(logratio, advantages, clip_coef):
    """Negative L^CLIP (PPO eq. 7): the mean of -min(r A, clip(r, 1 - eps, 1 + eps) A)."""
    ratio = logratio.exp()
    return torch.max(-advantages * ratio, -advantages * torch.clamp(ratio, 1 - clip_coef, 1 + clip_coef)).mean()


def value_loss(new_values, old_values, returns, clip_coef, clip_vloss):
    """0.5 * squared error; with clip_vloss the pessimistic max of the plain and clipped errors."""
    loss = (new_values - returns) ** 2
    if clip_vloss:
        clipped = old_values + torch.clamp(new_values - old_values, -clip_coef, clip_coef)
        loss = torch.max(loss, (clipped - returns) ** 2)
    return 0.5 * loss.mean()


def ppo_loss(agent, mb_obs, mb_actions, mb_logprobs, mb_advantages, mb_returns, mb_values, args):
    """PPO's minibatch loss (eq. 9, negated): -L^CLIP + vf_coef * value loss - ent_coef * entropy. Returns the loss,
    its three terms and the log-ratio log pi - log pi_old."""
    newlogprob, entropy, newvalue = agent.evaluate_actions(mb_obs, mb_actions)
    logratio = newlogprob - mb_logprobs
    if args.norm_adv:
        mb_advantages = (mb_advantages - mb_advantages.mean()) / (mb_advantages.std() + 1e-8)
    pg_loss = clipped_surrogate_loss(logratio, mb_advantages, args.clip_coef)
    v_loss = value_loss(newvalue, mb_values, mb_returns, args.clip_coef, args.clip_vloss)
    entropy_loss = entropy.mean()
    return pg_loss - args.ent_coef * entropy_loss + args.vf_coef * v_loss, pg_loss, v_loss, entropy_loss, logratio


def evaluate(agent, obs_rms, args, video_folder, writer=None, global_step=0):
    """Returns of deterministic episodes on a fresh env (training normalisation frozen); logged if a writer is given."""
    if args.eval_episodes <= 0:
        return []
    device = next(agent.parameters()).device
    env, returns = make_env(args.env_id, video_folder if args.capture_video else None)(), []
    for episode in range(args.eval_episodes):
        (obs, _), done, total = env.reset(seed=args.seed + 10_000 + episode), False, 0.0
        while not done:
            x = obs_rms.normalize(obs[None]) if obs_rms is not None else obs[None].astype(np.float32)
            with torch.no_grad():
                action = agent.act_deterministic(torch.as_tensor(x, device=device))[0].cpu().numpy()
            if not agent.discrete:
                action = np.clip(action, env.action_space.low, env.action_space.high)
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
    batch_size = args.num_envs * args.num_steps
    minibatch_size = batch_size // args.num_minibatches
    num_iterations = args.total_timesteps // batch_size
    run_name = state["run_name"] if state else f"{args.env_id}__{args.exp_name}__{args.seed}__{int(time.time())}"

    random.seed(args.seed)
    np.random.seed(args.seed)
    torch.manual_seed(args.seed)
    device = torch.device("cuda" if args.cuda and torch.cuda.is_available() else "cpu")
    obs_dim = int(np.prod(obs_space.shape))
    agent = Agent(obs_dim, action_space, args.hidden_sizes).to(device)
    optimizer = torch.optim.Adam(agent.parameters(), lr=args.learning_rate, eps=1e-5, fused=True)
    obs_rms = RunningStats(shape=(obs_dim,)) if args.norm_obs else None
    return_rms, discounted_return = (RunningStats() if args.norm_reward else None), np.zeros(args.num_envs)
    # What a checkpoint holds beside the loop's state and the random streams: everything with a state_dict.
    modules = dict(agent=agent, optimizer=optimizer, obs_rms=obs_rms, return_rms=return_rms)
    for k, m in modules.items():  # weights only: the pickled envs and random streams are left to resume()
        if state and m is not None:
            m.load_state_dict(state[k])
    if state and state["loop"]["iteration"] >= num_iterations:  # a finished run: evaluate its policy, train nothing
        returns = evaluate(agent, obs_rms, args, f"videos/{run_name}-eval")
        return dict(eval_returns=returns, eval_mean_return=float(np.mean(returns)) if returns else None)
    writer, wandb_id, stop = open_run(args, run_name, state)
    # SAME_STEP autoreset: when an episode ends, step() returns the next episode's first observation
    # and puts the true last one in infos["final_obs"], so there is no dummy step to mask out.
    envs = gym.vector.SyncVectorEnv([make_env(args.env_id)] * args.num_envs, autoreset_mode=AutoresetMode.SAME_STEP)
    assert envs.metadata["autoreset_mode"] == AutoresetMode.SAME_STEP

    shape = (args.num_steps, args.num_envs)
    obs = torch.zeros(shape + (obs_dim,), device=device)
    actions = torch.zeros(shape + action_space.shape, device=device)
    rewards, terminations, truncations = np.zeros((3,) + shape, np.float32)  # numpy: cheap per-step writes

    def prepare(raw, update):
        if obs_rms is None:
            return torch.as_tensor(np.asarray(raw, np.float32).reshape(len(raw), -1), device=device)
        if update:
            obs_rms.update(raw)
        return torch.as_tensor(obs_rms.normalize(raw), device=device)

    global_step, iteration, updates, episodes, recent_returns = 0, 0, 0, 0, []
    next_obs, _ = envs.reset(seed=args.seed)
    generators = []  # the numpy streams the loop draws from: none, sampling and minibatches use torch's
    next_obs = prepare(next_obs, update=state is None)  # a resumed run's statistics are loaded already
    if state:
        loop, exact = resume(state, envs, generators)
        global_step, iteration, updates, episodes, recent_returns, next_obs, return_sum = loop.values()
        next_obs, discounted_return = next_obs.to(device), return_sum.numpy()
        next_obs = next_obs if exact else prepare(envs.reset()[0], update=True)
    start_time, start_step, start_iteration, last_print = time.time(), global_step, iteration, 0.0
    for iteration in range(start_iteration + 1, num_iterations + 1):
        if args.anneal_lr:
            optimizer.param_groups[0]["lr"] = (1.0 - (iteration - 1.0) / num_iterations) * args.learning_rate

        final_index, final_obs = [], []  # where truncated episodes ended, and their last observations
        # ALGO LOGIC: a rollout of num_steps vector steps with the current policy
        for step in range(args.num_steps):
            global_step += args.num_envs
            obs[step] = next_obs
            with torch.no_grad():
                actions[step] = action = agent.sample(next_obs)
            env_action = action.cpu().numpy()
            if args.clip_action:  # the env sees the clipped action; the log-prob keeps the sampled one
                env_action = np.clip(env_action, action_space.low, action_space.high)
            raw_obs, reward, terminated, truncated, infos = envs.step(env_action)

            if "final_info" in infos:
                ep = infos["final_info"]["episode"]
                for i in np.nonzero(infos["final_info"]["_episode"])[0]:
                    episodes += 1
                    recent_returns = (recent_returns + [float(ep["r"][i])])[-100:]
                    writer.add_scalar("charts/episodic_return", ep["r"][i], global_step)
                    writer.add_scalar("charts/episodic_length", ep["l"][i], global_step)

            if return_rms is not None:
                # Divide by the std of the discounted return (Engstrom et al. 2020, "reward scaling").
                discounted_return = discounted_return * args.gamma + reward
                return_rms.update(discounted_return)
                reward = np.clip(reward / np.sqrt(return_rms.var + 1e-8), -10.0, 10.0)
                discounted_return[terminated | truncated] = 0.0
            rewards[step], terminations[step], truncations[step] = reward, terminated, truncated
            for i in np.nonzero(truncated & ~terminated)[0]:
                final_index.append((step, i))
                final_obs.append(prepare(infos["final_obs"][i][None], update=False))
            next_obs = prepare(raw_obs, update=True)

        # ALGO LOGIC: advantages, then the PPO update (eqs. 7 and 9)
        # The weights are fixed during a rollout: old log-probs and values in one batched pass.
        with torch.no_grad():
            logprobs, _, values = agent.evaluate_actions(obs, actions)
            next_value = agent.get_value(next_obs).cpu().numpy()
            final_values = np.zeros(shape, np.float32)
            if final_obs:
                final_values[tuple(zip(*final_index))] = agent.get_value(torch.cat(final_obs)).cpu().numpy()
        gae_inputs = (rewards, values.cpu().numpy(), terminations, truncations, final_values, next_value, args.gamma)
        advantages, returns = compute_gae(*gae_inputs, args.gae_lambda)
        advantages, returns = torch.as_tensor(advantages, device=device), torch.as_tensor(returns, device=device)
        b_obs, b_actions = obs.reshape(-1, obs_dim), actions.reshape((-1,) + action_space.shape)
        b_logprobs, b_advantages = logprobs.reshape(-1), advantages.reshape(-1)
        b_returns, b_values = returns.reshape(-1), values.reshape(-1)
        batch, clipfracs = (b_obs, b_actions, b_logprobs, b_advantages, b_returns, b_values), []
        for _epoch in range(args.update_epochs):
            b_inds = torch.randperm(batch_size, device=device)
            for start in range(0, batch_size, minibatch_size):
                mb_inds = b_inds[start : start + minibatch_size]
                loss, pg_loss, v_loss, entropy_loss, logratio = ppo_loss(agent, *(x[mb_inds] for x in batch), args)
                with torch.no_grad():
                    # The unbiased low-variance estimator k3 of KL(old || new) (Schulman 2020).
                    approx_kl = ((logratio.exp() - 1) - logratio).mean()
                    clipfracs.append(((logratio.exp() - 1.0).abs() > args.clip_coef).float().mean())
                optimizer.zero_grad()
                loss.backward()
                nn.utils.clip_grad_norm_(agent.parameters(), args.max_grad_norm, foreach=True)
                optimizer.step()
                updates += 1
            if args.target_kl is not None and approx_kl.item() > args.target_kl:
                break

        var_y = b_returns.var().item()
        explained_var = float("nan") if var_y == 0 else 1 - (b_returns - b_values).var().item() / var_y
        sps = int((global_step - start_step) / (time.time() - start_time))
        scalars = {"charts/learning_rate": optimizer.param_groups[0]["lr"], "charts/SPS": sps}
        scalars.update({"losses/value_loss": v_loss, "losses/policy_loss": pg_loss, "losses/entropy": entropy_loss})
        scalars.update({"losses/approx_kl": approx_kl, "losses/clipfrac": torch.stack(clipfracs).mean()})
        scalars.update({"losses/explained_variance": explained_var})
        for tag, value in scalars.items():
            writer.add_scalar(tag, value, global_step)
        if time.time() - last_print > 5.0 or iteration == num_iterations:
            last_print, eta = time.time(), (args.total_timesteps - global_step) / max(sps, 1) / 60
            recent = f"{np.mean(recent_returns[-20:]):.1f}" if recent_returns else "n/a"
            line = f"step {global_step}/{args.total_timesteps}  SPS {sps}  return(last 20) {recent}  ETA {eta:.1f} min"
            print(line, flush=True)
        if stop or iteration == num_iterations or global_step % args.checkpoint_every < batch_size:
            loop = dict(global_step=global_step, iteration=iteration, updates=updates, episodes=episodes)
            loop.update(train_returns=recent_returns, obs=next_obs, return_sum=torch.from_numpy(discounted_return))
            save_checkpoint(args, run_name, wandb_id, modules, loop, envs, generators)
        if stop:
            break

    envs.close()
    eval_returns = evaluate(agent, obs_rms, args, f"videos/{run_name}", writer, global_step) if not stop else []
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
    if not isinstance(action_space, (gym.spaces.Discrete, gym.spaces.Box)) or len(action_space.shape) > 1:
        fail(f"{args.env_id} has actions {action_space}; {name} supports Discrete and 1-d Box actions")
    positive = "num_steps num_minibatches update_epochs learning_rate clip_coef max_grad_norm"
    for k in f"total_timesteps num_envs checkpoint_every torch_threads {positive}".split():  # threads may be None
        if getattr(args, k) is not None and getattr(args, k) <= 0:
            fail(f"--{k.replace('_', '-')} must be positive, got {getattr(args, k)}")
    if min(args.hidden_sizes, default=0) <= 0:
        fail(f"--hidden-sizes must be positive, got {args.hidden_sizes}")
    if not 0 <= args.seed < 2**32:  # numpy's legacy seeding range
        fail(f"--seed must be in [0, 2**32), got {args.seed}")
    batch_size = args.num_envs * args.num_steps
    if batch_size % args.num_minibatches:
        fail(f"--num-minibatches {args.num_minibatches} does not divide num_envs * num_steps = {batch_size}")
    if args.total_timesteps < batch_size:
        fail(f"--total-timesteps {args.total_timesteps} is less than one batch (num_envs * num_steps = {batch_size})")


if __name__ == "__main__":
    main(cli())
