// What every check script shares: the mock's URL from the command line, the pass/fail count,
// the admin API, logging in with @atproto/api, and the checks of a refused call.
import { AtpAgent } from '@atproto/api'

export const url = process.argv[2]
if (!url) {
  console.error(`usage: node ${process.argv[1].split('/').pop()} BASE_URL`)
  process.exit(2)
}
export const DEFS = 'chat.bsky.convo.defs#'
const count = { passed: 0, failed: 0 }

export function check(name, ok, detail = '') {
  if (ok) count.passed++
  else count.failed++
  console.log(`${ok ? 'ok  ' : 'FAIL'} ${name}${ok || !detail ? '' : ': ' + detail}`)
}

export async function admin(method, path, body) {
  const r = await fetch(`${url}/_mock/${path}`, {
    method,
    headers: { 'content-type': 'application/json' },
    body: body === undefined ? undefined : JSON.stringify(body),
  })
  if (!r.ok) throw new Error(`${path}: ${r.status} ${await r.text()}`)
  return r.json()
}

export async function chatAs(handle) {
  const agent = new AtpAgent({ service: url })
  await agent.login({ identifier: handle, password: 'pw' })
  return agent.withProxy('bsky_chat', 'did:web:api.bsky.chat')
}

// a call that must fail with the typed error class @atproto/api maps its error name to
export async function refused(name, promise, errorClass) {
  try {
    await promise
    check(name, false, 'did not fail')
  } catch (e) {
    check(name, e instanceof errorClass, `got ${e?.constructor?.name}: ${e?.error} ${e?.message}`)
  }
}

// a call that must fail with exactly this message (texts the official app matches on)
export async function refusedWithText(name, promise, text) {
  try {
    await promise
    check(name, false, 'did not fail')
  } catch (e) {
    check(name, e.message === text, `got ${e?.constructor?.name}: ${e?.error} ${JSON.stringify(e?.message)}`)
  }
}

// prints "N passed, M failed" and ends the script, non-zero on any failure
export function done() {
  console.log(`${count.passed} passed, ${count.failed} failed`)
  process.exit(count.failed === 0 ? 0 : 1)
}
