import type { Prng } from "../crash/prng";
import type { Cluster } from "./cluster";
import { type HttpAnswer, pick, request, requestAnyNode, sleep } from "./http";
import { type ClientReport, runSseClient } from "./sse-client";
import { PARENT_TASK, type ParentInput, PLAIN_TASK, type PlainInput, SIGNAL_NAME } from "./tasks";

/** The users that own tasks; probes also ask as `mallory`, who owns nothing. */
export const OWNERS = ["alice", "bob", "carol"] as const;
const STRANGER = "mallory";

/** The driver's knobs (see `harness.ts` for the defaults). */
export interface DriverSettings {
  /** Tasks in flight at once (each lane starts a task, follows it to the end, starts the next). */
  lanes: number;
  /** Chance that a started task is a parent (flow) rather than a plain task. */
  parentChance: number;
  /** Duration of each step body, in ms. */
  stepMs: readonly [number, number];
  /** When the signal is sent after the parent's start, in ms (early ones arrive before it waits). */
  signalDelayMs: readonly [number, number];
  /** Chance that a signal is sent a second time with the same Idempotency-Key. */
  signalTwiceChance: number;
  /** Chance that a connection is dropped by its client, and after how long. */
  dropChance: number;
  dropAfterMs: readonly [number, number];
  /** Chance that a task gets a second, concurrent client; that a child gets a client of its own. */
  secondClientChance: number;
  childClientChance: number;
  /** Pause between two non-owner probes, in ms. */
  probeEveryMs: readonly [number, number];
}

/** One logical start (`POST /api/tasks/:name` with an Idempotency-Key, retried across nodes). */
export interface StartRecord {
  key: string;
  name: string;
  owner: string;
  input: PlainInput | ParentInput;
  taskId?: string;
  answer?: HttpAnswer;
}

/** One logical signal to a parent, and the answers of its sends (one or two). */
export interface SignalRecord {
  taskId: string;
  owner: string;
  key: string;
  token: string;
  answers: Array<HttpAnswer | undefined>;
}

/** What the non-owner probes saw. */
export interface ProbeReport {
  requests: number;
  notFound: number;
  networkErrors: number;
  /** Any answer to a non-owner other than 404 (or a network error). */
  leaks: string[];
  /** `GET /api/tasks` as a user: every id listed (checked against the owners in the database). */
  listed: Array<{ user: string; taskIds: string[] }>;
}

/** Everything the driver did. */
export interface DriverReport {
  starts: StartRecord[];
  signals: SignalRecord[];
  clients: ClientReport[];
  probes: ProbeReport;
  /** Problems of the driver itself (a start that never got an answer, …). */
  problems: string[];
}

interface KnownTask {
  taskId: string;
  owner: string;
  parent: boolean;
}

/**
 * Drives the cluster over HTTP as three users: `lanes` loops each start a task on a random node (plain
 * or parent), follow it with an SSE client (sometimes two; a parent's children sometimes get their own),
 * signal parents at random times (sometimes twice with one Idempotency-Key), and start the next once it
 * finished. Meanwhile a prober asks, as another user, for the snapshot, the stream and (for parents) a
 * signal of someone else's task, which must all answer 404.
 */
export class Driver {
  readonly report: DriverReport = {
    starts: [],
    signals: [],
    clients: [],
    probes: { requests: 0, notFound: 0, networkErrors: 0, leaks: [], listed: [] },
    problems: [],
  };
  #known: KnownTask[] = [];
  #pending = new Set<Promise<unknown>>();
  #counter = 0;

  constructor(
    private readonly cluster: Cluster,
    private readonly rng: Prng,
    private readonly settings: DriverSettings,
    private readonly runId: string,
  ) {}

