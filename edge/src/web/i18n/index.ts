/**
 * The staff pages' languages: zh-CN first (the default), English second. A page gets its
 * language from `langOf(request)` (the `mealcheck_lang` cookie the language switch sets) and
 * its strings from `translator(lang)`; nothing visible is written inside a page.
 */
import type { FastifyRequest } from 'fastify';
import { parseCookies } from '../../../../common/web/cookies.ts';
import { en } from './en.ts';
import { zhCN, type MessageKey } from './zh-CN.ts';

export type { MessageKey } from './zh-CN.ts';
export const LANGS = ['zh-CN', 'en'] as const;
export type Lang = (typeof LANGS)[number];
export const DEFAULT_LANG: Lang = 'zh-CN';
export const LANG_COOKIE = 'mealcheck_lang';

const catalogues: Record<Lang, Record<MessageKey, string>> = { 'zh-CN': zhCN, en };

export function isLang(s: unknown): s is Lang {
  return typeof s === 'string' && (LANGS as readonly string[]).includes(s);
}

export function langOf(request: FastifyRequest): Lang {
  const c = parseCookies(request.headers.cookie).get(LANG_COOKIE);
  return isLang(c) ? c : DEFAULT_LANG;
}

export type Translate = (key: MessageKey, params?: Record<string, string | number>) => string;

/** `t('staff.added', { name, id })`: the message with its placeholders filled (not escaped: the page template escapes). */
export function translator(lang: Lang): Translate {
  const cat = catalogues[lang];
  return (key, params) => cat[key].replace(/\{(\w+)\}/g, (m, k: string) => (params && k in params ? String(params[k]) : m));
}
