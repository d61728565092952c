#!/usr/bin/env bash
# The seed walkthrough (docs/walkthrough.md), run for real on this host, then cleaned up.
# Uses its own state/runtime dirs so it never touches a user's pynet networks.
set -euo pipefail
cd "$(dirname "$0")/.."
export PYNET_STATE_DIR="${PYNET_DEMO_STATE:-/tmp/pynet-demo/state}"
export PYNET_RUN_DIR="${PYNET_DEMO_RUN:-/tmp/pynet-demo/run}"
PYNET="${PYNET:-.venv/bin/pynet}"

step() { printf '\n\033[1m$ %s\033[0m\n' "$*"; "$@"; }
forward_before=$(cat /proc/sys/net/ipv4/ip_forward)
cleanup() {
  "$PYNET" rm -f c1 c2 >/dev/null 2>&1 || true
  "$PYNET" network rm mynetwork >/dev/null 2>&1 || true
  "$PYNET" system reset -f >/dev/null 2>&1 || true
  rm -rf "$PYNET_STATE_DIR" "$PYNET_RUN_DIR"
  # pynet turned forwarding on for its networks; give the host back its own setting.
  echo "$forward_before" > /proc/sys/net/ipv4/ip_forward
}
trap cleanup EXIT

step "$PYNET" network ls
step "$PYNET" network create -d bridge mynetwork
step "$PYNET" network inspect mynetwork
step ip link show type bridge
step "$PYNET" run -d --name c1 --network mynetwork sleep 300
step "$PYNET" run -d --name c2 --network mynetwork sleep 300
step "$PYNET" network inspect -f '{{range .Containers}}{{.Name}} {{.IPv4Address}}{{println}}{{end}}' mynetwork
step bridge link
step "$PYNET" exec c1 ip addr show eth0
step "$PYNET" exec c1 ping -c1 -W2 c2
step "$PYNET" run --rm --network mynetwork ping -c1 -W2 c1
step "$PYNET" ps
step "$PYNET" run --rm --network host ip -br link show lo
step "$PYNET" rm -f c1 c2
step "$PYNET" network rm mynetwork
step ip link show type bridge
printf '\nDemo done: everything it made is removed.\n'
