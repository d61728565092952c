#!/usr/bin/env bash
# `make bench`: run every pynet benchmark side by side with Docker and Podman and write
# markdown tables to bench/results/*.md (summary.md collects the verdicts).
#
#   bash bench/run.sh [--quick] [--max N] [--runs N] [--only cli,attach,scale,memory,profile] [--no-anchors]
#
# Environment (same meaning as the flags): BENCH_RUNS (10), BENCH_WARMUP (2), BENCH_MAX (4000
# containers over 4 networks for pynet, issue #15), BENCH_ANCHOR_MAX (250 for Docker/Podman),
# BENCH_NET_MAX (1000 networks), BENCH_ANCHOR_NET_MAX (250 for Docker/Podman), BENCH_JOBS (3
# concurrent fill commands), BENCH_EDGE (1: also fill one of pynet's bridges to 1023 and check
# the 1024th is refused), BENCH_NO_INSTALL=1 (do not apt-get install docker.io/podman),
# BENCH_ANCHOR_NETNS (netns|host: where Docker/Podman run, see setup_anchors.sh), PYNET_PY.
#
# Safety: pynet runs only inside throwaway network namespaces the benchmarks create and delete;
# Docker/Podman run in their own namespaces by default; dockerd (started here) is stopped at the
# end by its pid; every step has a timeout. Ctrl-C / SIGTERM stops the running part with
# SIGTERM (it removes what it made) before exiting.
set -uo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

RUNS=${BENCH_RUNS:-10}
WARMUP=${BENCH_WARMUP:-2}
MAX=${BENCH_MAX:-4000}
ANCHOR_MAX=${BENCH_ANCHOR_MAX:-250}
NET_MAX=${BENCH_NET_MAX:-1000}
ANCHOR_NET_MAX=${BENCH_ANCHOR_NET_MAX:-250}
JOBS=${BENCH_JOBS:-3}
EDGE=${BENCH_EDGE:-1}
ONLY=cli,attach,scale,memory,profile,dns,ports,overlay,api,compose
ANCHORS=1
while [ $# -gt 0 ]; do
  case "$1" in
    --quick) RUNS=3; WARMUP=1; MAX=50; ANCHOR_MAX=50; NET_MAX=50; ANCHOR_NET_MAX=50; EDGE=0 ;;
    --max) MAX=$2; shift ;;
    --runs) RUNS=$2; shift ;;
    --only) ONLY=$2; shift ;;
    --no-anchors) ANCHORS=0 ;;
    -h|--help) sed -n '2,17p' "$0"; exit 0 ;;
    *) echo "run.sh: unknown argument $1" >&2; exit 2 ;;
  esac
  shift
done

log() { printf 'bench: %s\n' "$*" >&2; }
[ "$(id -u)" -eq 0 ] || { log "needs root (network namespaces)"; exit 1; }

PY=${PYNET_PY:-}
for cand in "$PY" .venv/bin/python /tmp/v/bin/python; do
  [ -n "$cand" ] && [ -x "$cand" ] && "$cand" -c 'import click, pyroute2' 2>/dev/null && { PY=$cand; break; }
done
[ -x "$PY" ] || { log "no python with pynet's dependencies (run make deps)"; exit 1; }
export PYNET_PY=$PY BENCH_RUNS=$RUNS BENCH_WARMUP=$WARMUP
PYNET_CMD=$(dirname "$PY")/pynet
[ -x "$PYNET_CMD" ] || PYNET_CMD="$PY -m pynet"
log "conditions: pynet runs as $PYNET_CMD (the console script users type) in throwaway network namespaces," \
  "default arguments unless a table says otherwise; $("$PY" -V 2>&1); $(nproc) cpus;" \
  "load average $(cut -d' ' -f1-3 /proc/loadavg) (each results file records it at start and end)"
RESULTS=bench/results
mkdir -p "$RESULTS/raw"

SYSTEMS=pynet
export BENCH_OWNER=$$  # setup_anchors.sh: dockerd is stopped only when no other run uses it
if [ "$ANCHORS" = 1 ]; then
  SYSTEMS=pynet,docker,podman
  [ "${BENCH_NO_INSTALL:-0}" = 1 ] || timeout 1200 bash bench/setup_anchors.sh install ||
    log "could not install docker.io/podman: tables will show the anchor figures instead"
  trap 'timeout 300 bash bench/setup_anchors.sh stop' EXIT
  ANCHOR_ENV=$(timeout 600 bash bench/setup_anchors.sh start) || log "anchor setup incomplete"
  eval "$ANCHOR_ENV"
  export DOCKER_BIN DOCKER_HOST DOCKER_OK PODMAN_OK DOCKER_NETNS PODMAN_NETNS ANCHOR_MODE
  log "docker ok=${DOCKER_OK:-0} podman ok=${PODMAN_OK:-0}"
else
  export DOCKER_OK=0 PODMAN_OK=0
