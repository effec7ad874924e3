"""Runs the probe under a real launcher with libxeonplace.so preloaded and checks every rank.

    launchers_test.py --library LIB --probe PROBE --probe-py PROBE_PY SCENARIO

Each scenario starts two ranks, or one process under a restricted CPU set, collects the JSON line
every rank wrote (probe.c / probe.py) and asserts, per rank: the CPU affinity equals the planned
CPUs (tests/support/machine.py, computed from /sys and this process's affinity or, where the
launcher binds ranks itself, its cgroup's CPUs; or the user's binding when it must be kept), the
ranks' CPU sets are disjoint, the memory policy binds to the NUMA nodes of those CPUs,
OMP_NUM_THREADS is the number of cores, and XEONRUN_PLACED_* say the same. A launcher that is not
installed is a failure that names the Debian package to install. Where ranks inherit this
process's affinity and it has one core, there is one rank; a scenario that cannot mean anything
there (unbound Slurm tasks; a user binding swapping two ranks' CPUs in a one-core cgroup) exits
77 (skipped) and says why.
"""

import argparse
import glob
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile

from slurm_cluster import SlurmCluster, free_port

sys.dont_write_bytecode = True  # no __pycache__ in the source tree
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "support"))
from machine import cgroup_machine, cpu_ids as parse_list, list_text as format_list  # noqa: E402
from machine import this_machine  # noqa: E402
from runner_env import placement_free_env  # noqa: E402

LAUNCH_TIMEOUT = 90  # seconds per launcher command; the meson timeout is above the sum
TORCH_PYTHON = "/usr/bin/python3"  # python3-torch is Debian's, for Debian's python only


class Failure(Exception):
    pass


class Skip(Exception):
    pass


SKIP = 77  # meson's code for a skipped test, never counted as passed
MACHINE = this_machine()
NRANKS = MACHINE.ranks_up_to(2)  # ranks per launcher: two, or one on a one-core affinity
# Ranks a launcher binds itself (Slurm's tasks, a rankfile, -bind-to user:) may get any CPU of the
# cgroup, whatever affinity the test started the launcher with (measured under `taskset -c 1`:
# slurmd binds a task to CPU 0, mpirun and mpiexec bind a rank there when told to): their count
# and CPUs come from the cgroup's cores.
BOUND_NRANKS = cgroup_machine().ranks_up_to(2)


def require(program, package):
    path = shutil.which(program)
    if path is None:
        raise Failure("%s is not installed: install the Debian package %s (apt-get install %s); "
                      "this test never skips" % (program, package, package))
    return path


def require_torch():
    if not os.access(TORCH_PYTHON, os.X_OK):
        raise Failure("%s is missing: install the Debian package python3" % TORCH_PYTHON)
    check = subprocess.run([TORCH_PYTHON, "-c", "import torch.distributed.run"],
                           capture_output=True, text=True, timeout=LAUNCH_TIMEOUT)
    if check.returncode != 0:
        raise Failure("torchrun is not available to %s: install the Debian package python3-torch "
                      "(%s)" % (TORCH_PYTHON, check.stderr.strip().splitlines()[-1:]))


def kill_session(session):
    """SIGKILL to every process of `session`: Open MPI gives each rank its own process group, but
    they stay in the session the launcher was started in."""
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open("/proc/%s/stat" % entry) as f:
                fields = f.read().rsplit(")", 1)[1].split()
            if int(fields[3]) == session:  # fields after the name: state, ppid, pgrp, session
                os.kill(int(entry), signal.SIGKILL)
        except (OSError, ValueError, IndexError):
            pass


def run(command, env, what):
    """Runs a launcher in a session of its own, so that a timeout can end its ranks too."""
    print("$ " + " ".join(command), flush=True)
    child = subprocess.Popen(command, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                             text=True, start_new_session=True)
    try:
        output, _ = child.communicate(timeout=LAUNCH_TIMEOUT)
    except subprocess.TimeoutExpired:
        kill_session(child.pid)
        output, _ = child.communicate()
        raise Failure("%s did not finish within %d s; output:\n%s" % (what, LAUNCH_TIMEOUT, output))
    print(output, end="", flush=True)
    if child.returncode != 0:
        raise Failure("%s exited with status %d" % (what, child.returncode))
    return output


