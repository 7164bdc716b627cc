// What a POST /score body holds, by its declared content type (content-type.ts): one PNG or JPEG
// (decode-image.ts), the raw bytes of one image, or a JSON batch. Everything that is not an image of the
// model's size is refused with a message that says what was sent and what to send.
import { z } from "zod";
import { BadInputError } from "./bad-input.js";
import type { BodyKind } from "./content-type.js";
import { decodeImage } from "./decode-image.js";

export { BadInputError };

/** 8-bit pixels (Uint8Array) or values in [0, 1] (Float32Array) of n images, each C x H x W. */
export interface RequestImages {
  images: Uint8Array | Float32Array;
  n: number;
  batch: boolean;
  /** What was done to the image before scoring (alpha composited), for the answer. */
  note?: string;
}

type Shape = readonly [number, number, number];

const what = (s: Shape) => `${s[0]}x${s[1]}x${s[2]} (CxHxW)`;
const formats = (s: Shape) =>
  `send one PNG or JPEG of ${s[2]}x${s[1]} pixels (content-type image/png or image/jpeg), the ${s[0] * s[1] * s[2]} raw bytes of one image (channel-major, row by row; application/octet-stream), or JSON {"images": [[...${s[0] * s[1] * s[2]} pixels 0-255], ...]} (application/json)`;

/** The images of a body of `kind`; `background` is what transparent pixels of an image are composited over. */
export async function requestImages(kind: BodyKind, body: unknown, shape: Shape, maxImages: number, background?: number): Promise<RequestImages> {
  const bytes = (body as Buffer | undefined) ?? Buffer.alloc(0);
  if (bytes.length === 0) throw new BadInputError(`empty body: ${formats(shape)}`);
  if (kind === "json") {
    let parsed: unknown;
    try {
      parsed = JSON.parse(bytes.toString("utf8"));
    } catch (e) {
      throw new BadInputError(`the body is not valid JSON (${(e as Error).message}); NaN and Infinity are not JSON: send numbers only`);
    }
    return imagesFromJson(parsed, shape, maxImages);
  }
  if (kind === "raw") return imagesFromRaw(bytes, shape);
  const { pixels, note } = await decodeImage(bytes, kind, shape, background);
  return { images: pixels, n: 1, batch: false, ...(note ? { note } : {}) };
}

/** application/octet-stream: exactly the C*H*W bytes of one image, taken as they are. */
export function imagesFromRaw(body: Buffer, shape: Shape): RequestImages {
  const d = shape[0] * shape[1] * shape[2];
  if (body.length !== d)
    throw new BadInputError(
      `application/octet-stream must be the ${d} raw bytes of one ${what(shape)} image: the body has ${body.length} bytes; for a PNG or JPEG file send content-type image/png or image/jpeg; ${formats(shape)}`,
    );
  return { images: new Uint8Array(body.buffer, body.byteOffset, body.length), n: 1, batch: false };
}

// The top level of a JSON batch. Keys other than these two are ignored, "__proto__" included: JSON.parse
// makes it a plain own key, and zod reads only the keys named here.
const JsonBatch = z.object({ images: z.unknown(), scale: z.unknown().optional() });

/**
 * A JSON batch: {"images": [image, ...], "scale": "8bit" | "unit"}. An image is C*H*W numbers, flat or
 * nested ([H][W], [C][H][W]); "8bit" (the default) takes integers 0-255, "unit" values in [0, 1].
 */
export function imagesFromJson(body: unknown, shape: Shape, maxImages: number): RequestImages {
  const d = shape[0] * shape[1] * shape[2];
  const example = `{"images": [[...${d} pixels 0-255], ...]} (or values in [0, 1] with "scale": "unit")`;
  const top = typeof body === "object" && body !== null && !Array.isArray(body) && Object.hasOwn(body, "images") ? JsonBatch.safeParse(body) : null;
  if (!top?.success) throw new BadInputError(`the JSON body must be an object ${example}`);
  const { images, scale = "8bit" } = top.data;
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
