import type { IncomingMessage } from "node:http";
import { SERVICE_PRINCIPAL, type UserContext } from "@taskwire/core";
import type { Request } from "express";
import { UnauthenticatedError } from "../http-errors/errors";

/** Resolves the caller of a request; `undefined` means unauthenticated (HTTP 401). */
export type ResolveUser = (req: Request) => UserContext | undefined | Promise<UserContext | undefined>;

// Printable ASCII without spaces at the ends; rejects control characters smuggled through a proxy.
const HEADER_VALUE = /^[\x21-\x7e](?:[\x20-\x7e]{0,254}[\x21-\x7e])?$/;

/**
 * The default {@link ResolveUser}: `x-forwarded-user` is the user id and `x-forwarded-access-token`
 * the access token (kept in memory only). These headers are what an authenticating reverse proxy
 * (oauth2-proxy, a platform gateway) sets: the app MUST sit behind one that strips them from client
 * requests, otherwise anyone can claim any identity. The service principal's id is never accepted.
 * @example createTaskwireApp({ taskflow, resolveUser: defaultResolveUser })
 */
export function defaultResolveUser(req: Request | IncomingMessage): UserContext | undefined {
  const userId = header(req, "x-forwarded-user");
  if (userId === undefined || !HEADER_VALUE.test(userId)) return undefined;
  const accessToken = header(req, "x-forwarded-access-token");
  const user: UserContext = { userId };
  if (accessToken !== undefined && accessToken.length > 0) user.accessToken = accessToken;
  return user;
}

/**
 * Runs the app's resolver and checks its answer: a missing user, an empty id or the service
 * principal's id is an {@link UnauthenticatedError}, never a silent fall-back to the service.
 */
export async function requireUser(resolveUser: ResolveUser, req: Request): Promise<UserContext> {
  const user = await resolveUser(req);
  if (user === undefined || user === null) throw new UnauthenticatedError();
  if (typeof user !== "object" || typeof user.userId !== "string" || user.userId.length === 0)
    throw new UnauthenticatedError();
  if (user.userId === SERVICE_PRINCIPAL.userId)
    throw new UnauthenticatedError("A request cannot run as the service principal.");
  return user;
}

function header(req: Request | IncomingMessage, name: string): string | undefined {
  const value = req.headers[name];
  return typeof value === "string" ? value : undefined;
}
