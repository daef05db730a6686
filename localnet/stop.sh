#!/usr/bin/env bash
# Stop the nodes that localnet/run.sh started (their PIDs are in DIR/pids).
#
#   localnet/stop.sh [DIR]      (default ./localnet/build)
set -euo pipefail
DIR=${1:-./localnet/build}
PIDS=$DIR/pids
if [[ ! -s $PIDS ]]; then
	echo "localnet: no nodes recorded in $PIDS"
	exit 0
fi
alive=()
for pid in $(cat "$PIDS"); do
	# Only signal processes that are still a `bftnode start` (a PID may have been reused).
	args=$(ps -p "$pid" -o args= 2>/dev/null || true)
	if [[ $args == *bftnode*start* ]]; then
		kill "$pid" && alive+=("$pid")
	elif [[ -n $args ]]; then
		echo "localnet: not signalling pid $pid, which is no longer a bftnode node: $args" >&2
	fi
done
# Wait, with a deadline, for them to exit.
for _ in $(seq 1 100); do
	left=()
	for pid in "${alive[@]}"; do
		kill -0 "$pid" 2>/dev/null && left+=("$pid")
	done
	[[ ${#left[@]} -eq 0 ]] && break
	sleep 0.1
done
if [[ ${#left[@]} -gt 0 ]]; then
	echo "localnet: still running after 10s: ${left[*]} (kill them with: kill -9 ${left[*]})" >&2
	exit 1
fi
rm -f "$PIDS"
echo "localnet: stopped ${#alive[@]} nodes"
