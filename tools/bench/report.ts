/**
 * Rows of the benchmark table: our figure, the raw limit measured in the same run, their ratio and the
 * target the ratio (or the figure itself) is held to.
 */

/** A target: `ratio` (ours ÷ limit) or `value` (ours) compared with `value` by `op`. */
export interface Target {
  on: "ratio" | "value";
  op: ">=" | "<=";
  value: number;
}

/** One line of the table (and of the JSON file). */
export interface Row {
  /** Section that measured it (`--only` name). */
  section: string;
  /** Stable key, independent of sizes (the smoke test checks every one is present). */
  id: string;
  /** What was measured, with sizes. */
  scenario: string;
  /** Our figure (median over repeats). */
  ours: number;
  unit: string;
  /** What the limit is (a hand-written floor, a bare server, a raw read …); absent on context rows. */
  limitLabel?: string;
  /** The limit's figure, same unit, measured in the same run. */
  limit?: number;
  /** ours ÷ limit (for latencies and times lower is better). */
  ratio?: number;
  target?: Target;
  /** Whether the target is met; absent without a target. */
  met?: boolean;
}

/** What a row is built from. */
export interface RowInput {
  id: string;
  scenario: string;
  ours: number;
  unit: string;
  limit?: { label: string; value: number };
  target?: Target;
  /** A ratio computed elsewhere (e.g. the median of paired ratios), instead of ours ÷ limit. */
  ratio?: number;
}

/** Builds a row of `section`: computes the ratio and whether the target is met. */
export function row(section: string, input: RowInput): Row {
  const ratio = input.ratio ?? (input.limit ? input.ours / input.limit.value : undefined);
  const out: Row = {
    section,
    id: `${section}.${input.id}`,
    scenario: input.scenario,
    ours: input.ours,
    unit: input.unit,
  };
  if (input.limit) {
    out.limitLabel = input.limit.label;
    out.limit = input.limit.value;
  }
  if (ratio !== undefined) out.ratio = ratio;
  if (input.target) {
    const subject = input.target.on === "ratio" ? ratio : input.ours;
    out.target = input.target;
    out.met =
      subject !== undefined &&
      Number.isFinite(subject) &&
      (input.target.op === ">=" ? subject >= input.target.value : subject <= input.target.value);
  }
  return out;
}

function formatValue(value: number, unit: string): string {
  if (!Number.isFinite(value)) return `${value} ${unit}`;
  const abs = Math.abs(value);
  const text =
    abs >= 100
      ? Math.round(value).toLocaleString("en-US")
      : abs >= 10
        ? value.toFixed(1)
        : abs >= 1
          ? value.toFixed(2)
          : value.toFixed(3);
  return `${text} ${unit}`;
}

function formatTarget(target: Target | undefined): string {
  if (!target) return "";
  const op = target.op === ">=" ? "≥" : "≤";
  return target.on === "ratio" ? `${op} ${target.value}×` : `${op} ${target.value}`;
}

/** The table as text lines: one block per section, columns aligned. */
export function formatTable(rows: readonly Row[]): string[] {
  const header = ["scenario", "ours", "limit", "limit is", "ratio", "target", ""];
  const cells = rows.map((r) => [
    r.scenario,
    formatValue(r.ours, r.unit),
    r.limit === undefined ? "" : formatValue(r.limit, r.unit),
    r.limitLabel ?? "",
    r.ratio === undefined ? "" : `${r.ratio.toFixed(2)}×`,
    formatTarget(r.target),
    r.met === undefined ? "" : r.met ? "MET" : "NOT MET",
  ]);
  const widths = header.map((h, i) => Math.max(h.length, ...cells.map((c) => (c[i] ?? "").length)));
  const right = new Set([1, 2, 4]);
  const line = (c: readonly string[]) =>
    c
      .map((cell, i) => (right.has(i) ? cell.padStart(widths[i]!) : cell.padEnd(widths[i]!)))
      .join("  ")
      .trimEnd();
  const out = [line(header), line(widths.map((w) => "-".repeat(w)))];
  let section = "";
  rows.forEach((r, i) => {
    if (r.section !== section) {
      section = r.section;
      out.push(`[${section}]`);
    }
    out.push(line(cells[i]!));
  });
  return out;
}
