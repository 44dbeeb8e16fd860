import Table from "cli-table3";

/** Narrowest layout: tables fit 80 columns; a wider terminal gives its extra width to the flexible column. */
export const MIN_WIDTH = 80;

const NO_BORDERS = Object.fromEntries(
  [
    "top",
    "top-mid",
    "top-left",
    "top-right",
    "bottom",
    "bottom-mid",
    "bottom-left",
    "bottom-right",
    "left",
    "left-mid",
    "mid",
    "mid-mid",
    "right",
    "right-mid",
    "middle",
  ].map((name) => [name, ""]),
);

/** A column: its header, and its width including the two-space gap (`undefined`: takes the rest). */
export interface Column {
  head: string;
  width?: number;
}

/**
 * A borderless table (columns two spaces apart, no colours) laid out by cli-table3: fixed widths, the one
 * flexible column takes what is left of `width`, and long cells wrap inside their column (ids too).
 * `head: false` leaves the header row out (a streamed row under an earlier header).
 */
export function renderTable(
  columns: readonly Column[],
  rows: readonly string[][],
  width: number,
  options: { head?: boolean } = {},
): string {
  const fixed = columns.reduce((sum, c) => sum + (c.width ?? 0), 0);
  // The flexible column takes what is left, but never less than its longest cell (up to 40): a task name
  // broken over two lines reads worse than a line a few columns past 80.
  const index = columns.findIndex((c) => c.width === undefined);
  const longest = Math.max(columns[index]?.head.length ?? 0, ...rows.map((row) => row[index]?.length ?? 0));
  const flexible = Math.max(8, Math.max(width, MIN_WIDTH) - fixed, Math.min(longest + 2, 40));
  const table = new Table({
    head: options.head === false ? [] : columns.map((c) => c.head),
    colWidths: columns.map((c) => c.width ?? flexible),
    chars: NO_BORDERS,
    style: { head: [], border: [], "padding-left": 0, "padding-right": 2 },
    wordWrap: true,
    wrapOnWordBoundary: false,
  });
  table.push(...rows);
  return trimLines(table.toString());
}

/** A two-column `field  value` table (the record of `tasks show`); values wrap past `width`. */
export function renderFields(fields: ReadonlyArray<[string, string]>, width: number): string {
  const keyWidth = Math.max(...fields.map(([key]) => key.length)) + 2;
  const table = new Table({
    colWidths: [keyWidth, Math.max(20, Math.max(width, MIN_WIDTH) - keyWidth)],
    chars: NO_BORDERS,
    style: { head: [], border: [], "padding-left": 0, "padding-right": 2 },
    wordWrap: true,
    wrapOnWordBoundary: false,
  });
  table.push(...fields.map(([key, value]) => [key, value]));
  return trimLines(table.toString());
}

/** cli-table3 pads the last column too; trailing blanks only make copied lines dirty. */
function trimLines(text: string): string {
  return text
    .split("\n")
    .map((line) => line.trimEnd())
    .join("\n");
}
