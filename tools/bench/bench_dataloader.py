#!/usr/bin/python3
"""Throughput of a small model fed by a torch DataLoader with 2 workers doing CPU-heavy
transforms, placed as one rank over this whole machine vs unplaced (issue #12).

usage:
  bench_dataloader.py                      the workload: prints "samples/s <value>"
  bench_dataloader.py --library LIB [--library-before LIB] [--runs 5]
                                           the comparison: LIB preloaded with XEONRUN_NINSTANCES=1
                                           vs the same program unplaced (and a second library, e.g.
                                           the front before a change), runs interleaved, medians
                                           and ratios to unplaced

The workload is what the placed rank does in the issue: the main process trains a small conv net
(its OpenMP runtime follows the plan's KMP_AFFINITY or OMP_PROC_BIND and binds the main thread to
one CPU at the first parallel region), and the DataLoader's workers, forked after that, spend
their time in a transform. A worker that inherits the main thread's one CPU shares it with the
other worker and with the model.

Needs Debian's python3-torch (/usr/bin/python3).
"""
import argparse
import os
import statistics
import subprocess
import sys
import time

BATCH = 16
BATCHES = 16  # timed, after WARMUP batches
WARMUP = 2
IMAGE = 128


def heavy_transform_dataset(length):
    """A torch Dataset of `length` images whose every sample costs a few ms of one CPU in the
    DataLoader worker that makes it (also fed to bench_torch.py's instances)."""
    import torch
    from torch.utils.data import Dataset

    class HeavyTransform(Dataset):
        """Each sample costs a few ms of one CPU in the worker: repeated blur and normalisation."""

        def __len__(self):
            return length

        def __getitem__(self, index):
            g = torch.Generator().manual_seed(index)
            x = torch.rand(3, IMAGE, IMAGE, generator=g)
            for _ in range(16):
                x = torch.nn.functional.avg_pool2d(x.unsqueeze(0), 3, 1, 1).squeeze(0)
                x = (x - x.mean()) / (x.std() + 1e-6)
                x = x @ torch.eye(IMAGE)
            return x, index % 10

    return HeavyTransform()


def workload():
    import torch
    from torch.utils.data import DataLoader

    model = torch.nn.Sequential(
        torch.nn.Conv2d(3, 16, 3, padding=1), torch.nn.ReLU(), torch.nn.AdaptiveAvgPool2d(8),
        torch.nn.Flatten(), torch.nn.Linear(16 * 64, 10))
    opt = torch.optim.SGD(model.parameters(), lr=0.01)
    # A parallel region before the workers start, as a training script's setup does.
    (torch.randn(256, 256) @ torch.randn(256, 256)).sum()
    loader = DataLoader(heavy_transform_dataset(BATCH * (BATCHES + WARMUP)), batch_size=BATCH,
                        num_workers=2)
    start = None
    for step, (x, y) in enumerate(loader):
        if step == WARMUP:
            start = time.perf_counter()
        loss = torch.nn.functional.cross_entropy(model(x), y)
        opt.zero_grad()
        loss.backward()
        opt.step()
    elapsed = time.perf_counter() - start
    print(f"samples/s {BATCH * BATCHES / elapsed:.2f}")


def clean_env():
    prefixes = ("XEONRUN_", "OMP_", "KMP_", "GOMP_", "LD_PRELOAD", "MALLOC_CONF")
    return {k: v for k, v in os.environ.items() if not k.startswith(prefixes)}


def run_once(library):
    env = clean_env()
    if library:
        env.update(LD_PRELOAD=library, XEONRUN_NINSTANCES="1")
    out = subprocess.run([sys.executable, os.path.abspath(__file__)], env=env, check=True,
                         capture_output=True, text=True).stdout
    return float(out.split()[-1])


def compare(variants, runs):
    samples = {name: [] for name in variants}
    for _ in range(runs):  # interleaved: drift hits every variant alike
        for name, library in variants.items():
            samples[name].append(run_once(library))
    base = statistics.median(samples["unplaced"])
    for name, values in samples.items():
        median = statistics.median(values)
        print(f"{name:>16}: median {median:8.2f} samples/s  ({median / base:.2f}x unplaced)  "
              f"runs {', '.join(f'{v:.1f}' for v in values)}")


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--library", help="libxeonplace.so to preload (the comparison)")
    parser.add_argument("--library-before", help="a second libxeonplace.so, e.g. before a change")
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    if not args.library:
        workload()
        return
    variants = {"unplaced": None}
    if args.library_before:
        variants["placed (before)"] = os.path.abspath(args.library_before)
    variants["placed"] = os.path.abspath(args.library)
    compare(variants, args.runs)


if __name__ == "__main__":
    main()
