// Controllers are level-triggered: each looks at the whole store and makes
// one step toward the desired state. The manager runs them after any change
// (coalesced into one pass) and once a second, so time-based conditions
// (grace periods) progress without events.
import type { Registry } from '../registry';

export interface Controller {
  readonly name: string;
  reconcile(registry: Registry): void;
}

export class ControllerManager {
  private scheduled = false;
  private timer: NodeJS.Timeout | undefined;
  private unsubscribe: (() => void) | undefined;
  private running = false;

  constructor(private readonly registry: Registry, private readonly controllers: Controller[], private readonly log: (msg: string) => void) {}

  start(): void {
    this.unsubscribe = this.registry.store.subscribe(undefined, () => this.schedule());
    this.timer = setInterval(() => this.schedule(), 1000);
    this.timer.unref();
    this.schedule();
  }

  stop(): void {
    this.unsubscribe?.();
    if (this.timer) clearInterval(this.timer);
  }

  private schedule(): void {
    if (this.scheduled || this.running) { this.scheduled = true; return; }
    this.scheduled = true;
    setImmediate(() => this.runPass());
  }

  private runPass(): void {
    this.scheduled = false;
    this.running = true;
    try {
      for (const c of this.controllers) {
        try { c.reconcile(this.registry); } catch (err) { this.log(`controller ${c.name}: ${(err as Error).stack ?? err}`); }
      }
    } finally {
      this.running = false;
    }
    // Changes made during the pass asked for another one.
    if (this.scheduled) { this.scheduled = false; this.schedule(); }
  }
}
