// Module: the base of every layer and model, as torch.nn.Module. It owns named parameters (trainable
// tensors), buffers (state that is saved but not trained: running stats, flags) and child modules.
//
// Registration is explicit: `this.param("weight", t)`, `this.buffer("running_mean", t)`,
// `this.module("conv", new Conv2d(...))`. Layers read their tensors back through getters
// (`get weight() { return this.getParameter("weight"); }`) rather than caching them in fields, because
// `to(device)` and `setParameter` replace the tensor objects (a JS Tensor cannot change its native handle).
import { Tensor, tidy } from "../tensor/tensor.js";
import { noGrad } from "../tensor/autograd.js";
import { loadSafetensors, saveSafetensors, type Metadata } from "../tensor/safetensors.js";
import { type DType, isFloating } from "../tensor/dtype.js";
import { type Device } from "../tensor/device.js";

/** Named tensors as `stateDict()` gives them: references to the module's own tensors (do not dispose). */
export type StateDict = Record<string, Tensor>;

export interface LoadStateDictOptions {
  /** Missing or unexpected names are an error (default true). Shape and dtype mismatches always are. */
  strict?: boolean;
}
export interface LoadStateDictResult {
  missingKeys: string[];
  unexpectedKeys: string[];
}

export interface LoadResult extends LoadStateDictResult {
  metadata: Metadata;
}

/** Thrown by loadStateDict; `problems` lists every mismatch found, one line each. */
export class StateDictError extends Error {
  constructor(
    readonly moduleName: string,
    readonly problems: string[],
  ) {
    super(`Error(s) in loading state dict for ${moduleName}:\n  ${problems.join("\n  ")}`);
    this.name = "StateDictError";
  }
}

const fmtShape = (s: number[]) => `[${s.join(", ")}]`;
const isDevice = (t: string): t is Device => t === "cpu" || t.startsWith("cuda");

export abstract class Module {
  /** Train mode (dropout on, batch statistics, ActNorm's data-dependent init). Set with train()/eval(). */
  training = true;
  private readonly _params = new Map<string, Tensor>();
  private readonly _buffers = new Map<string, Tensor>();
  private readonly _nonPersistent = new Set<string>();
  private readonly _modules = new Map<string, Module>();

  // ---- registration ----

  /** Registers (or replaces, disposing the old one) a trainable parameter; it is kept alive past scopes. */
  protected param(name: string, t: Tensor): Tensor {
    this.checkFree(name, this._params);
    const old = this._params.get(name);
    if (old !== undefined && old !== t) old.dispose();
    if (!t.requiresGrad) t.requiresGrad_(true);
    this._params.set(name, t.keep());
    return t;
  }

  /**
   * Registers (or replaces) a buffer: module state that is not trained. Persistent buffers are in the
   * state dict; non-persistent ones (masks, constants that the constructor rebuilds) are not.
   */
  protected buffer(name: string, t: Tensor, opts: { persistent?: boolean } = {}): Tensor {
    this.checkFree(name, this._buffers);
    const old = this._buffers.get(name);
    if (old !== undefined && old !== t) old.dispose();
    this._buffers.set(name, t.keep());
    if (opts.persistent === false) this._nonPersistent.add(name);
    else this._nonPersistent.delete(name);
    return t;
  }

  /** Registers a child module under `name` (its tensors get dotted names "name.weight"). */
  protected module<M extends Module>(name: string, m: M): M {
    this.checkFree(name, this._modules);
    this._modules.set(name, m);
    return m;
  }

  private checkFree(name: string, own: Map<string, unknown>): void {
    if (name === "" || name.includes(".")) throw new Error(`${this.constructor.name}: bad name '${name}' (non-empty, no dots)`);
    for (const m of [this._params, this._buffers, this._modules] as Map<string, unknown>[])
      if (m !== own && m.has(name)) throw new Error(`${this.constructor.name}: '${name}' is already registered as another kind of member`);
  }

  // ---- lookup (dotted paths allowed: "blocks.0.conv.weight") ----

