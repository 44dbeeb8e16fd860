import { runAsService, runInUserContext, SERVICE_PRINCIPAL } from "@taskwire/core";
import { ForbiddenError, UnauthenticatedError } from "@taskwire/express";
import type { Request } from "express";

/** Sees and acts on one owner's tasks only, as that user (core's owner scoping applies). */
export interface OwnerGrant {
  /** The user id whose tasks are visible; every read and action runs as this user. */
  owner: string;
  /** Show the owner id on tasks (it is the caller's own). @default false */
  showOwners?: boolean;
}

/** An operator: sees and acts on every task, as the service principal. */
export interface OperatorGrant {
  all: true;
  /** Show each task's owner id; otherwise owners are redacted. @default false */
  showOwners?: boolean;
}

/** What `authorize(req)` grants a request. */
export type InspectorGrant = OwnerGrant | OperatorGrant;

/**
 * The answer of `authorize(req)`: a grant; `null` or `undefined` (nobody signed in: 401); `false` (signed
 * in but not allowed: 403). Throwing answers the thrown error (an `UnauthenticatedError` is a 401).
 */
export type InspectorAuthorization = InspectorGrant | null | undefined | false;

/** The app's authorization hook: every inspector request (page, assets, API) goes through it. */
export type AuthorizeInspector = (req: Request) => InspectorAuthorization | Promise<InspectorAuthorization>;

/** A checked grant and how to run code under it. */
export interface Access {
  readonly grant: Readonly<InspectorGrant>;
  /** Runs `fn` as the grant's principal: the owner's user context, or the service principal. */
  run<T>(fn: () => T): T;
  /** Whether task owners may be shown. */
  readonly showOwners: boolean;
}

/**
 * Runs the hook and checks its answer, failing closed: `null`/`undefined` is an `UnauthenticatedError`,
 * `false` a `ForbiddenError`, an owner grant naming the service principal a 401 (as `requireUser` does),
 * and anything else that is not a grant a `TypeError` (a 500: the hook is broken).
 */
export async function authorizeRequest(authorize: AuthorizeInspector, req: Request): Promise<Access> {
  const answer = await authorize(req);
  if (answer === null || answer === undefined) throw new UnauthenticatedError();
  if (answer === false) throw new ForbiddenError("You may not use the task inspector.");
  if (typeof answer !== "object") throw invalid(answer);
  const showOwners = answer.showOwners === true;
  if ("all" in answer && answer.all === true) {
    const grant: OperatorGrant = { all: true, showOwners };
    return { grant, showOwners, run: (fn) => runAsService(fn) };
  }
  if ("owner" in answer && typeof answer.owner === "string" && answer.owner.length > 0) {
    if (answer.owner === SERVICE_PRINCIPAL.userId)
      throw new UnauthenticatedError("A request cannot run as the service principal.");
    const grant: OwnerGrant = { owner: answer.owner, showOwners };
    const user = Object.freeze({ userId: answer.owner });
    return { grant, showOwners, run: (fn) => runInUserContext(user, fn) };
  }
  throw invalid(answer);
}

function invalid(answer: unknown): TypeError {
  const shape = answer === null ? "null" : Array.isArray(answer) ? "array" : typeof answer;
  return new TypeError(
    `authorize(req) must answer { owner }, { all: true }, null/undefined or false; got a ${shape}.`,
  );
}
