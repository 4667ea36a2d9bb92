/**
 * The matcher's first pass in WebAssembly SIMD: approximate squared L2 distances from one
 * query to every template (any length that is a multiple of 16, up to 1536), on an int8 copy of the templates.
 *
 * The scan is memory-bound: 100,000 float templates (+ 20,000 mean templates) are 61 MB per
 * query, ~9 ms on a slow 2-core box. As int8 they are 15 MB, a quarter of the traffic. The
 * matcher then re-ranks the few closest elders on the float templates (matcher.ts), so its
 * decisions are the exact float ones: `error` bounds how far any approximate distance can be
 * from the exact one, and the matcher re-checks every elder that bound leaves in doubt.
 *
 * Quantisation: one scale `s` for the gallery (its largest |value| / 127); a template value v
 * is stored as round(v / s) in int8, the query as round(q / s) in int16 (clamped to ±1024 so no
 * sum can overflow: each squared difference is at most (1024 + 127)², and SIMD_MAX_DIM × that
 * < 2^31; within one lane of the module's accumulator even less). The int16 difference itself
 * is at most 1151, far inside int16, and its square fits the i32 lanes of dot_i16x8_s. The scan's integer result, times s², is the
 * squared distance between the two rounded vectors, exactly; by the triangle inequality that
 * distance differs from the exact one by at most |t - s·round(t/s)| + |q - s·round(q/s)|,
 * which is what `error` reports (the first term's maximum over the gallery, measured at load).
 *
 * Each integer squared distance is computed as |t|² + |q|² − 2·t·q: |t|² per template once at
 * load (`norms`), |q|² once per query, and the scan does only the dot products t·q (int8 template
 * widened to int16 times the int16 query, i32x4.dot_i16x8_s): two SIMD ops fewer per 16 values
 * than subtracting first, and the result is the same integer (i32 arithmetic is exact here: the
 * distance fits, see SIMD_MAX_DIM, and |t|² + |q|² ≤ 1536 × (127² + 1024²) < 2^31). Templates are
 * stored row by row (template i's `dim` int8 values contiguous), so one call scans the whole
 * gallery at any dimension and writes each template's squared distance: nothing to add up in JS.
 *
 * The module is 246 bytes, assembled from this text with wabt (not a dependency: in a scratch
 * folder `npm install wabt`, `npx wat2wasm scan.wat`, base64 of the output):
 *
 *   (module
 *     (memory (export "memory") 1)
 *     (func (export "scan") (param $q i32) (param $qbytes i32) (param $qq i32) (param $t i32) (param $norms i32) (param $n i32) (param $out i32)
 *       (local $end i32) (local $qk i32) (local $qend i32) (local $acc v128) (local $v v128)
 *       (local.set $end (i32.add (local.get $out) (i32.shl (local.get $n) (i32.const 2))))
 *       (local.set $qend (i32.add (local.get $q) (local.get $qbytes)))
 *       (block $done
 *         (br_if $done (i32.ge_u (local.get $out) (local.get $end)))
 *         (loop $template
 *           (local.set $acc (v128.const i32x4 0 0 0 0))
 *           (local.set $qk (local.get $q))
 *           (loop $dim
 *             (local.set $v (v128.load (local.get $t)))
 *             (local.set $acc (i32x4.add (local.get $acc) (i32x4.dot_i16x8_s (i16x8.extend_low_i8x16_s (local.get $v)) (v128.load (local.get $qk)))))
 *             (local.set $acc (i32x4.add (local.get $acc) (i32x4.dot_i16x8_s (i16x8.extend_high_i8x16_s (local.get $v)) (v128.load offset=16 (local.get $qk)))))
 *             (local.set $t (i32.add (local.get $t) (i32.const 16)))
 *             (br_if $dim (i32.lt_u (local.tee $qk (i32.add (local.get $qk) (i32.const 32))) (local.get $qend))))
 *           (i32.store (local.get $out)
 *             (i32.sub
 *               (i32.add (i32.load (local.get $norms)) (local.get $qq))
 *               (i32.shl
 *                 (i32.add
 *                   (i32.add (i32x4.extract_lane 0 (local.get $acc)) (i32x4.extract_lane 1 (local.get $acc)))
 *                   (i32.add (i32x4.extract_lane 2 (local.get $acc)) (i32x4.extract_lane 3 (local.get $acc))))
 *                 (i32.const 1))))
 *           (local.set $norms (i32.add (local.get $norms) (i32.const 4)))
 *           (br_if $template (i32.lt_u (local.tee $out (i32.add (local.get $out) (i32.const 4))) (local.get $end)))))))
 *
 * Memory layout: the query (dim × int16) at 0, then the norms (n × int32), the templates
 * (n × dim int8) and the distances (n × int32), each 16-byte aligned.
 */
