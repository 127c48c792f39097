import { useI18n } from 'vue-i18n'
import { ApiError } from './api.js'

/**
 * A failed call as a sentence in the chosen language: the API's error code or HTTP status
 * translated, then the gateway's own message (which names the field or limit at fault).
 */
export function useErrorText() {
  const { t, te } = useI18n()
  return (error) => {
    if (error?.name === 'AbortError') return t('errors.aborted')
    if (!(error instanceof ApiError)) return t('errors.network')
    const key = [`errors.code.${error.code}`, `errors.status.${error.status}`].find((k) => te(k)) || 'errors.status.other'
    return `${t(key, { status: error.status })} (${error.message})`
  }
}
