import type { Command } from '../../stores/store.js';
import { describeFailure, RedisStoreError } from '../errors.js';
import type { Arg, ScriptName } from '../scripts/index.js';
import type { ScriptReply } from '../fleet.js';
import { within } from '../wait.js';
import type { RedisCircuit } from '../circuit.js';
import type { CircuitHost } from './host.js';

type OnReply = (reply: ScriptReply) => void;

/**
 * Runs a circuit's scripts: reports what a reply says to the store (malformed data, a new or
 * changed state, a transition to write into the history), then hands the reply to the circuit
 * (`apply`) and to the caller (`onReply`). Counts the scripts in flight. A manual command is one
 * of them (`command`), whose failure is the caller's error.
 */
export class ScriptLink {
  readonly #circuit: RedisCircuit;
  readonly #host: CircuitHost;
  readonly #apply: OnReply;
  /** Scripts in flight. */
  #ops = 0;

  constructor(circuit: RedisCircuit, host: CircuitHost, apply: OnReply) {
    this.#circuit = circuit;
    this.#host = host;
    this.#apply = apply;
  }

  /** True while a script is in flight. */
  get busy(): boolean {
    return this.#ops !== 0;
  }

  /** Waits for `op` at most `waitTimeout`, then calls `late` and resolves. */
  bounded(op: Promise<boolean>, late: () => void): Promise<void> {
    return within(op, this.#host.waitTimeout, late);
  }

  /** Runs a script and applies its reply; resolves false (after telling the store) on failure. */
  send(
    script: ScriptName,
    args: Readonly<Record<string, Arg>>,
    onReply?: OnReply,
  ): Promise<boolean> {
    return this.exec(script, args, onReply).then(
      () => true,
      (error: unknown) => {
        this.#host.fail(error);
        return false;
      },
    );
  }

  /**
   * Runs a manual command (`circuit.forceOpen()` etc.) for the fleet; rejects with a
   * {@link RedisStoreError} when Redis cannot be reached, and nothing was changed then.
   */
  async command(command: Command): Promise<void> {
    const key = this.#circuit.key;
    const host = this.#host;
    const refuse = (cause: unknown): RedisStoreError =>
      new RedisStoreError(
        key,
        `RedisStore: cannot ${command} circuit ${JSON.stringify(key)}: ${describeFailure(cause)}; nothing was changed`,
        cause,
      );
    if (!host.up) throw refuse(host.downCause);
    try {
      await this.exec('infuseCommand', { command, scope: '', period: 0 });
    } catch (error) {
      host.fail(error);
      throw refuse(error);
    }
  }

  /** Runs a script and applies its reply; rejects when Redis does not answer. */
  async exec(
    script: ScriptName,
    args: Readonly<Record<string, Arg>>,
    onReply?: OnReply,
  ): Promise<void> {
    const circuit = this.#circuit;
    const host = this.#host;
    this.#ops++;
    try {
      const reply = host.parse(await host.run(script, circuit, args));
      if (reply.malformed) {
        host.event({
          type: 'malformed',
          key: circuit.key,
          message: `RedisStore: data under the keys of circuit ${JSON.stringify(circuit.key)} was not written by infuse-breaker; it was treated as absent and replaced`,
        });
      }
      if (reply.created || reply.event !== null) host.index(circuit);
      if (reply.event !== null) host.made(circuit, reply.fleet, reply.event);
      this.#apply(reply);
      onReply?.(reply);
    } finally {
      this.#ops--;
    }
  }
}
