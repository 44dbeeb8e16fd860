/**
 * `@taskwire/inspector`: a live task inspector for Taskwire apps — an express router behind an
 * `authorize(req)` hook that serves a page (no build step) and its JSON API. See README.md.
 */

/** What `authorize(req)` answers, and the grants it can give. */
export type {
  AuthorizeInspector,
  InspectorAuthorization,
  InspectorGrant,
  OperatorGrant,
  OwnerGrant,
} from "./access/inspector-grant";
/** The header every inspector action must carry (CSRF guard). */
export { INSPECTOR_HEADER } from "./api/require-inspector-header";
/** The inspector router. */
export { createInspector, type InspectorOptions } from "./create-inspector";