def read_records(outdir, rank_variable, count=NRANKS):
    records = []
    for path in sorted(glob.glob(os.path.join(outdir, "probe.*.json"))):
        with open(path) as f:
            records.append(json.loads(f.read()))
    if len(records) != count:
        raise Failure("expected %d probe reports, found %d in %s" % (count, len(records), outdir))
    if rank_variable is None:
        return records
    by_rank = {}
    for record in records:
        rank = record["env"].get(rank_variable)
        if rank is None:
            raise Failure("a rank did not see %s: %s" % (rank_variable, json.dumps(record)))
        by_rank[int(rank)] = record
    if sorted(by_rank) != list(range(count)):
        raise Failure("%s values %s, expected 0..%d" % (rank_variable, sorted(by_rank), count - 1))
    return [by_rank[r] for r in range(count)]


def check_rank(record, rank, nranks, cpus, nodes, errors, omp_threads=None):
    """Appends to `errors` every way `record` differs from rank `rank` placed on `cpus`/`nodes`.
    `omp_threads`: the OMP_NUM_THREADS the user set, which the library keeps; else the plan's."""
    omp_threads = omp_threads or len(cpus)
    env = record["env"]
    label = "rank %d (pid %d)" % (rank, record["pid"])

    def expect(what, seen, wanted):
        if seen != wanted:
            errors.append("%s: %s is %r, expected %r" % (label, what, seen, wanted))

    expect("CPU affinity", format_list(record["affinity"]), format_list(cpus))
    expect("memory policy", record["mempolicy"], "bind")
    expect("memory policy nodes", format_list(record["mempolicy_nodes"]), format_list(nodes))
    expect("OMP_NUM_THREADS", env.get("OMP_NUM_THREADS"), str(omp_threads))
    expect("XEONRUN_PLACED_RANK", env.get("XEONRUN_PLACED_RANK"), str(rank))
    expect("XEONRUN_PLACED_NRANKS", env.get("XEONRUN_PLACED_NRANKS"), str(nranks))
    placed = env.get("XEONRUN_PLACED_CPUS")
    expect("XEONRUN_PLACED_CPUS", placed and format_list(parse_list(placed)), format_list(cpus))
    mems = env.get("XEONRUN_PLACED_MEMS")
    expect("XEONRUN_PLACED_MEMS", mems and format_list(parse_list(mems)), format_list(nodes))
    expect("XEONRUN_PLACED_MEMBIND", env.get("XEONRUN_PLACED_MEMBIND"), "bind")
    if "torch_num_threads" in record:
        expect("torch.get_num_threads()", record["torch_num_threads"], omp_threads)


def check_ranks(records, expected, omp_threads=None):
    """`expected`: [(cpus, nodes)] per rank, in rank order."""
    errors = []
    for rank, (record, (cpus, nodes)) in enumerate(zip(records, expected)):
        check_rank(record, rank, len(expected), cpus, nodes, errors, omp_threads)
    seen = [set(r["affinity"]) for r in records]
    for i in range(len(seen)):
        for j in range(i + 1, len(seen)):
            if seen[i] & seen[j]:
                errors.append("ranks %d and %d share CPUs %s" % (i, j, format_list(seen[i] & seen[j])))
    if errors:
        raise Failure("\n".join(errors))
    for rank, record in enumerate(records):
        print("ok: rank %d on CPUs %s, memory bound to %s, OMP_NUM_THREADS=%s"
              % (rank, format_list(record["affinity"]), format_list(record["mempolicy_nodes"]),
                 record["env"].get("OMP_NUM_THREADS")), flush=True)


def clean_env(library=None, extra=None):
    """The test's environment without anything that would place or misdirect the launcher."""
    env = placement_free_env()
    if library:
        env["LD_PRELOAD"] = library
    env.update(extra or {})
    return env


def as_expected(plan):
    """[(cpus, memory nodes)] per rank of a machine.Plan."""
    return [(rank.cpus, rank.mems) for rank in plan]


def rank_plan():
    """The ranks of a launcher that leaves them on this process's CPUs."""
    return as_expected(MACHINE.plan(NRANKS))


