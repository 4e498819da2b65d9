// Small helpers for the Deno scripts (Deno's std library is not reachable here).

export function fromFileUrl(url: URL): string {
  return decodeURIComponent(url.pathname).replace(/\/$/, "");
}

// Loads KEY=VALUE lines; values already in the environment win.
export function loadDotEnv(path: string): void {
  let text: string;
  try {
    text = Deno.readTextFileSync(path);
  } catch {
    return;
  }
  for (const line of text.split(/\r?\n/)) {
    const m = /^\s*([A-Za-z_][A-Za-z0-9_]*)\s*=\s*(.*)\s*$/.exec(line);
    if (!m || line.trimStart().startsWith("#")) continue;
    let value = m[2];
    if (/^(["']).*\1$/.test(value)) value = value.slice(1, -1);
    if (Deno.env.get(m[1]) === undefined) Deno.env.set(m[1], value);
  }
}
