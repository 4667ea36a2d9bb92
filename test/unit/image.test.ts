import sharp from 'sharp';
import { describe, expect, it } from 'vitest';
import { ImageError, type ImageErrorCode } from '../../edge/src/vision/face-engine.ts';
import { checkRgb, costlyToDecode, cropFace, cropRgb, decodeImage, DEFAULT_MAX_DECODE_SIDE, downscale, jpegFrameHeader, pad, sniffFormat, type RgbImage } from '../../edge/src/vision/image.ts';

/** A 40x20 test card: left half red, right half blue. */
const card = () => sharp({ create: { width: 40, height: 20, channels: 3, background: '#ff0000' } }).composite([{ input: { create: { width: 20, height: 20, channels: 3, background: '#0000ff' } }, left: 20, top: 0 }]);

/** The test card blown up (sharp composites after resizing, so flatten it first). */
const bigCard = async (width: number, height: number) => sharp(await card().png().toBuffer()).resize(width, height, { fit: 'fill', kernel: 'nearest' });

async function codeOf(p: Promise<unknown>): Promise<ImageErrorCode | 'no error'> {
  try {
    await p;
    return 'no error';
  } catch (err) {
    expect(err).toBeInstanceOf(ImageError);
    return (err as ImageError).code;
  }
}

describe('decodeImage', () => {
  it('decodes JPEG and PNG to RGB', async () => {
    for (const bytes of [await card().jpeg().toBuffer(), await card().png().toBuffer()]) {
      const img = await decodeImage(bytes);
      expect([img.width, img.height, img.data.length]).toEqual([40, 20, 40 * 20 * 3]);
      expect(img.data[0]).toBeGreaterThan(200); // red at the top-left
      expect(img.data[2]).toBeLessThan(50);
    }
  });

  it('turns greyscale and RGBA into RGB', async () => {
    const grey = await decodeImage(await card().greyscale().png().toBuffer());
    const rgba = await decodeImage(await card().ensureAlpha(0.5).png().toBuffer());
    expect(grey.data.length).toBe(40 * 20 * 3);
    expect(rgba.data.length).toBe(40 * 20 * 3);
  });

  it('applies EXIF orientation', async () => {
    const rotated = await card().jpeg().withMetadata({ orientation: 6 }).toBuffer();
    const img = await decodeImage(rotated);
    expect([img.width, img.height]).toEqual([20, 40]);
  });

  it.each([
    ['empty', async () => new Uint8Array(0), 'empty'],
    ['GIF', async () => card().gif().toBuffer(), 'unsupported-format'],
    ['WebP', async () => card().webp().toBuffer(), 'unsupported-format'],
    ['TIFF', async () => card().tiff().toBuffer(), 'unsupported-format'],
    ['SVG', async () => Buffer.from('<svg xmlns="http://www.w3.org/2000/svg" width="10" height="10"/>'), 'unsupported-format'],
    ['random bytes', async () => new Uint8Array(1000).map((_, i) => (i * 7919) % 251), 'unsupported-format'],
    ['truncated JPEG', async () => (await card().resize(400, 200).jpeg().toBuffer()).subarray(0, 600), 'corrupt'],
    ['truncated PNG', async () => (await card().resize(400, 200).png().toBuffer()).subarray(0, 100), 'corrupt'],
    ['JPEG header then garbage', async () => Buffer.concat([Buffer.from([0xff, 0xd8, 0xff, 0xe0]), Buffer.alloc(500, 7)]), 'corrupt'],
  ] as const)('%s gives %s', async (_name, make, code) => {
    expect(await codeOf(decodeImage(await make()))).toBe(code);
  });

  it('names the format it refuses', async () => {
    await expect(decodeImage(await card().gif().toBuffer())).rejects.toThrow(/GIF/);
    await expect(decodeImage(await card().webp().toBuffer())).rejects.toThrow(/WEBP/);
  });

  it('shrinks a photo larger than maxSide while decoding, and reports its own size', async () => {
    // A 155 KB file of 6300x6300 (39.7 MP, under the pixel limit) decoded at full size is
    // 119 MB of RGB before any padding; the engine never needs more than 2048 px.
    const huge = await (await bigCard(6300, 3150)).jpeg({ quality: 30, mozjpeg: true }).toBuffer();
    const img = await decodeImage(huge);
    expect([img.width, img.height, img.data.length]).toEqual([DEFAULT_MAX_DECODE_SIDE, 1024, DEFAULT_MAX_DECODE_SIDE * 1024 * 3]);
    expect([img.sourceWidth, img.sourceHeight]).toEqual([6300, 3150]);
    expect(img.data[0]).toBeGreaterThan(200); // still red at the top-left, blue at the top-right
    expect(img.data[(img.width - 1) * 3 + 2]).toBeGreaterThan(200);
    const png = await decodeImage(await (await bigCard(4000, 2000)).png().toBuffer(), { maxSide: 1000 });
    expect([png.width, png.height, png.sourceWidth, png.sourceHeight]).toEqual([1000, 500, 4000, 2000]);
    const small = await decodeImage(await card().png().toBuffer());
    expect([small.width, small.height, small.sourceWidth, small.sourceHeight]).toEqual([40, 20, 40, 20]);
  });

  it('shrinks a sideways photo upright: EXIF orientation before the size cap', async () => {
    // Stored 6000x3000, orientation 6 (turn 90° clockwise): upright it is 3000x6000, red on top.
    const sideways = await (await bigCard(6000, 3000)).jpeg().withMetadata({ orientation: 6 }).toBuffer();
    const img = await decodeImage(sideways);
    expect([img.width, img.height, img.sourceWidth, img.sourceHeight]).toEqual([1024, 2048, 3000, 6000]);
    expect(img.data[0]).toBeGreaterThan(200);
    const last = (img.width * img.height - 1) * 3;
    expect(img.data[last + 2]).toBeGreaterThan(200); // blue at the bottom
  });

  it('refuses images over the pixel limit', async () => {
    const png = await card().png().toBuffer();
    expect(await codeOf(decodeImage(png, { maxPixels: 799 }))).toBe('too-large');
    expect(await codeOf(decodeImage(png, { maxPixels: 800 }))).toBe('no error');
  });
});

