// A daemon request that never answers must not leave a client waiting
// forever in silence: the step fails with a message naming it, and the
// caller logs it and tries again.
import { withDeadline } from '../../daemon/deadline';

export class StepTimedOut extends Error {
  override readonly name = 'StepTimedOut';
  constructor(readonly step: string, readonly ms: number) {
    super(`${step} got no answer from the daemon within ${ms} ms`);
  }
}

/** `work` settled, or StepTimedOut after `ms`; the timer never outlives the step. */
export function withinDeadline<T>(step: string, ms: number, work: Promise<T>): Promise<T> {
  return withDeadline(ms, () => work, () => new StepTimedOut(step, ms));
}
