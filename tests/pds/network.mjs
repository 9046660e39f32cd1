// A local Bluesky network for tests: a PLC directory (in-memory) and a real PDS
// (sqlite in a temp dir), both bound to 127.0.0.1 only.
//
//   NODE=$(tests/pds/install.sh | tail -1)
//   PLC_PORT=2582 PDS_PORT=2583 "$NODE" tests/pds/network.mjs
//
// Env: PLC_PORT, PDS_PORT (required), DATA_DIR (parent of the temp dir; default
// the OS temp dir), KEEP_DATA=1 (keep the temp dir, for debugging), PDS_APP_DIR
// (where install.sh put node_modules), LOG_ENABLED=1 (PDS/PLC logs, to stderr).
// When both servers are up, prints one line to stdout:
//   {"plc": "http://localhost:PLC_PORT", "pds": "http://localhost:PDS_PORT"}
// then runs until SIGTERM, SIGINT or end of stdin (so start it with a pipe as
// stdin: with </dev/null it stops at once). It then stops both servers, deletes
// its temp dir and exits 0. Start-up errors exit 1. All logs go to stderr.
//
// PDS settings: devMode (http and did:web over http allowed, SSRF protection
// off, needed to proxy chat calls to a local did:web service), handles *.test,
// no invite codes, admin password "admin-pass", dummy moderation service and
// by default a dummy appview (https://*.invalid; env APPVIEW_URL + APPVIEW_DID
// or APPVIEW_URL=none, see below). The PDS has no chat config: a client selects the
// chat service per call with the header `atproto-proxy: <did>#bsky_chat`.
import fs from 'node:fs'
import net from 'node:net'
import os from 'node:os'
import path from 'node:path'

const t0 = performance.now()
const log = (msg) => process.stderr.write(`[network.mjs +${((performance.now() - t0) / 1000).toFixed(2)}s] ${msg}\n`)

// --- stdout carries only the JSON line: everything else goes to stderr ---
const stdoutWrite = process.stdout.write.bind(process.stdout)
process.stdout.write = (...args) => process.stderr.write(...args)
for (const k of ['log', 'info', 'debug']) console[k] = console.error
// a reader that went away (EPIPE) must not turn every later log line into an uncaught error
process.stdout.on('error', () => {})
process.stderr.on('error', () => {})
// pino (PDS, PLC; off unless LOG_ENABLED) writes to fd 1 by default. Only redirect it when
// enabled: an unused file destination can break process.exit ("sonic boom is not ready yet").
if (/^(true|t|1)$/i.test(process.env.LOG_ENABLED ?? '')) process.env.LOG_DESTINATION ||= '/dev/stderr'

// --- bind every server to 127.0.0.1 (neither PLC nor PDS has a host option) ---
const HOST = '127.0.0.1'
const ANY = new Set([undefined, null, '', '0.0.0.0', '::', '::0'])
const origListen = net.Server.prototype.listen
net.Server.prototype.listen = function (...args) {
  if (args.length === 0 || typeof args[0] === 'function') args.unshift(0) // listen([cb]): a random port
  if (args[0] == null) args[0] = 0
  const [first, second] = args
  if (typeof first === 'number' || (typeof first === 'string' && /^\d+$/.test(first))) {
    // listen(port[, host][, backlog][, cb])
    if (typeof second === 'string' || second == null) args[1] = HOST
    else args.splice(1, 0, HOST)
  } else if (first && typeof first === 'object' && !(first instanceof net.Server) && 'port' in first && ANY.has(first.host)) {
    args[0] = { ...first, host: HOST }
  }
  if (typeof second === 'string' && !ANY.has(second) && second !== HOST) {
    log(`warning: a server asked to listen on ${second}`)
  }
  return origListen.apply(this, args)
}

const port = (name) => {
  const v = process.env[name]
  if (!/^\d+$/.test(v ?? '') || +v < 1 || +v > 65535) {
    log(`error: env ${name} must be a port number (got ${JSON.stringify(v)})`)
    process.exit(2)
  }
  return +v
}
const PLC_PORT = port('PLC_PORT')
const PDS_PORT = port('PDS_PORT')
// The appview the PDS forwards app.bsky.* calls to (getProfile, feeds, ...): a dummy by default
// (those calls fail with 502 UpstreamFailure), APPVIEW_URL + APPVIEW_DID for a real one,
// APPVIEW_URL=none for none (then they fail with 400 "No service configured").
const appView = (() => {
  const url = process.env.APPVIEW_URL
  if (url === 'none') return {}
  if (!url) return { bskyAppViewUrl: 'https://appview.invalid', bskyAppViewDid: 'did:example:invalid' }
  if (!process.env.APPVIEW_DID) {
    log('error: APPVIEW_URL needs APPVIEW_DID (the DID the PDS puts in the service-auth JWT aud)')
    process.exit(2)
  }
  return { bskyAppViewUrl: url, bskyAppViewDid: process.env.APPVIEW_DID }
})()
if (process.versions.node.split('.')[0] !== '22') {
  log(`error: needs node 22 (this is ${process.version} at ${process.execPath}); use the node printed by tests/pds/install.sh`)
  process.exit(2)
}

