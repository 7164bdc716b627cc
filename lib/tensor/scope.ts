// Scopes: tidy() frees what was made inside it; dispose() now; a finalizer is the last safety net.
import { native, type Handle } from "./native.js";
import { Tensor } from "./tensor.js";

// ---------------------------------------------------------------------------------------------------
// Memory: scopes free what was made inside them; a finalizer is the last safety net. Handles carry a
// generation, so a finalizer that runs after dispose() (or twice) frees nothing else.
//
// Registering with a FinalizationRegistry costs about as much as a small op, so it is deferred: a tensor
// made in a scope is registered only if it outlives every scope, and an unscoped one only if it is still
// alive at the next flush (a microtask, or every 1024 tensors). Tensors disposed before then never pay.
// A finalizer cannot report to anyone, and an exception thrown here ends the process. The one free() can
// throw for is a handle another thread made, wrapped here by mistake: not this thread's to free.
const finalizer = new FinalizationRegistry<Handle>((h) => {
  try {
    native.free(h);
  } catch {
    // another thread's tensor: its own thread frees it
  }
});
const scopes: Tensor[][] = [];

/** With a tensor: adds it to the innermost open scope. Whether a scope was open. */
export function inScope(t?: Tensor): boolean {
  if (!scopes.length) return false;
  if (t) scopes[scopes.length - 1]!.push(t);
  return true;
}
let unregistered: Tensor[] = [];

function flushFinalizers(): void {
  const ts = unregistered;
  unregistered = [];
  for (const t of ts) if (!t.isDisposed) finalizer.register(t, t.handle);
}

export function guardWithFinalizer(t: Tensor): void {
  unregistered.push(t);
  if (unregistered.length === 1) queueMicrotask(flushFinalizers);
  else if (unregistered.length >= 1024) flushFinalizers();
}

// ---------------------------------------------------------------------------------------------------
// Scopes.

// The Tensors in a value, in arrays and plain objects at any depth (other objects are not searched). A loop
// over a work list, not recursion: no depth limit (one of 8 disposed deeper tensors), and cycles end it.
function collect(v: unknown, out: Set<Tensor>): void {
  if (v === null || typeof v !== "object") return;
  if (v instanceof Tensor) {
    out.add(v);
    return;
  }
  const seen = new Set<object>();
  const todo: unknown[] = [v];
  while (todo.length) {
    const x = todo.pop();
    if (x === null || typeof x !== "object") continue;
    if (x instanceof Tensor) out.add(x);
    else if (seen.has(x)) continue;
    else if (Array.isArray(x)) {
      seen.add(x);
      for (const y of x) todo.push(y);
    } else if (Object.getPrototypeOf(x) === Object.prototype) {
      seen.add(x);
      for (const y of Object.values(x)) todo.push(y);
    }
  }
}

function closeScope(made: Tensor[], result: unknown): void {
  const survivors = new Set<Tensor>();
  collect(result, survivors);
  const parent = scopes.length ? scopes[scopes.length - 1] : undefined;
  for (const t of made) {
    if (t.kept) continue;
    if (!survivors.has(t)) t.dispose();
    else if (parent) parent.push(t);
    else guardWithFinalizer(t);
  }
}

/**
 * Runs fn and frees every tensor made inside it, except those it returns (in a Tensor, an array or a
 * plain object) and those kept with `keep()`. Scopes nest: what a scope returns belongs to the scope
 * around it. fn must be synchronous: a scope closes when fn returns, which for an async function is at
 * its first await, so a returned Promise is an error (as in tfjs). Inside async code, tidy each
 * synchronous stretch, or dispose() by hand.
 */
export function tidy<T>(fn: () => T): T {
  const made: Tensor[] = [];
  scopes.push(made);
  let result: T;
  try {
    result = fn();
  } catch (e) {
    scopes.pop();
    closeScope(made, undefined);
    throw e;
  }
  scopes.pop();
  if (isPromiseLike(result)) {
    // The async body goes on after its await and still uses what it made: free nothing under it.
    closeScope(made, made);
    // Its own later failure would be a second, unhandled error on top of this one.
    result.then(undefined, () => undefined);
    throw new TypeError(
      "tidy(): the function returned a Promise. A scope closes when the function returns (for an " +
        "async function: at its first await), so it cannot hold async work. Call tidy() around the synchronous parts " +
        "inside the async function, or dispose() what it makes.",
    );
  }
  closeScope(made, result);
  return result;
}

const isPromiseLike = (v: unknown): v is PromiseLike<unknown> => typeof v === "object" && v !== null && typeof (v as { then?: unknown }).then === "function";

/** Disposes every tensor in a value (a Tensor, arrays and plain objects of them). */
export function dispose(v: unknown): void {
  const s = new Set<Tensor>();
  collect(v, s);
  for (const t of s) t.dispose();
}

/** Live native tensors and their bytes in this thread: what memory tests and benchmarks watch. */
export function memory(): { liveTensors: number; bytes: number } {
  const { liveTensors, bytes } = native.stats();
  return { liveTensors, bytes };
}
