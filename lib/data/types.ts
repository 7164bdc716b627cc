/** An image data set held in memory as raw bytes, the way the official files store it. */
export interface ImageDataset {
  /** Catalog name (`mnist`, `cifar10`, ...) or a descriptive name for synthetic/folder data. */
  name: string;
  /** Split as requested, e.g. `test` or `train[:50000]`. */
  split: string;
  /** n*channels*height*width bytes in NCHW order, raw 0..255 (no scaling). Treat as read-only: slices share it. */
  images: Uint8Array;
  /** One class label per image, when the format has labels. */
  labels?: Uint8Array | Int32Array;
  n: number;
  channels: number;
  height: number;
  width: number;
}
