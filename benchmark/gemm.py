"""How fast can one CPU core multiply the matrices of an off-policy step? The ceiling behind speed.md.

    python benchmark/gemm.py

TD3 and SAC with 256-256 networks and batch 256 spend most of a step in float32 matrix products, and
Stable-Baselines3 does the same products through the same torch, so the speed ratio between the two
is bounded by how much time is left outside them. This script measures, on one thread:
- the GEMM path torch uses for float32 `nn.Linear` forward and backward (`torch.addmm`, BLAS);
- oneDNN's float32 inner product on the same shapes (`torch._C._nn.mkldnn_linear`);
- `torch.addmm` with `torch.backends.mkldnn.matmul.fp32_precision = "bf16"`, which lets torch send float32
  matmuls to oneDNN, and whether its error is then that of float32 or of bf16;
and converts the first two into the highest steps per second a TD3 or SAC step on HalfCheetah-v5 could reach if
it did nothing but its matrix products.
"""

import argparse
import time

import torch


def gflops(fn, flop: float, seconds: float) -> float:
    for _ in range(20):
        fn()
    calls, start = 0, time.perf_counter()
    while time.perf_counter() - start < seconds:
        for _ in range(20):
            fn()
        calls += 20
    return flop * calls / (time.perf_counter() - start) / 1e9


def mlp_flop(sizes, batch: int) -> float:
    """Forward multiply-adds of an MLP times 2; a backward pass costs twice its forward."""
    return 2.0 * batch * sum(a * b for a, b in zip(sizes[:-1], sizes[1:]))


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--seconds", type=float, default=1.0, help="timing window per shape")
    parser.add_argument("--batch", type=int, default=256)
    parser.add_argument("--hidden", type=int, default=256)
    args = parser.parse_args()
    torch.set_num_threads(1)
    print(torch.__config__.show().splitlines()[3].strip())  # the BLAS torch was built with

    batch, h, obs_dim, act_dim = args.batch, args.hidden, 17, 6  # HalfCheetah-v5
    shapes = [(batch, obs_dim + act_dim, h), (batch, h, h), (batch, h, 1)]
    rates = {"blas": [], "onednn": []}
    print("| m x k x n | torch.addmm (BLAS) GFLOP/s | oneDNN GFLOP/s |\n|---|---|---|")
    for m, k, n in shapes:
        x, w, b = torch.randn(m, k), torch.randn(n, k), torch.randn(n)
        xm, wm, bm = x.to_mkldnn(), w.to_mkldnn(), b.to_mkldnn()
        blas = gflops(lambda: torch.addmm(b, x, w.t()), 2.0 * m * k * n, args.seconds)
        onednn = gflops(lambda: torch._C._nn.mkldnn_linear(xm, wm, bm), 2.0 * m * k * n, args.seconds)
        rates["blas"].append(blas)
        rates["onednn"].append(onednn)
        print(f"| {m} x {k} x {n} | {blas:.1f} | {onednn:.1f} |")

    # torch routes float32 matmuls to oneDNN when reduced internal precision is allowed. Does this CPU
    # then really compute in bf16? Compare the error against a float64 product with bf16-rounded inputs.
    x, w, b = torch.randn(batch, h), torch.randn(h, h), torch.randn(h)
    exact = torch.addmm(b.double(), x.double(), w.double().t())

    def rel_err(out):
        return float((out.double() - exact).abs().max() / exact.abs().max())

    default_err = rel_err(torch.addmm(b, x, w.t()))
    bf16_inputs_err = rel_err(torch.addmm(b, x.bfloat16().float(), w.bfloat16().float().t()))
    torch.backends.mkldnn.matmul.fp32_precision = "bf16"
    flag_rate = gflops(lambda: torch.addmm(b, x, w.t()), 2.0 * batch * h * h, args.seconds)
    flag_err = rel_err(torch.addmm(b, x, w.t()))
    torch.backends.mkldnn.matmul.fp32_precision = "ieee"
    print(
        f'addmm {batch} x {h} x {h} with fp32_precision="bf16": {flag_rate:.1f} GFLOP/s, error vs float64 '
        f"{flag_err:.1e} (default mode {default_err:.1e}; bf16-rounded inputs {bf16_inputs_err:.1e})"
    )

    critic = mlp_flop([obs_dim + act_dim, h, h, 1], batch)
    actor = mlp_flop([obs_dim, h, h, act_dim], batch)
    # TD3 per env step: target actor + 2 target critics forward, 2 critics forward + backward, and every
    # 2nd step an actor update (actor and one critic, forward + backward).
    td3 = actor + 2 * critic + 2 * 3 * critic + 0.5 * (3 * actor + 3 * critic)
    # SAC per env step: actor + 2 target critics forward, 2 critics forward + backward, and an actor
    # update every step (actor and both critics, forward + backward; mean and log-std heads: 2 x act_dim).
    sac_actor = mlp_flop([obs_dim, h, h, 2 * act_dim], batch)
    sac = sac_actor + 2 * critic + 2 * 3 * critic + 3 * sac_actor + 2 * 3 * critic
    hidden_share = [k * n for _, k, n in shapes]
    for name, rate in rates.items():
        mean_rate = sum(r * s for r, s in zip(rate, hidden_share)) / sum(hidden_share)  # weighted by work
        print(
            f"{name}: {mean_rate:.0f} GFLOP/s -> TD3 step {td3 / 1e6:.0f} MFLOP, at most "
            f"{mean_rate * 1e9 / td3:.0f} SPS; SAC step {sac / 1e6:.0f} MFLOP, at most {mean_rate * 1e9 / sac:.0f} SPS"
        )


if __name__ == "__main__":
    main()
