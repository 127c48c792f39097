// Who is signed in. The key lives in sessionStorage only (gone when the tab closes), never in
// a URL, a log line or localStorage.
import { reactive } from 'vue'
import { api } from './api.js'

const STORAGE = 'tianshu.key'

// notice: why the last session ended ('expired' when the gateway stopped accepting its key).
export const session = reactive({ token: '', me: null, notice: null })

/** Pages and the scope each needs; admin is not a superset of the others (Scope.java). */
export const PAGES = [
  { name: 'playground', scope: 'chat' },
  { name: 'knowledge', scope: 'rag:read' },
  { name: 'batches', scope: 'batch' },
  { name: 'admin', scope: 'admin' },
]

export function hasScope(scope) {
  return Boolean(session.me?.scopes?.includes(scope))
}

export function visiblePages() {
  return PAGES.filter((page) => hasScope(page.scope))
}

/** Checks the key against /v1/me and keeps it; throws the API's error when it is refused. */
export async function signIn(token) {
  const me = await api('/v1/me', { token })
  sessionStorage.setItem(STORAGE, token)
  Object.assign(session, { token, me, notice: null })
  return me
}

export function signOut() {
  sessionStorage.removeItem(STORAGE)
  Object.assign(session, { token: '', me: null })
}

/** After a reload: the tab's key, if it still works. */
export async function restoreSession() {
  const token = sessionStorage.getItem(STORAGE)
  if (!token) return
  try {
    await signIn(token)
  } catch {
    signOut()
  }
}
