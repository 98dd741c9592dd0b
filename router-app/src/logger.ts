import pino from 'pino';

export type Logger = pino.Logger;

/** JSON logs on stdout (one line each), with the router instance in every line. */
export function createLogger(level: string, instanceId: string): Logger {
  return pino({ level, base: { instance: instanceId }, timestamp: pino.stdTimeFunctions.isoTime });
}