describe('progressive JPEGs', () => {
  const grey = (width: number, height: number) => sharp({ create: { width, height, channels: 3, background: '#808080' } });

  it('reads the frame header: size and progressive or baseline, EXIF and all', async () => {
    expect(jpegFrameHeader(await grey(300, 200).jpeg({ progressive: true }).toBuffer())).toEqual({ width: 300, height: 200, progressive: true });
    expect(jpegFrameHeader(await grey(300, 200).jpeg().withMetadata({ orientation: 6 }).toBuffer())).toEqual({ width: 300, height: 200, progressive: false });
    expect(jpegFrameHeader(await grey(300, 200).jpeg({ mozjpeg: true }).toBuffer())).toMatchObject({ progressive: true });
    expect(jpegFrameHeader(await grey(30, 20).png().toBuffer())).toBeUndefined();
    expect(jpegFrameHeader(new Uint8Array([0xff, 0xd8, 0xff, 0xe0, 0x00]))).toBeUndefined();
  });

  it('refuses one over maxProgressivePixels, naming why; a baseline one of that size is decoded', async () => {
    const progressive = await grey(300, 200).jpeg({ progressive: true }).toBuffer();
    const err = await decodeImage(progressive, { maxProgressivePixels: 59_999 }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ImageError);
    expect((err as ImageError).code).toBe('too-large');
    expect((err as ImageError).message).toMatch(/progressive JPEG of 0\.1 megapixels.*baseline JPEG/);
    expect(await codeOf(decodeImage(progressive, { maxProgressivePixels: 60_000 }))).toBe('no error');
    expect(await codeOf(decodeImage(await grey(300, 200).jpeg().toBuffer(), { maxProgressivePixels: 59_999 }))).toBe('no error');
  });

  it('calls only a progressive JPEG that will be shrunk costly to decode', async () => {
    expect(await costlyToDecode(await grey(300, 200).jpeg({ progressive: true }).toBuffer(), { maxSide: 299 })).toBe(true);
    expect(await costlyToDecode(await grey(300, 200).jpeg({ progressive: true }).toBuffer(), { maxSide: 300 })).toBe(false);
    expect(await costlyToDecode(await grey(300, 200).jpeg().toBuffer(), { maxSide: 100 })).toBe(false);
    expect(await costlyToDecode(await grey(300, 200).png().toBuffer(), { maxSide: 100 })).toBe(false);
    expect(await costlyToDecode(new Uint8Array([0xff, 0xd8, 0xff, 1, 2, 3]))).toBe(false);
  });
});

