// A tiny synchronous event emitter shared by the store, the socket and the UI.
export class Emitter {
  #handlers = new Map();

  /** Subscribe; returns an unsubscribe function. */
  on(type, fn) {
    if (!this.#handlers.has(type)) this.#handlers.set(type, new Set());
    this.#handlers.get(type).add(fn);
    return () => this.#handlers.get(type)?.delete(fn);
  }

  emit(type, detail) {
    const set = this.#handlers.get(type);
    if (!set) return;
    for (const fn of [...set]) {
      try {
        fn(detail);
      } catch (err) {
        console.error(`[town] handler for "${type}" failed`, err);
      }
    }
  }
}
