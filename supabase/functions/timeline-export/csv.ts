// CSV per RFC 4180 (CRLF line ends, fields quoted when they hold a comma, quote, CR or LF),
// with cells neutralised against formula injection: a cell that a spreadsheet would read as a
// formula (leading =, +, -, @, tab or CR) gets a leading apostrophe, as OWASP recommends.

export const TIMELINE_CSV_COLUMNS = ["id", "occurred_at", "day", "event_type", "reference_id", "title", "metadata"] as const;

export interface TimelineEvent {
  id: string;
  occurred_at: string;
  day: string;
  event_type: string;
  reference_id: string | null;
  title: string;
  metadata: Record<string, unknown>;
}

const FORMULA_START = /^[=+\-@\t\r]/;
const NEEDS_QUOTES = /[",\r\n]/;

export function neutralise(cell: string): string {
  return FORMULA_START.test(cell) ? `'${cell}` : cell;
}

export function csvCell(value: string | null | undefined): string {
  const cell = neutralise(value ?? "");
  return NEEDS_QUOTES.test(cell) ? `"${cell.replaceAll('"', '""')}"` : cell;
}

export function csvLine(cells: Array<string | null | undefined>): string {
  return cells.map(csvCell).join(",") + "\r\n";
}

export function csvHeader(): string {
  return csvLine([...TIMELINE_CSV_COLUMNS]);
}

export function csvEvent(e: TimelineEvent): string {
  return csvLine([e.id, e.occurred_at, e.day, e.event_type, e.reference_id, e.title, JSON.stringify(e.metadata)]);
}