def replanned_plan(nranks=NRANKS):
    """The ranks of a launcher whose default binding the library replaces: planned over the
    cgroup's CPUs (XEONRUN_BIND_POLICY=auto replaces like replace), which a `taskset` around the
    test does not narrow."""
    return as_expected(cgroup_machine().plan(nranks))


def reversed_binding(plan):
    """The user's binding the respect tests ask for: rank 0 on rank 1's planned CPUs and back."""
    if len(plan) < 2:
        raise Skip("swapping two ranks' CPUs needs two cores in the cgroup, which has %s"
                   % format_list(cgroup_machine().allowed))
    return [plan[1], plan[0]]


def reversed_one_cpu_binding(plan):
    """As reversed_binding, one CPU per rank: what `-bind-to user:` and `map_cpu:` express."""
    return [([cpus[0]], [MACHINE.node(cpus[0])]) for cpus, _ in reversed_binding(plan)]


# ---- Open MPI ----

def openmpi(args, outdir, extra_flags, policy=None, nranks=NRANKS):
    require("mpirun", "openmpi-bin")
    command = ["mpirun", "--allow-run-as-root", "-np", str(nranks), "-x",
               "LD_PRELOAD=" + args.library]
    if policy:
        command += ["-x", "XEONRUN_BIND_POLICY=" + policy]
    command += extra_flags + [args.probe, outdir]
    run(command, clean_env(), "mpirun")
    return read_records(outdir, "OMPI_COMM_WORLD_LOCAL_RANK", count=nranks)


def openmpi_rankfile(outdir, binding):
    path = os.path.join(outdir, "..", "rankfile")
    with open(path, "w") as f:
        for rank, (cpus, _) in enumerate(binding):
            f.write("rank %d=localhost slot=%s\n" % (rank, format_list(cpus)))
    return ["--rankfile", path]


def scenario_openmpi_default_binding(args, outdir):
    """mpirun binds each of 2 ranks to one core; auto must plan over the machine, not re-slice."""
    check_ranks(openmpi(args, outdir, []), replanned_plan())


def scenario_openmpi_bind_none(args, outdir):
    check_ranks(openmpi(args, outdir, ["--bind-to", "none"]), rank_plan())


def scenario_openmpi_user_binding_respected(args, outdir):
    """A rankfile puts rank 0 where the plan puts rank 1; respect keeps it, adds memory + OpenMP."""
    binding = reversed_binding(replanned_plan(BOUND_NRANKS))
    records = openmpi(args, outdir, openmpi_rankfile(outdir, binding), policy="respect",
                      nranks=BOUND_NRANKS)
    check_ranks(records, binding)


def scenario_openmpi_user_binding_kept(args, outdir):
    """auto: Open MPI says the binding is the user's (OMPI_MCA_orte_rankfile): it is kept."""
    binding = reversed_binding(replanned_plan(BOUND_NRANKS))
    check_ranks(openmpi(args, outdir, openmpi_rankfile(outdir, binding), nranks=BOUND_NRANKS),
                binding)


def scenario_openmpi_user_binding_replaced(args, outdir):
    """replace replans even a user's binding, over the cgroup's CPUs."""
    plan = replanned_plan(BOUND_NRANKS)
    records = openmpi(args, outdir, openmpi_rankfile(outdir, reversed_binding(plan)),
                      policy="replace", nranks=BOUND_NRANKS)
    check_ranks(records, plan)


def scenario_openmpi_preloaded_launcher(args, outdir):
    """LD_PRELOAD and an XEONRUN_* variable in mpirun's own environment: mpirun is placed first
    (rank 0 of 1, all CPUs, OMP_NUM_THREADS for all cores); its ranks must not take that for their
    own placement, nor its OMP_NUM_THREADS for the user's."""
    require("mpirun", "openmpi-bin")
    env = clean_env(args.library, {"XEONRUN_BIND_POLICY": "auto"})
    run(["mpirun", "--allow-run-as-root", "-np", str(NRANKS), args.probe, outdir], env, "mpirun")
    check_ranks(read_records(outdir, "OMPI_COMM_WORLD_LOCAL_RANK"), replanned_plan())


# ---- MPICH ----

