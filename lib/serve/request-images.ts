// What a POST /score body holds: one PNG or JPEG, one image's raw bytes, or a JSON batch. Everything that
// is not an image of the model's size is refused with a message that says what was sent and what to send.
// Images are checked before decoding where the format allows it, so a huge upload costs no decoding.
import jpeg from "jpeg-js";
import { PNG } from "pngjs";

/** The client sent something that is not an image the model scores: answer 400 with this message. */
export class BadInputError extends Error {
  override name = "BadInputError";
}

/** 8-bit pixels (Uint8Array) or values in [0, 1] (Float32Array) of n images, each C x H x W. */
export interface RequestImages {
  images: Uint8Array | Float32Array;
  n: number;
  batch: boolean;
}

type Shape = readonly [number, number, number];

const what = (s: Shape) => `${s[0]}x${s[1]}x${s[2]} (CxHxW)`;
const formats = (s: Shape) =>
  `send one PNG or JPEG of ${s[2]}x${s[1]} pixels, the ${s[0] * s[1] * s[2]} raw bytes of one image (channel-major, row by row), or JSON {"images": [[...${s[0] * s[1] * s[2]} pixels 0-255], ...]}`;

/** A body that is not JSON: PNG and JPEG by their first bytes, else raw bytes of exactly one image. */
export function imagesFromBytes(body: Buffer, shape: Shape): RequestImages {
  const [c, h, w] = shape;
  if (body.length === 0) throw new BadInputError(`empty body: ${formats(shape)}`);
  const isPng = body.length >= 8 && body.readUInt32BE(0) === 0x89504e47;
  const isJpeg = body.length >= 3 && body[0] === 0xff && body[1] === 0xd8 && body[2] === 0xff;
  if (!isPng && !isJpeg) {
    if (body.length === c * h * w) return { images: new Uint8Array(body.buffer, body.byteOffset, body.length), n: 1, batch: false };
    throw new BadInputError(
      `the body is neither a PNG nor a JPEG (by its first bytes) nor the ${c * h * w} raw bytes of one ${what(shape)} image: it has ${body.length} bytes; ${formats(shape)}`,
    );
  }
  let rgba: Uint8Array, width: number, height: number;
  if (isPng) {
    // IHDR (always first) holds the size: refuse a wrong size before inflating anything.
    if (body.length >= 24) {
      const pw = body.readUInt32BE(16),
        ph = body.readUInt32BE(20);
      if (pw !== w || ph !== h) throw wrongSize("PNG", pw, ph, shape);
    }
    try {
      const png = PNG.sync.read(body);
      ({ data: rgba, width, height } = png);
    } catch (e) {
      throw new BadInputError(`cannot decode the PNG (${(e as Error).message}): it is damaged or truncated; ${formats(shape)}`);
    }
  } else {
    try {
      // Limits far above one small image: a large or crafted JPEG fails fast instead of filling memory.
      const img = jpeg.decode(body, { useTArray: true, formatAsRGBA: true, maxResolutionInMP: 4, maxMemoryUsageInMB: 64 });
      ({ data: rgba, width, height } = img);
    } catch (e) {
      throw new BadInputError(`cannot decode the JPEG (${(e as Error).message}): it is damaged, truncated or too large; ${formats(shape)}`);
    }
  }
  if (width !== w || height !== h) throw wrongSize(isPng ? "PNG" : "JPEG", width, height, shape);
  return { images: planes(rgba, shape), n: 1, batch: false };
}

function wrongSize(format: string, width: number, height: number, shape: Shape): BadInputError {
  return new BadInputError(
    `the ${format} is ${width}x${height} pixels, this model scores ${shape[2]}x${shape[1]} images: resize it to ${shape[2]}x${shape[1]} first (likelihoods are only comparable at the training size)`,
  );
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

/**
 * A JSON batch: {"images": [image, ...], "scale": "8bit" | "unit"}. An image is C*H*W numbers, flat or
 * nested ([H][W], [C][H][W]); "8bit" (the default) takes integers 0-255, "unit" values in [0, 1].
 */
export function imagesFromJson(body: unknown, shape: Shape, maxImages: number): RequestImages {
  const d = shape[0] * shape[1] * shape[2];
  const example = `{"images": [[...${d} pixels 0-255], ...]} (or values in [0, 1] with "scale": "unit")`;
  if (typeof body !== "object" || body === null || Array.isArray(body) || !("images" in body)) {
    throw new BadInputError(`the JSON body must be an object ${example}`);
  }
  const { images, scale = "8bit" } = body as { images: unknown; scale?: unknown };
  if (scale !== "8bit" && scale !== "unit")
    throw new BadInputError(`"scale" must be "8bit" (pixels 0-255, the default) or "unit" (values in [0, 1]), got ${JSON.stringify(scale)}`);
  if (!Array.isArray(images) || images.length === 0) throw new BadInputError(`"images" must be a non-empty array of images: ${example}`);
  if (images.length > maxImages)
    throw new BadInputError(`"images" holds ${images.length} images, at most ${maxImages} are taken in one request: split the batch`);
  const out = scale === "8bit" ? new Uint8Array(images.length * d) : new Float32Array(images.length * d);
  images.forEach((image, k) => {
    const at = flatten(image, out, k * d, `images[${k}]`, scale, 0);
    if (at - k * d !== d)
      throw new BadInputError(`images[${k}] has ${at - k * d} values, an image of this model has ${d} (${what(shape)}): send images of the model's size`);
  });
  return { images: out, n: images.length, batch: true };
}

/** Copies one (nested) image into out at `at`; returns the next position. */
function flatten(v: unknown, out: Uint8Array | Float32Array, at: number, path: string, scale: "8bit" | "unit", depth: number): number {
  if (Array.isArray(v)) {
    // [C][H][W] is the deepest an image goes; deeper nesting would only exhaust the stack.
    if (depth === 3) throw new BadInputError(`${path} nests arrays deeper than [C][H][W]: send each image flat or as [H][W] or [C][H][W]`);
    for (let i = 0; i < v.length; i++) at = flatten(v[i], out, at, `${path}[${i}]`, scale, depth + 1);
    return at;
  }
  const ok = typeof v === "number" && (scale === "8bit" ? Number.isInteger(v) && v >= 0 && v <= 255 : v >= 0 && v <= 1);
  if (!ok) {
    const expected = scale === "8bit" ? 'an integer pixel 0-255 (for values in [0, 1] send "scale": "unit")' : "a number in [0, 1]";
    throw new BadInputError(`${path} is ${JSON.stringify(v) ?? String(v)}, expected ${expected}`);
  }
  if (at < out.length) out[at] = v as number; // an image too long is refused after counting

  return at + 1;
}
