import { pino, type Logger, type LoggerOptions } from 'pino';

export type { Logger };

/**
 * One root logger per process; components take `logger.child({ component })`.
 * Secrets never reach a log line: authorization headers, cookies and passwords are redacted.
 */
export function createRootLogger(options: { name: string; level?: string; destination?: NodeJS.WritableStream }): Logger {
  const config: LoggerOptions = {
    name: options.name,
    level: options.level ?? 'info',
    redact: {
      paths: [
        'req.headers.authorization',
        'req.headers.cookie',
        'res.headers["set-cookie"]',
        'headers.authorization',
        'headers.cookie',
        '*.password',
        'password',
      ],
      censor: '[redacted]',
    },
    base: { pid: process.pid, name: options.name },
  };
  return options.destination ? pino(config, options.destination) : pino(config);
}

/** A logger that writes nothing, for tests and library callers that pass none. */
export function silentLogger(): Logger {
  return pino({ level: 'silent' });
}
