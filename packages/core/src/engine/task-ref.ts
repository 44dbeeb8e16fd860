import type { z } from "zod";
import type { SerializedError } from "../errors/taskwire-error";
import type { TaskStatus } from "../store/task-store";
import type { AnyTaskDefinition, InferTaskEvents, InferTaskResult } from "../task/define-task";

declare const taskRefBrand: unique symbol;
declare const taskIdBrand: unique symbol;

/** A registered task: returned by `taskflow.task(def)`; input, result and event types flow from it. */
export interface TaskRef<TDef extends AnyTaskDefinition = AnyTaskDefinition> {
  readonly name: string;
  readonly definition: TDef;
  readonly [taskRefBrand]: true;
}

/** A task id that remembers which task it belongs to (a plain string at run time). */
export type TaskId<TDef extends AnyTaskDefinition = AnyTaskDefinition> = string & {
  readonly [taskIdBrand]?: TDef;
};

/** A task definition or its registered ref. */
export type TaskLike<TDef extends AnyTaskDefinition = AnyTaskDefinition> = TDef | TaskRef<TDef>;

/** The definition type behind a `TaskLike`. */
export type DefinitionOf<T> = T extends TaskRef<infer D> ? D : T extends AnyTaskDefinition ? T : never;

/** A task's own (non-terminal) events, typed by its schemas. */
export type EmittedEvent<TDef extends AnyTaskDefinition> = {
  [K in keyof InferTaskEvents<TDef> & string]: {
    seq: number;
    name: K;
    data: z.output<InferTaskEvents<TDef>[K]>;
    at: Date;
  };
}[keyof InferTaskEvents<TDef> & string];

/** The payload of a `failed` terminal event. */
export interface FailedEventData {
  /** `internal`: the message was not written for users (see `SerializedError.internal`). */
  error: { code: string; message: string; internal?: true };
}

/** Terminal events: the current one ends a task's stream (a retried task has earlier ones in its history). */
export type TerminalEvent<TDef extends AnyTaskDefinition> =
  | { seq: number; name: "completed"; data: { result: InferTaskResult<TDef> }; at: Date }
  | { seq: number; name: "failed"; data: FailedEventData; at: Date }
  | { seq: number; name: "cancelled"; data: { reason: string }; at: Date };

/** The payload of a `child` bridge event: a child was created (`queued`) or settled. */
export interface ChildEventData {
  taskId: string;
  task: string;
  status: "queued" | "completed" | "failed" | "cancelled";
}

/** A `child` bridge event in a parent's stream (one when a child is created, one when it settles). */
export interface ChildEvent {
  seq: number;
  name: "child";
  data: ChildEventData;
  at: Date;
}

/** Every visible WAL event of a task, as `subscribe` yields it. */
export type TaskEvent<TDef extends AnyTaskDefinition = AnyTaskDefinition> =
  | EmittedEvent<TDef>
  | ChildEvent
  | TerminalEvent<TDef>;

/** A point-in-time view of a task. */
export interface TaskSnapshot<TDef extends AnyTaskDefinition = AnyTaskDefinition> {
  taskId: TaskId<TDef>;
  task: string;
  status: TaskStatus;
  createdAt: Date;
  updatedAt: Date;
  /** The highest visible seq (the terminal event's once finished). */
  lastSeq: number;
  attempt: number;
  owner: string;
  parentId?: string;
  cancelRequestedAt?: Date;
  result?: InferTaskResult<TDef>;
  error?: SerializedError;
}
