#!/usr/bin/env bash
# A real one-node Slurm cluster on localhost for tests (Debian's slurm-wlm and munge), everything in DIR:
#
#   test/slurm/cluster.sh start DIR [CPUS]   munged, slurmctld and slurmd as root; prints SLURM_CONF=DIR/slurm.conf
#   test/slurm/cluster.sh stop DIR           stops them (by the pids in DIR), cancels nothing else
#
# The partition "debug" is oversubscribed (OverSubscribe=FORCE:8 on the node's CPUs), so several array tasks
# run at once on a 2-core machine. Ports are free ones picked at start. Exit 3 (with the reason on stderr)
# when the cluster cannot start here: not root, packages missing, or the daemons refuse to come up.
set -euo pipefail
cmd=${1:?usage: cluster.sh start|stop DIR [CPUS]}
dir=${2:?usage: cluster.sh start|stop DIR [CPUS]}

stop() {
  for f in slurmd.pid slurmctld.pid munge/munged.pid; do
    if [ -s "$dir/$f" ]; then kill "$(cat "$dir/$f")" 2>/dev/null || true; fi
  done
  for f in slurmd.pid slurmctld.pid munge/munged.pid; do
    for _ in $(seq 50); do
      if [ -s "$dir/$f" ] && kill -0 "$(cat "$dir/$f")" 2>/dev/null; then sleep 0.1; else break; fi
    done
  done
}

if [ "$cmd" = stop ]; then stop; exit 0; fi
[ "$cmd" = start ] || { echo "usage: cluster.sh start|stop DIR [CPUS]" >&2; exit 2; }

for b in munged slurmctld slurmd sbatch squeue scancel sinfo; do
  command -v "$b" >/dev/null || [ -x "/usr/sbin/$b" ] || { echo "cannot start Slurm: $b is not installed (apt-get install slurm-wlm munge)" >&2; exit 3; }
done
[ "$(id -u)" = 0 ] || { echo "cannot start Slurm: the test cluster's daemons run as root" >&2; exit 3; }
PATH=$PATH:/usr/sbin
cpus=${3:-$(nproc)}
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
mkdir -p "$dir"/{munge,state,spool,log}
chmod 700 "$dir" "$dir/munge"
head -c 1024 /dev/urandom > "$dir/munge/munge.key"
chmod 600 "$dir/munge/munge.key"
munged --force --socket="$dir/munge/munge.sock" --key-file="$dir/munge/munge.key" --log-file="$dir/munge/munged.log" \
  --pid-file="$dir/munge/munged.pid" --seed-file="$dir/munge/munged.seed" \
  || { echo "cannot start Slurm: munged failed: $(tail -3 "$dir/munge/munged.log" 2>/dev/null)" >&2; exit 3; }
cat > "$dir/slurm.conf" <<CONF
ClusterName=fractaltest
SlurmctldHost=localhost(127.0.0.1)
SlurmctldPort=$(free_port)
SlurmdPort=$(free_port)
SlurmUser=root
SlurmdUser=root
AuthType=auth/munge
AuthInfo=socket=$dir/munge/munge.sock
CredType=cred/munge
StateSaveLocation=$dir/state
SlurmdSpoolDir=$dir/spool
SlurmctldPidFile=$dir/slurmctld.pid
SlurmdPidFile=$dir/slurmd.pid
SlurmctldLogFile=$dir/log/slurmctld.log
SlurmdLogFile=$dir/log/slurmd.log
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
JobAcctGatherType=jobacct_gather/none
AccountingStorageType=accounting_storage/none
JobCompType=jobcomp/none
SchedulerType=sched/builtin
SelectType=select/cons_tres
SelectTypeParameters=CR_Core
ReturnToService=2
MpiDefault=none
SwitchType=switch/none
MinJobAge=300
KillWait=5
NodeName=localhost NodeAddr=127.0.0.1 CPUs=$cpus State=UNKNOWN
PartitionName=debug Nodes=localhost Default=YES MaxTime=INFINITE State=UP OverSubscribe=FORCE:8
CONF
export SLURM_CONF="$dir/slurm.conf"
slurmctld -f "$SLURM_CONF" || { echo "cannot start Slurm: slurmctld failed: $(tail -5 "$dir/log/slurmctld.log" 2>/dev/null)" >&2; stop; exit 3; }
slurmd -f "$SLURM_CONF" -N localhost || { echo "cannot start Slurm: slurmd failed: $(tail -5 "$dir/log/slurmd.log" 2>/dev/null)" >&2; stop; exit 3; }
for _ in $(seq 100); do
  if sinfo --noheader -o "%t" 2>/dev/null | grep -qE "^(idle|mix|alloc)"; then echo "SLURM_CONF=$SLURM_CONF"; exit 0; fi
  sleep 0.2
done
echo "cannot start Slurm: the node did not become idle within 20 s: $(sinfo 2>&1 | tail -2); $(tail -5 "$dir/log/slurmctld.log" 2>/dev/null)" >&2
stop
exit 3
