"""Plant each bug the maths and behaviour tests guard against, and check that its test fails.

    python tests/planted_bugs.py            # every planted bug
    python tests/planted_bugs.py -k trpo    # those whose name contains "trpo"

For every entry of BUGS: copy algos/ and benchmark/ to a temporary folder, replace one snippet of one file
(an algorithm's name, or a path such as benchmark/launch; the snippet must occur exactly once), run the named
tests against the copy (conftest.py reads ALGOS_DIR, test_launch.py LAUNCH_PY, test_tune.py TUNE_PY) and
expect them to FAIL. The same tests must pass on the unmodified files first. A test that still passes with
its bug planted guards nothing: the script names it and exits non-zero.
"""

import argparse
import os
import shutil
import subprocess
import sys
import tempfile

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
IGNORED = shutil.ignore_patterns("logs", "results")

# (name, file, snippet, planted replacement, test selection for pytest)
RESUMED = "tests/test_resume.py::test_stopped_and_resumed_run_equals_uninterrupted_run"
# fmt: off
BUGS = [
    ("trpo step without the square root", "trpo",
     "torch.sqrt(max_kl / (shs + 1e-12))", "(max_kl / (shs + 1e-12))",
     "tests/test_trpo.py::test_natural_gradient_step_reaches_max_kl"),
    ("trpo step scaled by a factor of two", "trpo",
     "shs = 0.5 * step_dir @ fvp(step_dir)", "shs = 2.0 * step_dir @ fvp(step_dir)",
     "tests/test_trpo.py::test_natural_gradient_step_reaches_max_kl"),
    ("trpo step along the plain gradient", "trpo",
     "step_dir = conjugate_gradient(fvp, g, cg_iters)", "step_dir = g",
     "tests/test_trpo.py::test_natural_gradient_step_reaches_max_kl"),
    ("trpo Gaussian KL averaged over action dimensions", "trpo",
     "- 0.5).sum(-1).mean()", "- 0.5).mean(-1).mean()",
     "tests/test_trpo.py::test_mean_kl_matches_torch_kl "
     "tests/test_trpo.py::test_fisher_vector_product_equals_explicit_hessian"),
    ("trpo Gaussian KL in the reverse direction", "trpo",
     "(old_mean, old_log_std), (mean, log_std) = old_dist, new_dist",
     "(old_mean, old_log_std), (mean, log_std) = new_dist, old_dist",
     "tests/test_trpo.py::test_mean_kl_matches_torch_kl"),
    ("trpo categorical KL in the reverse direction", "trpo",
     "(old_dist.exp() * (old_dist - new_dist))", "(new_dist.exp() * (new_dist - old_dist))",
     "tests/test_trpo.py::test_mean_kl_matches_torch_kl"),
    ("Gaussian sampler ignores the policy mean", "ppo_clip",
     "return torch.normal(mean, self.actor_logstd.exp().expand_as(mean))",
     "return torch.normal(torch.zeros_like(mean), self.actor_logstd.exp().expand_as(mean))",
     "tests/test_on_policy.py::test_samples_follow_the_policy"),
    ("on-policy truncation bootstraps from the next episode's first observation", "ppo_clip",
     'final_obs.append(prepare(infos["final_obs"][i][None], update=False))',
     "final_obs.append(prepare(raw_obs[i][None], update=False))",
     "tests/test_on_policy.py::test_truncation_bootstraps_from_the_final_observation[ppo_clip]"),
    ("on-policy truncation treated as termination", "vpg",
     "rewards = rewards + gamma * final_values * truncations * (1.0 - terminations)", "rewards = rewards",
     "tests/test_on_policy.py::test_truncation_bootstraps_from_the_final_observation[vpg]"),
    ("td3 target smoothing without noise", "td3",
     "noise = (torch.randn_like(mu) * policy_noise).clamp(-noise_clip, noise_clip) * target_actor.action_scale",
     "noise = torch.zeros_like(mu)",
     "tests/test_off_policy.py::test_td3_target_smoothing_noise_has_the_paper_std_and_clip"),
    ("td3 target smoothing without the noise clip", "td3",
     "noise = (torch.randn_like(mu) * policy_noise).clamp(-noise_clip, noise_clip) * target_actor.action_scale",
     "noise = torch.randn_like(mu) * policy_noise * target_actor.action_scale",
     "tests/test_off_policy.py::test_td3_target_smoothing_noise_has_the_paper_std_and_clip"),
    ("td3 target smoothing noise not scaled per dimension", "td3",
     "noise = (torch.randn_like(mu) * policy_noise).clamp(-noise_clip, noise_clip) * target_actor.action_scale",
     "noise = (torch.randn_like(mu) * policy_noise).clamp(-noise_clip, noise_clip)",
     "tests/test_off_policy.py::test_td3_target_smoothing_noise_has_the_paper_std_and_clip"),
    ("td3 target from the first critic only", "td3",
     'next_q = torch.min(qf1_target(data["next_obs"], next_actions), qf2_target(data["next_obs"], next_actions))',
     'next_q = qf1_target(data["next_obs"], next_actions)',
     "tests/test_off_policy.py::test_td3_target_takes_the_smaller_target_critic"),
    ("td3 target from the larger critic", "td3",
     'next_q = torch.min(qf1_target(data["next_obs"], next_actions), qf2_target(data["next_obs"], next_actions))',
     'next_q = torch.max(qf1_target(data["next_obs"], next_actions), qf2_target(data["next_obs"], next_actions))',
     "tests/test_off_policy.py::test_td3_target_takes_the_smaller_target_critic"),
    ("sac target with the entropy term's sign flipped", "sac",
     "(next_q - alpha * next_log_prob)", "(next_q + alpha * next_log_prob)",
     "tests/test_off_policy.py::test_sac_target_adds_the_entropy_bonus_to_the_smaller_critic"),
    ("sac temperature loss flipped", "sac",
     "return (-log_alpha.exp() * (log_pi + target_entropy)).mean()",
     "return (log_alpha.exp() * (log_pi + target_entropy)).mean()",
     "tests/test_off_policy.py::test_sac_temperature_rises_when_entropy_is_below_target"),
    ("sac target entropy +dim(A)", "sac",
     "return -float(np.prod(action_space.shape))", "return float(np.prod(action_space.shape))",
     "tests/test_off_policy.py::test_sac_temperature_rises_when_entropy_is_below_target"),
    ("sac squashing correction with the +1e-6 form", "sac",
     "log_det = torch.log(self.action_scale) + 2.0 * (np.log(2.0) - u - F.softplus(-2.0 * u))",
     "log_det = torch.log(self.action_scale * (1 - torch.tanh(u).pow(2)) + 1e-6)",
     "tests/test_off_policy.py::test_sac_log_prob_stays_exact_where_tanh_saturates"),
    ("td3 envs and warm-up actions seeded with one integer", "td3",
     "env_seed, action_seed, buffer_seed = (int(s.generate_state(1)[0]) for s in streams)",
     "env_seed = action_seed = buffer_seed = args.seed",
     "tests/test_off_policy.py::test_envs_and_warm_up_actions_draw_independent_streams[td3]"),
    ("td3 actor loss logged before the first actor step", "td3",
     "                if actor_updates:  # with a policy delay above 100 the actor may not have stepped yet\n"
     '                    writer.add_scalar("losses/actor_loss", actor_loss.item(), global_step)',
     '                writer.add_scalar("losses/actor_loss", actor_loss.item(), global_step)',
     "tests/test_off_policy.py::test_actor_delay_longer_than_the_logging_interval[td3]"),
    ("a2c without its optimiser step", "a2c", "        optimizer.step()\n", "",
     "tests/test_on_policy.py::test_policy_moves_toward_the_better_action[a2c]"),
    ("vpg policy gradient of the wrong sign", "vpg",
     "pg_loss = -(newlogprob * b_advantages).mean()", "pg_loss = (newlogprob * b_advantages).mean()",
     "tests/test_on_policy.py::test_policy_moves_toward_the_better_action[vpg]"),
    ("trpo step against the natural gradient", "trpo",
     "natural_gradient_step(fvp, -flat_grad(loss, params),", "natural_gradient_step(fvp, flat_grad(loss, params),",
     "tests/test_on_policy.py::test_policy_moves_toward_the_better_action[trpo]"),
    ("ppo advantages of the wrong sign", "ppo_clip",
     "pg_loss = clipped_surrogate_loss(logratio, mb_advantages, args.clip_coef)",
     "pg_loss = clipped_surrogate_loss(logratio, -mb_advantages, args.clip_coef)",
     "tests/test_on_policy.py::test_policy_moves_toward_the_better_action[ppo_clip]"),
    ("ppo surrogate without the clip", "ppo_clip",
     "-advantages * torch.clamp(ratio, 1 - clip_coef, 1 + clip_coef)", "-advantages * ratio",
     "tests/test_ppo_clip.py::test_clipped_surrogate_hand_computed"),
    ("GAE without lambda in its recursion", "ppo_clip",
     "last_gae = delta + gamma * gae_lambda * not_done[t] * last_gae",
     "last_gae = delta + gamma * not_done[t] * last_gae",
     "tests/test_on_policy.py::test_gae_matches_slow_reference -k ppo_clip"),
    ("GAE trace not cut at a truncation", "vpg",
     "not_done = 1.0 - np.maximum(terminations, truncations)", "not_done = 1.0 - terminations",
     "tests/test_on_policy.py::test_gae_matches_slow_reference -k vpg"),
    ("a terminated episode bootstraps into the next one", "ppo_clip",
     "not_done = 1.0 - np.maximum(terminations, truncations)", "not_done = 1.0 - truncations",
     "tests/test_on_policy.py::test_termination_does_not_bootstrap[ppo_clip]"),
    ("Gaussian log-density without its log-std term", "trpo",
     "/ log_std.exp()) ** 2 - log_std - 0.5 * np.log(2 * np.pi)).sum(-1)",
     "/ log_std.exp()) ** 2 - 0.5 * np.log(2 * np.pi)).sum(-1)",
     "tests/test_on_policy.py::test_gaussian_log_prob_and_entropy_match_torch_distributions -k trpo"),
    ("categorical entropy of the wrong sign", "a2c",
     "entropy = -(log_probs.exp() * log_probs).sum(-1)", "entropy = (log_probs.exp() * log_probs).sum(-1)",
     "tests/test_on_policy.py::test_categorical_log_prob_and_entropy_match_torch_distributions -k a2c"),
    ("observations divided by the running variance, not the std", "vpg",
     "(x - self.mean) / np.sqrt(self.var + 1e-8)", "(x - self.mean) / (self.var + 1e-8)",
     "tests/test_on_policy.py::test_observation_normalisation_matches_numpy -k vpg"),
    ("ppo value loss clipped optimistically", "ppo_clip",
     "loss = torch.max(loss, (clipped - returns) ** 2)", "loss = torch.min(loss, (clipped - returns) ** 2)",
     "tests/test_ppo_clip.py::test_value_loss_hand_computed"),
    ("trpo conjugate gradient residual not scaled", "trpo",
     "x, r = x + alpha * p, r - alpha * ap", "x, r = x + alpha * p, r - ap",
     "tests/test_trpo.py::test_conjugate_gradient_solves_random_spd_system"),
    ("trpo line search ignores the KL bound", "trpo",
     "if kl <= max_kl and loss < old_loss:", "if loss < old_loss:",
     "tests/test_trpo.py::test_line_search_rejects_steps_that_break_the_kl_bound"),
    ("trpo entropy bonus of the wrong sign", "trpo",
     "- ent_coef * entropy.mean()", "+ ent_coef * entropy.mean()",
     "tests/test_trpo.py::test_surrogate_loss_matches_plain_reference"),
    ("trpo entropy bonus left out of the update", "trpo",
     "loss = surrogate_loss(logprob, b_logprobs, b_advantages, entropy, args.ent_coef)",
     "loss = surrogate_loss(logprob, b_logprobs, b_advantages, entropy, 0.0)",
     "tests/test_trpo.py::test_entropy_bonus_reaches_the_update"),
    ("trpo critic regressed on the advantages", "trpo",
     "v_loss = ((agent.get_value(b_obs) - b_returns) ** 2).mean()",
     "v_loss = ((agent.get_value(b_obs) - b_advantages) ** 2).mean()",
     "tests/test_trpo.py::test_value_target_is_the_lambda_returns"),
    ("Polyak average with tau and 1 - tau swapped", "ddpg",
     "t.lerp_(s, tau)", "t.lerp_(s, 1.0 - tau)",
     "tests/test_off_policy.py::test_soft_update_is_polyak_average -k ddpg"),
    ("sac log-density without its log-std term", "sac",
     "/ log_std.exp()) ** 2 - log_std - 0.5 * np.log(2 * np.pi)", "/ log_std.exp()) ** 2 - 0.5 * np.log(2 * np.pi)",
     "tests/test_off_policy.py::test_sac_squashed_gaussian_log_prob_matches_numerical_change_of_variables"),
    ("td3 smoothed target not clipped to the bounds", "td3",
     "return torch.max(torch.min(mu + noise, target_actor.high), target_actor.low)", "return mu + noise",
     "tests/test_off_policy.py::test_td3_smoothed_target_stays_inside_per_dimension_bounds"),
    ("Double DQN picks the next action with the target network", "dqn",
     'next_actions = (q_network(data["next_obs"]) if double_q else target_q).argmax(-1, keepdim=True)',
     "next_actions = target_q.argmax(-1, keepdim=True)",
     "tests/test_off_policy.py::test_dqn_target_uses_target_max_and_double_uses_online_argmax"),
    ("epsilon schedule that never decays", "dqn",
     "return max(end_e, start_e + (end_e - start_e) * t / duration) if duration > 0 else end_e", "return start_e",
     "tests/test_off_policy.py::test_dqn_linear_schedule"),
    ("off-policy buffer stores the next episode's first observation", "td3",
     'real_next_obs[i] = infos["final_obs"][i]', "real_next_obs[i] = next_obs[i]",
     "tests/test_off_policy.py::test_buffer_stores_true_final_obs_and_termination_only -k td3"),
    ("actions centred on zero instead of the bounds' middle", "sac",
     'self.register_buffer("action_bias", (high + low) / 2.0)',
     'self.register_buffer("action_bias", torch.zeros_like(low))',
     "tests/test_off_policy.py::test_actions_respect_asymmetric_bounds -k sac"),
    ("resume leaves the optimisers fresh", "ppo_clip",
     "        if state and m is not None:\n            m.load_state_dict(state[k])",
     "        if state and m is not None and \"optimizer\" not in k:\n            m.load_state_dict(state[k])",
     RESUMED + "[ppo_clip-CartPole-v1-300]"),
    ("resume updates the loaded observation statistics with the first reset", "ppo_clip",
     "next_obs = prepare(next_obs, update=state is None)", "next_obs = prepare(next_obs, update=True)",
     RESUMED + "[ppo_clip-Pendulum-v1-300]"),
    ("--resume of a finished run unpickles its envs instead of only evaluating", "sac",
     'if state and state["loop"]["iteration"] >= num_iterations:',
     'if state and state["loop"]["iteration"] > num_iterations:',
     "tests/test_off_policy.py::test_smoke_train_save_and_evaluate_checkpoint[sac]"),
    ("ppo loss with the entropy bonus of the wrong sign", "ppo_clip",
     "return pg_loss - args.ent_coef * entropy_loss + args.vf_coef * v_loss, pg_loss,",
     "return pg_loss + args.ent_coef * entropy_loss + args.vf_coef * v_loss, pg_loss,",
     "tests/test_ppo_clip.py::test_composed_loss_matches_slow_reference"),
    ("ppo loss without the value coefficient", "ppo_clip",
     "return pg_loss - args.ent_coef * entropy_loss + args.vf_coef * v_loss, pg_loss,",
     "return pg_loss - args.ent_coef * entropy_loss + v_loss, pg_loss,",
     "tests/test_ppo_clip.py::test_composed_loss_matches_slow_reference"),
    ("a2c loss with the entropy bonus of the wrong sign", "a2c",
     "return pg_loss - args.ent_coef * entropy_loss + args.vf_coef * v_loss, pg_loss,",
     "return pg_loss + args.ent_coef * entropy_loss + args.vf_coef * v_loss, pg_loss,",
     "tests/test_a2c.py::test_composed_loss_matches_slow_reference"),
    ("a2c value loss on the other side of the sum", "a2c",
     "return pg_loss - args.ent_coef * entropy_loss + args.vf_coef * v_loss, pg_loss,",
     "return pg_loss - args.ent_coef * entropy_loss - args.vf_coef * v_loss, pg_loss,",
     "tests/test_a2c.py::test_composed_loss_matches_slow_reference"),
    ("a stopped dqn run does not save at its stop", "dqn",
     "if stop or iteration == num_iterations or global_step % args.checkpoint_every < args.num_envs:",
     "if iteration == num_iterations or global_step % args.checkpoint_every < args.num_envs:",
     "tests/test_resume.py::test_stop_line_names_the_step_its_checkpoint_holds[dqn]"),
    ("resumed vpg run shows the events after its checkpoint twice", "vpg",
     'purge_step=state and state["loop"]["global_step"] + 1', "purge_step=None",
     "tests/test_resume.py::test_resume_from_an_older_checkpoint_hides_the_events_after_it[vpg]"),
    ("trpo --help shows the Discrete defaults for a Box env", "trpo",
     "default=with_defaults(Args(env_id=env_id), action_space)",
     "default=with_defaults(Args(env_id=env_id), gym.spaces.Discrete(2))",
     "tests/test_on_policy.py::test_help_shows_the_defaults_of_the_env_action_space[trpo]"),
    ("resume leaves torch's random stream as seeded", "ppo_clip",
     '    torch.set_rng_state(state["torch_rng"])', "    pass",
     RESUMED + "[ppo_clip-CartPole-v1-300]"),
    ("resume leaves the action space's and the buffer's random streams as seeded", "td3",
     "        generator.bit_generator.state = saved", "        pass",
     RESUMED + "[td3-Pendulum-v1-200] " + RESUMED + "[td3-Pendulum-v1-700]"),
    ("resume loses the replay buffer's position", "td3",
     'self.pos, self.size = state["pos"], state["size"]', 'self.pos, self.size = 0, state["size"]',
     RESUMED + "[td3-Pendulum-v1-700]"),
    ("resume loses the normalisation statistics", "ppo_clip",
     "        vars(self).update({k: v.numpy() for k, v in state.items()})", "        pass",
     RESUMED + "[ppo_clip-Pendulum-v1-300]"),
    ("resume restarts the step counter", "td3",
     "global_step, iteration, q_updates, actor_updates, episodes, recent_returns, obs = loop.values()",
     "global_step, iteration, q_updates, actor_updates, episodes, recent_returns, obs = loop.values()\n"
     "        global_step = 0",
     RESUMED + "[td3-Pendulum-v1-700]"),
    ("resume restarts the envs' episodes", "vpg",
     "    envs.envs = [current if env is None else env for (env, _), current in zip(saved_envs, envs.envs)]",
     "    pass", RESUMED + "[vpg-CartPole-v1-300]"),
    ("resume drops MuJoCo's simulation state", "td3",
     'keep = ("_np_random", "_np_random_seed", "data")', 'keep = ("_np_random", "_np_random_seed")',
     RESUMED + "[td3-HalfCheetah-v5-1100]"),
    ("resume leaves an EzPickle env's seed unset, so reading it reseeds the env", "td3",
     'keep = ("_np_random", "_np_random_seed", "data")', 'keep = ("_np_random", "data")',
     "tests/test_resume.py::test_a_mujoco_env_comes_back_with_its_random_stream_and_seed"),
    ("trpo resumes with its policy weights laid out apart", "trpo",
     "        nn.utils.vector_to_parameters(nn.utils.parameters_to_vector(policy_params).detach(), policy_params)",
     "        pass", "tests/test_resume.py::test_resumed_trpo_policy_has_the_memory_layout_the_line_search_leaves"),
    ("checkpoint written in place, not renamed", "td3",
     '    with open(f"{path}.tmp", "wb") as f:\n'
     "        torch.save(dict(state, torch_rng=torch.get_rng_state(), pickled=pickled), f)\n"
     "        os.fsync(f.fileno())\n"
     '    os.replace(f"{path}.tmp", path)',
     '    with open(path, "wb") as f:\n'
     "        torch.save(dict(state, torch_rng=torch.get_rng_state(), pickled=pickled), f)\n"
     "        os.fsync(f.fileno())\n",
     "tests/test_resume.py::test_sigkill_while_writing_leaves_the_previous_checkpoint"),
    ("SIGINT left to Python's default handler", "ppo_clip",
     "        signal.signal(sig, lambda signum, _: os._exit(128 + signum) if stop else stop.append(signum))",
     "        pass",
     "tests/test_resume.py::test_second_ctrl_c_exits_at_once_without_traceback "
     "tests/test_resume.py::test_signal_stops_cleanly_and_resume_finishes"),
    ("resumed run shows the events after its checkpoint twice", "td3",
     'purge_step=state and state["loop"]["global_step"] + 1', "purge_step=None",
     "tests/test_resume.py::test_resume_from_an_older_checkpoint_hides_the_events_after_it[td3]"),
    ("a job on a lost node runs again from scratch", "benchmark/launch",
     'snapshot, job["resumed_from"] = ray.put(pack(".", [job["checkpoint"]])), step_of(job["checkpoint"])',
     'snapshot, job["resumed_from"] = None, None',
     "tests/test_launch.py::test_a_job_on_a_lost_node_resumes_from_its_last_checkpoint"),
    ("a stopped launcher leaves its running jobs unsaved", "benchmark/launch",
     '        os.killpg(proc.pid, signal.SIGTERM)\n', '        os.killpg(proc.pid, signal.SIGKILL)\n',
     "tests/test_launch.py::test_a_stopped_launcher_collects_its_jobs_and_the_same_command_finishes_the_sweep"),
    ("a stopped launcher does not tell its running jobs to stop", "benchmark/launch",
     "            gate.open.remote()  # a running task stops its run: see run_job\n", "",
     "tests/test_launch.py::test_a_stopped_launcher_collects_its_jobs_and_the_same_command_finishes_the_sweep"),
    ("a running job lends its CPU while it polls for a stop", "benchmark/launch",
     "if stopping is not None and stopping.done():",
     "if stop and ray.wait(list(stop), timeout=0, fetch_local=False)[0]:",
     "tests/test_launch.py::test_jobs_spread_over_both_nodes_and_every_file_comes_back"),
    ("a finished job runs again when the sweep is re-run", "benchmark/launch",
     'and record["returncode"] == 0:', 'and record["returncode"] == 0 and False:',
     "tests/test_launch.py::test_a_stopped_launcher_collects_its_jobs_and_the_same_command_finishes_the_sweep"),
    ("tuning never reports to the pruner", "benchmark/tune",
     "            trial.report(float(np.mean(list(reports[step].values()))), step)\n", "",
     "tests/test_tune.py::test_a_study_stopped_and_continued_ranks_prunes_and_prints_a_reproducing_command"),
    ("a finished trial's missed reports are not filled in", "benchmark/tune",
     "trial.report(float(np.mean([c[k] for c in curves])), k)", "pass",
     "tests/test_tune.py::test_a_study_stopped_and_continued_ranks_prunes_and_prints_a_reproducing_command"),
    ("filled-in reports leave out the episode that ends at the report", "benchmark/tune",
     "values[steps <= k * every][-20:]", "values[steps < k * every][-20:]",
     "tests/test_tune.py::test_a_finished_runs_missed_reports_come_from_its_tensorboard_events"),
    ("filled-in reports come from a lost attempt of the run", "benchmark/tune",
     'run = max(glob.glob(os.path.join(folder, "runs", "*")), key=os.path.getmtime)',
     'run = min(glob.glob(os.path.join(folder, "runs", "*")), key=os.path.getmtime)',
     "tests/test_tune.py::test_a_finished_runs_missed_reports_come_from_its_tensorboard_events"),
    ("tuning drops the trials a stop interrupted", "benchmark/tune",
     "        study.enqueue_trial(trial.params)\n", "",
     "tests/test_tune.py::test_a_study_stopped_and_continued_ranks_prunes_and_prints_a_reproducing_command"),
    ("tuning prints the best command without its values", "benchmark/tune",
     'command = f"{args.command} {\' \'.join(as_flags(best.params))} --torch-threads 1"',
     'command = f"{args.command} --torch-threads 1"',
     "tests/test_tune.py::test_a_study_stopped_and_continued_ranks_prunes_and_prints_a_reproducing_command"),
    ("tuning passes a switch as --flag False", "benchmark/tune",
     "[f\"--{'no-' * (v is False)}{k}\"] if isinstance(v, bool) else ", "",
     "tests/test_tune.py::test_boolean_flags_are_tuned_as_the_script_spells_them"),
    ("W&B run without TensorBoard's scalars (a2c)", "a2c",
     "sync_tensorboard=True, ", "",
     "tests/test_on_policy.py::test_track_offline_leaves_wandb_run"),
    ("W&B run without TensorBoard's scalars (td3)", "td3",
     "sync_tensorboard=True, ", "",
     "tests/test_off_policy.py::test_track_offline_and_video"),
    ("W&B run without the run's config (ppo_clip)", "ppo_clip",
     ", config=vars(args))", ")",
     "tests/test_resume.py::test_signal_stops_cleanly_and_resume_finishes"),
    ("a resumed DQN run starts a second W&B run", "dqn",
     'id=wandb_id, resume="allow", ', "",
     "tests/test_on_policy.py::test_tracking_code_is_the_same_in_every_file"),
]
# fmt: on


