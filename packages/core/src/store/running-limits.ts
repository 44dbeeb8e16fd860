/**
 * Caps on how many tasks *run* at once (status `running` under a lease that has not expired), checked by
 * `claimTasks` atomically with the claim. Unlike `maxActivePerOwner` (a start-time cap on queued, running,
 * retrying and waiting tasks), a task over these caps is still accepted: it waits in the queue until a
 * slot frees. Every node sharing a store must pass the same limits.
 */
export interface RunningLimits {
  /** Running tasks across all names and owners. @default no cap */
  max?: number;
  /** Running tasks of one owner, across names. @default no cap */
  perOwner?: number;
  /** Per task name: `max` running of that name, `perOwner` running of that name for one owner. */
  byName?: Readonly<Record<string, TaskConcurrency>>;
}

/** A task's own running caps (`defineTask({ concurrency })`). */
export interface TaskConcurrency {
  /** Running tasks of this name across owners. @default no cap */
  max?: number;
  /** Running tasks of this name for one owner. @default no cap */
  perOwner?: number;
}

/** What a cap is counted by: a claim candidate or a running task. */
export interface RunningKey {
  name: string;
  owner: string;
}

/**
 * Separates name and owner in {@link CandidateQuery.pairs}. Task names cannot contain it (they match
 * `TASK_NAME_PATTERN`), so `name + SEP + owner` is unambiguous whatever the owner id holds.
 */
export const PAIR_SEPARATOR = "\u001f";

/** One read of claim candidates in claim order, leaving out what a cap already blocks. */
export interface CandidateQuery {
  /** Task names still open (registered by the claimer, their `max` not reached). */
  names: string[];
  /** Owners at `perOwner`: none of their tasks can run. */
  owners: string[];
  /** `name` + {@link PAIR_SEPARATOR} + `owner` at that name's `perOwner`. */
  pairs: string[];
  /** Candidates already admitted by an earlier round (not claimed yet, so still claimable rows). */
  ids: string[];
  limit: number;
}

/** Whether any cap is set. */
export function hasRunningLimits(limits: RunningLimits | undefined): limits is RunningLimits {
  if (!limits) return false;
  if (limits.max !== undefined || limits.perOwner !== undefined) return true;
  return Object.values(limits.byName ?? {}).some((c) => c.max !== undefined || c.perOwner !== undefined);
}

/** Whether a task of `name` is subject to a cap (then it must not skip the claim, e.g. by a local fast path). */
export function isRunningLimited(limits: RunningLimits | undefined, name: string): boolean {
  if (!limits) return false;
  const own = limits.byName?.[name];
  return (
    limits.max !== undefined ||
    limits.perOwner !== undefined ||
    own?.max !== undefined ||
    own?.perOwner !== undefined
  );
}

/** Counts of running tasks against the caps; admits candidates one by one and counts them in. */
export class RunningSlots {
  #total = 0;
  readonly #owners = new Map<string, number>();
  readonly #names = new Map<string, number>();
  readonly #pairs = new Map<string, number>();

  constructor(
    readonly limits: RunningLimits,
    running: Iterable<RunningKey>,
  ) {
    for (const key of running) this.#add(key);
  }

  /** How many more tasks may run at all. */
  get remaining(): number {
    return this.limits.max === undefined
      ? Number.POSITIVE_INFINITY
      : Math.max(0, this.limits.max - this.#total);
  }

  /** Admits `key` when no cap is reached, and counts it. */
  admit(key: RunningKey): boolean {
    const own = this.limits.byName?.[key.name];
    const pair = key.name + PAIR_SEPARATOR + key.owner;
    if (
      this.remaining <= 0 ||
      reached(this.#owners.get(key.owner), this.limits.perOwner) ||
      reached(this.#names.get(key.name), own?.max) ||
      reached(this.#pairs.get(pair), own?.perOwner)
    )
      return false;
    this.#add(key);
    return true;
  }

  /** The next candidate query for a claimer of `names`, or undefined when nothing more can run. */
  query(names: readonly string[], ids: string[], limit: number): CandidateQuery | undefined {
    const want = Math.min(limit, this.remaining);
    const open = names.filter((n) => !reached(this.#names.get(n), this.limits.byName?.[n]?.max));
    if (want <= 0 || open.length === 0) return undefined;
    const owners = [...this.#owners].filter(([, n]) => reached(n, this.limits.perOwner)).map(([o]) => o);
    const pairs = [...this.#pairs]
      .filter(([p, n]) => reached(n, this.limits.byName?.[p.slice(0, p.indexOf(PAIR_SEPARATOR))]?.perOwner))
      .map(([p]) => p);
    return { names: open, owners, pairs, ids, limit: want };
  }

  #add(key: RunningKey): void {
    this.#total++;
    bump(this.#owners, key.owner);
    bump(this.#names, key.name);
    bump(this.#pairs, key.name + PAIR_SEPARATOR + key.owner);
  }
}

/** At most this many candidate reads per claim; each read after the first follows a newly reached cap. */
const MAX_ROUNDS = 16;

/**
 * Plans one claim under running caps: yields candidate queries, to be answered (`next(rows)`) with rows in
 * claim order, and returns the admitted rows, in order, for the caller to claim in the same atomic unit.
 * A read stops at its limit; a candidate refused by a cap reached within this claim adds that owner, name
 * or pair to the next read's exclusions, so a busy owner never hides the others' tasks.
 *
 * @example
 * const plan = planLimitedClaim(slots, names, limit);
 * let step = plan.next();
 * while (!step.done) step = plan.next(readCandidates(step.value));
 */
export function* planLimitedClaim<T extends RunningKey & { id: string }>(
  slots: RunningSlots,
  names: readonly string[],
  limit: number,
): Generator<CandidateQuery, T[], T[]> {
  const admitted: T[] = [];
  for (let round = 0; round < MAX_ROUNDS; round++) {
    const query = slots.query(
      names,
      admitted.map((t) => t.id),
      limit - admitted.length,
    );
    if (!query) break;
    const rows = yield query;
    for (const row of rows) if (admitted.length < limit && slots.admit(row)) admitted.push(row);
    if (rows.length < query.limit) break; // read to the end: nothing more to find
  }
  return admitted;
}

function reached(count: number | undefined, cap: number | undefined): boolean {
  return cap !== undefined && (count ?? 0) >= cap;
}

function bump(map: Map<string, number>, key: string): void {
  map.set(key, (map.get(key) ?? 0) + 1);
}
