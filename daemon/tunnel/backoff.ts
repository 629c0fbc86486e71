// Reconnect delays: exponential, capped, with jitter so that many daemons
// (or one daemon's repeated failures) do not hammer the API server in step.
export interface BackoffOptions {
  /** Delay before the first retry. Default 250 ms. */
  initialMs?: number;
  /** Upper bound of any delay. Default 30 s. */
  maxMs?: number;
  /** Growth per failure. Default 2. */
  factor?: number;
  /** Fraction of the delay that is randomized (0 = none, 1 = full jitter). Default 0.5. */
  jitter?: number;
}

/** Delay before retry number `failures` (1 for the first retry); `random` returns [0, 1). */
export function backoffDelay(failures: number, opts: BackoffOptions = {}, random: () => number = Math.random): number {
  const initial = opts.initialMs ?? 250;
  const max = opts.maxMs ?? 30_000;
  const factor = opts.factor ?? 2;
  const jitter = Math.min(1, Math.max(0, opts.jitter ?? 0.5));
  const exp = Math.min(max, initial * Math.pow(factor, Math.max(0, failures - 1)));
  return Math.round(exp * (1 - jitter) + exp * jitter * random());
}
