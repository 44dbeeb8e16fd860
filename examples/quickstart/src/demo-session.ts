import type { UserContext } from "@taskwire/core";
import { defaultResolveUser } from "@taskwire/express";
import express, { type Request, type Router } from "express";
import { z } from "zod";

/** The demo sign-in cookie. It is NOT authentication: anyone can claim any name. Demo only. */
export const SESSION_COOKIE = "tw_demo_user";

const signIn = z.object({
  name: z.string().regex(/^[A-Za-z0-9_-]{1,32}$/, "Use 1-32 letters, digits, _ or -"),
});

/** Reads the demo cookie; falls back to the default trusted-proxy headers (`x-forwarded-user`). */
export function resolveDemoUser(req: Request): UserContext | undefined {
  const name = readCookie(req.get("cookie"), SESSION_COOKIE);
  if (name && signIn.safeParse({ name }).success) return { userId: name, displayName: name };
  return defaultResolveUser(req);
}

/** `GET|POST|DELETE /api/session`: who am I, sign in as a name, sign out. */
export function sessionRouter(): Router {
  const router = express.Router();
  router.use(express.json({ limit: "4kb" }));
  router.get("/", (req, res) => {
    const user = resolveDemoUser(req);
    res.json({ user: user ? { userId: user.userId } : null });
  });
  router.post("/", (req, res) => {
    const parsed = signIn.safeParse(req.body);
    if (!parsed.success) {
      const issue = parsed.error.issues[0];
      res.status(400).json({
        error: {
          code: "VALIDATION_ERROR",
          message: `Invalid sign-in at "${issue?.path.join(".")}": ${issue?.message}`,
        },
      });
      return;
    }
    res.cookie(SESSION_COOKIE, parsed.data.name, { httpOnly: true, sameSite: "lax", path: "/" });
    res.json({ user: { userId: parsed.data.name } });
  });
  router.delete("/", (_req, res) => {
    res.clearCookie(SESSION_COOKIE, { path: "/" });
    res.status(204).end();
  });
  return router;
}

function readCookie(header: string | undefined, name: string): string | undefined {
  for (const part of header?.split(";") ?? []) {
    const [key, ...rest] = part.trim().split("=");
    if (key !== name) continue;
    try {
      return decodeURIComponent(rest.join("="));
    } catch {
      return undefined; // a malformed cookie is no identity (the header fallback applies), not a 500
    }
  }
  return undefined;
}
