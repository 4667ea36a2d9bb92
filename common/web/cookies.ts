/** Cookies of a request, parsed by hand (one cookie read: no dependency for it); edge staff pages and server bureau pages alike. */
export function parseCookies(header: string | undefined): Map<string, string> {
  const out = new Map<string, string>();
  if (!header) return out;
  for (const part of header.split(';')) {
    const eq = part.indexOf('=');
    if (eq < 0) continue;
    const k = part.slice(0, eq).trim();
    let v = part.slice(eq + 1).trim();
    if (v.startsWith('"') && v.endsWith('"')) v = v.slice(1, -1);
    try {
      if (!out.has(k)) out.set(k, decodeURIComponent(v));
    } catch {
      // A malformed cookie is ignored, not a 500.
    }
  }
  return out;
}
