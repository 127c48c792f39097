import { fileURLToPath } from 'node:url'
import { defineConfig } from 'vite'
import vue from '@vitejs/plugin-vue'

// Output outside the source tree (ignored, never committed); the gateway serves it from
// TIANSHU_CONSOLE_DIR. CONSOLE_OUT_DIR moves it (the gateway image builds into /out).
const out = process.env.CONSOLE_OUT_DIR || fileURLToPath(new URL('../build/console', import.meta.url))

export default defineConfig({
  plugins: [vue()],
  define: {
    // Composition API only, no devtools hooks in production: smaller bundles.
    __VUE_OPTIONS_API__: 'false',
    __VUE_PROD_DEVTOOLS__: 'false',
    __VUE_PROD_HYDRATION_MISMATCH_DETAILS__: 'false',
    __VUE_I18N_FULL_INSTALL__: 'false',
    __VUE_I18N_LEGACY_API__: 'false',
    __INTLIFY_PROD_DEVTOOLS__: 'false',
  },
  // `npm run dev`: live reload against a running gateway (make run), the API proxied to it.
  server: {
    proxy: { '/v1': process.env.CONSOLE_GATEWAY || 'http://localhost:8080' },
  },
  build: {
    outDir: out,
    emptyOutDir: true,
    // Every file under assets/ has a content hash in its name: the gateway caches them for a year.
    assetsDir: 'assets',
    // The module preload polyfill would be an inline script, which the page's CSP refuses.
    modulePreload: { polyfill: false },
    target: 'es2022',
    chunkSizeWarningLimit: 600,
  },
})
