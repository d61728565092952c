#!/usr/bin/env bash
# Install what pynet and its tests need. Idempotent; a warm machine pays ~nothing.
#   1. Debian packages (as root), checked with dpkg first; `apt-get update` only when
#      something is missing; services are not started by the install.
#   2. .venv with `pip install -e .[test]`, redone only when pyproject.toml or bin/pynet changed.
# Environment: PYTHON (default python3) makes the venv.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

PACKAGES=(
  make iproute2 nftables iputils-ping util-linux busybox-static dnsutils
  iperf3 jq socat etcd-server etcd-client iptables kmod
  docker.io  # its 20.10 client drives pynet's Engine API in tests/integration/test_docker_cli.py
)
PYTHON=${PYTHON:-python3}

log() { printf 'install-deps: %s\n' "$*" >&2; }

installed() {
  dpkg-query -W -f='${Status}' "$1" 2>/dev/null | grep -q 'install ok installed'
}

install_packages() {
  local missing=() pkg
  command -v dpkg-query >/dev/null || { log "not a Debian system: install ${PACKAGES[*]} yourself"; return 0; }
  for pkg in "${PACKAGES[@]}"; do installed "$pkg" || missing+=("$pkg"); done
  # Debian's own python3 needs python3-venv for ensurepip; another python3 may not.
  if ! "$PYTHON" -c 'import ensurepip' 2>/dev/null && ! installed python3-venv; then
    missing+=(python3-venv)
  fi
  [ ${#missing[@]} -eq 0 ] && return 0
  if [ "$(id -u)" -ne 0 ]; then
    log "missing packages (${missing[*]}); run as root: sudo $0"
    exit 1
  fi
  log "installing ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  # Keep packages' services (etcd, iperf3) from starting in this machine's namespace.
  local policy=/usr/sbin/policy-rc.d made_policy=""
  if [ ! -e "$policy" ]; then
    printf '#!/bin/sh\nexit 101\n' >"$policy" && chmod 755 "$policy" && made_policy=1
  fi
  local rc=0
  {
    apt-get -o DPkg::Lock::Timeout=300 update -qq &&
    apt-get -o DPkg::Lock::Timeout=300 install -y -qq --no-install-recommends "${missing[@]}"
  } || rc=$?
  [ -n "$made_policy" ] && rm -f "$policy"
  return $rc
}

make_venv() {
  local stamp=.venv/.pynet-deps-stamp
  if [ -x .venv/bin/python ] && ! .venv/bin/python -c 'import sys' 2>/dev/null; then
    log "removing a broken .venv"
    rm -rf .venv
  fi
  if [ ! -x .venv/bin/python ]; then
    "$PYTHON" -c 'import sys; sys.exit(sys.version_info < (3, 11))' ||
      { log "$PYTHON is older than 3.11"; exit 1; }
    log "creating .venv with $PYTHON"
    "$PYTHON" -m venv .venv
    rm -f "$stamp"
  fi
  # bin/pynet too: pip copies it into .venv/bin at install time.
  if [ ! -e "$stamp" ] || [ pyproject.toml -nt "$stamp" ] || [ bin/pynet -nt "$stamp" ]; then
    log "pip install -e '.[test]'"
    # compat mode: a plain .pth path entry, not an import-hook finder (~9 ms per command).
    .venv/bin/python -m pip install -q --disable-pip-version-check -e '.[test]' \
      --config-settings editable_mode=compat
    touch "$stamp"
  fi
  # Byte-compile pynet: with PYTHONDONTWRITEBYTECODE set (as on these machines) Python would
  # recompile every module on every command (~30 ms); it still reads .pyc files it finds.
  .venv/bin/python -m compileall -q pynet >/dev/null || true
}

install_packages
make_venv
