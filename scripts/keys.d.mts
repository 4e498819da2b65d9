// Types of scripts/keys.mjs (used by the TypeScript tests and the Deno gateway).
export interface Jwk { kty: string; kid?: string; alg?: string; [key: string]: unknown }
export const ROOT: string;
export const DEFAULT_JWT_SECRET: string;
export function jwtSecret(): string;
export function publishableKey(): string;
export function secretKey(): string;
export function signingKeysPath(): string;
export function apiUrl(): string;
export function signingKeys(): Promise<Jwk[]>;
export function publicJwks(): Promise<{ keys: Jwk[] }>;
export function postgrestJwks(): Promise<{ keys: Jwk[] }>;
export function signEs256(claims: Record<string, unknown>, ttlSeconds: number): Promise<string>;
export function roleToken(role: string, ttlSeconds?: number): Promise<string>;
export function accessToken(user: { id: string; email: string }, ttlSeconds?: number): Promise<string>;
export function legacyKey(role: string): Promise<string>;
export function stackEnv(): Promise<Record<string, string>>;