  /**
   * Runs the lanes until `stopStartingAt` (no task is started after it), then waits for every task
   * started to be followed to its end, or for `deadline`. Probes run until every lane is done.
   */
  async run(stopStartingAt: number, deadline: number): Promise<DriverReport> {
    let lanesDone = false;
    const prober = this.#probe(() => lanesDone, deadline);
    const lanes = Array.from({ length: this.settings.lanes }, () => this.#lane(stopStartingAt, deadline));
    await Promise.all(lanes);
    while (this.#pending.size > 0) await Promise.all([...this.#pending]);
    lanesDone = true;
    await prober;
    return this.report;
  }

  async #lane(stopStartingAt: number, deadline: number): Promise<void> {
    while (Date.now() < stopStartingAt) {
      const parent = this.rng.next() < this.settings.parentChance;
      const start = await this.#start(parent, deadline);
      if (!start?.taskId) continue;
      const { taskId, owner } = start;
      const jobs: Array<Promise<unknown>> = [this.#follow(taskId, owner, parent, deadline)];
      if (this.rng.next() < this.settings.secondClientChance)
        jobs.push(this.#follow(taskId, owner, false, deadline));
      if (parent) jobs.push(this.#signal(taskId, owner, deadline));
      await Promise.all(jobs);
    }
  }

  async #start(parent: boolean, deadline: number): Promise<StartRecord | undefined> {
    const n = this.#counter++;
    const owner = pick(this.rng, OWNERS) ?? "alice";
    const ms = this.rng.int(this.settings.stepMs[0], this.settings.stepMs[1]);
    const input = parent ? { n, width: this.rng.int(1, 3), ms } : { n, steps: this.rng.int(2, 5), ms };
    const record: StartRecord = {
      key: `${this.runId}-${n}`,
      name: parent ? PARENT_TASK : PLAIN_TASK,
      owner,
      input,
    };
    this.report.starts.push(record);
    const answer = await requestAnyNode(
      this.cluster,
      this.rng,
      `/api/tasks/${record.name}`,
      { user: owner, method: "POST", body: input, headers: { "idempotency-key": record.key } },
      deadline,
    );
    record.answer = answer;
    const taskId = (answer?.body as { taskId?: unknown } | undefined)?.taskId;
    if (answer?.status !== 202 || typeof taskId !== "string") {
      this.report.problems.push(
        `start ${record.key} (${record.name} as ${owner}) answered ${answer ? `${answer.status} ${JSON.stringify(answer.body)}` : "nothing before the deadline"}`,
      );
      return record;
    }
    record.taskId = taskId;
    this.#known.push({ taskId, owner, parent });
    return record;
  }

  /** Follows one task with an SSE client; a parent's `child` frames may start clients for its children. */
  async #follow(taskId: string, owner: string, parent: boolean, deadline: number): Promise<void> {
    const report = await runSseClient(
      {
        cluster: this.cluster,
        rng: this.rng,
        taskId,
        owner,
        dropChance: this.settings.dropChance,
        dropAfterMs: this.settings.dropAfterMs,
        check204Chance: 0.3,
        onFrame: (frame) => {
          if (!parent || frame.name !== "child") return;
          const data = frame.data as { taskId?: unknown; status?: unknown };
          if (data.status !== "queued" || typeof data.taskId !== "string") return;
          this.#known.push({ taskId: data.taskId, owner, parent: false });
          if (this.rng.next() < this.settings.childClientChance)
            this.#track(this.#follow(data.taskId, owner, false, deadline));
        },
      },
      deadline,
    );
    this.report.clients.push(report);
  }

  /** Signals `go` once (retried across nodes under one Idempotency-Key), sometimes twice. */
  async #signal(taskId: string, owner: string, deadline: number): Promise<void> {
    const record: SignalRecord = {
      taskId,
      owner,
      key: `sig-${taskId}`,
      token: `tok-${taskId.slice(-12)}`,
      answers: [],
    };
    this.report.signals.push(record);
    const sends = this.rng.next() < this.settings.signalTwiceChance ? 2 : 1;
    for (let i = 0; i < sends; i++) {
      await sleep(this.rng.int(this.settings.signalDelayMs[0], this.settings.signalDelayMs[1]) / (i + 1));
      record.answers.push(
        await requestAnyNode(
          this.cluster,
          this.rng,
          `/api/tasks/${encodeURIComponent(taskId)}/signals/${SIGNAL_NAME}`,
          {
            user: owner,
            method: "POST",
            body: { token: record.token },
            headers: { "idempotency-key": record.key },
          },
          deadline,
        ),
      );
    }
  }

  /** Non-owner probes until `done()`: each must answer 404, whatever node and whatever the task's state. */
  async #probe(done: () => boolean, deadline: number): Promise<void> {
    const probes = this.report.probes;
    let round = 0;
    while (!done() && Date.now() < deadline) {
      await sleep(this.rng.int(this.settings.probeEveryMs[0], this.settings.probeEveryMs[1]));
      const target = pick(this.rng, this.#known);
      const node = pick(this.rng, this.cluster.live());
      if (!target || !node?.url) continue;
      const user =
        pick(
          this.rng,
          [...OWNERS, STRANGER].filter((u) => u !== target.owner),
        ) ?? STRANGER;
      const id = encodeURIComponent(target.taskId);
      const asks: Array<[string, Parameters<typeof request>[2]]> = [
        [`/api/tasks/${id}`, { user }],
        [`/api/tasks/${id}/events`, { user, headers: { accept: "text/event-stream" } }],
      ];
      if (target.parent)
        asks.push([
          `/api/tasks/${id}/signals/${SIGNAL_NAME}`,
          {
            user,
            method: "POST",
            body: { token: "stolen" },
            headers: { "idempotency-key": `probe-${round}` },
          },
        ]);
      round += 1;
      for (const [path, req] of asks) {
        probes.requests += 1;
        try {
          const answer = await request(node.url, path, { ...req, timeoutMs: 3000 });
          if (answer.status === 404) probes.notFound += 1;
          else if (answer.status !== 503)
            probes.leaks.push(
              `${user} got ${answer.status} from ${node.name} for ${req.method ?? "GET"} ${path} (owner ${target.owner}): ${JSON.stringify(answer.body).slice(0, 200)}`,
            );
        } catch {
          probes.networkErrors += 1;
        }
      }
      if (round % 4 === 0) {
        try {
          const answer = await request(node.url, "/api/tasks?limit=50", { user, timeoutMs: 3000 });
          const tasks = (answer.body as { tasks?: Array<{ taskId: string }> } | undefined)?.tasks;
          if (answer.status === 200 && tasks)
            probes.listed.push({ user, taskIds: tasks.map((t) => t.taskId) });
        } catch {
          probes.networkErrors += 1;
        }
      }
    }
  }

  #track(job: Promise<unknown>): void {
    this.#pending.add(job);
    void job.finally(() => this.#pending.delete(job));
  }
}
