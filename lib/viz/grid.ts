// A grid of images as a PNG (pngjs: a well-kept pure-JS encoder).
import { PNG } from "pngjs";
import type { Tensor } from "../tensor/index.js";

/** images: [n, C, H, W] with values in [0, 1] (C = 1 or 3). One pixel of padding between tiles. */
export function imageGridPng(images: Tensor, cols = Math.ceil(Math.sqrt(images.shape[0]!)), pad = 1): Buffer {
  const [n, c, h, w] = images.shape as [number, number, number, number];
  if (c !== 1 && c !== 3) throw new Error(`image grid needs 1 or 3 channels, got ${c}`);
  const rows = Math.ceil(n / cols);
  const png = new PNG({ width: cols * (w + pad) + pad, height: rows * (h + pad) + pad });
  png.data.fill(255);
  const px = images.float().data() as Float32Array;
  for (let i = 0; i < n; i++) {
    const ox = pad + (i % cols) * (w + pad),
      oy = pad + Math.floor(i / cols) * (h + pad);
    for (let y = 0; y < h; y++)
      for (let x = 0; x < w; x++) {
        const o = ((oy + y) * png.width + ox + x) * 4;
        for (let k = 0; k < 3; k++) {
          const v = px[((i * c + (c === 1 ? 0 : k)) * h + y) * w + x]!;
          png.data[o + k] = Math.max(0, Math.min(255, Math.round(v * 255)));
        }
        png.data[o + 3] = 255;
      }
  }
  return PNG.sync.write(png);
}
