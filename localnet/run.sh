#!/usr/bin/env bash
# Start a local validator network on loopback with the built-in kvstore app.
#
#   localnet/run.sh BFTNODE [--fresh] [--detach] [--v N] [--dir DIR] [--timeout SECONDS]
#
# BFTNODE is the bftnode binary (`make localnet` passes ./build/bftnode).
# A testnet already in DIR (chain data and keys) is reused; otherwise a new one
# is generated (`make localnet-reset` wipes it).
#   --fresh    wipe DIR and generate a new testnet
#   --detach   leave the nodes running and exit; stop them with `make localnet-stop`
#   --v N      number of validators (default 4)
#   --dir DIR  where the node homes go (default ./localnet/build)
#   --timeout  seconds to wait for node0 to reach height 2 (default 60)
#
# Each node's log is DIR/nodeI/node.log; the PIDs of the started nodes are in
# DIR/pids. Without --detach the script waits; Ctrl-C stops every node it started.
set -euo pipefail

usage() { sed -n '2,16p' "$0" | sed 's/^# \{0,1\}//'; exit 2; }

[[ $# -ge 1 ]] || usage
BFTNODE=$1
shift
FRESH=0 DETACH=0 N=4 DIR=./localnet/build TIMEOUT=60
while [[ $# -gt 0 ]]; do
	case $1 in
	--fresh) FRESH=1 ;;
	--detach) DETACH=1 ;;
	--v) N=${2:?--v needs a number}; shift ;;
	--dir) DIR=${2:?--dir needs a directory}; shift ;;
	--timeout) TIMEOUT=${2:?--timeout needs seconds}; shift ;;
	-h|--help) usage ;;
	*) echo "unknown argument: $1" >&2; usage ;;
	esac
	shift
done

if [[ ! -x $BFTNODE ]]; then
	echo "localnet: $BFTNODE is not an executable; run \`make build\` first" >&2
	exit 1
fi

PIDS=$DIR/pids
if [[ -s $PIDS ]]; then
	for pid in $(cat "$PIDS"); do
		if kill -0 "$pid" 2>/dev/null; then
			echo "localnet: a node (pid $pid) from an earlier run is still up; run \`make localnet-stop\` first" >&2
			exit 1
		fi
	done
fi

if [[ $FRESH == 1 ]]; then
	rm -rf "$DIR"
fi
"$BFTNODE" testnet --v "$N" --o "$DIR" --chain-id localnet --reuse
N=$(find "$DIR" -maxdepth 1 -type d -name 'node*' | wc -l)

started=()
stop_nodes() {
	trap - INT TERM EXIT
	if [[ ${#started[@]} -gt 0 ]]; then
		echo "localnet: stopping ${#started[@]} nodes"
		kill "${started[@]}" 2>/dev/null || true
		wait "${started[@]}" 2>/dev/null || true
	fi
	rm -f "$PIDS"
}
trap stop_nodes INT TERM EXIT

: >"$PIDS"
for ((i = 0; i < N; i++)); do
	home=$DIR/node$i
	ui=()
	((i == 0)) && ui=(--rpc.ui=true) # node0 serves the web view of consensus
	"$BFTNODE" start --home "$home" "${ui[@]}" >>"$home/node.log" 2>&1 &
	started+=("$!")
	echo "$!" >>"$PIDS"
done
echo "localnet: started $N nodes (pids ${started[*]}), logs in $DIR/nodeI/node.log"

# Wait, with a deadline, until node0's RPC reports height >= 2.
RPC=http://127.0.0.1:26657
deadline=$((SECONDS + TIMEOUT))
height=0
while ((height < 2)); do
	for ((i = 0; i < N; i++)); do
		if ! kill -0 "${started[$i]}" 2>/dev/null; then
			echo "localnet: node$i exited; the end of its log:" >&2
			tail -n 20 "$DIR/node$i/node.log" >&2
			exit 1
		fi
	done
	if ((SECONDS >= deadline)); then
		echo "localnet: node0 did not reach height 2 within ${TIMEOUT}s; see $DIR/node0/node.log" >&2
		exit 1
	fi
	height=$("$BFTNODE" status --node "$RPC" --timeout 2s 2>/dev/null |
		sed -n 's/.*"latest_block_height": *"\{0,1\}\([0-9]*\)"\{0,1\}.*/\1/p' | head -n 1) || true
	height=${height:-0}
	((height >= 2)) || sleep 0.5
done

cat <<MSG

localnet is up: $N validators, node0 at height $height.

  submit a tx:   $BFTNODE tx foo=bar
                 curl -s $RPC -d '{"jsonrpc":"2.0","id":1,"method":"broadcast_tx_commit","params":{"tx":"'\$(printf foo=bar | base64)'"}}'
  query it:      $BFTNODE query foo
                 curl -s $RPC -d '{"jsonrpc":"2.0","id":1,"method":"abci_query","params":{"data":"'\$(printf foo | od -An -tx1 | tr -d ' \n')'"}}'
  watch it:      $RPC/ui/   (node0's web view of consensus)
  status:        $BFTNODE status   (node i: --node http://127.0.0.1:PORT, PORT = 26657 + 10*i)
  logs:          $DIR/node0/node.log … $DIR/node$((N - 1))/node.log
  stop:          make localnet-stop$( ((DETACH)) || echo ", or Ctrl-C here")
MSG

if ((DETACH)); then
	trap - INT TERM EXIT
	exit 0
fi
wait "${started[@]}"
