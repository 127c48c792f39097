// The console's only way to the gateway: its public REST API with the signed-in key.
import { session } from './session.js'

/** An error answer of the API, in OpenAI's shape: { error: { message, type, code, param } }. */
export class ApiError extends Error {
  constructor(status, body) {
    super(body?.error?.message || `HTTP ${status}`)
    this.status = status
    this.code = body?.error?.code || null
    this.type = body?.error?.type || null
  }
}

/**
 * Calls the API with the session's key (or `token`). `json` or `form` is the body; `raw`
 * returns the Response itself (streams, file downloads). Throws ApiError on an error status.
 */
export async function api(path, { method = 'GET', json, form, signal, token = session.token, raw = false } = {}) {
  const headers = { Authorization: `Bearer ${token}` }
  let body
  if (json !== undefined) {
    headers['Content-Type'] = 'application/json'
    body = JSON.stringify(json)
  } else if (form) {
    body = form
  }
  const response = await fetch(path, { method, headers, body, signal, cache: 'no-store' })
  if (!response.ok) {
    let error = null
    try {
      error = await response.json()
    } catch {
      // not JSON: the status alone says what happened
    }
    // The signed-in key stopped working (revoked, expired): the console signs out (App.vue).
    if (response.status === 401 && token === session.token) session.notice = 'expired'
    throw new ApiError(response.status, error)
  }
  if (raw) return response
  return response.status === 204 ? null : response.json()
}

/**
 * The server-sent events of a streaming response as they arrive, as { event, data } with data
 * parsed when it is JSON. Nothing is buffered beyond the current event.
 */
export async function* serverEvents(response) {
  const reader = response.body.pipeThrough(new TextDecoderStream()).getReader()
  let buffer = ''
  for (;;) {
    const { value, done } = await reader.read()
    if (done) break
    buffer += value
    let end
    while ((end = buffer.search(/\r?\n\r?\n/)) >= 0) {
      const block = buffer.slice(0, end)
      buffer = buffer.slice(end).replace(/^\r?\n\r?\n/, '')
      let event = 'message'
      const data = []
      for (const line of block.split(/\r?\n/)) {
        if (line.startsWith('event:')) event = line.slice(6).trim()
        else if (line.startsWith('data:')) data.push(line.slice(5).replace(/^ /, ''))
      }
      if (!data.length) continue
      const text = data.join('\n')
      let parsed = text
      try {
        parsed = JSON.parse(text)
      } catch {
        // "[DONE]" and other plain data stay text
      }
      yield { event, data: parsed }
    }
  }
}

/** The gateway's own time for a response, from its Server-Timing header (ms), or null. */
export function gatewayMillis(response) {
  const timing = response.headers.get('Server-Timing') || ''
  const match = /(?:^|,)\s*gateway;dur=([\d.]+)/.exec(timing)
  return match ? Number(match[1]) : null
}

/** Saves a response's body as a file named `name`, without putting the key in any URL. */
export async function download(path, name) {
  const response = await api(path, { raw: true })
  const url = URL.createObjectURL(await response.blob())
  const link = document.createElement('a')
  link.href = url
  link.download = name
  link.click()
  setTimeout(() => URL.revokeObjectURL(url), 1000)
}
