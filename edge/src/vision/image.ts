/**
 * Image input for the face engine: decodes JPEG/PNG with sharp into raw RGB, and the
 * resizing/padding the detector needs. Every bad input becomes an ImageError with a code and a
 * message staff can act on; nothing here throws anything else for bad bytes.
 */
import sharp from 'sharp';
import { ImageError } from './face-engine.ts';

/** Raw 8-bit RGB pixels, row-major, 3 bytes per pixel. */
export interface RgbImage {
  data: Uint8Array;
  width: number;
  height: number;
}

/**
 * Default pixel limit (40 megapixels): above any camera or phone photo we expect, below what
 * would exhaust a small box's memory when decoded (40 MP is 120 MB of RGB).
 */
export const DEFAULT_MAX_PIXELS = 40_000_000;

/**
 * Default longest side of a decoded photo (px). The engine needs far less: the detector looks
 * at 640 px (SSD) or 320 px (tiny), landmarks at 112 px and the descriptor at 150 px of face.
 * A face the detector can find at 640 px is at least ~1/25 of the longest side, so at 2048 px
 * it keeps ~80 px or more, and any face over 1/14 of the side keeps the 150 px the descriptor
 * uses. Every photo and frame up to 2048 px (faces-dev, the demo photos, 1080p cameras)
 * decodes exactly as it always did.
 */
export const DEFAULT_MAX_DECODE_SIDE = 2048;

/**
 * Largest progressive JPEG the camera-frame engine accepts (12 MP; a 4K frame is 8.3 MP, and
 * cameras send baseline JPEG). Its decoder holds every DCT coefficient, ~3 bytes a pixel (36 MB
 * here, 120 MB at 40 MP), on top of models already resident: with this bound a frame stays
 * under ~300 MB peak RSS (README, "Memory on large photos"). Enrolment accepts larger ones: it
 * decodes them before it loads the models.
 */
export const MAX_PROGRESSIVE_FRAME_PIXELS = 12_000_000;

export interface DecodeOptions {
  /** Largest width x height accepted, checked from the header before decoding. */
  maxPixels?: number;
  /**
   * Longest side of the decoded image (default DEFAULT_MAX_DECODE_SIDE): larger photos are
   * shrunk while decoding (libjpeg's DCT scaling, then a streamed resize), so a 40 MP photo
   * never exists in memory at full size.
   */
  maxSide?: number;
  /**
   * Largest progressive JPEG accepted, in pixels (default: maxPixels). libjpeg holds every DCT
   * coefficient of a progressive JPEG until its last scan, ~3 bytes a pixel at 4:2:0 (120 MB at
   * 40 MP) however small the output; the camera-frame engine, whose models are already
   * resident, refuses larger ones ('too-large') rather than add that to them.
   */
  maxProgressivePixels?: number;
}

/** A decoded photo, and the size of the photo itself (upright) before it was shrunk. */
export interface DecodedImage extends RgbImage {
  sourceWidth: number;
  sourceHeight: number;
}

// Every photo and frame is a new image, so libvips' operation cache never hits; it would only
// keep up to 50 MB of decoded pixels alive. Process-wide, as sharp's cache is.
sharp.cache(false);

export type ImageFormat = 'jpeg' | 'png' | 'gif' | 'webp' | 'bmp' | 'tiff' | 'heif/avif' | 'svg' | 'pdf' | 'ico' | 'unknown';

function startsWith(bytes: Uint8Array, sig: readonly number[], at = 0): boolean {
  if (bytes.length < at + sig.length) return false;
  return sig.every((b, i) => bytes[at + i] === b);
}

function ascii(bytes: Uint8Array, from: number, to: number): string {
  return String.fromCharCode(...bytes.subarray(from, Math.min(to, bytes.length)));
}

/**
 * The format named by the file's magic bytes. We look ourselves instead of asking sharp, so
 * formats we do not accept are never handed to a decoder at all.
 */
export function sniffFormat(bytes: Uint8Array): ImageFormat {
  if (startsWith(bytes, [0xff, 0xd8, 0xff])) return 'jpeg';
  if (startsWith(bytes, [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a])) return 'png';
  const head = ascii(bytes, 0, 16);
  if (head.startsWith('GIF87a') || head.startsWith('GIF89a')) return 'gif';
  if (head.startsWith('RIFF') && head.slice(8, 12) === 'WEBP') return 'webp';
  if (head.startsWith('BM')) return 'bmp';
  if (startsWith(bytes, [0x49, 0x49, 0x2a, 0x00]) || startsWith(bytes, [0x4d, 0x4d, 0x00, 0x2a])) return 'tiff';
  if (head.slice(4, 8) === 'ftyp') return 'heif/avif';
  if (head.startsWith('%PDF')) return 'pdf';
  if (startsWith(bytes, [0x00, 0x00, 0x01, 0x00])) return 'ico';
  const text = ascii(bytes, 0, 256).trimStart();
  if (text.startsWith('<svg') || (text.startsWith('<?xml') && text.includes('<svg'))) return 'svg';
  return 'unknown';
}

