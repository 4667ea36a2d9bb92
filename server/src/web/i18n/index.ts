/**
 * The bureau pages' and exports' languages: zh-CN first (the default), English second
 * (`?lang=en`). Nothing visible is written inside a page or an export: `translator(lang)`.
 */
import { en } from './en.ts';
import { zhCN, type MessageKey } from './zh-CN.ts';

export type { MessageKey } from './zh-CN.ts';
export const LANGS = ['zh-CN', 'en'] as const;
export type Lang = (typeof LANGS)[number];
export const DEFAULT_LANG: Lang = 'zh-CN';

const catalogues: Record<Lang, Record<MessageKey, string>> = { 'zh-CN': zhCN, en };

export type Translate = (key: MessageKey, params?: Record<string, string | number>) => string;

/** The message with its placeholders filled (not escaped: the page template escapes). */
export function translator(lang: Lang): Translate {
  const cat = catalogues[lang];
  return (key, params) => cat[key].replace(/\{(\w+)\}/g, (m, k: string) => (params && k in params ? String(params[k]) : m));
}
