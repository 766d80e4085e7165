import { spawn, type ChildProcess } from 'node:child_process';
import { StranglerError } from './errors.ts';
import { lineSplitter } from './log-prettifier.ts';
import type { Logger } from './logger.ts';

/** One process of the stack, as the supervisor runs it. */
export interface ProcessSpec {
  name: string;
  /** Absolute path of the process's `main.ts`. */
  entry: string;
  env: Record<string, string>;
  /** Polled until it answers 2xx: the process is then ready. */
  healthUrl: string;
  healthHeaders?: Record<string, string>;
}

export interface ProcessExit {
  name: string;
  code: number | null;
  signal: NodeJS.Signals | null;
}

export interface ProcessSupervisorDeps {
  cwd: string;
  logger: Logger;
  /** Receives every output line of every child, with the child's name. */
  onLine: (name: string, line: string) => void;
  /** Called once per child that exits while the supervisor is not stopping it. */
  onUnexpectedExit: (exit: ProcessExit) => void;
  /** How long a child may take to stop after SIGTERM before it is killed. */
  stopTimeoutMs?: number;
}

interface Supervised {
  spec: ProcessSpec;
  child: ChildProcess;
  exited: Promise<ProcessExit>;
  exit: ProcessExit | undefined;
}

/**
 * Runs the stack's processes as children (`node --import tsx <entry>`), forwards their output
 * line by line, tells when one dies on its own, and stops them all: SIGTERM, a grace period,
 * then SIGKILL, so that nothing is left running.
 */
export class ProcessSupervisor {
  readonly #deps: ProcessSupervisorDeps;
  readonly #children: Supervised[] = [];
  #stopping = false;

  constructor(deps: ProcessSupervisorDeps) {
    this.#deps = deps;
  }

  /** Pids of the children still running, for whoever wants to check that none is left. */
  get pids(): number[] {
    return this.#children.filter((entry) => !entry.exit && entry.child.pid).map((entry) => entry.child.pid as number);
  }

  start(spec: ProcessSpec): void {
    if (this.#stopping) throw new Error(`not starting ${spec.name}: the stack is stopping`);
    const child = spawn(process.execPath, ['--import', 'tsx', spec.entry], {
      cwd: this.#deps.cwd,
      env: spec.env,
      stdio: ['ignore', 'pipe', 'pipe'],
      // Not detached: the children share the launcher's process group, which `strangler up` puts
      // in a session of its own (away from the terminal's Ctrl-C), so that whoever started the
      // launcher can always end the whole group, even after the launcher itself was killed.
    });
    const entry: Supervised = { spec, child, exit: undefined, exited: Promise.resolve(undefined as never) };
    for (const stream of [child.stdout, child.stderr]) {
      const lines = lineSplitter((line) => this.#deps.onLine(spec.name, line));
      stream?.on('data', (chunk: Buffer) => lines.push(chunk));
      stream?.on('end', () => lines.flush());
    }
    entry.exited = new Promise<ProcessExit>((resolve) => {
      child.once('error', (error) => {
        // spawn itself failed (no such executable): reported like an exit.
        this.#deps.logger.error({ err: error, process: spec.name }, 'could not start the process');
        const exit = { name: spec.name, code: null, signal: null };
        if (!entry.exit) {
          entry.exit = exit;
          if (!this.#stopping) this.#deps.onUnexpectedExit(exit);
        }
        resolve(exit);
      });
      child.once('exit', (code, signal) => {
        const exit = { name: spec.name, code, signal };
        if (!entry.exit) {
          entry.exit = exit;
          if (!this.#stopping) this.#deps.onUnexpectedExit(exit);
        }
        resolve(exit);
      });
    });
    this.#children.push(entry);
    this.#deps.logger.debug({ process: spec.name, pid: child.pid, entry: spec.entry }, 'started');
  }

  /** Resolves when every child answers its health URL; fails when one exits or takes too long. */
  async waitUntilReady(options: { timeoutMs: number; intervalMs?: number }): Promise<void> {
    const deadline = Date.now() + options.timeoutMs;
    await Promise.all(this.#children.map((entry) => this.#waitForOne(entry, deadline, options.intervalMs ?? 200)));
  }

  async #waitForOne(entry: Supervised, deadline: number, intervalMs: number): Promise<void> {
    const { spec } = entry;
    let lastProblem = 'no answer yet';
    while (Date.now() < deadline) {
      if (this.#stopping) throw new StranglerError('PLATFORM_STACK_STOPPED', 'the stack is stopping', { remedy: 'Nothing to do.' });
      if (entry.exit) throw processDied(entry.exit);
      try {
        const response = await fetch(spec.healthUrl, { headers: spec.healthHeaders ?? {}, signal: AbortSignal.timeout(2000) });
        await response.body?.cancel();
        if (response.ok) {
          this.#deps.logger.debug({ process: spec.name }, 'ready');
          return;
        }
        lastProblem = `${spec.healthUrl} answered ${response.status}`;
      } catch (error) {
        lastProblem = `${spec.healthUrl}: ${(error as Error).message}`;
      }
      await new Promise((resolve) => setTimeout(resolve, intervalMs));
    }
    throw new StranglerError('PLATFORM_PROCESS_NOT_READY', `${spec.name} did not become ready in time (${lastProblem})`, {
      remedy: `Read the "${spec.name} │" lines above for the reason; the stack has been stopped.`,
    });
  }

  /**
   * SIGTERM every child, wait up to the grace period, SIGKILL the ones still there. `first` names
   * processes stopped (and waited for) before the others: the proxy, so that the requests it is
   * finishing still find their upstreams.
   */
  async stopAll(options: { first?: readonly string[] } = {}): Promise<ProcessExit[]> {
    this.#stopping = true;
    const first = new Set(options.first ?? []);
    await this.#stopWave(this.#children.filter((entry) => first.has(entry.spec.name)));
    await this.#stopWave(this.#children.filter((entry) => !first.has(entry.spec.name)));
    return Promise.all(this.#children.map((entry) => entry.exited));
  }

  async #stopWave(wave: Supervised[]): Promise<void> {
    const timeoutMs = this.#deps.stopTimeoutMs ?? 10_000;
    const running = wave.filter((entry) => !entry.exit);
    if (!running.length) return;
    for (const entry of running) signal(entry.child, 'SIGTERM');
    const killer = setTimeout(() => {
      for (const entry of running) {
        if (entry.exit) continue;
        this.#deps.logger.warn({ process: entry.spec.name, timeoutMs }, 'did not stop after SIGTERM; killing it');
        signal(entry.child, 'SIGKILL');
      }
    }, timeoutMs);
    try {
      await Promise.all(running.map((entry) => entry.exited));
    } finally {
      clearTimeout(killer);
    }
  }

  /** The last resort (a second Ctrl-C): SIGKILL everything at once. */
  killAll(): void {
    this.#stopping = true;
    for (const entry of this.#children) if (!entry.exit) signal(entry.child, 'SIGKILL');
  }
}

export function processDied(exit: ProcessExit): StranglerError {
  const how = exit.signal ? `was killed by ${exit.signal}` : `exited with code ${exit.code ?? 'unknown'}`;
  return new StranglerError('PLATFORM_PROCESS_DIED', `${exit.name} ${how}`, {
    remedy: `Read the "${exit.name} │" lines above for the reason, fix it, and start the stack again.`,
  });
}

function signal(child: ChildProcess, name: NodeJS.Signals): void {
  try {
    child.kill(name);
  } catch {
    // already gone
  }
}
