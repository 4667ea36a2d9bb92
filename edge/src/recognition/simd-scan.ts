/**
 * The matcher's inner loop in WebAssembly SIMD: squared L2 distances from one 128-d query to
 * every template, four lanes at a time. At 100,000 templates that is ~5 ms on the edge box
 * where the scalar JS loop takes ~15 ms (npm run bench), which keeps an "eat at any centre"
 * gallery inside one frame's budget. Sums are float32 (relative error ~1e-7 against float64,
 * far below any threshold's precision).
 *
 * The module is 200 bytes, hand-assembled (no toolchain in the dependencies) from:
 *
 *   (module
 *     (memory (export "memory") 1)
 *     (func (export "scan") (param $q i32) (param $t i32) (param $n i32) (param $out i32)
 *       (local $end i32) (local $qk i32) (local $qend i32) (local $acc v128) (local $d v128)
 *       (local.set $end (i32.add (local.get $out) (i32.shl (local.get $n) (i32.const 2))))
 *       (local.set $qend (i32.add (local.get $q) (i32.const 512)))
 *       (block $done
 *         (br_if $done (i32.ge_u (local.get $out) (local.get $end)))
 *         (loop $template
 *           (local.set $acc (v128.const i32x4 0 0 0 0))
 *           (local.set $qk (local.get $q))
 *           (loop $dim
 *             (local.set $d (f32x4.sub (v128.load (local.get $t)) (v128.load (local.get $qk))))
 *             (local.set $acc (f32x4.add (f32x4.mul (local.get $d) (local.get $d)) (local.get $acc)))
 *             (local.set $t (i32.add (local.get $t) (i32.const 16)))
 *             (br_if $dim (i32.lt_u (local.tee $qk (i32.add (local.get $qk) (i32.const 16))) (local.get $qend))))
 *           (f32.store (local.get $out) (f32.add (f32.add (f32.add
 *             (f32x4.extract_lane 0 (local.get $acc)) (f32x4.extract_lane 1 (local.get $acc)))
 *             (f32x4.extract_lane 2 (local.get $acc))) (f32x4.extract_lane 3 (local.get $acc))))
 *           (br_if $template (i32.lt_u (local.tee $out (i32.add (local.get $out) (i32.const 4))) (local.get $end))))))
 *
 * Memory layout: the query at 0 (512 bytes), templates from 512, then one float32 per template.
 */
const WASM =
  'AGFzbQEAAAABCAFgBH9/f38AAwIBAAUDAQABBxECBm1lbW9yeQIABHNjYW4AAAqbAQGYAQIDfwJ7IAMgAkECdGohBCAAQYAEaiEGAkAgAyAETw0AA0D9DAAAAAAAAAAAAAAAAAAAAAAhByAAIQUDQCAB/QAEACAF/QAEAP3lASIIIAj95gEgB/3kASEHIAFBEGohASAFQRBqIgUgBkkNAAsgAyAH/R8AIAf9HwGSIAf9HwKSIAf9HwOSOAIAIANBBGoiAyAESQ0ACwsL';

/** Descriptor length the module is built for (its query is 512 bytes). */
const DIM = 128;
const QUERY_BYTES = DIM * 4;
const PAGE = 65_536;

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

export class SimdScanner {
  private readonly memory: WasmMemory;
  private readonly scanFn: (q: number, t: number, n: number, out: number) => void;
  private count = 0;

  private constructor(instance: WasmInstance) {
    this.memory = instance.exports.memory;
    this.scanFn = instance.exports.scan;
  }

  /** A scanner, or null when this runtime has no wasm SIMD. */
  static create(): SimdScanner | null {
    const m = module();
    return m && wasm ? new SimdScanner(new wasm.Instance(m)) : null;
  }

  /** Copies the templates (n × 128, contiguous) into wasm memory. */
  load(descriptors: Float32Array): void {
    if (descriptors.length % DIM !== 0) throw new RangeError(`templates must be a multiple of ${DIM} values`);
    const n = descriptors.length / DIM;
    const need = QUERY_BYTES + n * QUERY_BYTES + n * 4;
    const have = this.memory.buffer.byteLength;
    if (need > have) this.memory.grow(Math.ceil((need - have) / PAGE));
    new Float32Array(this.memory.buffer, QUERY_BYTES, descriptors.length).set(descriptors);
    this.count = n;
  }

  /** Squared distances from `q` to every loaded template; valid until the next scan() or load(). */
  scan(q: Float32Array): Float32Array {
    if (q.length !== DIM) throw new RangeError(`a descriptor has ${DIM} values, got ${q.length}`);
    new Float32Array(this.memory.buffer, 0, DIM).set(q);
    const out = QUERY_BYTES + this.count * QUERY_BYTES;
    this.scanFn(0, QUERY_BYTES, this.count, out);
    return new Float32Array(this.memory.buffer, out, this.count);
  }
}
