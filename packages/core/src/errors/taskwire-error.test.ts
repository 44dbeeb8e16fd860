import { describe, expect, expectTypeOf, it } from "vitest";
import { ErrorCode } from "./error-codes";
import {
  deserializeError,
  isTaskwireError,
  NonRetriableError,
  StoreConflictError,
  serializeError,
  TaskwireError,
} from "./taskwire-error";

describe("TaskwireError codes", () => {
  it("types code as ErrorCode, and isTaskwireError(e, code) narrows to that code", () => {
    expectTypeOf<TaskwireError["code"]>().toEqualTypeOf<ErrorCode>();
    const error: unknown = new StoreConflictError("t1", "lost");
    if (isTaskwireError(error, ErrorCode.STORE_CONFLICT)) {
      expectTypeOf(error.code).toEqualTypeOf<"STORE_CONFLICT">();
    }
    expect(isTaskwireError(error, "STORE_CONFLICT")).toBe(true);
    expect(isTaskwireError(error, "TASK_NOT_FOUND")).toBe(false);
    // @ts-expect-error a code outside the vocabulary is a compile error
    isTaskwireError(error, "STORE_CONFLCT");
  });

  it("keeps an author's own NonRetriableError code, typed as such, through serialization", () => {
    const error = new NonRetriableError("Your quota is used up.", { code: "QUOTA_EXCEEDED" });
    expectTypeOf(error.code).toEqualTypeOf<"QUOTA_EXCEEDED">();
    expect(new NonRetriableError("x").code).toBe("NON_RETRIABLE");
    const back = deserializeError(serializeError(error));
    expectTypeOf(back.code).toEqualTypeOf<string>();
    expect(back).toMatchObject({ code: "QUOTA_EXCEEDED", retriable: false, name: "NonRetriableError" });
    expect(isTaskwireError(back)).toBe(true);
    expect(back).toBeInstanceOf(TaskwireError);
  });
});
