/**
 * A client of the kiosk's event stream (/kiosk/events), as a page's EventSource reads it: the
 * demo counts what the stream delivered, and the tests read it. Parses `id:`, `event:`,
 * `data:` and `retry:` lines; comments (`:`) are skipped.
 */
export interface StreamEvent {
  event: string;
  data: string;
  id?: string;
  retry?: number;
}

export interface KioskStreamClient {
  events: StreamEvent[];
  /** Resolves with the first event (from now or already received) that `match` accepts. */
  next(match: (e: StreamEvent) => boolean, timeoutMs?: number): Promise<StreamEvent>;
  /** Resolves when the server ends the stream. */
  ended: Promise<void>;
  close(): void;
}

export async function connectKioskStream(url: string, headers: Record<string, string> = {}): Promise<KioskStreamClient> {
  const abort = new AbortController();
  const res = await fetch(url, { headers: { accept: 'text/event-stream', ...headers }, signal: abort.signal });
  if (!res.ok || !res.body) throw new Error(`kiosk stream ${url}: HTTP ${res.status} ${await res.text()}`);
  const events: StreamEvent[] = [];
  const waiters: Array<{ match: (e: StreamEvent) => boolean; resolve: (e: StreamEvent) => void }> = [];
  const reader = res.body.pipeThrough(new TextDecoderStream()).getReader();
  const ended = (async () => {
    let buf = '';
    try {
      for (;;) {
        const { value, done } = await reader.read();
        if (done) break;
        buf += value;
        let cut: number;
        while ((cut = buf.indexOf('\n\n')) >= 0) {
          const block = buf.slice(0, cut);
          buf = buf.slice(cut + 2);
          const e: StreamEvent = { event: 'message', data: '' };
          const data: string[] = [];
          for (const line of block.split('\n')) {
            if (line.startsWith(':')) continue;
            const colon = line.indexOf(':');
            const field = colon < 0 ? line : line.slice(0, colon);
            const v = colon < 0 ? '' : line.slice(colon + 1).replace(/^ /, '');
            if (field === 'event') e.event = v;
            else if (field === 'data') data.push(v);
            else if (field === 'id') e.id = v;
            else if (field === 'retry') e.retry = Number(v);
          }
          e.data = data.join('\n');
          events.push(e);
          for (const w of [...waiters]) {
            if (w.match(e)) {
              waiters.splice(waiters.indexOf(w), 1);
              w.resolve(e);
            }
          }
        }
      }
    } catch {
      // Aborted by close(), or the connection broke: the stream has ended either way.
    }
  })();
  return {
    events,
    next(match, timeoutMs = 10_000) {
      const seen = events.find(match);
      if (seen) return Promise.resolve(seen);
      return new Promise((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error(`no matching kiosk event in ${timeoutMs} ms (got ${events.map((e) => e.event).join(', ') || 'none'})`)), timeoutMs);
        waiters.push({ match, resolve: (e) => (clearTimeout(timer), resolve(e)) });
      });
    },
    ended,
    close: () => abort.abort(),
  };
}