/**
 * Decodes JPEG or PNG bytes into RGB, applying EXIF orientation (phone photos are often stored
 * sideways) and dropping alpha; greyscale and CMYK become RGB. Photos larger than `maxSide`
 * come out shrunk to it (aspect kept): peak memory follows the decoded size, not the photo's.
 */
export async function decodeImage(bytes: Uint8Array, opts: DecodeOptions = {}): Promise<DecodedImage> {
  const maxPixels = opts.maxPixels ?? DEFAULT_MAX_PIXELS;
  const maxSide = opts.maxSide ?? DEFAULT_MAX_DECODE_SIDE;
  if (bytes.length === 0) throw new ImageError('empty', 'the image is empty (0 bytes)');
  const format = sniffFormat(bytes);
  if (format !== 'jpeg' && format !== 'png') {
    const what = format === 'unknown' ? 'not a recognised image format' : `a ${format.toUpperCase()} image`;
    throw new ImageError('unsupported-format', `the file is ${what}; only JPEG and PNG photos are accepted`);
  }
  const tooLarge = () => new ImageError('too-large', `the ${format.toUpperCase()} image is larger than the limit of ${(maxPixels / 1e6).toFixed(1)} megapixels`);
  try {
    // The header first: its size (and orientation) tells what the decode will give, and a
    // photo over the pixel limit is refused before any pixel is decoded.
    const meta = await sharp(bytes, { limitInputPixels: maxPixels }).metadata();
    if (!meta.width || !meta.height) throw new ImageError('corrupt', `the ${format.toUpperCase()} image has no size in its header`);
    if (meta.width * meta.height > maxPixels) throw tooLarge();
    const maxProgressive = opts.maxProgressivePixels ?? maxPixels;
    if (format === 'jpeg' && meta.isProgressive && meta.width * meta.height > maxProgressive) {
      throw new ImageError(
        'too-large',
        `the image is a progressive JPEG of ${((meta.width * meta.height) / 1e6).toFixed(1)} megapixels, above the limit of ${(maxProgressive / 1e6).toFixed(1)} for progressive JPEGs here (decoding one holds ~3 bytes a pixel); send it as a baseline JPEG or smaller`,
      );
    }
    const sideways = (meta.orientation ?? 1) >= 5;
    const sourceWidth = sideways ? meta.height : meta.width;
    const sourceHeight = sideways ? meta.width : meta.height;
    // Shrink on load: the resize is planned before decoding, so libjpeg decodes at 1/2, 1/4 or
    // 1/8 scale and libvips streams the rest of the shrink; sequential read lets it decode strip
    // by strip instead of holding the whole photo (PNG has no scaled decoding: this is what
    // bounds it). A progressive JPEG still costs libjpeg's coefficient buffer, ~3 bytes a pixel
    // at 4:2:0 (120 MB at 40 MP), however small the output.
    // Default failOn ('warning'): a truncated or damaged file is rejected, not half-decoded
    // into a grey bottom that would give a wrong descriptor.
    let pipeline = sharp(bytes, { limitInputPixels: maxPixels, sequentialRead: true }).rotate();
    if (maxSide > 0 && Math.max(sourceWidth, sourceHeight) > maxSide) {
      pipeline = pipeline.resize(maxSide, maxSide, { fit: 'inside', withoutEnlargement: true, fastShrinkOnLoad: true });
    }
    const { data, info } = await pipeline
      .removeAlpha()
      .toColourspace('srgb')
      .raw()
      .toBuffer({ resolveWithObject: true });
    if (info.channels !== 3) throw new ImageError('corrupt', `decoded ${info.channels} channels, expected 3`);
    if (info.width === 0 || info.height === 0) throw new ImageError('empty', 'the image has no pixels');
    return { data: new Uint8Array(data.buffer, data.byteOffset, data.byteLength), width: info.width, height: info.height, sourceWidth, sourceHeight };
  } catch (err) {
    if (err instanceof ImageError) throw err;
    const msg = (err as Error).message;
    if (/pixel limit/i.test(msg)) throw tooLarge();
    throw new ImageError('corrupt', `the ${format.toUpperCase()} image is damaged or truncated (${msg.trim()})`);
  }
}

/**
 * A JPEG's frame header (its SOF marker): size and whether it is progressive, read by walking
 * the marker segments before the first scan; undefined when not found (not a JPEG, damaged).
 * Costs microseconds, for hot paths (the motion gate) where asking sharp would cost more.
 */
