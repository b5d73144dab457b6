import { defineConfig } from "vite";

// The inspector is served by hookscope at "/" with an SPA fallback, so asset
// URLs must be absolute. The build must be deterministic: the same sources
// produce byte-identical dist/ (CI rebuilds and diffs against the commit).
export default defineConfig({
  base: "/",
  esbuild: { jsx: "automatic", jsxImportSource: "preact" },
  build: {
    outDir: "dist",
    emptyOutDir: true,
    target: "es2020",
    sourcemap: false,
    // No inline scripts: the CSP is script-src 'self'.
    modulePreload: { polyfill: false },
    assetsInlineLimit: 0,
    reportCompressedSize: false,
  },
  server: {
    proxy: {
      "/api": { target: "http://127.0.0.1:8080", ws: true },
      "/h": "http://127.0.0.1:8080",
    },
  },
  test: { environment: "node", include: ["src/**/*.test.ts"] },
} as any);
