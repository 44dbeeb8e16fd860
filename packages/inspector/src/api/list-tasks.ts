import { type Taskflow, TaskStatus, ValidationError } from "@taskwire/core";
import { decodeCursor, encodeCursor } from "@taskwire/express";
import { z } from "zod";
import { taskView, type ViewOptions } from "./task-view";

const STATUSES = Object.values(TaskStatus) as [TaskStatus, ...TaskStatus[]];

/** Largest page of the inspector's list. */
const MAX_LIMIT = 200;

const listQuery = z.object({
  status: z
    .string()
    .transform((value) => value.split(","))
    .pipe(z.array(z.enum(STATUSES)))
    .optional(),
  task: z.string().min(1).max(200).optional(),
  limit: z
    .string()
    .regex(/^\d+$/, "Expected an integer")
    .transform(Number)
    .pipe(z.number().int().min(1).max(MAX_LIMIT))
    .default(50),
  cursor: z
    .string()
    .transform((value, ctx) => {
      const position = decodeCursor(value);
      if (!position) ctx.addIssue({ code: "custom", message: "Malformed cursor" });
      return position ?? z.NEVER;
    })
    .optional(),
});

/** A zod failure as the app's `VALIDATION_ERROR` (400, `details.issues[].path` names the field). */
export function validationError(what: string, error: z.ZodError): ValidationError {
  return new ValidationError(
    what,
    error.issues.map((issue) => ({
      path: issue.path.map(String).join("."),
      message: issue.message,
      code: issue.code,
    })),
  );
}

/**
 * The inspector's task list, newest first and keyset-paged like `GET /tasks`: query `status` (one or
 * several, comma-separated), `task`, `limit` (1-200, default 50), `cursor`. Must run under the request's
 * grant, which scopes the listing (an owner grant lists that owner's tasks only).
 */
export async function listTasks(
  taskflow: Taskflow,
  query: unknown,
  view: ViewOptions,
): Promise<{ tasks: Record<string, unknown>[]; nextCursor: string | null }> {
  const parsed = listQuery.safeParse(query);
  if (!parsed.success) throw validationError("query", parsed.error);
  const { status, task, limit, cursor } = parsed.data;
  // One extra row says whether another page follows.
  const page = await taskflow.list({ status, name: task, limit: limit + 1, after: cursor });
  const tasks = page.slice(0, limit);
  const last = tasks.at(-1);
  return {
    tasks: tasks.map((snapshot) => taskView(snapshot, view)),
    nextCursor: page.length > limit && last ? encodeCursor(last) : null,
  };
}