export function jpegFrameHeader(bytes: Uint8Array): { width: number; height: number; progressive: boolean } | undefined {
  if (!startsWith(bytes, [0xff, 0xd8])) return undefined;
  let i = 2;
  while (i + 3 < bytes.length) {
    if (bytes[i] !== 0xff) return undefined;
    const marker = bytes[i + 1]!;
    if (marker === 0xff) {
      i++; // fill byte
      continue;
    }
    if (marker === 0x01 || (marker >= 0xd0 && marker <= 0xd8)) {
      i += 2; // no length
      continue;
    }
    if (marker === 0xda || marker === 0xd9) return undefined; // a scan or the end before any frame header
    const length = (bytes[i + 2]! << 8) | bytes[i + 3]!;
    // SOF0-15 but DHT (C4), JPG (C8) and DAC (CC).
    if (marker >= 0xc0 && marker <= 0xcf && marker !== 0xc4 && marker !== 0xc8 && marker !== 0xcc) {
      if (i + 8 >= bytes.length) return undefined;
      const height = (bytes[i + 5]! << 8) | bytes[i + 6]!;
      const width = (bytes[i + 7]! << 8) | bytes[i + 8]!;
      return { width, height, progressive: marker === 0xc2 || marker === 0xc6 || marker === 0xca || marker === 0xce };
    }
    i += 2 + length;
  }
  return undefined;
}

/**
 * True when decoding these bytes needs far more memory than the decoded image: a progressive
 * JPEG that decodeImage will shrink (its coefficient buffer, see maxProgressivePixels), which
 * returns that memory to the system once decoded. (A large PNG costs ~50-60 MB over its output
 * too, but in small blocks the allocator keeps: decoding it earlier saves nothing.) From the
 * header only; false for anything it cannot read (decodeImage then says what is wrong).
 */
export async function costlyToDecode(bytes: Uint8Array, opts: DecodeOptions = {}): Promise<boolean> {
  const maxSide = opts.maxSide ?? DEFAULT_MAX_DECODE_SIDE;
  if (sniffFormat(bytes) !== 'jpeg') return false;
  try {
    const meta = await sharp(bytes, { limitInputPixels: false }).metadata();
    return meta.isProgressive === true && maxSide > 0 && Math.max(meta.width ?? 0, meta.height ?? 0) > maxSide;
  } catch {
    return false;
  }
}

/** Checks raw RGB input (frames from the capture side) the way decodeImage checks files. */
export function checkRgb(image: RgbImage, opts: DecodeOptions = {}): RgbImage {
  const maxPixels = opts.maxPixels ?? DEFAULT_MAX_PIXELS;
  const { width, height, data } = image;
  if (!Number.isInteger(width) || !Number.isInteger(height) || width < 0 || height < 0) {
    throw new ImageError('corrupt', `invalid raw image size ${width}x${height}`);
  }
  if (width === 0 || height === 0 || data.length === 0) throw new ImageError('empty', 'the raw image has no pixels');
  if (width * height > maxPixels) {
    throw new ImageError('too-large', `the raw image (${width}x${height}) is larger than the limit of ${(maxPixels / 1e6).toFixed(1)} megapixels`);
  }
  if (data.length !== width * height * 3) {
    throw new ImageError('corrupt', `raw image of ${width}x${height} needs ${width * height * 3} RGB bytes, got ${data.length}`);
  }
  return image;
}

function rawInput(image: RgbImage) {
  // Our own buffers, already checked against the limit: no second limit here.
  return sharp(image.data, { raw: { width: image.width, height: image.height, channels: 3 }, limitInputPixels: false });
}

async function toRgb(pipeline: sharp.Sharp): Promise<RgbImage> {
  const { data, info } = await pipeline.raw().toBuffer({ resolveWithObject: true });
  return { data: new Uint8Array(data.buffer, data.byteOffset, data.byteLength), width: info.width, height: info.height };
}

/**
 * Shrinks an image so its longer side is at most `maxSide` (never enlarges). `scale` maps
 * the result back: original = resized / scale. The detector resizes to its own input
 * (512 px for SSD) anyway; doing it here natively first is several times faster on wasm.
 */
export async function downscale(image: RgbImage, maxSide: number): Promise<{ image: RgbImage; scale: number }> {
  const longest = Math.max(image.width, image.height);
  if (maxSide <= 0 || longest <= maxSide) return { image, scale: 1 };
  const scale = maxSide / longest;
  const width = Math.max(1, Math.round(image.width * scale));
  const height = Math.max(1, Math.round(image.height * scale));
  const out = await toRgb(rawInput(image).resize(width, height, { fit: 'fill' }));
  return { image: out, scale: out.width / image.width };
}

export type PadMode = 'black' | 'replicate';

