#!/usr/bin/env bash
# Stop the daemons start_cluster.sh started, cancelling the test cluster's jobs first (a job left running
# would keep its processes and come back from the saved state).
if pgrep -x slurmctld >/dev/null; then
  scancel --full --quiet $(squeue -h -o %i 2>/dev/null) 2>/dev/null || true
  for _ in $(seq 20); do [ -z "$(squeue -h -o %i 2>/dev/null)" ] && break; sleep 0.5; done
fi
for d in slurmstepd slurmd slurmctld munged; do pkill -x "$d" 2>/dev/null || true; done
for _ in $(seq 40); do
  { pgrep -x slurmd || pgrep -x slurmctld || pgrep -x munged; } >/dev/null || break
  sleep 0.25
done
exit 0
