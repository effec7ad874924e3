#!/bin/sh
# The remote-launch agent of the multinode suite: what `ssh HOST COMMAND...` is to a real cluster.
# Open MPI (--mca plm_rsh_agent), MPICH hydra (-launcher-exec) call it with the launcher's own
# options first (hydra passes -x), then the host name, then the launcher daemon's command line.
# It starts that command as node HOST: in a new UTS namespace whose hostname is HOST, inside the
# node's cgroup v1 cpuset XP_MN_CGROUPS/HOST (created by the test with the node's CPUs).
#
#   XP_MN_CGROUPS   directory holding one cpuset cgroup per node name (required)
#   XP_MN_LOG       file to append one line per launch to (optional)
set -eu
while [ $# -gt 0 ]; do
  case "$1" in
    -*) shift ;;
    *) break ;;
  esac
done
host=$1
shift
group=$XP_MN_CGROUPS/$host
[ -d "$group" ] || { echo "node_agent: no node $host ($group)" >&2; exit 255; }
[ -n "${XP_MN_LOG:-}" ] && echo "$host $*" >> "$XP_MN_LOG"
echo $$ > "$group/tasks"
# ssh hands the remote side one command string run by a shell; so does this agent.
exec unshare --uts sh -c 'hostname "$0" && exec sh -c "$1"' "$host" "$*"
