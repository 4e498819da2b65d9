// Who is signed in: the supabase-js client for them, their id and staff roles.
import { createContext, useContext } from "react";
import type { ConsoleConfig, Db } from "./api.ts";

export interface Session {
  db: Db;
  config: ConsoleConfig;
  userId: string;
  email: string;
  roles: string[];
  signOut: () => void;
}

export const SessionContext = createContext<Session | null>(null);

export function useSession(): Session {
  const s = useContext(SessionContext);
  if (!s) throw new Error("no session");
  return s;
}

export function useDb(): Db {
  return useSession().db;
}
