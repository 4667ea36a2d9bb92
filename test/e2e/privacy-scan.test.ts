/**
 * The privacy scan (issue 16, item 2): `mealcheck demo --once` over a real Mosquitto, with a
 * subscriber on `#` the whole time, then `mealcheck backup` of both databases. No face
 * descriptor (its float32 bytes, as base64, or as JSON numbers), no image and no ID-card number
 * in clear appears in any MQTT payload, in the server's files (database, WAL), in any log line
 * (the demo at log level debug) or in either backup (the edge's seals its templates, review
 * crops and ID numbers; the edge database itself holds the box's registry in clear, as it must). Each needle has a positive control: the scanner finds the descriptors in a plain
 * copy of the templates as they were stored before templates were sealed, the images in the
 * demo's own camera frames, and the ID numbers in the edge database, where they belong.
 */
import { appendFileSync, mkdirSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import mqtt from 'mqtt';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createElderRepository } from '../../edge/src/elders/elder-repository.ts';
import { openEdgeDatabase } from '../../edge/src/main.ts';
import { DEFAULT_RECOGNIZER } from '../../edge/src/vision/models.ts';
import { demoIdNumber } from '../../scripts/demo/demo.ts';
import { reservePort } from '../helpers/edge-fixtures.ts';
import { runMosquitto, type RunningMosquitto } from '../helpers/fault-mosquitto.ts';
import { mealcheck } from '../helpers/processes.ts';
import { tempDir } from '../helpers/server-fixtures.ts';

interface Needle {
  what: string;
  bytes: Buffer;
}

/** Which needles occur in a haystack, by name (each named once). */
function scan(haystack: Buffer, needles: readonly Needle[]): string[] {
  return [...new Set(needles.filter((n) => haystack.includes(n.bytes)).map((n) => n.what))];
}

/** Descriptor needles: 32 bytes of float32 at two offsets, their base64 (aligned), the first values as JSON numbers. */
function descriptorNeedles(elderId: string, d: Float32Array): Needle[] {
  const raw = Buffer.from(d.buffer, d.byteOffset, d.byteLength);
  const out: Needle[] = [];
  for (const at of [0, Math.floor(d.length / 2) * 4]) {
    out.push({ what: `descriptor of ${elderId} (float32 bytes)`, bytes: raw.subarray(at, at + 32) });
    out.push({ what: `descriptor of ${elderId} (base64)`, bytes: Buffer.from(raw.subarray(at, at + 30).toString('base64')) });
  }
  out.push({ what: `descriptor of ${elderId} (JSON numbers)`, bytes: Buffer.from(Array.from(d.subarray(0, 3)).join(',')) });
  return out;
}

const IMAGE_NEEDLES: Needle[] = [
  ...[0xe0, 0xe1, 0xdb, 0xee, 0xc0, 0xc4].map((m) => ({ what: 'JPEG image', bytes: Buffer.from([0xff, 0xd8, 0xff, m]) })),
  { what: 'JPEG image (base64)', bytes: Buffer.from('/9j/') },
  { what: 'PNG image', bytes: Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]) },
  { what: 'PNG image (base64)', bytes: Buffer.from('iVBORw0KGgo') },
  { what: 'image data URL', bytes: Buffer.from('data:image/') },
];

/** Every file under `dir`, concatenated (the haystack of a folder). */
function filesUnder(dir: string, skip: (name: string) => boolean = () => false): Array<{ file: string; bytes: Buffer }> {
  const out: Array<{ file: string; bytes: Buffer }> = [];
  for (const name of readdirSync(dir)) {
    const file = join(dir, name);
    if (skip(name)) continue;
    if (statSync(file).isDirectory()) out.push(...filesUnder(file, skip));
    else out.push({ file, bytes: readFileSync(file) });
  }
  return out;
}

