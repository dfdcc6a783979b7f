/** A tiny typed event emitter that runs in Node and browsers (no `node:events`). */
export type EventMap = Record<string, unknown>;

export class Emitter<M extends EventMap> {
  private readonly listeners = new Map<keyof M, Set<(arg: never) => void>>();
  /** Called when a listener throws; listeners never break the SDK. */
  protected onListenerError(err: unknown, event: keyof M): void {
    void err;
    void event;
  }

  on<K extends keyof M>(event: K, fn: (arg: M[K]) => void): this {
    let set = this.listeners.get(event);
    if (!set) this.listeners.set(event, (set = new Set()));
    set.add(fn as (arg: never) => void);
    return this;
  }

  once<K extends keyof M>(event: K, fn: (arg: M[K]) => void): this {
    const wrapped = (arg: M[K]) => {
      this.off(event, wrapped);
      fn(arg);
    };
    return this.on(event, wrapped);
  }

  off<K extends keyof M>(event: K, fn: (arg: M[K]) => void): this {
    this.listeners.get(event)?.delete(fn as (arg: never) => void);
    return this;
  }

  listenerCount(event: keyof M): number {
    return this.listeners.get(event)?.size ?? 0;
  }

  protected emit<K extends keyof M>(event: K, arg: M[K]): void {
    const set = this.listeners.get(event);
    if (!set || set.size === 0) return;
    for (const fn of [...set]) {
      try {
        (fn as (a: M[K]) => void)(arg);
      } catch (err) {
        this.onListenerError(err, event);
      }
    }
  }
}
