/**
 * A stand-in for the ffmpeg binary, to test the camera supervisor without a camera: a shell
 * script that answers `-version`, then writes FRAMES raw frames of BYTES bytes and either
 * exits with code 1 (`mode: exit`) or goes quiet (`mode: stall`).
 */
import { chmodSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

export function writeFakeFfmpeg(dir: string, opts: { frameBytes: number; frames: number; mode: 'exit' | 'stall' }): string {
  const path = join(dir, `fake-ffmpeg-${opts.mode}`);
  const tail = opts.mode === 'exit' ? 'exit 1' : 'exec sleep 60';
  writeFileSync(
    path,
    `#!/bin/sh
for a in "$@"; do [ "$a" = "-version" ] && exit 0; done
i=0
while [ $i -lt ${opts.frames} ]; do head -c ${opts.frameBytes} /dev/zero; sleep 0.05; i=$((i+1)); done
${tail}
`,
  );
  chmodSync(path, 0o755);
  return path;
}
