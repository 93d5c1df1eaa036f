"""Environments a user might write and register in a module of their own, for the tests of
`--env-id user_envs:UserCorridor-v0` (gymnasium's `module:EnvId` syntax). Importing the module
registers them; nothing else in the tests imports it."""

import gymnasium as gym
import numpy as np


class Corridor(gym.Env):
    """Walk right along a corridor of 5 cells: action 1 steps right, 0 steps left; reaching the end
    terminates with reward 1, every other step costs 0.01."""

    observation_space = gym.spaces.Box(0.0, 1.0, (1,), np.float32)
    action_space = gym.spaces.Discrete(2)

    def reset(self, seed=None, options=None):
        super().reset(seed=seed)
        self.position = 0
        return np.zeros(1, np.float32), {}

    def step(self, action):
        self.position = max(0, self.position + (1 if int(action) == 1 else -1))
        done = self.position == 4
        return np.array([self.position / 4], np.float32), 1.0 if done else -0.01, done, False, {}


class Point(gym.Env):
    """A point on a line pushed by a bounded force in [-1, 1]; the reward is minus its distance to 0."""

    observation_space = gym.spaces.Box(-10.0, 10.0, (1,), np.float32)
    action_space = gym.spaces.Box(-1.0, 1.0, (1,), np.float32)

    def reset(self, seed=None, options=None):
        super().reset(seed=seed)
        self.x = self.np_random.uniform(-2.0, 2.0)
        return np.array([self.x], np.float32), {}

    def step(self, action):
        self.x = float(np.clip(self.x + 0.1 * float(action[0]), -10.0, 10.0))
        return np.array([self.x], np.float32), -abs(self.x), False, False, {}


gym.register("UserCorridor-v0", entry_point=Corridor, max_episode_steps=50)
gym.register("UserPoint-v0", entry_point=Point, max_episode_steps=50)
