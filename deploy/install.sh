#!/usr/bin/env bash
# Installs or updates mealcheck on a Debian or Raspberry Pi OS box (64-bit), as a systemd service.
#
#   sudo deploy/install.sh [--server] [--no-apt] [--no-start]
#
# From the checkout this script is in: copies the program to /opt/mealcheck (without .git, data
# or node_modules), installs the Debian packages it needs (edge: ffmpeg and espeak-ng; both:
# python3 make g++ to build better-sqlite3 where npm has no binary), `npm ci --omit=dev`
# offline-safe (the checkout's .npmrc skips onnxruntime's CUDA download), creates the system
# user `mealcheck` (edge: in the video and audio groups), writes /etc/mealcheck/<program>.env
# once (root:mealcheck 0640: it holds the MQTT password), installs the unit from
# deploy/systemd/ with this machine's node in ExecStart, and enables and (re)starts it.
# Running it again is an update: the data folder (/var/lib/mealcheck, 0700) and the env file
# are kept.
#
# Node.js 20 or newer must already be installed (Debian 13 / Raspberry Pi OS 13 ship it as
# `nodejs`); the box has no internet to fetch one.
#
# For tests and image building, every path can be moved under a staging root:
# MEALCHECK_INSTALL_ROOT=/tmp/x deploy/install.sh --no-apt --no-user --no-npm --no-systemctl
set -euo pipefail

program=edge
apt=1 user=1 npm=1 systemctl=1 start=1
for arg in "$@"; do
  case "$arg" in
    --server) program=server ;;
    --edge) program=edge ;;
    --no-apt) apt=0 ;;
    --no-user) user=0 ;;
    --no-npm) npm=0 ;;
    --no-systemctl) systemctl=0 ;;
    --no-start) start=0 ;;
    -h|--help) sed -n '2,20p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) echo "install.sh: unknown option $arg (try --help)" >&2; exit 2 ;;
  esac
done

root="${MEALCHECK_INSTALL_ROOT:-}"
src="$(cd "$(dirname "$0")/.." && pwd)"
dest="$root/opt/mealcheck"
etc="$root/etc/mealcheck"
units="$root/etc/systemd/system"
unit="mealcheck-$program.service"

say() { echo "mealcheck install: $*"; }
die() { echo "mealcheck install: $*" >&2; exit 1; }

if [ -z "$root" ] && [ "$(id -u)" -ne 0 ]; then die "run as root (sudo $0 $*)"; fi
[ -f "$src/package.json" ] && [ -f "$src/deploy/systemd/$unit" ] || die "$src is not a mealcheck checkout"

node_bin="$(command -v node || true)"
[ -n "$node_bin" ] || die "Node.js 20 or newer is needed first (Debian 13: apt install nodejs npm)"
node_major="$("$node_bin" -p 'process.versions.node.split(".")[0]')"
[ "$node_major" -ge 20 ] || die "Node.js $("$node_bin" -v) is too old: mealcheck needs 20 or newer"

if [ "$apt" = 1 ]; then
  pkgs=(python3 make g++)
  [ "$program" = edge ] && pkgs+=(ffmpeg espeak-ng)
  say "Debian packages: ${pkgs[*]}"
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${pkgs[@]}"
fi

if [ "$user" = 1 ] && ! id mealcheck >/dev/null 2>&1; then
  say "system user mealcheck"
  adduser --system --group --home /var/lib/mealcheck --no-create-home mealcheck
fi
if [ "$user" = 1 ] && [ "$program" = edge ]; then usermod -a -G video,audio mealcheck; fi

say "program -> $dest"
mkdir -p "$dest"
# The program only: no history, no data, no test photos; node_modules is rebuilt below.
tar -C "$src" --exclude=./.git --exclude=./node_modules --exclude=./data --exclude='./.ci' -cf - . | tar -C "$dest" -xf -
chmod -R go-w "$dest"

if [ "$npm" = 1 ]; then
  # better-sqlite3 compiles where npm has no binary: node-gyp needs Node's headers locally.
  prefix="$(dirname "$(dirname "$(readlink -f "$node_bin")")")"
  if [ -f "$prefix/include/node/node.h" ]; then export npm_config_nodedir="$prefix"; fi
  say "npm ci --omit=dev (in $dest)"
  (cd "$dest" && npm ci --omit=dev --no-audit --no-fund)
fi
# The one place under /opt the service writes (scripts/bundle.js' cache; the unit's ReadWritePaths).
mkdir -p "$dest/node_modules/.cache/mealcheck"
if [ "$user" = 1 ]; then chown -R mealcheck:mealcheck "$dest/node_modules/.cache/mealcheck"; fi

mkdir -p "$etc"
env_file="$etc/$program.env"
if [ ! -f "$env_file" ]; then
  say "settings -> $env_file (edit, then: systemctl restart $unit)"
  if [ "$program" = edge ]; then
    cat > "$env_file" <<'ENV'
# mealcheck edge settings (README, Settings). Required: the centre and device ids and the
# server's broker with this device's credentials (mealcheck device add on the server).
MEALCHECK_CENTRE=
MEALCHECK_DEVICE=
MEALCHECK_SERVER=mqtt://server.example:1883
MEALCHECK_MQTT_USERNAME=
MEALCHECK_MQTT_PASSWORD=
MEALCHECK_CAMERA=/dev/video0
# The staff pages on the centre's network (loopback only when unset).
#MEALCHECK_STAFF_HOST=0.0.0.0
ENV
  else
    cat > "$env_file" <<'ENV'
# mealcheck server settings (README, Settings).
MEALCHECK_HTTP_HOST=127.0.0.1
#MEALCHECK_MQTT_URL=mqtts://mealcheck-server:PASSWORD@127.0.0.1:8883
#MEALCHECK_MQTT_CA=/etc/mosquitto/certs/ca.crt
ENV
  fi
fi
chmod 0640 "$env_file"
if [ "$user" = 1 ]; then chown root:mealcheck "$env_file"; fi

mkdir -p "$units"
sed "s#^ExecStart=/usr/bin/node #ExecStart=$node_bin #" "$src/deploy/systemd/$unit" > "$units/$unit"
chmod 0644 "$units/$unit"
say "unit -> $units/$unit"

if [ "$systemctl" = 1 ]; then
  systemctl daemon-reload
  systemctl enable "$unit"
  if [ "$start" = 1 ]; then systemctl restart "$unit"; say "started: systemctl status $unit, journalctl -u $unit"; fi
fi
say "done"
