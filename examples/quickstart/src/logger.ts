import { type Logger, pino } from "pino";

/**
 * The quickstart's logger: readable lines (pino-pretty) when stdout is a terminal, one JSON object per
 * line otherwise (a log collector, a pipe, a test). `TASKWIRE_LOG_FORMAT=json|pretty` overrides the guess.
 */
export function createLogger(options: { level?: string; format?: string; isTTY?: boolean } = {}): Logger {
  const level = options.level ?? process.env.TASKWIRE_LOG_LEVEL ?? "info";
  const format = options.format ?? process.env.TASKWIRE_LOG_FORMAT;
  const pretty = format === "pretty" || (format !== "json" && (options.isTTY ?? process.stdout.isTTY));
  if (!pretty) return pino({ level });
  return pino({
    level,
    transport: {
      target: "pino-pretty",
      options: {
        colorize: options.isTTY ?? process.stdout.isTTY,
        translateTime: "HH:MM:ss.l",
        ignore: "pid,hostname,event",
        // The event name leads the line: "12:00:01.234 INFO (task.step_completed): step completed".
        messageFormat: "({event}) {msg}",
        hideObject: false,
      },
    },
  });
}
