// A minimal typed event emitter with VS Code's `Disposable` shape, so the
// client library needs no `vscode` import and the extension can still push
// the subscriptions into `context.subscriptions`.

export interface Disposable {
  dispose(): void;
}

export type Event<T> = (listener: (value: T) => void) => Disposable;

export class Emitter<T> {
  private readonly listeners = new Set<(value: T) => void>();

  readonly event: Event<T> = (listener) => {
    this.listeners.add(listener);
    return { dispose: () => { this.listeners.delete(listener); } };
  };

  fire(value: T): void {
    for (const l of [...this.listeners]) {
      try { l(value); } catch { /* one listener's bug must not starve the others */ }
    }
  }

  dispose(): void {
    this.listeners.clear();
  }
}
