#!/usr/bin/env bash
# Stop the daemons start_cluster.sh started.
pkill -x slurmd 2>/dev/null || true
pkill -x slurmctld 2>/dev/null || true
pkill -x munged 2>/dev/null || true
sleep 1
exit 0
