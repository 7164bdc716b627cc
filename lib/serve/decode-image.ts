// PNG and JPEG bodies to the model's 8-bit planes, decoded by sharp (libvips with libpng and libjpeg) on
// libuv's thread pool, never on the event loop. What one body can cost is bounded before anything is
// decoded: the size in the header must be the model's (sharp's limitInputPixels enforces it again while
// decoding), and a PNG's compressed pixel data may be at most twice what the largest image of that size
// needs uncompressed, so a PNG never inflates to more than a few times its model's pixels, whatever zlib
// could make of its body (a 1 MB body can inflate to 1 GiB). Transparent pixels follow one rule: refused,
// or composited over the background the client states (alphaRule).
import sharp, { type Metadata } from "sharp";
import { BadInputError } from "./bad-input.js";

// libvips keeps recent operations and their input buffers in a cache: of no use for one-off request
// bodies, and memory the bound above would not count.
sharp.cache(false);

type Shape = readonly [number, number, number];
export type ImageKind = "png" | "jpeg";

export interface DecodedImage {
  /** C x H x W 8-bit planes. */
  pixels: Uint8Array;
  /** What was done to the image (alpha composited), for the answer. */
  note?: string;
}

const PNG_SIGNATURE = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);
const looksLike = (b: Buffer): string =>
  b.subarray(0, 8).equals(PNG_SIGNATURE) ? "a PNG" : b[0] === 0xff && b[1] === 0xd8 && b[2] === 0xff ? "a JPEG" : "neither a PNG nor a JPEG";

/**
 * Decodes one PNG or JPEG (as declared by its content type) of the model's size. `background` (0-255) is
 * what transparent pixels are composited over; without it an image with any transparent pixel is refused.
 */
export async function decodeImage(body: Buffer, kind: ImageKind, shape: Shape, background?: number): Promise<DecodedImage> {
  const [, h, w] = shape;
  const name = kind.toUpperCase();
  const isKind = kind === "png" ? body.subarray(0, 8).equals(PNG_SIGNATURE) : body[0] === 0xff && body[1] === 0xd8 && body[2] === 0xff;
  if (!isKind) {
    const other = looksLike(body);
    const hint = other === "a PNG" ? "image/png" : other === "a JPEG" ? "image/jpeg" : "application/octet-stream for raw pixels";
    throw new BadInputError(`the body was sent as image/${kind} but is ${other} (by its first bytes): send it with content-type: ${hint}`);
  }
  if (kind === "png") checkPngBudget(body, shape);
  let meta: Metadata;
  try {
    meta = await sharp(body).metadata(); // the header only
  } catch (e) {
    throw new BadInputError(`cannot decode the ${name} (${(e as Error).message}): it is damaged or truncated; send a whole ${name} file`);
  }
  if (meta.width !== w || meta.height !== h) throw wrongSize(name, meta.width, meta.height, shape);
  let rgba: Buffer;
  try {
    rgba = await sharp(body, { limitInputPixels: w * h })
      .ensureAlpha(1)
      .raw({ depth: "uchar" })
      .toBuffer();
  } catch (e) {
    throw new BadInputError(`cannot decode the ${name} (${(e as Error).message}): it is damaged or truncated; send a whole ${name} file`);
  }
  if (rgba.length !== w * h * 4)
    throw new BadInputError(`the ${name} decoded to ${rgba.length} bytes, not ${w}x${h} RGBA pixels: send an 8-bit gray, RGB or RGBA image`);
  const note = alphaRule(rgba, name, w * h, background);
  return { pixels: planes(rgba, shape), ...(note ? { note } : {}) };
}

/** The most bytes a PNG of w x h can need uncompressed: 16-bit RGBA, Adam7, one filter byte per row of each pass. */
const rawPngBound = (w: number, h: number) => h * (1 + w * 8) + 15 * (h + 8);

/**
 * Walks the PNG's chunks (headers only): the IHDR size must be the model's, and the IDAT data at most twice
 * what the largest w x h image needs uncompressed (deflate never expands data by more than a few bytes
 * per 16 KB), so the body cannot inflate beyond that.
 */