describe('privacy scan after the demo', () => {
  let tmp: ReturnType<typeof tempDir>;
  let mosquitto: RunningMosquitto;
  const payloads: Buffer[] = [];
  const topicsSeen = new Set<string>();
  let logs = '';
  let summary: Record<string, unknown> = {};
  let descriptors: Needle[] = [];
  let idNumbers: Needle[] = [];
  let plainTemplates: Buffer;
  /** The descriptors as a careless log line or payload would carry them: JSON numbers and base64. */
  let textTemplates: Buffer;
  let elderIds: readonly string[] = [];

  beforeAll(async () => {
    tmp = tempDir();
    const port = await reservePort();
    const conf = join(tmp.dir, 'mosquitto.conf');
    writeFileSync(conf, `listener ${port} 127.0.0.1\nallow_anonymous true\npersistence false\n`);
    if (process.getuid?.() === 0) appendFileSync(conf, 'user root\n');
    mosquitto = await runMosquitto(conf, port);
    const url = `mqtt://127.0.0.1:${port}`;
    const tap = await mqtt.connectAsync(url, { clientId: 'privacy-tap' });
    tap.on('message', (topic, payload) => {
      topicsSeen.add(topic.split('/').at(-1)!);
      payloads.push(Buffer.from(payload));
    });
    await tap.subscribeAsync('#', { qos: 1 });

    const data = join(tmp.dir, 'demo');
    const run = await mealcheck(['demo', '--once', '--json', '--data', data, '--mqtt-url', url], { MEALCHECK_LOG_LEVEL: 'debug' });
    logs = run.stdout + run.stderr;
    expect(run.code, run.stderr.slice(-3000)).toBe(0);
    summary = JSON.parse(run.stdout.trim().split('\n').at(-1)!) as Record<string, unknown>;
    await tap.endAsync();

    mkdirSync(join(tmp.dir, 'backups'));
    for (const [args, out] of [
      [['--server', '--data', join(data, 'server')], 'server.backup'],
      [['--data', join(data, 'edge')], 'edge.backup'],
    ] as const) {
      const b = await mealcheck(['backup', ...args, '--out', join(tmp.dir, 'backups', out)]);
      logs += b.stdout + b.stderr;
      expect(b.code, b.stderr).toBe(0);
    }

    // The needles: the elders' descriptors as the door holds them in memory (opened with the
    // box's template key), and the demo's ID numbers.
    const db = openEdgeDatabase(join(data, 'edge', 'edge.db'));
    try {
      const set = createElderRepository(db).loadTemplates(DEFAULT_RECOGNIZER);
      const dim = set.dim ?? 128;
      descriptors = set.elderIds.flatMap((id, i) => descriptorNeedles(id, set.descriptors.subarray(i * dim, (i + 1) * dim)));
      // The positive control's haystack: the templates as a box stored them before they were sealed (plain float32 BLOBs).
      const plainFile = join(tmp.dir, 'plain-templates.db');
      const plain = new Database(plainFile);
      plain.exec('CREATE TABLE templates (elder_id TEXT, descriptor BLOB)');
      const insert = plain.prepare('INSERT INTO templates VALUES (?, ?)');
      set.elderIds.forEach((id, i) => insert.run(id, Buffer.from(set.descriptors.buffer, set.descriptors.byteOffset + i * dim * 4, dim * 4)));
      plain.close();
      plainTemplates = readFileSync(plainFile);
      elderIds = set.elderIds;
      textTemplates = Buffer.from(
        set.elderIds
          .map((id, i) => {
            const d = set.descriptors.subarray(i * dim, (i + 1) * dim);
            return JSON.stringify({ elderId: id, descriptor: Array.from(d), b64: Buffer.from(d.buffer, d.byteOffset, d.byteLength).toString('base64') });
          })
          .join('\n'),
      );
      const ids = db.prepare('SELECT id_number FROM elders WHERE id_number IS NOT NULL').pluck().all() as string[];
      idNumbers = ids.map((id) => ({ what: `ID number ${id.slice(-4)}`, bytes: Buffer.from(id) }));
    } finally {
      db.close();
    }
  }, 400_000);

  afterAll(async () => {
    await mosquitto?.stop();
    tmp?.cleanup();
  });

  it('ran the whole demo over the broker: check-ins, registry, config down, receipts', () => {
    expect(summary.checkIns).toBeGreaterThan(0);
    expect(summary.registered).toBe(summary.enrolled);
    expect(summary.outboxPending).toBe(0);
    for (const t of ['events', 'receipts', 'config', 'status']) expect(topicsSeen, t).toContain(t);
    expect(descriptors.length).toBeGreaterThanOrEqual(5 * (summary.enrolled as number));
    // The demo's elders carry ID numbers, which the server's registry holds (sealed).
    expect(idNumbers.map((n) => n.bytes.toString())).toEqual(Array.from({ length: summary.enrolled as number }, (_, i) => demoIdNumber(i)));
  });

  it('positive controls: the scanner finds plain templates, the camera frames, and the ID numbers in the edge database', () => {
    const data = join(tmp.dir, 'demo');
    const kinds = (suffix: string) => elderIds.map((id) => `descriptor of ${id} (${suffix})`);
    expect(scan(plainTemplates, descriptors)).toEqual(expect.arrayContaining(kinds('float32 bytes')));
    expect(scan(textTemplates, descriptors)).toEqual(expect.arrayContaining([...kinds('base64'), ...kinds('JSON numbers')]));
    const frames = Buffer.concat(filesUnder(join(data, 'frames')).map((f) => f.bytes));
    expect(scan(frames, IMAGE_NEEDLES)).toContain('JPEG image');
    const edgeDb = Buffer.concat(filesUnder(join(data, 'edge')).map((f) => f.bytes));
    expect(scan(edgeDb, idNumbers)).toHaveLength(idNumbers.length);
    // The edge database holds the templates sealed: none of their bytes in clear.
    expect(scan(edgeDb, descriptors)).toEqual([]);
  });

  it('no descriptor, image or ID number in any MQTT payload', () => {
    expect(payloads.length).toBeGreaterThan(10);
    const wire = Buffer.concat(payloads);
    expect(scan(wire, [...descriptors, ...IMAGE_NEEDLES, ...idNumbers])).toEqual([]);
    // The registry went up: its numbers sealed.
    expect(wire.toString('latin1')).toContain('"idNumberSealed":"v1.');
  });

  it("none in the server's files, its backup, or any log", () => {
    const needles = [...descriptors, ...IMAGE_NEEDLES, ...idNumbers];
    // Every file of the server's data folder but its ID-number key.
    for (const f of filesUnder(join(tmp.dir, 'demo', 'server'), (n) => n === 'id-number-key.pem')) expect(scan(f.bytes, needles), f.file).toEqual([]);
    expect(scan(readFileSync(join(tmp.dir, 'backups', 'server.backup')), needles)).toEqual([]);
    expect(logs.length).toBeGreaterThan(1000);
    expect(scan(Buffer.from(logs), needles)).toEqual([]);
  });

  it("the edge's backup holds no descriptor, no image and no ID number", () => {
    expect(scan(readFileSync(join(tmp.dir, 'backups', 'edge.backup')), [...descriptors, ...IMAGE_NEEDLES, ...idNumbers])).toEqual([]);
  });
});