  private owner(path: string): [Module, string] {
    const parts = path.split(".");
    let m: Module = this;
    for (const p of parts.slice(0, -1)) {
      const c = m._modules.get(p);
      if (!c) throw new Error(`${this.constructor.name}: no submodule '${p}' in '${path}'`);
      m = c;
    }
    return [m, parts[parts.length - 1]!];
  }
  getParameter(path: string): Tensor {
    const [m, n] = this.owner(path);
    const t = m._params.get(n);
    if (!t) throw new Error(`${m.constructor.name}: no parameter '${n}'`);
    return t;
  }
  /** The parameter, or null when the module has none of that name (an optional bias). */
  findParameter(path: string): Tensor | null {
    const [m, n] = this.owner(path);
    return m._params.get(n) ?? null;
  }
  getBuffer(path: string): Tensor {
    const [m, n] = this.owner(path);
    const t = m._buffers.get(n);
    if (!t) throw new Error(`${m.constructor.name}: no buffer '${n}'`);
    return t;
  }
  getModule(path: string): Module {
    return this.owner(`${path}.x`)[0];
  }
  /** Replaces a parameter (disposing the old tensor). */
  setParameter(path: string, t: Tensor): Tensor {
    const [m, n] = this.owner(path);
    if (!m._params.has(n)) throw new Error(`${m.constructor.name}: no parameter '${n}' to replace`);
    return m.param(n, t);
  }
  setBuffer(path: string, t: Tensor): Tensor {
    const [m, n] = this.owner(path);
    if (!m._buffers.has(n)) throw new Error(`${m.constructor.name}: no buffer '${n}' to replace`);
    return m.buffer(n, t, { persistent: !m._nonPersistent.has(n) });
  }

  // ---- traversal (PyTorch's order: own members in registration order, then children) ----

  namedChildren(): [string, Module][] {
    return [...this._modules];
  }
  /** This module and all below it, with dotted names ("" for this one). */
  namedModules(prefix = ""): [string, Module][] {
    const out: [string, Module][] = [[prefix, this]];
    for (const [n, m] of this._modules) out.push(...m.namedModules(prefix ? `${prefix}.${n}` : n));
    return out;
  }
  modules(): Module[] {
    return this.namedModules().map(([, m]) => m);
  }
  /** Parameters with dotted names, each tensor once (a shared one under its first name). */
  namedParameters(): [string, Tensor][] {
    const seen = new Set<Tensor>();
    const out: [string, Tensor][] = [];
    for (const [prefix, m] of this.namedModules())
      for (const [n, t] of m._params)
        if (!seen.has(t)) {
          seen.add(t);
          out.push([prefix ? `${prefix}.${n}` : n, t]);
        }
    return out;
  }
  parameters(): Tensor[] {
    return this.namedParameters().map(([, t]) => t);
  }
  /** All buffers, persistent or not, with dotted names. */
  namedBuffers(): [string, Tensor][] {
    const out: [string, Tensor][] = [];
    for (const [prefix, m] of this.namedModules()) for (const [n, t] of m._buffers) out.push([prefix ? `${prefix}.${n}` : n, t]);
    return out;
  }
  numParameters(): number {
    return this.parameters().reduce((s, t) => s + t.numel, 0);
  }

  // ---- state ----

  /** Parameters and persistent buffers by dotted name: the module's own tensors, not copies. */
  stateDict(): StateDict {
    const out: StateDict = {};
    for (const [prefix, m] of this.namedModules()) {
      const name = (n: string) => (prefix ? `${prefix}.${n}` : n);
      for (const [n, t] of m._params) out[name(n)] = t;
      for (const [n, t] of m._buffers) if (!m._nonPersistent.has(n)) out[name(n)] = t;
    }
    return out;
  }

  /**
   * Copies `dict` into this module's tensors (in place, without autograd). Everything is checked first,
   * so a failed load changes nothing; the error lists every missing/unexpected name and every mismatch.
   */
  loadStateDict(dict: StateDict, opts: LoadStateDictOptions = {}): LoadStateDictResult {
    const strict = opts.strict ?? true;
    const own = this.stateDict();
    const missingKeys = Object.keys(own).filter((k) => !(k in dict));
    const unexpectedKeys = Object.keys(dict).filter((k) => !(k in own));
    const problems: string[] = [];
    if (strict) {
      if (missingKeys.length) problems.push(`Missing key(s) in state_dict: ${missingKeys.map((k) => `"${k}"`).join(", ")}.`);
      if (unexpectedKeys.length) problems.push(`Unexpected key(s) in state_dict: ${unexpectedKeys.map((k) => `"${k}"`).join(", ")}.`);
    }
    const pairs: [Tensor, Tensor][] = [];
    for (const [k, dst] of Object.entries(own)) {
      const src = dict[k];
      if (src === undefined) continue;
      if (src.shape.join() !== dst.shape.join())
        problems.push(
          `size mismatch for ${k}: copying a tensor with shape ${fmtShape(src.shape)} from the checkpoint, the shape in the current model is ${fmtShape(dst.shape)}.`,
        );
      else if (src.dtype !== dst.dtype) problems.push(`dtype mismatch for ${k}: the checkpoint has ${src.dtype}, the current model has ${dst.dtype}.`);
      else pairs.push([dst, src]);
    }
    if (problems.length) throw new StateDictError(this.constructor.name, problems);
    noGrad(() => {
      for (const [dst, src] of pairs) dst.copy_(src);
    });
    for (const m of this.modules()) m.onStateLoaded();
    return { missingKeys, unexpectedKeys };
  }

