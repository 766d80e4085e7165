import { Writable } from 'node:stream';
import { prettyFactory } from 'pino-pretty';
import { createRootLogger, type Logger } from './logger.ts';

const COLORS = [36, 35, 33, 32, 34, 96, 95, 93] as const; // cyan, magenta, yellow, green, blue, …

/**
 * Turns the output of several processes into lines a person can read on one terminal:
 * each line is prefixed with the process name (`legacy │ …`), and pino's JSON lines are
 * prettified (time, level, message, then the other fields on the same line). Anything else passes verbatim.
 */
export function createLogPrettifier(options: { names: readonly string[]; colors: boolean }): (name: string, line: string) => string {
  const width = Math.max(...options.names.map((name) => name.length));
  const pretty = prettyFactory({
    colorize: options.colors,
    translateTime: 'SYS:HH:MM:ss.l',
    // The prefix already names the process; pid and hostname are noise on a laptop.
    ignore: 'pid,hostname,name',
    // Request logs carry many fields; one line each keeps the terminal readable. Errors (err)
    // are still printed with their stack below the line.
    singleLine: true,
  });
  const prefixes = new Map<string, string>();
  const prefixOf = (name: string) => {
    let prefix = prefixes.get(name);
    if (!prefix) {
      const label = name.padEnd(width);
      const color = COLORS[prefixes.size % COLORS.length];
      prefix = options.colors ? `\u001b[${color}m${label} │\u001b[0m ` : `${label} │ `;
      prefixes.set(name, prefix);
    }
    return prefix;
  };
  return (name, line) => {
    const text = line.startsWith('{') ? prettifyJson(pretty, line) : line;
    const prefix = prefixOf(name);
    return text
      .replace(/\n+$/, '')
      .split('\n')
      .map((part) => `${prefix}${part}`)
      .join('\n');
  };
}

function prettifyJson(pretty: (input: unknown) => string, line: string): string {
  try {
    const parsed: unknown = JSON.parse(line);
    // Only pino's lines (they carry a numeric level) are reformatted; other JSON stays as it is.
    if (parsed && typeof parsed === 'object' && typeof (parsed as { level?: unknown }).level === 'number') return pretty(parsed);
  } catch {
    // not JSON after all
  }
  return line;
}

/** Splits a stream's chunks into whole lines, keeping a partial line until its end arrives. */
export function lineSplitter(onLine: (line: string) => void): { push(chunk: Buffer | string): void; flush(): void } {
  let pending = '';
  return {
    push(chunk) {
      pending += chunk.toString();
      let index: number;
      while ((index = pending.indexOf('\n')) >= 0) {
        onLine(pending.slice(0, index).replace(/\r$/, ''));
        pending = pending.slice(index + 1);
      }
    },
    flush() {
      if (pending) onLine(pending);
      pending = '';
    },
  };
}

/** A stream for pino that hands each written line to `onLine`. */
export function lineWriter(onLine: (line: string) => void): Writable {
  return new Writable({
    write(chunk: Buffer, _encoding, callback) {
      for (const line of chunk.toString().split('\n')) if (line) onLine(line);
      callback();
    },
  });
}

/** A root logger for a command run on a terminal: prettified, prefixed lines instead of JSON. */
export function createTerminalLogger(options: { name: string; level: string; colors: boolean; print: (text: string) => void }): Logger {
  const prettify = createLogPrettifier({ names: [options.name], colors: options.colors });
  return createRootLogger({
    name: options.name,
    level: options.level,
    destination: lineWriter((line) => options.print(prettify(options.name, line))),
  });
}
