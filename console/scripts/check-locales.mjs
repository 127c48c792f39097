// Fails when the two locale files do not hold the same keys (run by the build).
import { readFileSync } from 'node:fs'

const read = (name) => JSON.parse(readFileSync(new URL(`../src/locales/${name}.json`, import.meta.url)))
const keys = (tree, prefix = '') => Object.entries(tree).flatMap(([key, value]) =>
  typeof value === 'object' ? keys(value, `${prefix}${key}.`) : [`${prefix}${key}`])
const en = new Set(keys(read('en')))
const zh = new Set(keys(read('zh')))
const onlyEn = [...en].filter((key) => !zh.has(key))
const onlyZh = [...zh].filter((key) => !en.has(key))
if (onlyEn.length || onlyZh.length) {
  console.error(`locale keys differ:\n  only in en: ${onlyEn.join(', ') || '-'}\n  only in zh: ${onlyZh.join(', ') || '-'}`)
  process.exit(1)
}
console.log(`locales: ${en.size} keys in en and zh`)