fi
export BENCH_SYSTEMS=$SYSTEMS

declare -A STATUS
STEP_PID=
on_signal() {  # a killed run leaves nothing behind: the part's own SIGTERM handler cleans up
  trap '' INT TERM
  if [ -n "$STEP_PID" ]; then
    log "interrupted: stopping the running part (pid $STEP_PID); it removes what it made"
    kill -TERM "$STEP_PID" 2>/dev/null
    wait "$STEP_PID"
  fi
  exit 130  # the EXIT trap (if any) then stops the anchors' dockerd
}
trap on_signal INT TERM
step() {  # step NAME TIMEOUT_S SCRIPT ARGS...
  local name=$1 limit=$2; shift 2
  case ",$ONLY," in *",$name,"*) ;; *) return 0 ;; esac
  log "== $name (timeout ${limit}s) =="
  local t0=$SECONDS rc=0
  # in the background + wait, so a signal to run.sh is handled at once (bash defers traps
  # until a foreground command ends); timeout forwards our SIGTERM to the part
  timeout --kill-after=30 "$limit" "$PY" "$@" >"$RESULTS/raw/$name.log" 2>&1 &
  STEP_PID=$!
  wait "$STEP_PID" || rc=$?
  STEP_PID=
  STATUS[$name]="exit $rc after $((SECONDS - t0)) s"
  [ $rc -eq 0 ] || { log "$name failed (exit $rc); last lines:"; tail -5 "$RESULTS/raw/$name.log" >&2; }
}

EDGE_ARG=--no-edge
[ "$EDGE" = 1 ] && EDGE_ARG=--edge
step cli 1200 bench/bench_cli.py --out "$RESULTS/cli.md"
step attach 1200 bench/bench_attach.py --out "$RESULTS/attach.md"
step scale 5400 bench/bench_scale.py --out "$RESULTS/scale.md" --max "$MAX" \
  --anchor-max "$ANCHOR_MAX" --net-max "$NET_MAX" --anchor-net-max "$ANCHOR_NET_MAX" --jobs "$JOBS" "$EDGE_ARG"
step memory 900 bench/bench_memory.py --out "$RESULTS/memory.md"  # issue #15: PSS per detached container
step profile 900 bench/profile_pynet.py --out "$RESULTS/profile.md" --systems pynet
QUICK_ARG=()
[ "$RUNS" -le 3 ] && QUICK_ARG=(--quick)
step dns 1500 bench/bench_dns.py "${QUICK_ARG[@]}"          # issue #15: dnsperf, pynet vs Docker, and with 1000 containers
step ports 2400 bench/bench_ports.py "${QUICK_ARG[@]}"      # issue #4: publishing, throughput
step overlay 1500 bench/bench_overlay.py "${QUICK_ARG[@]}"  # issue #5: VXLAN vs underlay
step compose 900 bench/bench_compose.py --out "$RESULTS/compose.md"  # issues #12, #15: compose up/down vs docker-compose
step api 900 bench/bench_api.py --out "$RESULTS/api.md"       # issue #14: docker CLI vs pynet's socket / dockerd

{
  echo "# pynet benchmark summary"
  echo
  echo "Run $(date -u '+%Y-%m-%d %H:%M UTC'), runs=$RUNS warm-up=$WARMUP, scale: $MAX containers over 4 networks" \
    "(anchors $ANCHOR_MAX), $NET_MAX networks (anchors $ANCHOR_NET_MAX)."
  echo
  for name in cli attach scale memory profile dns ports overlay api compose; do
    # a part this run skipped (--only) keeps its file from an earlier run: say so
    [ -n "${STATUS[$name]:-}" ] || [ -f "$RESULTS/$name.md" ] || continue
    echo "## $name — ${STATUS[$name]:-not run this time: from an earlier run, see its date} ([$name.md]($name.md))"
    echo
    if [ "$name" = profile ]; then
      [ -f "$RESULTS/$name.md" ] && sed -n '/^## Summary/,/^## /p' "$RESULTS/$name.md" | grep '^|'
    else
      [ -f "$RESULTS/$name.md" ] && sed -n '/^## Verdicts/,/^## /p' "$RESULTS/$name.md" | grep '^- '
    fi
    echo
  done
  # extra runs kept beside the main ones (e.g. scale-pynet-1024.md from a pynet-only --max 1024 run)
  for f in "$RESULTS"/scale-*.md; do
    [ -f "$f" ] || continue
    echo "## $(basename "$f" .md) — separate run ([$(basename "$f")]($(basename "$f")))"
    echo
    sed -n '/^## Verdicts/,/^## /p' "$f" | grep '^- '
    echo
  done
} >"$RESULTS/summary.md"
cat "$RESULTS/summary.md"
# The README's performance table is generated from the figures the parts wrote
# (results/<part>.json, with the conditions of each): never typed by hand.
"$PY" bench/readme_table.py && log "README.md's performance table regenerated from $RESULTS/*.json"