const WASM =
  'AGFzbQEAAAABCwFgB39/f39/f38AAwIBAAUDAQABBxECBm1lbW9yeQIABHNjYW4AAArCAQG/AQIDfwJ7IAYgBUECdGohByAAIAFqIQkCQCAGIAdPDQADQP0MAAAAAAAAAAAAAAAAAAAAACEKIAAhCANAIAP9AAQAIQsgCiAL/YcBIAj9AAQA/boB/a4BIQogCiAL/YgBIAj9AAQQ/boB/a4BIQogA0EQaiEDIAhBIGoiCCAJSQ0ACyAGIAQoAgAgAmogCv0bACAK/RsBaiAK/RsCIAr9GwNqakEBdGs2AgAgBEEEaiEEIAZBBGoiBiAHSQ0ACwsL';

const PAGE = 65_536;
/** Largest |query| in quantisation steps (see above: keeps every int32 sum from overflowing). */
const QUERY_CLAMP = 1024;
/**
 * Longest descriptor scanned: its int32 sum must not overflow. Per value the squared difference
 * is at most (1024 + 127)² = 1,324,801; 1536 × that = 2,034,894,336 < 2^31 − 1 = 2,147,483,647
 * (1552, the next multiple of 16, would not fit). Covers 128 (face-api), 512 (fr-feature) and
 * 1024 (faceres).
 */
export const SIMD_MAX_DIM = 1536;

/** True when the scan takes `dim`-d descriptors: a multiple of 16 up to SIMD_MAX_DIM. */
export function simdScans(dim: number): boolean {
  return Number.isInteger(dim) && dim > 0 && dim % 16 === 0 && dim <= SIMD_MAX_DIM;
}

// The parts of the WebAssembly API used here (this project's TypeScript lib has no DOM types).
interface WasmMemory {
  readonly buffer: ArrayBuffer;
  grow(pages: number): number;
}
type WasmModule = object;
type ScanFn = (q: number, qBytes: number, qq: number, t: number, norms: number, n: number, out: number) => void;
interface WasmInstance {
  readonly exports: { memory: WasmMemory; scan: ScanFn };
}
interface WasmApi {
  validate(bytes: Uint8Array): boolean;
  Module: new (bytes: Uint8Array) => WasmModule;
  Instance: new (module: WasmModule) => WasmInstance;
}
const wasm = (globalThis as unknown as { WebAssembly?: WasmApi }).WebAssembly;

let compiled: WasmModule | null | undefined;

function module(): WasmModule | null {
  if (compiled === undefined) {
    const bytes = Buffer.from(WASM, 'base64');
    // A runtime without wasm SIMD gets null, and the matcher keeps its JS loop.
    compiled = wasm?.validate(bytes) ? new wasm.Module(bytes) : null;
  }
  return compiled;
}

const align16 = (n: number) => Math.ceil(n / 16) * 16;

/** One scan's result: approximate distance of template i = `scale` × sqrt(`d2[i]`). */
export interface ApproxScan {
  /** Squared distances in quantisation steps, one per template. */
  d2: Int32Array;
  /** Size of one quantisation step. */
  scale: number;
  /** No approximate distance differs from the exact one by more than this. */
  error: number;
}

