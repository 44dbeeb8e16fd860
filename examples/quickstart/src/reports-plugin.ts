import { Plugin } from "@taskwire/express";
import type { Request, Response, Router } from "express";
import { batchReports } from "./batch-task";
import { generateReport } from "./report-task";

/**
 * The `reports` plugin: `POST /api/reports/generate` starts a report and `POST /api/reports/batch` a batch
 * of them; both stream the task to the caller, as the caller.
 */
export class ReportsPlugin extends Plugin {
  readonly name = "reports";

  override setup(): void {
    this.taskflow.task(generateReport);
    this.taskflow.task(batchReports);
  }

  override injectRoutes(router: Router): void {
    router.post("/generate", (req: Request, res: Response) =>
      this.asUser(req).generate(res, req.body ?? {}, req.get("Idempotency-Key") ?? undefined),
    );
    router.post("/batch", (req: Request, res: Response) =>
      this.asUser(req).batch(res, req.body ?? {}, req.get("Idempotency-Key") ?? undefined),
    );
  }

  /** Runs as the requesting user (through `asUser`): the task is theirs, and only they can watch it. */
  async generate(res: Response, body: unknown, idempotencyKey?: string): Promise<void> {
    await this.executeTask(res, generateReport, body, { idempotencyKey });
  }

  /** Starts `reports.batch` as the requesting user; its children are theirs too. */
  async batch(res: Response, body: unknown, idempotencyKey?: string): Promise<void> {
    await this.executeTask(res, batchReports, body, { idempotencyKey });
  }
}
