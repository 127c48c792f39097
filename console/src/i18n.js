import { createI18n } from 'vue-i18n'
import en from './locales/en.json'
import zh from './locales/zh.json'

const STORAGE = 'tianshu.locale'
export const LOCALES = ['en', 'zh-CN']

/** The stored choice, else the browser's first language that is Chinese or English. */
function detect() {
  const stored = localStorage.getItem(STORAGE)
  if (LOCALES.includes(stored)) return stored
  for (const language of navigator.languages || [navigator.language]) {
    if (/^zh\b/i.test(language)) return 'zh-CN'
    if (/^en\b/i.test(language)) return 'en'
  }
  return 'en'
}

/**
 * Every key a page asked for that the current locale lacks, as "locale:key". The browser
 * tests read it (window.tianshuMissingMessages) after walking every page.
 */
export const missing = []
window.tianshuMissingMessages = missing

const dateTime = {
  short: { year: 'numeric', month: 'short', day: 'numeric', hour: '2-digit', minute: '2-digit' },
  day: { month: 'short', day: 'numeric' },
}
const numbers = {
  integer: { maximumFractionDigits: 0 },
  decimal: { maximumFractionDigits: 2 },
  percent: { style: 'percent', maximumFractionDigits: 0 },
}

export const i18n = createI18n({
  legacy: false,
  locale: detect(),
  fallbackLocale: false,
  messages: { en, 'zh-CN': zh },
  datetimeFormats: { en: dateTime, 'zh-CN': dateTime },
  numberFormats: { en: numbers, 'zh-CN': numbers },
  missingWarn: false,
  fallbackWarn: false,
  missing: (locale, key) => {
    missing.push(`${locale}:${key}`)
  },
})

export function setLocale(locale) {
  i18n.global.locale.value = locale
  localStorage.setItem(STORAGE, locale)
  document.documentElement.lang = locale
}
document.documentElement.lang = i18n.global.locale.value