// --- shutdown, reachable from any point (also during start-up) ---
let plcServer, pds, dir
let plcStarted = false
let pdsStarted = false
let stopping = null
function stop(reason, code = 0) {
  if (stopping) return stopping
  log(`stopping (${reason})`)
  setTimeout(() => {
    log('error: shutdown took over 10 s, exiting anyway')
    process.exit(1)
  }, 10_000)
  stopping = (async () => {
    const steps = [
      // a server that never listened can't be closed: release the rest only
      ['pds', () => (pdsStarted ? pds?.destroy() : pds?.ctx?.destroy())],
      ['plc', () => (plcStarted ? plcServer?.destroy() : plcServer?.ctx?.db?.close())],
    ]
    for (const [name, step] of steps) {
      try {
        await step()
      } catch (err) {
        log(`error while stopping ${name}: ${err?.stack ?? err}`)
      }
    }
    cleanDir()
    log(`stopped, exit ${code}`)
    process.exit(code)
  })()
  return stopping
}
function cleanDir() {
  if (!dir) return
  const d = dir
  dir = null
  if (process.env.KEEP_DATA === '1') return log(`kept ${d}`)
  try {
    fs.rmSync(d, { recursive: true, force: true })
  } catch (err) {
    log(`could not delete ${d}: ${err}`)
  }
}
process.on('exit', cleanDir) // whatever way the process ends (short of SIGKILL)
process.on('SIGTERM', () => stop('SIGTERM'))
process.on('SIGINT', () => stop('SIGINT'))
process.on('SIGHUP', () => stop('SIGHUP'))
process.on('uncaughtException', (err) => {
  log(`uncaught exception: ${err?.stack ?? err}`)
  stop('uncaught exception', 1)
})
process.on('unhandledRejection', (err) => {
  log(`unhandled rejection: ${err?.stack ?? err}`)
  stop('unhandled rejection', 1)
})
process.stdin.on('data', () => {}) // input is ignored; only its end matters
process.stdin.on('end', () => stop('stdin closed'))
process.stdin.on('error', (err) => stop(`stdin error ${err.code ?? err}`))

// --- start ---
try {
  const { load } = await import('./deps.mjs')
  const plc = await load('@did-plc/server')
  const { PDS } = await load('@atproto/pds')
  const { Secp256k1Keypair } = await load('@atproto/crypto')
  log(`imported in ${((performance.now() - t0) / 1000).toFixed(2)}s`)

  const parent = path.resolve(process.env.DATA_DIR || os.tmpdir())
  fs.mkdirSync(parent, { recursive: true })
  dir = fs.mkdtempSync(path.join(parent, 'bsky-pds-'))

  plcServer = plc.PlcServer.create({ db: plc.Database.mock(), port: PLC_PORT })
  await plcServer.start()
  plcStarted = true
  const plcUrl = `http://localhost:${PLC_PORT}`

  const rotationKey = await Secp256k1Keypair.create({ exportable: true })
  const recoveryKey = await Secp256k1Keypair.create()
  // PDS.fromEnv(obj) reads obj instead of process.env: PDS_* variables do not apply.
  pds = await PDS.fromEnv({
    devMode: true,
    port: PDS_PORT,
    dataDirectory: dir,
    blobstoreDiskLocation: path.join(dir, 'blobs'),
    didPlcUrl: plcUrl,
    serviceHandleDomains: ['.test'],
    inviteRequired: false,
    jwtSecret: 'jwt-secret',
    adminPassword: 'admin-pass',
    plcRotationKeyK256PrivateKeyHex: Buffer.from(await rotationKey.export()).toString('hex'),
    recoveryDidKey: recoveryKey.did(),
    ...appView,
    modServiceUrl: 'https://moderator.invalid',
    modServiceDid: 'did:example:invalid',
  })
  if (stopping) await stopping
  await pds.start()
  pdsStarted = true
  const pdsUrl = `http://localhost:${PDS_PORT}`
  if (stopping) await stopping

  log(`up: plc=${plcUrl} pds=${pdsUrl} data=${dir} rss=${(process.memoryUsage().rss / 2 ** 20).toFixed(0)}MiB`)
  stdoutWrite(`{"plc": ${JSON.stringify(plcUrl)}, "pds": ${JSON.stringify(pdsUrl)}}\n`)
} catch (err) {
  log(`error: start-up failed: ${err?.stack ?? err}`)
  await stop('start-up failed', 1)
}
