// Leaves under way, at most one per workload (`namespace/name`). A leave
// takes seconds (the pods without the agent roll out), and during that time
// the intercept is still listed, as `leaving`; this module keeps the
// bookkeeping that makes that state safe:
// - a second leave of the same workload joins the first and gets its outcome
//   (two teardowns would restore the template twice and race each other for
//   the agent ConfigMap and Secret);
// - an intercept of that workload can wait for the leave to end;
// - disconnect and quit (SIGTERM does not queue behind a `tpv leave`) can tell
//   every leave to stop waiting for rollouts, and wait for all of them.
// No I/O: the teardown itself is the caller's.

export type Teardown = (hurry: AbortSignal) => Promise<boolean>;

interface Departure {
  done: Promise<boolean>;
  hurry: AbortController;
}

export class Departures {
  private readonly running = new Map<string, Departure>();

  /** The outcome of the leave of `key` under way; undefined when none is. */
  pending(key: string): Promise<boolean> | undefined {
    return this.running.get(key)?.done;
  }

  /**
   * Runs `teardown` as the leave of `key`, or, when one runs already, returns
   * that leave's outcome without running anything. `teardown` gets a signal
   * that is aborted when the leave should stop waiting for rollouts.
   */
  run(key: string, teardown: Teardown): Promise<boolean> {
    const existing = this.running.get(key);
    if (existing) return existing.done;
    const hurry = new AbortController();
    // Started in a microtask, so `pending(key)` answers before the teardown's first step runs.
    const done = Promise.resolve().then(() => teardown(hurry.signal)).finally(() => {
      if (this.running.get(key)?.done === done) this.running.delete(key);
    });
    this.running.set(key, { done, hurry });
    return done;
  }

  /** Tells the leave of `key` (if any) to stop waiting for rollouts. */
  hurry(key: string): void {
    this.running.get(key)?.hurry.abort();
  }

  /**
   * Tells every leave under way to stop waiting for rollouts and resolves
   * when all of them have ended. Their failures are their callers' to
   * report; here they only end the wait.
   */
  async hurryAll(): Promise<void> {
    const all = [...this.running.values()];
    for (const d of all) d.hurry.abort();
    await Promise.all(all.map((d) => d.done.catch(() => undefined)));
  }

  get size(): number {
    return this.running.size;
  }
}
