// Bodies a hostile or careless client sends: decompression bombs (PNG interlaced and not, a JPEG of
// millions of pixels in a few KB), images with alpha. Made with zlib and sharp, so neither the serving tests
// (test/serve/hostile.test.ts) nor bench:serve's hostile row needs fixture files.
import sharp from "sharp";
import { deflateRawSync, constants } from "node:zlib";

const CRC_TABLE = Array.from({ length: 256 }, (_, n) => {
  let c = n;
  for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
  return c >>> 0;
});
function crc32(b: Buffer): number {
  let x = 0xffffffff;
  for (const v of b) x = CRC_TABLE[(x ^ v) & 255]! ^ (x >>> 8);
  return (x ^ 0xffffffff) >>> 0;
}
function pngChunk(type: string, data: Buffer): Buffer {
  const len = Buffer.alloc(4);
  len.writeUInt32BE(data.length);
  const body = Buffer.concat([Buffer.from(type, "latin1"), data]);
  const crc = Buffer.alloc(4);
  crc.writeUInt32BE(crc32(body));
  return Buffer.concat([len, body, crc]);
}

/**
 * A zlib stream that inflates to `total` zero bytes (a multiple of 1 MiB). After a full flush the
 * compressor starts afresh, so each MiB of zeros compresses to the same bytes: the stream is one
 * compressed MiB repeated, made in milliseconds, about 1 KB per MiB inflated.
 */
function zerosZlib(total: number): Buffer {
  const mib = 1 << 20;
  const one = deflateRawSync(Buffer.alloc(mib), { level: 9, finishFlush: constants.Z_FULL_FLUSH });
  const n = total / mib;
  const adler = Buffer.alloc(4); // adler32 of n MiB of zeros: a = 1, b = n * 2^20 mod 65521
  adler.writeUInt32BE(((Number(BigInt(total) % 65521n) << 16) | 1) >>> 0);
  return Buffer.concat([Buffer.from([0x78, 0xda]), ...Array<Buffer>(n).fill(one), Buffer.from([0x03, 0x00]), adler]);
}

/** A valid 8-bit gray PNG header of w x h whose one IDAT inflates to `inflated` bytes of zeros. */
export function pngBomb(o: { interlaced: boolean; inflated: number; width?: number; height?: number }): Buffer {
  const ihdr = Buffer.alloc(13);
  ihdr.writeUInt32BE(o.width ?? 28, 0);
  ihdr.writeUInt32BE(o.height ?? 28, 4);
  ihdr[8] = 8; // bit depth
  ihdr[9] = 0; // gray
  ihdr[12] = o.interlaced ? 1 : 0; // Adam7
  return Buffer.concat([
    Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]),
    pngChunk("IHDR", ihdr),
    pngChunk("IDAT", zerosZlib(o.inflated)),
    pngChunk("IEND", Buffer.alloc(0)),
  ]);
}

/** A JPEG of side x side pixels in a few KB (flat gray compresses to almost nothing). */
export const jpegBomb = (side: number): Promise<Buffer> =>
  sharp({ create: { width: side, height: side, channels: 3, background: { r: 90, g: 90, b: 90 } } })
    .jpeg({ quality: 50 })
    .toBuffer();

/** An RGBA PNG of 28x28 from per-pixel gray and alpha. */
export function rgbaPng(gray: (i: number) => number, alpha: (i: number) => number): Promise<Buffer> {
  const px = Buffer.alloc(784 * 4);
  for (let i = 0; i < 784; i++) {
    px[4 * i] = px[4 * i + 1] = px[4 * i + 2] = gray(i);
    px[4 * i + 3] = alpha(i);
  }
  return sharp(px, { raw: { width: 28, height: 28, channels: 4 } })
    .png()
    .toBuffer();
}

/** What an HTML canvas exports for a stroke drawn in black: RGB 0 everywhere, the digit only in alpha. */
export const canvasDigit = () => rgbaPng(() => 0, digitAlpha);

/** A thick "1": a vertical bar, opaque in its middle, half-covered at its edges. */
export function digitAlpha(i: number): number {
  const x = i % 28,
    y = Math.floor(i / 28);
  if (y < 4 || y > 23) return 0;
  return x >= 12 && x <= 15 ? 255 : x === 11 || x === 16 ? 128 : 0;
}
