// Types of scripts/lib/stack.mjs (used by the TypeScript tests).
import type { ChildProcess, IOType } from "node:child_process";

export const ROOT: string;
export function startProcess(command: string, args: string[], env?: Record<string, string>, opts?: { stdout?: IOType }): ChildProcess;
export function startDeno(script: string, args?: string[], env?: Record<string, string>, opts?: { stdout?: IOType; allowWrite?: string }): ChildProcess;
export function startPostgrest(port: number, env?: Record<string, string>, opts?: { stdout?: IOType }): ChildProcess;
export function waitForHttp(url: string, opts?: { timeoutMs?: number; ok?: boolean; stepMs?: number; child?: ChildProcess }): Promise<void>;
export function exited(child: ChildProcess): Promise<number | null>;