function checkPngBudget(body: Buffer, shape: Shape): void {
  const [, h, w] = shape;
  if (body.length < 33 || body.toString("latin1", 12, 16) !== "IHDR")
    throw new BadInputError("cannot decode the PNG (no IHDR chunk after the signature): it is damaged or truncated; send a whole PNG file");
  const pw = body.readUInt32BE(16),
    ph = body.readUInt32BE(20);
  if (pw !== w || ph !== h) throw wrongSize("PNG", pw, ph, shape);
  const budget = 2 * rawPngBound(w, h);
  let idat = 0;
  for (let at = 8; at + 8 <= body.length;) {
    const len = body.readUInt32BE(at);
    if (body.toString("latin1", at + 4, at + 8) === "IDAT") idat += len;
    if (idat > budget)
      throw new BadInputError(
        `the PNG's compressed pixel data (IDAT) holds over ${idat} bytes; a ${w}x${h} image needs at most ${budget}: refused without inflating it (a decompression bomb, or data after the image); send the image alone, saved by an ordinary encoder`,
      );
    at += 12 + len;
  }
}

function wrongSize(format: string, width: number | undefined, height: number | undefined, shape: Shape): BadInputError {
  return new BadInputError(
    `the ${format} is ${width}x${height} pixels, this model scores ${shape[2]}x${shape[1]} images: resize it to ${shape[2]}x${shape[1]} first (likelihoods are only comparable at the training size)`,
  );
}

const backgroundName = (v: number) => (v === 0 ? "black" : v === 255 ? "white" : "gray");

/**
 * Transparent pixels show whatever is behind them, so the picture is not known without a background:
 * without one such an image is refused; with one, colour c of alpha a becomes (c a + bg (255 - a)) / 255.
 * An image whose picture is only in alpha (an HTML canvas exports strokes so) would come out flat: refused.
 * Composites in place; returns the note for the answer.
 */
function alphaRule(rgba: Buffer, name: string, n: number, background: number | undefined): string | undefined {
  let seeThrough = 0;
  for (let i = 0; i < n; i++) if (rgba[4 * i + 3]! < 255) seeThrough++;
  if (seeThrough === 0) return undefined;
  if (background === undefined)
    throw new BadInputError(
      `${seeThrough} of ${n} pixels are not opaque (alpha below 255) in the ${name}, so what it shows depends on what is behind it: flatten it onto its background before sending, or name the background: POST /score?background=black (the background of MNIST and Fashion-MNIST), ?background=white, or a gray level ?background=0-255`,
    );
  const alphaVaries = rgba.some((_, k) => k % 4 === 3 && rgba[k] !== rgba[3]);
  for (let i = 0; i < n; i++) {
    const a = rgba[4 * i + 3]!;
    for (let c = 0; c < 3; c++) rgba[4 * i + c] = Math.round((rgba[4 * i + c]! * a + background * (255 - a)) / 255);
  }
  const flat = rgba.every((v, k) => k % 4 === 3 || v === rgba[0]);
  if (alphaVaries && flat)
    throw new BadInputError(
      `over a ${backgroundName(background)} background (${background}) the ${name} is one flat gray (${rgba[0]}): its picture is drawn only in its alpha channel (an HTML canvas exports strokes so); draw the strokes in a colour that differs from the background (white on black, as MNIST), or send the alpha channel as the gray pixels`,
    );
  return `alpha composited over ${backgroundName(background)} (${background}): ${seeThrough} of ${n} pixels were not opaque`;
}

/** RGBA pixels to the model's channel-major planes: gray models take images with R = G = B only. */
function planes(rgba: Uint8Array, [c, h, w]: Shape): Uint8Array {
  const out = new Uint8Array(c * h * w);
  for (let i = 0; i < h * w; i++) {
    const r = rgba[4 * i]!,
      g = rgba[4 * i + 1]!,
      b = rgba[4 * i + 2]!;
    if (c === 1) {
      if (r !== g || r !== b)
        throw new BadInputError(
          `the image has colour (pixel ${i % w}, ${Math.floor(i / w)} is RGB ${r}, ${g}, ${b}), this model scores grayscale images: send it converted to grayscale`,
        );
      out[i] = r;
    } else {
      out[i] = r;
      out[h * w + i] = g;
      out[2 * h * w + i] = b;
    }
  }
  return out;
}

/** The ?background= of a request: black, white or a gray level 0-255; undefined when absent. */
export function parseBackground(v: unknown): number | undefined {
  if (v === undefined) return undefined;
  if (v === "black") return 0;
  if (v === "white") return 255;
  const n = typeof v === "string" && /^\d{1,3}$/.test(v) ? Number(v) : NaN;
  if (n >= 0 && n <= 255) return n;
  throw new BadInputError(`?background= must be black, white or a gray level 0-255 (what transparent pixels are composited over), got ${JSON.stringify(v)}`);
}
