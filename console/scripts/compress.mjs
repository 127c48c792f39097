// Writes .br and .gz beside every script, stylesheet and SVG of the build, so the gateway sends
// them compressed without compressing on each request (java-gateway console/ConsoleConfig).
import { readdirSync, readFileSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { brotliCompressSync, gzipSync, constants } from 'node:zlib'

const out = process.env.CONSOLE_OUT_DIR || fileURLToPath(new URL('../../build/console', import.meta.url))
const assets = join(out, 'assets')
for (const name of readdirSync(assets)) {
  if (!/\.(js|css|svg|json)$/.test(name)) continue
  const data = readFileSync(join(assets, name))
  writeFileSync(join(assets, `${name}.gz`), gzipSync(data, { level: 9 }))
  writeFileSync(join(assets, `${name}.br`), brotliCompressSync(data, {
    params: { [constants.BROTLI_PARAM_QUALITY]: 11, [constants.BROTLI_PARAM_SIZE_HINT]: data.length },
  }))
}
