/**
 * The matcher's first pass in WebAssembly SIMD: approximate squared L2 distances from one
 * 128-d query to every template, on an int8 copy of the templates.
 *
 * The scan is memory-bound: 100,000 float templates (+ 20,000 mean templates) are 61 MB per
 * query, ~9 ms on a slow 2-core box. As int8 they are 15 MB, a quarter of the traffic. The
 * matcher then re-ranks the few closest elders on the float templates (matcher.ts), so its
 * decisions are the exact float ones: `error` bounds how far any approximate distance can be
 * from the exact one, and the matcher re-checks every elder that bound leaves in doubt.
 *
 * Quantisation: one scale `s` for the gallery (its largest |value| / 127); a template value v
 * is stored as round(v / s) in int8, the query as round(q / s) in int16 (clamped to ±1024 so no
 * sum can overflow: 128 × (1024 + 127)² < 2^31). The scan's integer result, times s², is the
 * squared distance between the two rounded vectors, exactly; by the triangle inequality that
 * distance differs from the exact one by at most |t - s·round(t/s)| + |q - s·round(q/s)|,
 * which is what `error` reports (the first term's maximum over the gallery, measured at load).
 *
 * The module is 243 bytes, assembled from this text with wabt (not a dependency: `npx wabt`
 * in a scratch folder, `wat2wasm --enable-simd`):
 *
 *   (module
 *     (memory (export "memory") 1)
 *     (func (export "scan") (param $q i32) (param $t i32) (param $n i32) (param $out i32)
 *       (local $end i32) (local $qk i32) (local $qend i32) (local $acc v128) (local $v v128) (local $d v128)
 *       (local.set $end (i32.add (local.get $out) (i32.shl (local.get $n) (i32.const 2))))
 *       (local.set $qend (i32.add (local.get $q) (i32.const 256)))
 *       (block $done
 *         (br_if $done (i32.ge_u (local.get $out) (local.get $end)))
 *         (loop $template
 *           (local.set $acc (v128.const i32x4 0 0 0 0))
 *           (local.set $qk (local.get $q))
 *           (loop $dim
 *             (local.set $v (v128.load (local.get $t)))
 *             (local.set $d (i16x8.sub (i16x8.extend_low_i8x16_s (local.get $v)) (v128.load (local.get $qk))))
 *             (local.set $acc (i32x4.add (local.get $acc) (i32x4.dot_i16x8_s (local.get $d) (local.get $d))))
 *             (local.set $d (i16x8.sub (i16x8.extend_high_i8x16_s (local.get $v)) (v128.load offset=16 (local.get $qk))))
 *             (local.set $acc (i32x4.add (local.get $acc) (i32x4.dot_i16x8_s (local.get $d) (local.get $d))))
 *             (local.set $t (i32.add (local.get $t) (i32.const 16)))
 *             (br_if $dim (i32.lt_u (local.tee $qk (i32.add (local.get $qk) (i32.const 32))) (local.get $qend))))
 *           (i32.store (local.get $out) (i32.add (i32.add
 *             (i32x4.extract_lane 0 (local.get $acc)) (i32x4.extract_lane 1 (local.get $acc)))
 *             (i32.add (i32x4.extract_lane 2 (local.get $acc)) (i32x4.extract_lane 3 (local.get $acc)))))
 *           (br_if $template (i32.lt_u (local.tee $out (i32.add (local.get $out) (i32.const 4))) (local.get $end)))))))
 *
 * Memory layout: the query (128 × int16) at 0, templates (n × 128 × int8) from 256, then one
 * int32 per template.
 */
const WASM =
  'AGFzbQEAAAABCAFgBH9/f38AAwIBAAUDAQABBxECBm1lbW9yeQIABHNjYW4AAArCAQG/AQIDfwN7IAMgAkECdGohBCAAQYACaiEGAkAgAyAETw0AA0D9DAAAAAAAAAAAAAAAAAAAAAAhByAAIQUDQCAB/QAEACEIIAj9hwEgBf0ABAD9kQEhCSAHIAkgCf26Af2uASEHIAj9iAEgBf0ABBD9kQEhCSAHIAkgCf26Af2uASEHIAFBEGohASAFQSBqIgUgBkkNAAsgAyAH/RsAIAf9GwFqIAf9GwIgB/0bA2pqNgIAIANBBGoiAyAESQ0ACwsL';

/** Descriptor length the module is built for (its query is 256 bytes). */
const DIM = 128;
const QUERY_BYTES = DIM * 2;
const PAGE = 65_536;
/** Largest |query| in quantisation steps (see above: keeps every int32 sum from overflowing). */
const QUERY_CLAMP = 1024;

// The parts of the WebAssembly API used here (this project's TypeScript lib has no DOM types).
interface WasmMemory {
  readonly buffer: ArrayBuffer;
  grow(pages: number): number;
}
type WasmModule = object;
interface WasmInstance {
  readonly exports: { memory: WasmMemory; scan: (q: number, t: number, n: number, out: number) => void };
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
  private readonly scanFn: (q: number, t: number, n: number, out: number) => void;
  private count = 0;
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

  /** Quantises the templates (n × 128, contiguous, finite) into wasm memory. */
  load(descriptors: Float32Array): void {
    if (descriptors.length % DIM !== 0) throw new RangeError(`templates must be a multiple of ${DIM} values`);
    const n = descriptors.length / DIM;
    const need = QUERY_BYTES + n * DIM + n * 4;
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
    const out = new Int8Array(this.memory.buffer, QUERY_BYTES, descriptors.length);
    let worst = 0;
    for (let i = 0, base = 0; i < n; i++, base += DIM) {
      let e2 = 0;
      for (let k = 0; k < DIM; k++) {
        const v = descriptors[base + k]!;
        const r = Math.round(v / scale);
        out[base + k] = r;
        const d = v - r * scale;
        e2 += d * d;
      }
      if (e2 > worst) worst = e2;
    }
    this.count = n;
    this.scale = scale;
    this.templateError = Math.sqrt(worst);
  }

  /**
   * Approximate squared distances from `q` to every loaded template; `d2` is valid until the
   * next scan() or load(). A query with a value that is not a finite number is refused.
   */
  scan(q: Float32Array): ApproxScan {
    if (q.length !== DIM) throw new RangeError(`a descriptor has ${DIM} values, got ${q.length}`);
    const s = this.scale;
    const query = new Int16Array(this.memory.buffer, 0, DIM);
    let e2 = 0;
    for (let k = 0; k < DIM; k++) {
      const v = q[k]!;
      if (!Number.isFinite(v)) throw new RangeError('a descriptor must be finite numbers');
      const r = Math.max(-QUERY_CLAMP, Math.min(QUERY_CLAMP, Math.round(v / s)));
      query[k] = r;
      const d = v - r * s;
      e2 += d * d;
    }
    const out = QUERY_BYTES + this.count * DIM;
    this.scanFn(0, QUERY_BYTES, this.count, out);
    // 1e-9: the float64 arithmetic of the bound itself.
    return { d2: new Int32Array(this.memory.buffer, out, this.count), scale: s, error: this.templateError + Math.sqrt(e2) + 1e-9 };
  }
}
