// Optimizer: the base of RMSprop, Adam and Adamax, as torch.optim.Optimizer. Parameters come as a list
// or as groups with their own hyperparameters; state (moment estimates, step counts) is made lazily on a
// parameter's first step. step() updates in place without autograd, inside a scope that frees every
// temporary, and stateDict()/loadStateDict() capture everything a resumed run needs to continue exactly.
import { Tensor, tidy } from "../tensor/tensor.js";
import { noGrad } from "../tensor/autograd.js";
import { empty, zerosLike } from "../tensor/creation.js";
import { checkHyper, given, type HyperSchema } from "./options.js";

/** Hyperparameters every optimizer has; subclasses add theirs. */
export interface BaseHyper {
  lr: number;
  /** L2 penalty: the gradient used is g + weightDecay * p. */
  weightDecay: number;
}
export type HyperValue = number | boolean | readonly number[];

/** A parameter group: its tensors and any hyperparameters that differ from the optimizer's defaults. */
export type ParamGroupInput<H> = { params: Tensor[] } & Partial<H>;
export type ParamGroup<H> = { params: Tensor[] } & H;

/** Per-parameter state: a step count and named tensors (e.g. exp_avg). */
export interface ParamState {
  step: number;
  tensors: Record<string, Tensor>;
}

/**
 * What stateDict() returns. tensors: "state.<i>.<name>" (i counts parameters across groups in order,
 * as PyTorch); these are the optimizer's own tensors, not copies. meta: JSON-able step counts and groups.
 */
export interface OptimizerStateDict {
  tensors: Record<string, Tensor>;
  meta: {
    state: Record<string, { step: number }>;
    paramGroups: Record<string, HyperValue>[];
  };
}

export abstract class Optimizer<H extends BaseHyper = BaseHyper> {
  readonly paramGroups: ParamGroup<H>[];
  protected readonly state = new Map<Tensor, ParamState>();
  private readonly schema: HyperSchema;

  /** defaults: the optimizer's defaults with the caller's options over them, checked against schema. */
  constructor(params: Tensor[] | ParamGroupInput<H>[], defaults: H, schema: HyperSchema) {
    this.schema = schema;
    const name = this.constructor.name;
    checkHyper(schema, defaults, name);
    const groups: ParamGroupInput<H>[] =
      params.length > 0 && params[0] instanceof Tensor ? [{ params: params as Tensor[] } as ParamGroupInput<H>] : (params as ParamGroupInput<H>[]);
    this.paramGroups = groups.map((g, k) => {
      if (!Array.isArray(g?.params) || g.params.some((p) => !(p instanceof Tensor)))
        throw new TypeError(`${name}: paramGroups.${k}.params must be an array of Tensors`);
      const { params: ps, ...hyper } = given(g) as ParamGroupInput<H>;
      checkHyper(schema.partial(), hyper, name, `paramGroups.${k}`);
      return { ...defaults, ...hyper, params: [...ps] } as ParamGroup<H>;
    });
    const seen = new Set<Tensor>();
    for (const p of this.allParams()) {
      if (seen.has(p)) throw new Error(`${this.constructor.name}: a parameter appears in more than one place`);
      seen.add(p);
    }
    if (seen.size === 0) throw new Error(`${this.constructor.name}: got an empty parameter list`);
  }

  /** The learning rate of the first group; setting it sets every group's (what schedules do). */
  get lr(): number {
    return this.paramGroups[0]!.lr;
  }
  set lr(v: number) {
    checkHyper(this.schema.pick({ lr: true }), { lr: v }, this.constructor.name);
    for (const g of this.paramGroups) g.lr = v;
  }

  private allParams(): Tensor[] {
    return this.paramGroups.flatMap((g) => g.params);
  }

  /** Makes a parameter's state tensors (all zeros, kept alive). */
  protected abstract initState(p: Tensor, group: ParamGroup<H>): Record<string, Tensor>;
  /** Updates p in place from its gradient g (already a temporary in a scope, with autograd off). */
  protected abstract update(p: Tensor, g: Tensor, state: ParamState, group: ParamGroup<H>): void;

