#!/usr/bin/env bash
# Prepare (or tear down) the Docker and Podman "anchor" systems the benchmarks compare with.
#
#   bench/setup_anchors.sh install   apt-get install docker.io podman busybox-static dnsperf (if missing)
#   bench/setup_anchors.sh start     start dockerd in the background, import the busybox image
#                                    into Docker and Podman; prints shell assignments to eval
#   bench/setup_anchors.sh stop      stop the dockerd we started (by its pid), remove its netns
#
# Where the anchors run: by default each anchor system gets its own throwaway network namespace
# (bench-anchor-docker / bench-anchor-podman), so dockerd's bridges and its iptables FORWARD
# policy DROP never touch this machine's own namespace. The kernel work is the same in any
# namespace. BENCH_ANCHOR_NETNS=host runs them in the machine's namespace instead, as a normal
# installation would (then `stop` is what puts the FORWARD policy back, by stopping dockerd).
#
# Everything is bounded by timeouts; nothing is pulled from a registry (none is reachable):
# the image is a busybox-static root filesystem made locally (docs/benchmarks.md).
set -uo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
WORK=${BENCH_WORK:-/tmp/pynet-bench}
DATA_ROOT=${BENCH_DOCKER_DATA_ROOT:-/var/lib/docker-bench}
DOCKER_SOCK=$WORK/docker.sock
DOCKER_EXEC_ROOT=$WORK/docker-exec
PIDFILE=$WORK/dockerd.pid
LOG=$WORK/dockerd.log
MODE=${BENCH_ANCHOR_NETNS:-netns}
DNS_NS=bench-anchor-docker
PNS=bench-anchor-podman
IMAGE=bb:latest

log() { printf 'setup_anchors: %s\n' "$*" >&2; }

installed() { dpkg-query -W -f='${Status}' "$1" 2>/dev/null | grep -q 'install ok installed'; }

# The docker client to use: Debian's 20.10 client (/usr/bin/docker) rather than any other
# docker binary earlier on PATH, so client and daemon are the versions benchmarks.md names.
docker_bin() { if [ -x /usr/bin/docker ]; then echo /usr/bin/docker; else command -v docker; fi; }