def run_tests(selection: str, algos_dir: str, show_failure: bool = False) -> bool:
    launch = os.path.join(os.path.dirname(algos_dir), "benchmark", "launch.py")
    tune = os.path.join(os.path.dirname(algos_dir), "benchmark", "tune.py")
    env = {**os.environ, "ALGOS_DIR": algos_dir, "LAUNCH_PY": launch, "TUNE_PY": tune}
    cmd = [sys.executable, "-m", "pytest", "-q", "-x", "-n", "0", "-p", "no:cacheprovider", *selection.split()]
    run = subprocess.run(cmd, cwd=ROOT, env=env, capture_output=True, text=True)
    if run.returncode and show_failure:  # the tests fail without a bug planted: show why
        print("\n".join((run.stdout + run.stderr).splitlines()[-40:]))
    return run.returncode == 0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("-k", default="", help="only the bugs whose name contains this text")
    args = parser.parse_args()
    bugs = [b for b in BUGS if args.k in b[0]]
    unguarded = []
    for name, algo, snippet, planted, selection in bugs:
        with tempfile.TemporaryDirectory() as tmp:
            algos_dir = os.path.join(tmp, "algos")
            shutil.copytree(os.path.join(ROOT, "algos"), algos_dir)
            shutil.copytree(os.path.join(ROOT, "benchmark"), os.path.join(tmp, "benchmark"), ignore=IGNORED)
            path = os.path.join(tmp, f"{algo}.py") if "/" in algo else os.path.join(algos_dir, f"{algo}.py")
            text = open(path).read()
            if text.count(snippet) != 1:
                print(f"STALE   {name}: the snippet occurs {text.count(snippet)} times in {os.path.basename(path)}")
                unguarded.append(name)
                continue
            if not run_tests(selection, algos_dir, show_failure=True):
                print(f"BROKEN  {name}: {selection} fails on the unmodified files")
                unguarded.append(name)
                continue
            with open(path, "w") as f:
                f.write(text.replace(snippet, planted))
            caught = not run_tests(selection, algos_dir)
        print(f"{'caught ' if caught else 'MISSED '} {name}: {selection}", flush=True)
        if not caught:
            unguarded.append(name)
    if unguarded:
        print(f"{len(unguarded)} of {len(bugs)} planted bugs not caught: {'; '.join(unguarded)}", file=sys.stderr)
        return 1
    print(f"all {len(bugs)} planted bugs caught")
    return 0


if __name__ == "__main__":
    sys.exit(main())