def scenario_mpich_no_binding(args, outdir):
    require("mpiexec.mpich", "mpich")
    run(["mpiexec.mpich", "-n", str(NRANKS), "-genv", "LD_PRELOAD", args.library, args.probe,
         outdir], clean_env(), "mpiexec.mpich")
    check_ranks(read_records(outdir, "MPI_LOCALRANKID"), rank_plan())


def scenario_mpich_user_binding_kept(args, outdir):
    """-bind-to user:1,0 binds each rank to one CPU and says nothing in the environment: the set
    is too small to slice for 2 ranks, so it is the rank's own and is kept (auto)."""
    require("mpiexec.mpich", "mpich")
    binding = reversed_one_cpu_binding(replanned_plan(BOUND_NRANKS))
    cpus = ",".join(str(cpus[0]) for cpus, _ in binding)
    run(["mpiexec.mpich", "-n", str(BOUND_NRANKS), "-bind-to", "user:" + cpus, "-genv",
         "LD_PRELOAD", args.library, args.probe, outdir], clean_env(), "mpiexec.mpich")
    check_ranks(read_records(outdir, "MPI_LOCALRANKID", count=BOUND_NRANKS), binding)


# ---- Slurm ----

def slurm(args, outdir, extra_flags, policy=None):
    for program in ("srun", "slurmctld", "slurmd", "sinfo"):
        require(program, "slurm-wlm")
    exports = "ALL,LD_PRELOAD=" + args.library
    if policy:
        exports += ",XEONRUN_BIND_POLICY=" + policy
    with SlurmCluster(timeout=30) as cluster:
        try:
            run(["srun", "-n", str(BOUND_NRANKS), "--export=" + exports] + extra_flags +
                [args.probe, outdir],
                cluster.env(clean_env()), "srun")
        except Failure:
            print(cluster.logs(), file=sys.stderr)
            raise
    return read_records(outdir, "SLURM_LOCALID", count=BOUND_NRANKS)


def scenario_slurm_sbatch(args, outdir):
    """docs/launchers.md's batch script: sbatch, then srun with the library for the tasks only."""
    sbatch(args, outdir, "srun --export=ALL,LD_PRELOAD=%s %s %s\n"
           % (args.library, args.probe, outdir))


def scenario_slurm_sbatch_exported_preload(args, outdir):
    """`export LD_PRELOAD=...` in the batch script: srun, which has the batch step's
    SLURM_LOCALID=0, is placed first; its tasks have a step of their own and are placed again."""
    sbatch(args, outdir, "export LD_PRELOAD=%s\nsrun %s %s\n"
           % (args.library, args.probe, outdir))


def sbatch(args, outdir, body):
    for program in ("sbatch", "srun", "slurmctld", "slurmd", "sinfo"):
        require(program, "slurm-wlm")
    script = os.path.join(outdir, "..", "job.sh")
    log = os.path.join(outdir, "..", "job.out")
    with open(script, "w") as f:
        f.write("#!/bin/bash\n#SBATCH --ntasks-per-node=%d\n#SBATCH --exclusive\n"
                "#SBATCH --output=%s\n%s" % (BOUND_NRANKS, log, body))
    with SlurmCluster(timeout=30) as cluster:
        try:
            run(["sbatch", "--wait", script], cluster.env(clean_env()), "sbatch --wait")
        finally:
            if os.path.exists(log):
                with open(log) as f:
                    print(f.read(), end="", flush=True)
    check_ranks(read_records(outdir, "SLURM_LOCALID", count=BOUND_NRANKS),
                replanned_plan(BOUND_NRANKS))


def scenario_slurm_default_binding(args, outdir):
    """task/affinity binds each task to one CPU; auto must plan over the machine, not re-slice."""
    check_ranks(slurm(args, outdir, []), replanned_plan(BOUND_NRANKS))


def scenario_slurm_cpu_bind_none(args, outdir):
    """Unbound tasks inherit slurmd's affinity, the test's: planned inside it."""
    if NRANKS < BOUND_NRANKS:
        raise Skip("unbound tasks inherit this process's affinity (%s), too small for Slurm's %d "
                   "tasks to get CPUs of their own" % (MACHINE.describe(), BOUND_NRANKS))
    check_ranks(slurm(args, outdir, ["--cpu-bind=none"]), rank_plan())


