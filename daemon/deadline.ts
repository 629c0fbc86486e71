// A bound on how long an answer may take, shared by the daemon (DNS lookups)
// and its clients (attach steps, the consent dialog's node list).

/**
 * Runs `work` with an abort signal that fires after `ms`, and rejects with
 * `timedOut()` at the deadline even if `work` ignores the signal. The timer
 * never outlives the work.
 */
export async function withDeadline<T>(ms: number, work: (signal: AbortSignal) => Promise<T>, timedOut: () => Error): Promise<T> {
  const controller = new AbortController();
  let timer: NodeJS.Timeout | undefined;
  const deadline = new Promise<never>((_, reject) => {
    timer = setTimeout(() => {
      controller.abort();
      reject(timedOut());
    }, ms);
  });
  try {
    return await Promise.race([work(controller.signal), deadline]);
  } finally {
    clearTimeout(timer);
  }
}
