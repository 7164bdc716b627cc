// What a batch must be before a model scores it. The models accept much that they cannot score
// meaningfully: convolutions take any image size (and bits/dim then divides by the wrong D), NaN
// pixels give NaN scores, and 0-255 pixels give a finite but meaningless 22,000 bits/dim. So the
// Scorer refuses such batches, and says what it expected and what it was given.

/** Images the Scorer's worker scores at once; a larger batch is scored in chunks of this many. */
export const SCORE_CHUNK = 256;
/** The most pixel values one score() call takes (256 MiB of Float32): 85,000 28x28 or 21,000 32x32x3 images. */
export const MAX_SCORE_VALUES = 64 * 1024 * 1024;

const fmt = (shape: readonly number[]): string => `[${shape.join(", ")}]`;

/** The name of what was passed where a Float32Array belongs ("Uint8Array", "Array", "string", ...). */
const typeName = (x: unknown): string => (x === null ? "null" : typeof x === "object" ? ((x as object).constructor?.name ?? "object") : typeof x);

/**
 * Checks that `x` is a Float32Array filling `shape` = [B, C, H, W] with finite values in [0, 1].
 * Throws a TypeError or RangeError naming the first problem and how to fix it.
 */
export function checkImages(x: Float32Array, shape: readonly number[]): void {
  if (!(x instanceof Float32Array))
    throw new TypeError(
      `score: expected a Float32Array of pixel values in [0, 1], got ${typeName(x)}; ` +
        "convert 8-bit pixels p with Float32Array.from(pixels, (p) => (p + 0.5) / 256)",
    );
  if (!Array.isArray(shape) || shape.length !== 4 || !shape.every((d) => Number.isInteger(d) && d > 0))
    throw new RangeError(`score: shape must be [B, C, H, W] with positive integers, got ${JSON.stringify(shape)}`);
  const size = shape.reduce((a, b) => a * b, 1);
  if (size > MAX_SCORE_VALUES)
    throw new RangeError(
      `score: ${shape[0]} images of ${fmt(shape.slice(1))} are ${size} values, more than the ${MAX_SCORE_VALUES} one call takes; ` +
        `split them into batches of at most ${Math.floor(MAX_SCORE_VALUES / (size / shape[0]!))} images`,
    );
  if (x.length !== size) throw new RangeError(`score: ${x.length} values do not fill shape ${fmt(shape)} (${size} values)`);
  // One pass; the position is worked out only for the first bad value.
  for (let i = 0; i < x.length; i++) {
    const v = x[i]!;
    if (v >= 0 && v <= 1) continue; // false for NaN too
    const [, c, h, w] = shape as [number, number, number, number];
    const b = Math.floor(i / (c * h * w)),
      r = i % (c * h * w);
    const where = `image ${b} at [c, y, x] = ${fmt([Math.floor(r / (h * w)), Math.floor(r / w) % h, r % w])}`;
    if (!Number.isFinite(v)) throw new RangeError(`score: got ${v} in ${where}; the model scores finite pixel values in [0, 1]: replace or drop that image`);
    const eightBit = v > 1 && x.every((u) => u >= 0 && u <= 255);
    throw new RangeError(
      `score: pixel values must be in [0, 1], got ${v} in ${where}` +
        (eightBit ? "; these look like 8-bit pixels 0-255: pass (p + 0.5) / 256 for each pixel p" : ""),
    );
  }
}

/** Checks that a batch's [C, H, W] is the model's (run in the worker, which knows the model). */
export function checkImageShape(shape: readonly number[], imageShape: readonly number[], kind: string): void {
  const given = shape.slice(1);
  if (given.length === imageShape.length && given.every((d, i) => d === imageShape[i])) return;
  const [c, h, w] = imageShape;
  throw new RangeError(
    `score: this ${kind} model scores images of shape [C, H, W] = ${fmt(imageShape)} (batches [B, ${c}, ${h}, ${w}]), ` +
      `got ${fmt(given)} in shape ${fmt(shape)}; resize the images to ${h}x${w} with ${c} channel${c === 1 ? "" : "s"}, or score them with a run trained on that size`,
  );
}