def slurm_user_binding(args, outdir, policy):
    binding = reversed_one_cpu_binding(replanned_plan(BOUND_NRANKS))
    cpus = ",".join(str(cpus[0]) for cpus, _ in binding)
    check_ranks(slurm(args, outdir, ["--cpu-bind=map_cpu:" + cpus], policy=policy), binding)


def scenario_slurm_user_binding_kept(args, outdir):
    """auto: SLURM_CPU_BIND_TYPE=map_cpu: says the binding is the user's: it is kept."""
    slurm_user_binding(args, outdir, None)


def scenario_slurm_user_binding_respected(args, outdir):
    slurm_user_binding(args, outdir, "respect")


# ---- torchrun ----

def torchrun(args, outdir, extra_env=None):
    require_torch()
    # --redirects/--tee: torch 1.13's torchrun fails on Python 3.11 without them.
    return run([TORCH_PYTHON, "-m", "torch.distributed.run", "--nproc_per_node", str(NRANKS),
                "--redirects", "1", "--tee", "1", "--master_port", str(free_port()),
                args.probe_py, outdir], clean_env(args.library, extra_env), "torchrun")


def scenario_torchrun(args, outdir):
    """torchrun starts python ranks with LOCAL_RANK/LOCAL_WORLD_SIZE and OMP_NUM_THREADS=1."""
    torchrun(args, outdir)
    check_ranks(read_records(outdir, "LOCAL_RANK"), rank_plan())


def scenario_torchrun_placed_agent(args, outdir):
    """An XEONRUN_* variable next to LD_PRELOAD places torchrun's agent too (one instance over all
    CPUs, OMP_NUM_THREADS for all cores, which torchrun then passes on); the workers must be
    placed as ranks of their own, with the plan's OMP_NUM_THREADS."""
    torchrun(args, outdir, {"XEONRUN_MEMBIND": "bind"})
    check_ranks(read_records(outdir, "LOCAL_RANK"), rank_plan())


def scenario_torchrun_user_omp_num_threads_kept(args, outdir):
    """A user's OMP_NUM_THREADS is kept (torchrun then does not set its own), with a warning;
    CPUs and memory are still placed."""
    plan = rank_plan()
    mine = len(plan[0][0]) + 1  # not the plan's
    output = torchrun(args, outdir, {"OMP_NUM_THREADS": str(mine)})
    check_ranks(read_records(outdir, "LOCAL_RANK"), plan, omp_threads=mine)
    if "OMP_NUM_THREADS=%d kept" % mine not in output:
        raise Failure("no warning that OMP_NUM_THREADS=%d differs from the plan" % mine)


def torchrun_workers_only(args, outdir, worker_env):
    """torchrun with 2 workers where only the workers get the library and `worker_env`: the agent
    runs `env LD_PRELOAD=… VAR=… python3 probe.py` (--no_python), so it is not placed and sets
    its own OMP_NUM_THREADS=1 default as with a plain `torchrun` line. Each worker is the one
    instance over every CPU of its affinity (XEONRUN_RANK=0, XEONRUN_NINSTANCES=1): the plan's
    thread count is then every core, which torchrun's 1 is not on a machine of 2 cores or more."""
    require_torch()
    env_args = ["LD_PRELOAD=" + args.library, "XEONRUN_RANK=0", "XEONRUN_NINSTANCES=1"]
    env_args += ["%s=%s" % item for item in sorted(worker_env.items())]
    output = run([TORCH_PYTHON, "-m", "torch.distributed.run", "--nproc_per_node", "2",
                  "--redirects", "1", "--tee", "1", "--master_port", str(free_port()),
                  "--no_python", "env"] + env_args + [TORCH_PYTHON, args.probe_py, outdir],
                 clean_env(), "torchrun")
    return output, read_records(outdir, "LOCAL_RANK", count=2)


