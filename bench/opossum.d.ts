// opossum ships no types; the bench needs only what it calls.
declare module 'opossum' {
  export default class CircuitBreaker<R = unknown> {
    constructor(action: () => Promise<R>, options?: Record<string, unknown>);
    readonly opened: boolean;
    fire(): Promise<R>;
    on(event: string, listener: (...args: unknown[]) => void): this;
    shutdown(): void;
  }
}

// opossum 10 (npm alias opossum10): the same surface.
declare module 'opossum10' {
  export { default } from 'opossum';
}
