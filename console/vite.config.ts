import { defineConfig } from "vite";
import react from "@vitejs/plugin-react";

// `npm run console:build` writes console/dist; scripts/console-server.mjs serves it.
export default defineConfig({
  root: import.meta.dirname,
  plugins: [react()],
  build: { outDir: "dist", emptyOutDir: true, chunkSizeWarningLimit: 1500 },
  server: { port: Number(process.env.CONSOLE_DEV_PORT ?? 5173) },
});
