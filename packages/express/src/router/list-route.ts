import { type Taskflow, TaskStatus, ValidationError } from "@taskwire/core";
import type { Request, Response } from "express";
import { z } from "zod";
import { publicSnapshot } from "./public-snapshot";

/** Default and largest page sizes of `GET /tasks`. */
export const LIST_LIMIT = { default: 50, max: 200 } as const;

const STATUSES = Object.values(TaskStatus) as [TaskStatus, ...TaskStatus[]];

/** Where a page ends: the last task's `createdAt` (ms) and id. */
type Position = { createdAt: Date; taskId: string };

/** Encodes a page position as the opaque `cursor`: base64url of JSON `[createdAtMs, taskId]`. */
export function encodeCursor(position: Position): string {
  return Buffer.from(JSON.stringify([position.createdAt.getTime(), position.taskId])).toString("base64url");
}

/**
 * Decodes a `cursor`, or `undefined` when it is not one this server issued (the inspector's list uses the
 * same cursors). Longer than 512 characters is never ours: refused before any decoding work.
 */
export function decodeCursor(cursor: string): Position | undefined {
  if (!/^[A-Za-z0-9_-]{1,512}$/.test(cursor)) return undefined;
  try {
    const value: unknown = JSON.parse(Buffer.from(cursor, "base64url").toString("utf8"));
    if (!Array.isArray(value) || value.length !== 2) return undefined;
    const [at, taskId] = value as unknown[];
    if (!Number.isSafeInteger(at) || typeof taskId !== "string" || taskId === "") return undefined;
    // A safe integer beyond ±8.64e15 ms is an Invalid Date, never issued by us: it reached the store as
    // NaN (fuzz counterexample `[9e15," "]`: an empty 200 on SQLite, a failed NaN::bigint on PostgreSQL).
    const createdAt = new Date(at as number);
    if (Number.isNaN(createdAt.getTime())) return undefined;
    return { createdAt, taskId };
  } catch {
    return undefined;
  }
}

const query = z.object({
  status: z
    .string()
    .transform((value) => value.split(","))
    .pipe(z.array(z.enum(STATUSES)))
    .optional(),
  task: z.string().min(1).optional(),
  parentId: z.string().min(1).optional(),
  limit: z
    .string()
    .regex(/^\d+$/, "Expected an integer")
    .transform(Number)
    .pipe(z.number().int().min(1).max(LIST_LIMIT.max))
    .default(LIST_LIMIT.default),
  cursor: z
    .string()
    .transform((value, ctx) => {
      const position = decodeCursor(value);
      if (!position) ctx.addIssue({ code: "custom", message: "Malformed cursor" });
      return position ?? z.NEVER;
    })
    .optional(),
});

/**
 * `GET /tasks` (SPEC 5): the caller's tasks, newest first, keyset-paged. Answers
 * `{ tasks: [snapshot…], nextCursor }` (`nextCursor` is null on the last page); a bad query value is a 400
 * naming the field. Must run inside the caller's user context, which scopes the listing to their tasks.
 */
export async function listTasksRoute(
  taskflow: Taskflow,
  production: boolean,
  req: Request,
  res: Response,
): Promise<void> {
  const parsed = query.safeParse(req.query);
  if (!parsed.success) {
    const issues = parsed.error.issues.map((issue) => ({
      path: issue.path.map(String).join("."),
      message: issue.message,
      code: issue.code,
    }));
    throw new ValidationError("query", issues);
  }
  const { status, task, parentId, limit, cursor } = parsed.data;
  // One extra row says whether another page follows.
  const page = await taskflow.list({ status, name: task, parentId, limit: limit + 1, after: cursor });
  const tasks = page.slice(0, limit);
  const last = tasks.at(-1);
  const nextCursor = page.length > limit && last ? encodeCursor(last) : null;
  res
    .status(200)
    .set("Cache-Control", "no-store")
    .json({ tasks: tasks.map((t) => publicSnapshot(t, production)), nextCursor });
}