export class SimdScanner {
  private readonly memory: WasmMemory;
  private readonly scanFn: ScanFn;
  private count = 0;
  private dim = 16;
  /** Byte offsets of the norms, templates and distances in wasm memory (the query is at 0). */
  private normsAt = 0;
  private templatesAt = 0;
  private outAt = 0;
  private scale = 1;
  /** Largest |t - s·round(t/s)| over the loaded templates. */
  private templateError = 0;

  private constructor(instance: WasmInstance) {
    this.memory = instance.exports.memory;
    this.scanFn = instance.exports.scan;
  }

  /** A scanner, or null when this runtime has no wasm SIMD. */
  static create(): SimdScanner | null {
    const m = module();
    return m && wasm ? new SimdScanner(new wasm.Instance(m)) : null;
  }

  /** Quantises the templates (n × `dim`, contiguous, finite; `simdScans(dim)`) into wasm memory. */
  load(descriptors: Float32Array, dim: number = 128): void {
    if (!simdScans(dim)) throw new RangeError(`the SIMD scan takes descriptors of a multiple of 16 values up to ${SIMD_MAX_DIM}, got ${dim}`);
    if (descriptors.length % dim !== 0) throw new RangeError(`templates must be a multiple of ${dim} values`);
    const n = descriptors.length / dim;
    const normsAt = align16(dim * 2);
    const templatesAt = align16(normsAt + n * 4);
    const outAt = align16(templatesAt + n * dim);
    const need = outAt + n * 4;
    const have = this.memory.buffer.byteLength;
    if (need > have) this.memory.grow(Math.ceil((need - have) / PAGE));
    // Indexed: for...of over a typed array is several times slower, and a running edge
    // quantises its whole gallery again on every reload.
    let max = 0;
    for (let i = 0; i < descriptors.length; i++) {
      const a = Math.abs(descriptors[i]!);
      if (a > max) max = a;
    }
    if (!Number.isFinite(max)) throw new RangeError('templates must be finite numbers');
    const scale = max > 0 ? max / 127 : 1;
    const out = new Int8Array(this.memory.buffer, templatesAt, n * dim);
    const norms = new Int32Array(this.memory.buffer, normsAt, n);
    let worst = 0;
    for (let i = 0, base = 0; i < n; i++, base += dim) {
      let e2 = 0;
      let norm = 0;
      for (let k = 0; k < dim; k++) {
        const v = descriptors[base + k]!;
        const r = Math.round(v / scale);
        out[base + k] = r;
        norm += r * r;
        const d = v - r * scale;
        e2 += d * d;
      }
      norms[i] = norm;
      if (e2 > worst) worst = e2;
    }
    this.count = n;
    this.dim = dim;
    this.normsAt = normsAt;
    this.templatesAt = templatesAt;
    this.outAt = outAt;
    this.scale = scale;
    this.templateError = Math.sqrt(worst);
  }

  /**
   * Approximate squared distances from `q` to every loaded template; `d2` is valid until the
   * next scan() or load(). A query with a value that is not a finite number is refused.
   */
  scan(q: Float32Array): ApproxScan {
    const dim = this.dim;
    if (q.length !== dim) throw new RangeError(`a descriptor has ${dim} values, got ${q.length}`);
    const s = this.scale;
    const query = new Int16Array(this.memory.buffer, 0, dim);
    let e2 = 0;
    let qq = 0;
    for (let k = 0; k < dim; k++) {
      const v = q[k]!;
      if (!Number.isFinite(v)) throw new RangeError('a descriptor must be finite numbers');
      const r = Math.max(-QUERY_CLAMP, Math.min(QUERY_CLAMP, Math.round(v / s)));
      query[k] = r;
      qq += r * r;
      const d = v - r * s;
      e2 += d * d;
    }
    this.scanFn(0, dim * 2, qq, this.templatesAt, this.normsAt, this.count, this.outAt);
    const d2 = new Int32Array(this.memory.buffer, this.outAt, this.count);
    // 1e-9: the float64 arithmetic of the bound itself.
    return { d2, scale: s, error: this.templateError + Math.sqrt(e2) + 1e-9 };
  }
}
