/**
 * Facts about the box itself for the status and the health page: free disk under the data
 * folder, the CPU temperature where the board exposes it (/sys/class/thermal, as a Raspberry
 * Pi and most x86 boards do), and the program's version. Each answers null rather than throw:
 * a container without /sys or a disk that cannot be read is not an error of the edge.
 */
import { readdirSync, readFileSync, statfsSync } from 'node:fs';
import { join } from 'node:path';

export interface DiskSpace {
  /** The folder measured (the edge's data folder). */
  path: string;
  freeBytes: number;
  totalBytes: number;
}

export function diskSpace(path: string): DiskSpace | null {
  try {
    const s = statfsSync(path);
    // bavail: what an unprivileged process may still write, the figure that matters to SQLite.
    return { path, freeBytes: s.bavail * s.bsize, totalBytes: s.blocks * s.bsize };
  } catch {
    return null;
  }
}

/**
 * The CPU's temperature in °C, or null. Prefers a zone whose type names the CPU (`cpu-thermal`
 * on a Pi, `x86_pkg_temp` on Intel), else the first zone with a reading.
 */
export function cpuTemperature(root = '/sys/class/thermal'): number | null {
  let zones: string[];
  try {
    zones = readdirSync(root).filter((z) => z.startsWith('thermal_zone')).sort();
  } catch {
    return null;
  }
  const readings: Array<{ type: string; c: number }> = [];
  for (const z of zones) {
    try {
      const milli = Number(readFileSync(join(root, z, 'temp'), 'utf8').trim());
      if (!Number.isFinite(milli)) continue;
      let type = '';
      try {
        type = readFileSync(join(root, z, 'type'), 'utf8').trim();
      } catch {
        // A zone without a type still has a reading.
      }
      readings.push({ type, c: Math.round(milli / 100) / 10 });
    } catch {
      // Some zones refuse to be read (a sensor that is off): skip them.
    }
  }
  const cpu = readings.find((r) => /cpu|x86_pkg|soc|core/i.test(r.type));
  return (cpu ?? readings[0])?.c ?? null;
}

let version: string | undefined;

/** `name version` from the repository's package.json. */
export function edgeVersion(): string {
  if (version === undefined) {
    try {
      const pkg = JSON.parse(readFileSync(new URL('../../../package.json', import.meta.url), 'utf8')) as { name?: string; version?: string };
      version = `${pkg.name ?? 'mealcheck'} ${pkg.version ?? 'unknown'}`;
    } catch {
      version = 'mealcheck unknown';
    }
  }
  return version;
}
