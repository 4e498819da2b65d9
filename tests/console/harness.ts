// The admin console under test: built with Vite, served by scripts/console-server.mjs on
// TEST_CONSOLE_PORT against the test gateway (TEST_FUNCTIONS_PORT: /rest/v1 and /functions/v1, on
// another origin, as in production), driven by playwright-core in Debian's Chromium.
import { spawnSync, type ChildProcess } from "node:child_process";
import { existsSync, mkdirSync } from "node:fs";
import { resolve } from "node:path";
import { chromium, type Browser, type Page } from "playwright-core";
import { ROOT as root, startProcess, waitForHttp } from "../../scripts/lib/stack.mjs";
import { API_URL, TEST_PORTS } from "../support/ports.ts";

export const CONSOLE_PORT = Number(process.env.TEST_CONSOLE_PORT ?? 25434);
export const CONSOLE_URL = `http://127.0.0.1:${CONSOLE_PORT}`;
export const SCREENSHOTS = resolve(root, "test-results/screenshots");
const CHROMIUM = process.env.CHROMIUM_PATH ?? "/usr/bin/chromium";

const children: ChildProcess[] = [];

export async function startConsole(): Promise<void> {
  const build = spawnSync(resolve(root, "node_modules/.bin/vite"), ["build", "-c", "console/vite.config.ts", "--logLevel", "warn"], { cwd: root, stdio: "inherit" });
  if (build.status !== 0) throw new Error("vite build of the console failed");
  if (!existsSync(CHROMIUM)) throw new Error(`${CHROMIUM} is missing: run scripts/ensure-chromium.sh`);
  const env: Record<string, string> = { CONSOLE_PORT: String(CONSOLE_PORT), FUNCTIONS_PORT: String(TEST_PORTS.functions), CONSOLE_API_URL: API_URL };
  const server = startProcess(process.execPath, ["scripts/console-server.mjs"], env);
  children.push(server);
  await waitForHttp(`${CONSOLE_URL}/console-config.json`, { child: server });
  mkdirSync(SCREENSHOTS, { recursive: true });
}

export async function stopConsole(): Promise<void> {
  for (const c of children.splice(0)) c.kill("SIGTERM");
}

export async function launch(): Promise<Browser> {
  return await chromium.launch({ executablePath: CHROMIUM, headless: true, args: ["--no-sandbox", "--disable-dev-shm-usage"] });
}

// Signs in by picking a seeded login on the local sign-in screen.
export async function signIn(browser: Browser, email: string): Promise<Page> {
  const context = await browser.newContext({ viewport: { width: 1400, height: 900 }, acceptDownloads: true });
  const page = await context.newPage();
  page.setDefaultTimeout(10_000);
  page.on("pageerror", (err) => console.error("console page error:", err.message));
  await page.goto(CONSOLE_URL);
  await page.getByRole("button", { name: new RegExp(email.replace(/\./g, "\\.")) }).click();
  return page;
}

export async function shot(page: Page, name: string): Promise<string> {
  const path = resolve(SCREENSHOTS, `${name}.png`);
  await page.screenshot({ path, fullPage: false });
  return path;
}
