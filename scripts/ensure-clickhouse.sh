#!/usr/bin/env bash
# Makes sure earshot has a ClickHouse to talk to: the one EARSHOT_CLICKHOUSE
# names, or a local clickhouse-server binary that earshot starts itself.
# Installs Debian's package when it is missing and this user may
# (root, or password-less sudo). Used by `make run` and .ci/run.
set -euo pipefail

if [ -n "${EARSHOT_CLICKHOUSE:-}" ]; then
  exit 0
fi
if command -v clickhouse-server >/dev/null 2>&1; then
  exit 0
fi
pkgs=(clickhouse-server clickhouse-client)
if [ "$(id -u)" = 0 ]; then
  sudo=()
elif command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; then
  sudo=(sudo -n)
else
  echo "earshot needs ClickHouse: set EARSHOT_CLICKHOUSE=clickhouse://host:9000/earshot," >&2
  echo "or install it: sudo apt-get install ${pkgs[*]}" >&2
  exit 1
fi
if ! command -v apt-get >/dev/null 2>&1; then
  echo "no apt-get here: install clickhouse-server yourself, or set EARSHOT_CLICKHOUSE" >&2
  exit 1
fi
echo "installing Debian's ${pkgs[*]} ..." >&2
export DEBIAN_FRONTEND=noninteractive
"${sudo[@]}" apt-get update -qq
"${sudo[@]}" apt-get install -y -qq --no-install-recommends "${pkgs[@]}" >/dev/null
# The package tries to start a system service; earshot runs its own server.
