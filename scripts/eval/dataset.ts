/**
 * A labelled face folder (`<identity>/<photo>.jpg`, as in faces-dev) and the open-set split of
 * its README: identities with at least 3 photos, sorted by name; every third one (index % 3 ==
 * 2) is an impostor, never enrolled; an enrolled identity's first 2 photos (sorted by name)
 * enrol and the rest are probes; every photo of an impostor is a probe.
 *
 * Photos are read where they are: the tool never copies them.
 */
import { readdirSync, readFileSync, statSync, existsSync } from 'node:fs';
import { join } from 'node:path';

const PHOTO = /\.(jpe?g|png)$/i;

export interface Identity {
  name: string;
  /** Paths relative to the folder (`identity/photo.jpg`), sorted by name. */
  photos: string[];
}

export interface Probe {
  identity: string;
  photo: string;
  /** True when the identity is never enrolled: the probe must come out unknown. */
  impostor: boolean;
}

export interface Split {
  /** Enrolled identity → its enrolment photos. */
  enrol: Map<string, string[]>;
  probes: Probe[];
  /** Identities with fewer than 3 photos: used only in pairwise verification. */
  unused: string[];
}

const byName = (a: string, b: string): number => (a < b ? -1 : a > b ? 1 : 0);

/** Identity folders (skipping `_groups`, `_no_face` and any other `_` or `.` folder). */
export function listIdentities(dir: string): Identity[] {
  const out: Identity[] = [];
  for (const name of readdirSync(dir).sort(byName)) {
    if (name.startsWith('_') || name.startsWith('.')) continue;
    const sub = join(dir, name);
    if (!statSync(sub).isDirectory()) continue;
    const photos = readdirSync(sub).filter((f) => PHOTO.test(f)).sort(byName).map((f) => `${name}/${f}`);
    if (photos.length) out.push({ name, photos });
  }
  return out;
}

/** The photos in `_no_face/`, if any (relative paths): any face found there is a false detection. */
export function listNoFacePhotos(dir: string): string[] {
  const sub = join(dir, '_no_face');
  if (!existsSync(sub)) return [];
  return readdirSync(sub).filter((f) => PHOTO.test(f)).sort(byName).map((f) => `_no_face/${f}`);
}

/**
 * Another split of the same photos (scripts/eval/split-study.ts); the default is the README's:
 * impostor fold 2, the first photos enrol.
 */
export interface SplitVariant {
  /** Eligible identities with index % 3 == this are the impostors (README: 2). */
  impostorFold?: 0 | 1 | 2;
  /** Whether an enrolled identity's first or last photos (sorted by name) enrol (README: first). */
  enrolFrom?: 'first' | 'last';
}

/** The README's open-set split (or a variant of it); pure, so tests run it on made-up identities. */
export function splitProtocol(identities: readonly Identity[], enrolPerIdentity = 2, variant: SplitVariant = {}): Split {
  const { impostorFold = 2, enrolFrom = 'first' } = variant;
  const eligible = identities.filter((i) => i.photos.length >= 3).sort((a, b) => byName(a.name, b.name));
  const enrol = new Map<string, string[]>();
  const probes: Probe[] = [];
  eligible.forEach((id, index) => {
    const photos = [...id.photos].sort(byName);
    if (index % 3 === impostorFold) {
      for (const photo of photos) probes.push({ identity: id.name, photo, impostor: true });
    } else {
      const enrolled = enrolFrom === 'first' ? photos.slice(0, enrolPerIdentity) : photos.slice(photos.length - enrolPerIdentity);
      enrol.set(id.name, enrolled);
      for (const photo of photos) if (!enrolled.includes(photo)) probes.push({ identity: id.name, photo, impostor: false });
    }
  });
  const unused = identities.filter((i) => i.photos.length < 3).map((i) => i.name);
  return { enrol, probes, unused };
}

/** Minimal RFC 4180 CSV: quoted fields with commas, doubled quotes and newlines. */
export function parseCsv(text: string): string[][] {
  const rows: string[][] = [];
  let row: string[] = [];
  let field = '';
  let quoted = false;
  for (let i = 0; i < text.length; i++) {
    const c = text[i]!;
    if (quoted) {
      if (c === '"' && text[i + 1] === '"') {
        field += '"';
        i++;
      } else if (c === '"') quoted = false;
      else field += c;
    } else if (c === '"') quoted = true;
    else if (c === ',') {
      row.push(field);
      field = '';
    } else if (c === '\n' || c === '\r') {
      if (c === '\r' && text[i + 1] === '\n') i++;
      row.push(field);
      if (row.length > 1 || row[0] !== '') rows.push(row);
      row = [];
      field = '';
    } else field += c;
  }
  if (field !== '' || row.length) {
    row.push(field);
    rows.push(row);
  }
  return rows;
}

/**
 * Photo path → group, from every `*.csv` in the folder that has `path` and `group` columns
 * (faces-dev: labels-lfw-asian.csv). Photos not listed have no group.
 */
export function readGroups(dir: string): Map<string, string> {
  const groups = new Map<string, string>();
  for (const f of readdirSync(dir).filter((n) => n.toLowerCase().endsWith('.csv')).sort(byName)) {
    const [header, ...rows] = parseCsv(readFileSync(join(dir, f), 'utf8'));
    if (!header) continue;
    const p = header.indexOf('path');
    const g = header.indexOf('group');
    if (p < 0 || g < 0) continue;
    for (const r of rows) {
      const path = r[p];
      const group = r[g];
      if (path && group) groups.set(path, group);
    }
  }
  return groups;
}
