"""A placed python3 with torch that starts processes after its first parallel region (issue #12):
the OpenMP runtime has bound the main thread by then. Prints one "name=cpus" line per process,
cpus as a comma list of that process's affinity (os.sched_getaffinity).

    children_probe.py fork|subprocess|dataloader|taskset CPU
"""
import os
import subprocess
import sys

import torch
from torch.utils.data import DataLoader, Dataset

REPORT = "import os; print(','.join(map(str, sorted(os.sched_getaffinity(0)))))"


def line(name, cpus):
    print(f"{name}={','.join(map(str, sorted(cpus)))}", flush=True)


class Affinities(Dataset):
    """Each item is the affinity of the worker that loads it."""

    def __len__(self):
        return 4

    def __getitem__(self, index):
        return torch.tensor(sorted(os.sched_getaffinity(0)))


def main():
    (torch.randn(256, 256) @ torch.randn(256, 256)).sum()  # the first parallel region
    line("parent", os.sched_getaffinity(0))
    mode = sys.argv[1]
    if mode == "fork":
        pid = os.fork()
        if pid == 0:
            line("fork_child", os.sched_getaffinity(0))
            os._exit(0)
        os.waitpid(pid, 0)
    elif mode == "subprocess":
        out = subprocess.run([sys.executable, "-c", REPORT], capture_output=True, text=True,
                             check=True).stdout
        print(f"child={out.strip()}", flush=True)
    elif mode == "dataloader":
        loader = DataLoader(Affinities(), batch_size=None, num_workers=2)
        for i, cpus in enumerate(loader):
            line(f"worker_item{i}", cpus.tolist())
    elif mode == "taskset":
        out = subprocess.run(["taskset", "-c", sys.argv[2], sys.executable, "-c", REPORT],
                             capture_output=True, text=True, check=True).stdout
        print(f"child={out.strip()}", flush=True)


if __name__ == "__main__":
    main()
