/**
 * Explicit garbage collections (young generation, or full), when the runtime lets us have them.
 *
 * Node exposes `gc` only with `--expose-gc`; we turn that flag on at run time with `v8.setFlagsFromString`.
 * That call is not always allowed: with `--freeze-flags-after-init` V8 aborts the whole process (an
 * uncatchable fatal error) instead of throwing. So the flag is only set when the flags are not frozen, only
 * when a caller first asks (importing a module never touches V8's flags), and any refusal means "no
 * explicit GC": V8 then collects on its own schedule, with a higher peak of external memory, nothing worse.
 */
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';

type Collect = (options?: { type: 'minor' | 'major' }) => void;

let cached: Collect | null | undefined;

/** V8 flags cannot change after start-up: setting one would abort the process. */
export function v8FlagsFrozen(execArgv: readonly string[] = process.execArgv): boolean {
  return execArgv.some((arg) => /^--freeze[-_]flags[-_]after[-_]init$/.test(arg));
}

/** Runs a minor GC if one is available; does nothing otherwise. */
export function minorGc(): void {
  collector()?.({ type: 'minor' });
}

/** Runs a full (mark-compact) GC if one is available; does nothing otherwise. */
export function fullGc(): void {
  // No options: on Node 20, `{ type: 'major' }` left unreachable objects alive (WeakRef test).
  collector()?.();
}

function collector(): Collect | undefined {
  if (cached === undefined) cached = lookup() ?? null;
  return cached ?? undefined;
}

function lookup(): Collect | undefined {
  const existing = (globalThis as { gc?: unknown }).gc;
  if (typeof existing === 'function') return existing as Collect;
  if (v8FlagsFrozen()) return undefined;
  try {
    setFlagsFromString('--expose-gc');
    const gc: unknown = runInNewContext('typeof gc === "function" ? gc : undefined');
    return typeof gc === 'function' ? (gc as Collect) : undefined;
  } catch {
    return undefined;
  }
}
