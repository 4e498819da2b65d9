// One renderer for previews and sends: {{ variable }} placeholders from a whitelist; values are
// HTML-escaped in HTML bodies. Unknown variables never reach here (refused when saved/queued).

import { MESSAGE_VARIABLES } from "../generated/constants.ts";

// The whitelist is SQL's (private.message_variables(), generated into ../generated/constants.ts).
export { MESSAGE_VARIABLES };
export type MessageVariable = (typeof MESSAGE_VARIABLES)[number];
export type Vars = Partial<Record<MessageVariable, string>>;

const PLACEHOLDER = /\{\{\s*([^{}]*?)\s*\}\}/g;

export function escapeHtml(value: string): string {
  return value
    .replace(/&/g, "&amp;")
    .replace(/</g, "&lt;")
    .replace(/>/g, "&gt;")
    .replace(/"/g, "&quot;")
    .replace(/'/g, "&#39;");
}

export function variablesUsed(text: string | null | undefined): string[] {
  const used = new Set<string>();
  for (const m of (text ?? "").matchAll(PLACEHOLDER)) used.add(m[1]);
  return [...used];
}

export function render(text: string, vars: Vars, opts: { html?: boolean } = {}): string {
  return text.replace(PLACEHOLDER, (_all, name: string) => {
    const value = vars[name as MessageVariable] ?? "";
    return opts.html ? escapeHtml(value) : value;
  });
}

// Rewrites placeholders to SendGrid substitution keys ({{name}} in text, {{name__html}} in HTML),
// so one request carries the content once and each personalization carries its values.
export function toSubstitutionTemplate(text: string, opts: { html?: boolean } = {}): string {
  return text.replace(PLACEHOLDER, (_all, name: string) => `{{${name}${opts.html ? "__html" : ""}}}`);
}

export function substitutions(vars: Vars): Record<string, string> {
  const out: Record<string, string> = {};
  for (const name of MESSAGE_VARIABLES) {
    const value = vars[name] ?? "";
    out[name] = value;
    out[`${name}__html`] = escapeHtml(value);
  }
  return out;
}