/** A rectangle in whole pixels. */
export interface Rect {
  x: number;
  y: number;
  width: number;
  height: number;
}

/**
 * Cuts `r` out of the image as int32 RGB (what tfjs takes), row by row. face-api's
 * extractFaceTensors slices the whole-image tensor instead, which on wasm takes a generic
 * per-element path (~60 ms a face on a 1920 px photo); this is well under a millisecond.
 * `r` may reach outside the image: those pixels are black or copies of the nearest edge
 * pixel. face-api clips instead, which shifts a tight crop's face off-centre in the square
 * input of the landmark and recognition nets.
 */
export function cropRgb(img: RgbImage, r: Rect, mode: PadMode): Int32Array {
  return cropInto(img, r, mode, new Int32Array(r.width * r.height * 3));
}

function cropInto<T extends Int32Array | Uint8Array>(img: RgbImage, r: Rect, mode: PadMode, out: T): T {
  const replicate = mode === 'replicate';
  const { width: w, height: h, data } = img;
  const inX0 = Math.min(w, Math.max(0, r.x));
  const inX1 = Math.max(inX0, Math.min(w, r.x + r.width));
  for (let row = 0; row < r.height; row++) {
    const sy = r.y + row;
    if (!replicate && (sy < 0 || sy >= h)) continue;
    const y = Math.min(h - 1, Math.max(0, sy));
    const dst = row * r.width * 3;
    if (inX1 > inX0) {
      const from = (y * w + inX0) * 3;
      out.set(data.subarray(from, from + (inX1 - inX0) * 3), dst + (inX0 - r.x) * 3);
    }
    if (!replicate) continue;
    for (let x = r.x; x < r.x + r.width; x++) {
      if (x >= inX0 && x < inX1) continue;
      const src = (y * w + Math.min(w - 1, Math.max(0, x))) * 3;
      const d = dst + (x - r.x) * 3;
      out[d] = data[src]!;
      out[d + 1] = data[src + 1]!;
      out[d + 2] = data[src + 2]!;
    }
  }
  return out;
}

/**
 * Longest side of a face crop handed to the nets (px). They read far less (landmarks 112 px,
 * the descriptor 150, antispoof 192 then 128) and resize it themselves with a bilinear resize
 * inside the wasm heap, which never shrinks: a face filling a 2048 px photo made a ~2000 px crop
 * (48 MB as int32, ~95 MB for antispoof's 1.4x region) and its float copies there, 150-300 MB
 * kept for life. Three times the descriptor's input leaves every net its pixels; crops up to
 * this size (every face of faces-dev but the largest) reach the nets exactly as before.
 */
export const MAX_FACE_CROP_SIDE = 448;

/** A face crop as int32 RGB for tfjs, and its size (smaller than the rectangle's when shrunk). */
export interface FaceCrop {
  data: Int32Array;
  width: number;
  height: number;
}

/**
 * cropRgb, shrunk natively (sharp's filtered resize, aspect kept) when its longer side is
 * over `maxSide`, so a huge crop never exists as int32 or in the wasm heap. Coordinates found on
 * the crop map back by `r.width / crop.width` and `r.height / crop.height`.
 */
export async function cropFace(img: RgbImage, r: Rect, mode: PadMode, maxSide = MAX_FACE_CROP_SIDE): Promise<FaceCrop> {
  const longest = Math.max(r.width, r.height);
  if (maxSide <= 0 || longest <= maxSide) return { data: cropRgb(img, r, mode), width: r.width, height: r.height };
  const bytes = cropInto(img, r, mode, new Uint8Array(r.width * r.height * 3));
  const width = Math.max(1, Math.round((r.width * maxSide) / longest));
  const height = Math.max(1, Math.round((r.height * maxSide) / longest));
  const out = await toRgb(rawInput({ data: bytes, width: r.width, height: r.height }).resize(width, height, { fit: 'fill' }));
  return { data: Int32Array.from(out.data), width: out.width, height: out.height };
}

/**
 * Adds a border of `ratio` x width (left/right) and `ratio` x height (top/bottom). Tight,
 * ID-photo style crops have no context around the face and detectors miss them; the same face
 * with a border is found. Returns the offsets to map coordinates back.
 */
export async function pad(image: RgbImage, ratio: number, mode: PadMode = 'black'): Promise<{ image: RgbImage; dx: number; dy: number }> {
  const dx = Math.round(image.width * ratio);
  const dy = Math.round(image.height * ratio);
  const out = await toRgb(
    rawInput(image).extend({
      top: dy,
      bottom: dy,
      left: dx,
      right: dx,
      ...(mode === 'black' ? { background: { r: 0, g: 0, b: 0 } } : { extendWith: 'copy' as const }),
    }),
  );
  return { image: out, dx, dy };
}