do_install() {
  local missing=() p
  command -v dpkg-query >/dev/null || { log "not Debian: install docker.io and podman yourself"; return 1; }
  for p in docker.io podman netavark aardvark-dns busybox-static dnsperf; do installed "$p" || missing+=("$p"); done
  [ ${#missing[@]} -eq 0 ] && { log "docker.io, podman, netavark, busybox-static, dnsperf already installed"; return 0; }
  [ "$(id -u)" -eq 0 ] || { log "need root to install ${missing[*]}"; return 1; }
  log "installing ${missing[*]} (services are not started)"
  export DEBIAN_FRONTEND=noninteractive
  local policy=/usr/sbin/policy-rc.d made=""
  if [ ! -e "$policy" ]; then printf '#!/bin/sh\nexit 101\n' >"$policy"; chmod 755 "$policy"; made=1; fi
  local rc=0
  timeout 300 apt-get -o DPkg::Lock::Timeout=120 update -qq || rc=$?
  [ $rc -eq 0 ] && { timeout 900 apt-get -o DPkg::Lock::Timeout=120 install -y -qq \
      --no-install-recommends "${missing[@]}" runc iptables uidmap slirp4netns >/dev/null || rc=$?; }
  [ -n "$made" ] && rm -f "$policy"
  return $rc
}

make_ns() {
  [ "$MODE" = host ] && return 0
  # A test on the file, not `ip netns list | grep -q`: with pipefail, grep's early exit makes
  # ip fail on SIGPIPE once many namespaces are listed (Podman's), and the name looked absent.
  [ -e "/run/netns/$1" ] || timeout 10 ip netns add "$1" || return 1
  timeout 10 ip -n "$1" link set lo up
}

make_rootfs() {
  local root=$WORK/rootfs bb
  bb=$(command -v busybox) || { log "busybox not found"; return 1; }
  # A regular file (not a link) means the rootfs and its tarball are already made.
  [ -f "$root/bin/busybox" ] && [ ! -L "$root/bin/busybox" ] && [ -s "$WORK/bb.tar" ] && return 0
  rm -rf "$root"
  mkdir -p "$root/bin" "$root/etc" "$root/proc" "$root/sys" "$root/dev" "$root/tmp"
  cp "$bb" "$root/bin/busybox"
  local a
  for a in $("$root/bin/busybox" --list); do [ "$a" = busybox ] || ln -sf busybox "$root/bin/$a"; done
  tar -C "$root" -c . >"$WORK/bb.tar"
}

start_dockerd() {
  local d; d=$(docker_bin)
  command -v dockerd >/dev/null || { log "dockerd not installed"; return 1; }
  if [ -s "$PIDFILE" ] && kill -0 "$(cat "$PIDFILE")" 2>/dev/null; then
    log "dockerd already running (pid $(cat "$PIDFILE"))"
  else
    make_ns "$DNS_NS" || return 1
    mkdir -p "$DATA_ROOT" "$DOCKER_EXEC_ROOT"
    # Own socket, pidfile, exec-root and data-root: never clashes with a system dockerd.
    # setsid: its own process group, so `stop` can end exactly what we started.
    local pre=()
    [ "$MODE" = host ] || pre=(nsenter "--net=/run/netns/$DNS_NS")
    rm -f "$WORK/dockerd.pidfile"
    # nsenter and setsid exec (no fork), so $! is dockerd itself; checked against its pidfile.
    "${pre[@]}" setsid dockerd --data-root "$DATA_ROOT" --exec-root "$DOCKER_EXEC_ROOT" \
      --pidfile "$WORK/dockerd.pidfile" -H "unix://$DOCKER_SOCK" \
      >"$LOG" 2>&1 </dev/null &
    echo $! >"$PIDFILE"
    log "dockerd started (pid $(cat "$PIDFILE"), log $LOG)"
  fi
  local i
  for i in $(seq 1 60); do
    timeout 5 "$d" -H "unix://$DOCKER_SOCK" version >/dev/null 2>&1 && break
    kill -0 "$(cat "$PIDFILE")" 2>/dev/null || { log "dockerd exited; see $LOG"; tail -5 "$LOG" >&2; return 1; }
    sleep 0.5
  done
  timeout 5 "$d" -H "unix://$DOCKER_SOCK" version >/dev/null 2>&1 || { log "dockerd did not answer"; return 1; }
  if [ -s "$WORK/dockerd.pidfile" ] && [ "$(cat "$WORK/dockerd.pidfile")" != "$(cat "$PIDFILE")" ]; then
    log "dockerd pid differs from the launched pid; using dockerd's own pidfile"
    cp "$WORK/dockerd.pidfile" "$PIDFILE"
  fi
  if ! timeout 20 "$d" -H "unix://$DOCKER_SOCK" image inspect "$IMAGE" >/dev/null 2>&1; then
    timeout 120 "$d" -H "unix://$DOCKER_SOCK" import "$WORK/bb.tar" "$IMAGE" >/dev/null || return 1
  fi
  echo "DOCKER_OK=1"
}

start_podman() {
  command -v podman >/dev/null || { log "podman not installed"; return 1; }
  make_ns "$PNS" || return 1
  if ! timeout 30 podman image exists localhost/bb:latest 2>/dev/null; then
    timeout 120 podman import "$WORK/bb.tar" localhost/bb:latest >/dev/null 2>&1 || return 1
  fi
  echo "PODMAN_OK=1"
}

# Several benchmark runs may share the anchors (same $WORK): each `start` registers its owner
# ($BENCH_OWNER, else the calling process) and `stop` only stops dockerd when no live owner is
# left, so one run never pulls dockerd out from under another.
OWNER=${BENCH_OWNER:-$PPID}
USERS=$WORK/users

live_users() {
  local f pid out=()
  for f in "$USERS"/*; do
    [ -e "$f" ] || continue
    pid=$(basename "$f")
    if kill -0 "$pid" 2>/dev/null; then out+=("$pid"); else rm -f "$f"; fi
  done
  echo "${out[*]}"
}

do_start() {
  mkdir -p "$WORK" "$USERS"
  : >"$USERS/$OWNER"
  make_rootfs || return 1
  echo "DOCKER_BIN=$(docker_bin)"
  echo "DOCKER_HOST=unix://$DOCKER_SOCK"
  echo "ANCHOR_MODE=$MODE"
  echo "DOCKER_NETNS=$([ "$MODE" = host ] || echo "$DNS_NS")"
  echo "PODMAN_NETNS=$([ "$MODE" = host ] || echo "$PNS")"
  start_dockerd || echo "DOCKER_OK=0"
  start_podman || echo "PODMAN_OK=0"
}

do_stop() {
  local d; d=$(docker_bin)
  rm -f "$USERS/$OWNER"
  local others; others=$(live_users)
  if [ -n "$others" ]; then
    log "anchors still used by pid(s) $others: leaving dockerd and the namespaces in place"
    return 0
  fi
  if [ -s "$PIDFILE" ]; then
    local pid; pid=$(cat "$PIDFILE")
    if kill -0 "$pid" 2>/dev/null; then
      # Remove leftovers we may have made, then stop dockerd (SIGTERM; it stops its containerd).
      timeout 60 "$d" -H "unix://$DOCKER_SOCK" ps -aq --filter label=pynet-bench 2>/dev/null |
        xargs -r timeout 60 "$d" -H "unix://$DOCKER_SOCK" rm -f >/dev/null 2>&1
      timeout 60 "$d" -H "unix://$DOCKER_SOCK" network prune -f >/dev/null 2>&1
      kill -TERM "$pid" 2>/dev/null
      local i
      for i in $(seq 1 40); do kill -0 "$pid" 2>/dev/null || break; sleep 0.5; done
      kill -0 "$pid" 2>/dev/null && { log "dockerd $pid still alive, SIGKILL"; kill -KILL "$pid"; }
      log "dockerd $pid stopped"
    fi
    rm -f "$PIDFILE"
  fi
  if command -v podman >/dev/null; then
    timeout 60 podman ps -aq --filter label=pynet-bench 2>/dev/null | xargs -r timeout 60 podman rm -f >/dev/null 2>&1
    timeout 60 podman network ls -q 2>/dev/null | grep '^pb-' | xargs -r timeout 60 podman network rm -f >/dev/null 2>&1
  fi
  if [ "$MODE" != host ]; then
    local ns
    for ns in "$DNS_NS" "$PNS"; do [ -e "/run/netns/$ns" ] && timeout 10 ip netns del "$ns"; done
  fi
  return 0
}

case "${1:-start}" in
  install) do_install ;;
  start) do_start ;;
  stop) do_stop ;;
  *) echo "usage: $0 install|start|stop" >&2; exit 2 ;;
esac