  /** One update of every parameter that has a gradient. */
  step(): void {
    tidy(() =>
      noGrad(() => {
        let i = 0;
        for (const group of this.paramGroups)
          for (const p of group.params) {
            const g = p.grad;
            i++;
            if (g === null) continue;
            // Assigning a gradient checks its shape, but an in-place resize_ can still change it: an update
            // would broadcast it over the parameter without a word.
            if (g.shape.length !== p.shape.length || g.shape.some((n, d) => n !== p.shape[d]))
              throw new Error(`${this.constructor.name}.step: parameter ${i - 1} has shape [${p.shape}], its gradient [${g.shape}]`);
            let st = this.state.get(p);
            if (!st) {
              const tensors = this.initState(p, group);
              for (const t of Object.values(tensors)) t.keep();
              this.state.set(p, (st = { step: 0, tensors }));
            }
            st.step++;
            this.update(p, g, st, group);
          }
      }),
    );
  }

  /** Clears every parameter's gradient (sets it to null). */
  zeroGrad(): void {
    for (const p of this.allParams()) p.grad = null;
  }

  /** State zeros shaped like p. */
  protected zerosLike(p: Tensor): Tensor {
    return zerosLike(p);
  }

  stateDict(): OptimizerStateDict {
    const tensors: Record<string, Tensor> = {};
    const state: Record<string, { step: number }> = {};
    this.allParams().forEach((p, i) => {
      const st = this.state.get(p);
      if (!st) return;
      state[i] = { step: st.step };
      for (const [n, t] of Object.entries(st.tensors)) tensors[`state.${i}.${n}`] = t;
    });
    let i = 0;
    const paramGroups = this.paramGroups.map(({ params, ...hyper }) => ({
      ...(hyper as Record<string, HyperValue>),
      params: params.map(() => i++),
    }));
    return { tensors, meta: { state, paramGroups } };
  }

  /**
   * Restores state and hyperparameters (learning rates included) from stateDict(); the tensors are
   * copied onto each parameter's device and dtype, so the dict may be disposed afterwards.
   */
  loadStateDict(sd: OptimizerStateDict): void {
    const { meta } = sd;
    const name = this.constructor.name;
    if (meta.paramGroups.length !== this.paramGroups.length)
      throw new Error(`${name}.loadStateDict: ${meta.paramGroups.length} parameter groups in the state, ${this.paramGroups.length} here`);
    meta.paramGroups.forEach((g, k) => {
      const { params: _ids, ...hyper } = g;
      checkHyper(this.schema, hyper, `${name}.loadStateDict`, `paramGroups.${k}`);
      const n = (g.params as number[]).length;
      if (n !== this.paramGroups[k]!.params.length)
        throw new Error(`${name}.loadStateDict: group ${k} has ${n} parameters in the state, ${this.paramGroups[k]!.params.length} here`);
    });
    const params = this.allParams();
    const fresh = new Map<Tensor, ParamState>();
    try {
      tidy(() =>
        noGrad(() => {
          for (const [key, { step }] of Object.entries(meta.state)) {
            const p = params[Number(key)];
            if (!p) throw new Error(`${name}.loadStateDict: state for parameter ${key}, but there are ${params.length}`);
            const prefix = `state.${key}.`;
            const tensors: Record<string, Tensor> = {};
            fresh.set(p, { step, tensors });
            for (const [k, src] of Object.entries(sd.tensors)) {
              if (!k.startsWith(prefix)) continue;
              if (src.shape.join() !== p.shape.join())
                throw new Error(`${name}.loadStateDict: ${k} has shape [${src.shape}], parameter ${key} has [${p.shape}]`);
              tensors[k.slice(prefix.length)] = empty(src.shape, { dtype: p.dtype, device: p.device }).copy_(src).keep();
            }
          }
        }),
      );
    } catch (e) {
      for (const st of fresh.values()) for (const t of Object.values(st.tensors)) t.dispose();
      throw e;
    }
    this.disposeState();
    for (const [p, st] of fresh) this.state.set(p, st);
    meta.paramGroups.forEach(({ params: _params, ...hyper }, k) => Object.assign(this.paramGroups[k]!, hyper));
  }

  private disposeState(): void {
    for (const st of this.state.values()) for (const t of Object.values(st.tensors)) t.dispose();
    this.state.clear();
  }

  /** Frees the optimizer's state tensors (not the parameters). */
  dispose(): void {
    this.disposeState();
  }
}
