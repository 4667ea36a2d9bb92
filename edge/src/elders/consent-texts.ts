/**
 * The consent texts an elder (or a guardian) signs before a face is enrolled: one Markdown file
 * per version and language in --consent-dir, named `<version>.<lang>.md` (the shipped one is
 * edge/consent/2025-01.zh-CN.md). A consent records the version signed, so the very text can be
 * shown again later; a version whose file is gone is no longer a valid consent for enrolment.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

/** The folder shipped with the edge. */
export const DEFAULT_CONSENT_DIR = fileURLToPath(new URL('../../consent', import.meta.url));

/** Versions sort as text: name them so the newest sorts last (2025-01, 2026-03, ...). */
const FILE_RE = /^([A-Za-z0-9][A-Za-z0-9_.-]{0,63})\.(zh-CN|en)\.md$/;

export interface ConsentText {
  version: string;
  lang: 'zh-CN' | 'en';
  /** Markdown, as in the file. */
  text: string;
}

export interface ConsentTexts {
  /** Every version with a zh-CN text, oldest first. */
  versions(): string[];
  /** The version new consents are taken on: the newest. */
  current(): string;
  /** The text of a version, zh-CN unless another language is asked for and exists. */
  get(version: string, lang?: 'zh-CN' | 'en'): ConsentText | undefined;
}

/**
 * Reads the folder once (texts change with a release, not at run time). Throws when it holds
 * no zh-CN text: without one no consent can be taken, so no face enrolled.
 */
export function loadConsentTexts(dir: string = DEFAULT_CONSENT_DIR): ConsentTexts {
  let files: string[];
  try {
    files = readdirSync(dir);
  } catch (err) {
    throw new Error(`cannot read the consent texts in ${dir}: ${(err as Error).message}`);
  }
  const texts = new Map<string, ConsentText>();
  for (const f of files) {
    const m = FILE_RE.exec(f);
    if (!m) continue;
    const [, version, lang] = m as unknown as [string, string, 'zh-CN' | 'en'];
    texts.set(`${version}.${lang}`, { version, lang, text: readFileSync(join(dir, f), 'utf8') });
  }
  const versions = [...texts.values()].filter((t) => t.lang === 'zh-CN').map((t) => t.version).sort();
  if (versions.length === 0) throw new Error(`no consent text in ${dir}: add a file <version>.zh-CN.md (see edge/consent/)`);
  return {
    versions: () => [...versions],
    current: () => versions[versions.length - 1]!,
    get: (version, lang = 'zh-CN') => texts.get(`${version}.${lang}`) ?? texts.get(`${version}.zh-CN`),
  };
}