describe('sniffFormat', () => {
  it('reads magic bytes', async () => {
    expect(sniffFormat(await card().jpeg().toBuffer())).toBe('jpeg');
    expect(sniffFormat(await card().png().toBuffer())).toBe('png');
    expect(sniffFormat(await card().gif().toBuffer())).toBe('gif');
    expect(sniffFormat(await card().webp().toBuffer())).toBe('webp');
    expect(sniffFormat(await card().avif().toBuffer())).toBe('heif/avif');
    expect(sniffFormat(new Uint8Array([1, 2, 3]))).toBe('unknown');
  });
});

describe('checkRgb', () => {
  const img = (w: number, h: number, len = w * h * 3): RgbImage => ({ data: new Uint8Array(len), width: w, height: h });
  it.each([
    ['ok', img(4, 3), 'no error'],
    ['zero size', img(0, 3), 'empty'],
    ['short buffer', img(4, 3, 10), 'corrupt'],
    ['fractional size', img(2.5, 2, 15), 'corrupt'],
    ['over the limit', img(100, 100), 'too-large'],
  ] as const)('%s', async (_name, input, code) => {
    expect(await codeOf(Promise.resolve().then(() => checkRgb(input, { maxPixels: 5000 })))).toBe(code);
  });
});

describe('resizing and cropping', () => {
  const grid: RgbImage = { width: 3, height: 2, data: Uint8Array.from({ length: 18 }, (_, i) => i + 1) };

  it('cuts a rectangle inside the image', () => {
    expect([...cropRgb(grid, { x: 1, y: 1, width: 2, height: 1 }, 'black')]).toEqual([13, 14, 15, 16, 17, 18]);
  });

  it('fills outside the image with black or the nearest edge pixel', () => {
    const r = { x: -1, y: 1, width: 2, height: 2 };
    expect([...cropRgb(grid, r, 'black')]).toEqual([0, 0, 0, 10, 11, 12, 0, 0, 0, 0, 0, 0]);
    expect([...cropRgb(grid, r, 'replicate')]).toEqual([10, 11, 12, 10, 11, 12, 10, 11, 12, 10, 11, 12]);
  });

  it('agrees with sharp when padding', async () => {
    const src = await decodeImage(await card().jpeg().toBuffer());
    const p = await pad(src, 0.5, 'replicate');
    expect([p.image.width, p.image.height, p.dx, p.dy]).toEqual([80, 40, 20, 10]);
    const r = { x: -20, y: -10, width: 80, height: 40 };
    expect(Buffer.from(Int32Array.from(cropRgb(src, r, 'replicate')).buffer)).toEqual(Buffer.from(Int32Array.from(p.image.data).buffer));
  });

  it('downscales only when larger than the limit', async () => {
    const src = await decodeImage(await card().png().toBuffer());
    expect((await downscale(src, 100)).image).toBe(src);
    const { image, scale } = await downscale(src, 10);
    expect([image.width, image.height, scale]).toEqual([10, 5, 0.25]);
    expect(image.data.length).toBe(10 * 5 * 3);
  });

  it('gives a face crop up to the limit exactly as cropRgb does', async () => {
    const r = { x: -1, y: 0, width: 3, height: 2 };
    const crop = await cropFace(grid, r, 'replicate', 3);
    expect([crop.width, crop.height]).toEqual([3, 2]);
    expect([...crop.data]).toEqual([...cropRgb(grid, r, 'replicate')]);
  });

  it('shrinks a larger face crop natively, aspect and content kept', async () => {
    // A 1600x800 card: red left half, blue right half; the crop takes 1000x500 of it, half off the left.
    const src = await decodeImage(await (await bigCard(1600, 800)).png().toBuffer());
    const r = { x: -200, y: 100, width: 1000, height: 500 };
    const crop = await cropFace(src, r, 'black', 400);
    expect([crop.width, crop.height, crop.data.length]).toEqual([400, 200, 400 * 200 * 3]);
    expect(crop.data).toBeInstanceOf(Int32Array);
    const at = (x: number, y: number) => [...crop.data.subarray((y * 400 + x) * 3, (y * 400 + x) * 3 + 3)];
    expect(at(20, 100)).toEqual([0, 0, 0]); // outside the image: black
    const red = at(200, 100);
    expect(red[0]).toBeGreaterThan(240);
    expect(red[2]).toBeLessThan(15);
  });
});
