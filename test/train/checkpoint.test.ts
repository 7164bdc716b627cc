// A checkpoint's metadata is checked when read: a damaged step or state is an error naming the file and
// the field (it used to give step NaN, or a bare JSON.parse message without the file).
import { describe, expect, it } from "vitest";
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import * as torch from "../../lib/tensor/index.js";
import { CHECKPOINT_FORMAT, checkpointStep, loadCheckpoint, saveCheckpoint } from "../../lib/train/checkpoint.js";

const dir = mkdtempSync(join(tmpdir(), "torchts-ckpt-"));
const withMeta = (name: string, meta: Record<string, string>) => {
  const p = join(dir, name);
  torch.saveSafetensors(p, { "model.w": torch.ones([2]) }, meta);
  return p;
};

describe("checkpoint metadata", () => {
  it("reads back step, state and image shape", () => {
    const p = join(dir, "good.safetensors");
    saveCheckpoint(p, { step: 12, model: { w: torch.ones([2]) }, optimizer: {}, state: { a: 1 }, imageShape: [1, 28, 28] });
    expect(checkpointStep(p)).toBe(12);
    const ck = loadCheckpoint(p);
    expect([ck.step, ck.state, ck.imageShape]).toEqual([12, { a: 1 }, [1, 28, 28]]);
    torch.dispose([ck.model, ck.rng]);
  });

  it("a step that is not a number is an error naming the file and the field, never NaN", () => {
    const p = withMeta("banana.safetensors", { format: CHECKPOINT_FORMAT, step: "banana", state: "{}" });
    const msg = `${p}: the checkpoint's metadata is damaged: "__metadata__.step" must be a whole number of steps, got "banana"`;
    expect(() => checkpointStep(p)).toThrow(msg);
    expect(() => loadCheckpoint(p)).toThrow(msg);
  });

  it("a state that is not JSON names the file", () => {
    const p = withMeta("state.safetensors", { format: CHECKPOINT_FORMAT, step: "3", state: "{oops" });
    expect(() => loadCheckpoint(p)).toThrow(
      new RegExp(`^${p}: the checkpoint's metadata is damaged: "__metadata__.state" is not JSON \\(.+\\): the optimizer and loader state`),
    );
    const shape = withMeta("shape.safetensors", { format: CHECKPOINT_FORMAT, step: "3", imageShape: "[1,-28,28]" });
    expect(() => loadCheckpoint(shape)).toThrow(/"__metadata__.imageShape" "\[1\]" must be an integer >= 1, got -28/);
  });
});