def check_one_instance_workers(records, omp_threads=None):
    plan = MACHINE.plan(1)
    errors = []
    for record in records:
        check_rank(record, 0, 1, plan[0].cpus, plan[0].mems, errors, omp_threads)
    if errors:
        raise Failure("\n".join(errors))
    print("ok: both workers on CPUs %s, OMP_NUM_THREADS %s, torch.get_num_threads() %s"
          % (format_list(plan[0].cpus), [r["env"].get("OMP_NUM_THREADS") for r in records],
             [r.get("torch_num_threads") for r in records]), flush=True)
    return plan


def scenario_torchrun_default_threads_replaced(args, outdir):
    """torchrun's own OMP_NUM_THREADS=1 (its agent started without one) is replaced by the plan's
    under the default XEONRUN_THREADS=auto, with no 'kept' warning."""
    output, records = torchrun_workers_only(args, outdir, {})
    check_one_instance_workers(records)
    if "kept from the environment" in output:
        raise Failure("torchrun's OMP_NUM_THREADS=1 was kept as if the user had set it")


def scenario_torchrun_threads_inherit(args, outdir):
    """XEONRUN_THREADS=inherit keeps torchrun's OMP_NUM_THREADS=1 and says how to change that."""
    output, records = torchrun_workers_only(args, outdir, {"XEONRUN_THREADS": "inherit"})
    plan = check_one_instance_workers(records, omp_threads=1)
    if len(plan[0].cpus) > 1 and "XEONRUN_THREADS=plan" not in output:
        raise Failure("no warning naming XEONRUN_THREADS=plan for the kept OMP_NUM_THREADS=1")


def scenario_torchrun_user_omp_num_threads_planned(args, outdir):
    """XEONRUN_THREADS=plan: the plan's thread count wins over the user's OMP_NUM_THREADS."""
    plan = rank_plan()
    mine = len(plan[0][0]) + 1  # not the plan's
    output = torchrun(args, outdir, {"OMP_NUM_THREADS": str(mine), "XEONRUN_THREADS": "plan"})
    check_ranks(read_records(outdir, "LOCAL_RANK"), plan)
    if "kept from the environment" in output:
        raise Failure("OMP_NUM_THREADS=%d kept although XEONRUN_THREADS=plan" % mine)


# ---- every launcher's variables, without the launcher ----

# (rank variable, size variables) as each launcher sets them (docs/launchers.md cites each), plus
# a global rank that must not be used: the probe is started as local rank r of NRANKS with global
# rank r + 4, so a global rank read as the local one would be out of range (exit 2).
LAUNCHER_VARIABLES = [
    ("LOCAL_RANK", {"LOCAL_WORLD_SIZE": "{n}", "RANK": "{g}", "TORCHELASTIC_RUN_ID": "none"}),
    ("LOCAL_RANK", {"LOCAL_SIZE": "{n}", "RANK": "{g}", "CROSS_RANK": "1"}),  # DeepSpeed
    ("HOROVOD_LOCAL_RANK", {"HOROVOD_LOCAL_SIZE": "{n}", "HOROVOD_RANK": "{g}"}),
    ("OMPI_COMM_WORLD_LOCAL_RANK", {"OMPI_COMM_WORLD_LOCAL_SIZE": "{n}",
                                    "OMPI_COMM_WORLD_RANK": "{g}"}),
    ("MV2_COMM_WORLD_LOCAL_RANK", {"MV2_COMM_WORLD_LOCAL_SIZE": "{n}", "MV2_COMM_WORLD_RANK": "{g}",
                                   "PMI_ID": "{g}"}),
    ("MPI_LOCALRANKID", {"MPI_LOCALNRANKS": "{n}", "PMI_RANK": "{g}"}),
    ("PALS_LOCAL_RANKID", {"PALS_LOCAL_SIZE": "{n}", "PALS_RANKID": "{g}", "PALS_NODEID": "1"}),
    ("JSM_NAMESPACE_LOCAL_RANK", {"JSM_NAMESPACE_LOCAL_SIZE": "{n}", "JSM_NAMESPACE_RANK": "{g}"}),
    ("FLUX_TASK_LOCAL_ID", {"FLUX_JOB_NNODES": "1", "FLUX_JOB_SIZE": "{n}",
                            "FLUX_TASK_RANK": "{g}"}),
    ("SLURM_LOCALID", {"SLURM_STEP_TASKS_PER_NODE": "{n}", "SLURM_NODEID": "0",
                       "SLURM_PROCID": "{g}"}),
]


