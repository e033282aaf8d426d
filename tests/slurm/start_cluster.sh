#!/usr/bin/env bash
# Start a one-node Slurm cluster on this machine (root only): munged, slurmctld, slurmd.
# Installs Debian's slurm-wlm and munge when missing.  Prints the node state when ready.
set -euo pipefail
if [ "$(id -u)" != 0 ]; then echo "start_cluster.sh must run as root" >&2; exit 2; fi
if ! command -v slurmctld >/dev/null || ! command -v munged >/dev/null; then
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq >/dev/null
  apt-get install -y -qq slurm-wlm munge >/dev/null
fi
# munge: a random key readable only by the munge user
install -d -o munge -g munge -m 700 /etc/munge /var/lib/munge /var/log/munge /run/munge
if [ ! -s /etc/munge/munge.key ]; then
  dd if=/dev/urandom of=/etc/munge/munge.key bs=1024 count=1 status=none
fi
chown munge:munge /etc/munge/munge.key && chmod 400 /etc/munge/munge.key
chmod 755 /run/munge
for _ in $(seq 20); do munge -n 2>/dev/null | unmunge >/dev/null 2>&1 && break; pgrep -x munged >/dev/null || break; sleep 0.5; done
munge -n 2>/dev/null | unmunge >/dev/null 2>&1 || { pkill -x munged 2>/dev/null || true; sleep 0.5; runuser -u munge -- /usr/sbin/munged; }
for _ in $(seq 20); do munge -n 2>/dev/null | unmunge >/dev/null 2>&1 && break; sleep 0.5; done
munge -n | unmunge | grep -q Success

HOST=$(hostname)
CPUS=$(nproc)
MEM=$(( $(free -m | awk '/^Mem:/{print $2}') - 1024 ))
CONF_DIR=/etc/slurm
mkdir -p "$CONF_DIR" /var/spool/slurmctld /var/spool/slurmd /var/log/slurm /var/run/slurm
cat > "$CONF_DIR/slurm.conf" <<CONF
ClusterName=transferlab-ci
SlurmctldHost=${HOST}
SlurmUser=root
AuthType=auth/munge
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
SelectType=select/cons_tres
SelectTypeParameters=CR_Core_Memory
ReturnToService=2
MpiDefault=none
SchedulerType=sched/backfill
AccountingStorageType=accounting_storage/none
JobAcctGatherType=jobacct_gather/none
JobRequeue=1
SlurmctldPidFile=/var/run/slurm/slurmctld.pid
SlurmdPidFile=/var/run/slurm/slurmd.pid
StateSaveLocation=/var/spool/slurmctld
SlurmdSpoolDir=/var/spool/slurmd
SlurmctldLogFile=/var/log/slurm/slurmctld.log
SlurmdLogFile=/var/log/slurm/slurmd.log
SlurmctldTimeout=30
SlurmdTimeout=30
KillWait=10
MinJobAge=300
NodeName=${HOST} CPUs=${CPUS} RealMemory=${MEM} State=UNKNOWN
PartitionName=ci Nodes=${HOST} Default=YES MaxTime=INFINITE State=UP
CONF
# A test cluster starts cold: jobs saved by an earlier, interrupted run (a killed test leaves its job in
# StateSaveLocation, and the node comes back allocated) are discarded, and daemons of an earlier start are
# restarted so that they read this slurm.conf.
pkill -x slurmstepd 2>/dev/null || true
pkill -x slurmd 2>/dev/null || true
pkill -x slurmctld 2>/dev/null || true
for _ in $(seq 20); do { pgrep -x slurmctld || pgrep -x slurmd; } >/dev/null || break; sleep 0.5; done
rm -rf /var/spool/slurmctld/* /var/spool/slurmd/*
slurmctld -c
slurmd -c
for _ in $(seq 60); do
  if sinfo -h -o '%t' 2>/dev/null | grep -qE '^(idle|mix|alloc)'; then break; fi
  sleep 1
done
scontrol update nodename="${HOST}" state=resume >/dev/null 2>&1 || true
for _ in $(seq 30); do sinfo -h -o '%t' | grep -q '^idle' && break; sleep 1; done
sinfo