  /** Called on every module after loadStateDict copied new values in (e.g. to drop cached flags). */
  protected onStateLoaded(): void {}

  /** Writes the state dict as safetensors (metadata: string pairs, e.g. the model's config as JSON). */
  save(path: string, metadata: Metadata = {}): void {
    saveSafetensors(path, this.stateDict(), metadata);
  }

  /**
   * Loads a safetensors checkpoint into this module; returns the file's metadata and, as loadStateDict,
   * the names missing from the file and those it has that the module does not (with strict: false,
   * the only report of them).
   */
  load(path: string, opts: LoadStateDictOptions = {}): LoadResult {
    const { tensors, metadata } = loadSafetensors(path);
    try {
      return { metadata, ...this.loadStateDict(tensors, opts) };
    } finally {
      for (const t of Object.values(tensors)) t.dispose();
    }
  }

  // ---- modes, devices, gradients, memory ----

  train(on = true): this {
    for (const m of this.modules()) m.training = on;
    return this;
  }
  eval(): this {
    return this.train(false);
  }

  /**
   * Moves every parameter and buffer to a device, or casts floating ones to a dtype (integer and bool
   * buffers keep theirs, as PyTorch). Parameters stay trainable; their gradients are dropped. Tensor
   * objects are replaced, so build optimizers after moving the model.
   */
  to(target: Device | DType): this {
    const dev = isDevice(target);
    // tidy frees the intermediate detach() handles; the moved tensors are kept.
    tidy(() =>
      noGrad(() => {
        for (const m of this.modules()) {
          for (const [n, t] of [...m._params]) {
            if (!dev && !isFloating(t.dtype)) continue;
            const moved = t.detach().to(target).keep();
            moved.requiresGrad_(t.requiresGrad);
            t.dispose();
            m._params.set(n, moved.keep());
          }
          for (const [n, t] of [...m._buffers]) {
            if (!dev && !isFloating(t.dtype)) continue;
            const moved = t.to(target).keep();
            if (moved === t) continue;
            t.dispose();
            m._buffers.set(n, moved);
          }
        }
      }),
    );
    return this;
  }

  /** Clears every parameter's gradient (sets it to null, as `zero_grad(set_to_none=True)`). */
  zeroGrad(): void {
    for (const p of this.parameters()) p.grad = null;
  }

  /** Frees every parameter and buffer of this module and its children; the module is unusable after. */
  dispose(): void {
    for (const m of this.modules()) {
      for (const t of m._params.values()) t.dispose();
      for (const t of m._buffers.values()) t.dispose();
      m._params.clear();
      m._buffers.clear();
    }
  }
}

/** A module that maps one tensor to one tensor: what Sequential chains. */
export interface Layer extends Module {
  forward(x: Tensor): Tensor;
}

/** A list of modules registered as "0", "1", ... (as torch.nn.ModuleList). */
export class ModuleList<M extends Module = Module> extends Module implements Iterable<M> {
  private readonly items: M[] = [];
  constructor(modules: Iterable<M> = []) {
    super();
    for (const m of modules) this.push(m);
  }
  push(m: M): this {
    this.module(String(this.items.length), m);
    this.items.push(m);
    return this;
  }
  get(i: number): M {
    const m = this.items[i < 0 ? i + this.items.length : i];
    if (!m) throw new RangeError(`ModuleList: index ${i} out of range (length ${this.items.length})`);
    return m;
  }
  get length(): number {
    return this.items.length;
  }
  [Symbol.iterator](): Iterator<M> {
    return this.items[Symbol.iterator]();
  }
}