def scenario_launcher_variables_place(args, outdir):
    """The preloaded front acts on every launcher's local rank (its list is generated from the
    core's) and the rank takes its local slice; the global rank beside it is never used. MVAPICH
    3's MVP_COMM_WORLD_LOCAL_RANK comes with no size and is left to the unit tests."""
    plan = rank_plan()
    errors = []
    for index, (rank_variable, others) in enumerate(LAUNCHER_VARIABLES):
        for rank in range(NRANKS):
            # respect: plan inside this test's affinity whatever the launcher's binding habits (a
            # one-CPU affinity under a Slurm rank counts as Slurm's binding and is replaced).
            extra = {rank_variable: str(rank), "XEONRUN_BIND_POLICY": "respect"}
            for name, value in others.items():
                extra[name] = value.format(n=NRANKS, g=rank + 4)
            reports = os.path.join(outdir, "%d-%d" % (index, rank))
            os.mkdir(reports)
            child = subprocess.run([args.probe, reports], env=clean_env(args.library, extra),
                                   capture_output=True, text=True, timeout=LAUNCH_TIMEOUT)
            if child.returncode != 0:
                errors.append("%s=%d: exit %d: %s" % (rank_variable, rank, child.returncode,
                                                      child.stderr.strip()))
                continue
            record = read_records(reports, None, count=1)[0]
            before = len(errors)
            check_rank(record, rank, NRANKS, plan[rank][0], plan[rank][1], errors)
            for i in range(before, len(errors)):
                errors[i] = "%s (%s): %s" % (rank_variable, sorted(others), errors[i])
    if errors:
        raise Failure("\n".join(errors))
    print("ok: %d launchers' variables, %d ranks each, placed on their local slices"
          % (len(LAUNCHER_VARIABLES), NRANKS), flush=True)


# ---- containers: a restricted CPU set ----

def last_allowed_cpu():
    return MACHINE.allowed[-1]


def single_process(args, outdir, prefix, extra):
    """Runs `prefix... env LD_PRELOAD=... XEONRUN_...=... probe`: the preload and the variables
    reach the probe only. Given to the prefix command (taskset, sh) they would place that command,
    whose XEONRUN_PLACED_* would then tell the probe it is placed already."""
    variables = dict({"XEONRUN_RANK": "0", "XEONRUN_NINSTANCES": "1"}, **extra)
    assignments = ["%s=%s" % item for item in sorted(variables.items())]
    command = prefix + ["env", "LD_PRELOAD=" + args.library] + assignments + [args.probe, outdir]
    run(command, clean_env(), command[0])
    return read_records(outdir, None, count=1)


def scenario_taskset_restricted(args, outdir):
    """`taskset -c LAST`: the plan must stay inside the one CPU the process may use."""
    require("taskset", "util-linux")
    cpu = last_allowed_cpu()
    records = single_process(args, outdir, ["taskset", "-c", str(cpu)], {})
    check_ranks(records, [([cpu], [MACHINE.node(cpu)])])


def scenario_taskset_replace_uses_cgroup(args, outdir):
    """XEONRUN_BIND_POLICY=replace: the affinity taskset gave is replaced by the cgroup's set."""
    require("taskset", "util-linux")
    cpu = last_allowed_cpu()
    records = single_process(args, outdir, ["taskset", "-c", str(cpu)],
                             {"XEONRUN_BIND_POLICY": "replace"})
    check_ranks(records, as_expected(cgroup_machine().plan(1)))


def scenario_cgroup_v1_cpuset(args, outdir):
    run_in_cpuset(args, outdir, "v1")


def scenario_cgroup_v2_cpuset(args, outdir):
    run_in_cpuset(args, outdir, "v2")


CGROUP_V1_CPUSET = "/sys/fs/cgroup/cpuset"


def cgroup_v2_root():
    """The cgroup v2 mount where the cpuset controller can be used, or None."""
    for root in ("/sys/fs/cgroup", "/sys/fs/cgroup/unified"):
        try:
            with open(os.path.join(root, "cgroup.controllers")) as f:
                if "cpuset" in f.read().split():
                    return root
        except OSError:
            pass
    return None


