import { ForbiddenError } from "@taskwire/express";
import type { NextFunction, Request, Response } from "express";

/** The header every inspector action (POST) must carry: a cross-site form or image cannot set it. */
export const INSPECTOR_HEADER = "X-Taskwire-Inspector";

/**
 * CSRF guard of the actions: a request without `X-Taskwire-Inspector: 1`, or one the browser marks as
 * cross-site (`Sec-Fetch-Site: cross-site`), is a 403 before its body is even read. A custom header makes
 * a cross-origin `fetch` need a CORS preflight, which the inspector never grants.
 */
export function requireInspectorHeader(req: Request, _res: Response, next: NextFunction): void {
  if (req.get(INSPECTOR_HEADER) !== "1")
    next(new ForbiddenError(`Inspector actions need the header "${INSPECTOR_HEADER}: 1".`));
  else if (req.get("Sec-Fetch-Site") === "cross-site")
    next(new ForbiddenError("Inspector actions are refused from another site."));
  else next();
}