def cpuset_support(version):
    """None when this machine lets a test create a child cpuset of `version`, else why not."""
    if os.geteuid() != 0:
        return "creating a cgroup needs root"
    if version == "v1":
        if not os.access(os.path.join(CGROUP_V1_CPUSET, "cgroup.procs"), os.W_OK):
            return "no writable cgroup v1 cpuset hierarchy at " + CGROUP_V1_CPUSET
        return None
    root = cgroup_v2_root()
    if root is None:
        return ("no cgroup v2 hierarchy offers the cpuset controller (cgroup.controllers of "
                "/sys/fs/cgroup and /sys/fs/cgroup/unified; a controller bound to v1 is not)")
    if not os.access(os.path.join(root, "cgroup.subtree_control"), os.W_OK):
        return "cannot enable cpuset in %s/cgroup.subtree_control" % root
    return None


def run_in_cpuset(args, outdir, version):
    """A child cpuset holding only the last CPU; the probe runs inside it with `replace`, which
    plans over the cgroup's set: it must get that CPU and nothing the cgroup forbids."""
    cpu = last_allowed_cpu()
    node = MACHINE.node(cpu)
    if version == "v1":
        parent = CGROUP_V1_CPUSET
    else:
        parent = cgroup_v2_root()
        if parent is None:
            raise Failure("no cgroup v2 hierarchy with the cpuset controller on this machine")
        with open(os.path.join(parent, "cgroup.subtree_control"), "w") as f:
            f.write("+cpuset")
    group = tempfile.mkdtemp(prefix="xp-test-", dir=parent)
    try:
        with open(os.path.join(group, "cpuset.cpus"), "w") as f:
            f.write(str(cpu))
        with open(os.path.join(group, "cpuset.mems"), "w") as f:
            f.write(str(node))
        # The shell moves itself into the group, then becomes the probe: nothing else is moved.
        prefix = ["sh", "-c", 'echo $$ > "$0/cgroup.procs" && exec "$@"', group]
        records = single_process(args, outdir, prefix, {"XEONRUN_BIND_POLICY": "replace"})
        check_ranks(records, [([cpu], [node])])
    finally:
        os.rmdir(group)


SCENARIOS = {name[len("scenario_"):]: fn for name, fn in globals().items()
             if name.startswith("scenario_")}


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--library", help="path of libxeonplace.so")
    parser.add_argument("--probe", help="path of the compiled probe.c")
    parser.add_argument("--probe-py", help="path of probe.py")
    parser.add_argument("--supports", choices=["cgroup_v1_cpuset", "cgroup_v2_cpuset"],
                        help="exit 0 if this machine can run that test, else say why and exit 1")
    parser.add_argument("scenario", nargs="?", choices=sorted(SCENARIOS))
    args = parser.parse_args()
    if args.supports:
        why_not = cpuset_support(args.supports.split("_")[1])
        print(why_not or "supported")
        return 0 if why_not is None else 1
    if not (args.library and args.probe and args.probe_py and args.scenario):
        parser.error("--library, --probe, --probe-py and a scenario are required")
    if not os.path.exists(args.library):
        print("FAIL: %s does not exist (build libxeonplace.so first)" % args.library)
        return 1
    return run_scenario(args.scenario, "xp-launchers-",
                        lambda workdir, outdir: SCENARIOS[args.scenario](args, outdir))


def run_scenario(name, prefix, run):
    """Calls run(workdir, outdir) in a fresh work directory (removed after), the probes' reports
    going to outdir; prints one PASS, FAIL or SKIP line and returns the exit status for meson.
    Also the multinode suite's runner."""
    workdir = tempfile.mkdtemp(prefix=prefix)
    outdir = os.path.join(workdir, "reports")
    os.mkdir(outdir)
    try:
        run(workdir, outdir)
    except Skip as skip:
        print("SKIP: %s: %s" % (name, skip), flush=True)
        return SKIP
    except Failure as failure:
        print("FAIL: %s: %s" % (name, failure), flush=True)
        return 1
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
    print("PASS: %s" % name)
    return 0


if __name__ == "__main__":
    sys.exit(main())
