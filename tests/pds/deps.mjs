// Loads packages installed by tests/pds/install.sh (in <repo>/.cache/pds/app/node_modules).
// ESM ignores NODE_PATH, so resolve from that folder and import the absolute file:
//   import { load } from './deps.mjs'
//   const { AtpAgent } = await load('@atproto/api')
// Env PDS_APP_DIR overrides the folder.
import fs from 'node:fs'
import { createRequire } from 'node:module'
import path from 'node:path'
import { fileURLToPath, pathToFileURL } from 'node:url'

const here = path.dirname(fileURLToPath(import.meta.url))
export const APP_DIR = path.resolve(process.env.PDS_APP_DIR || path.join(here, '..', '..', '.cache', 'pds', 'app'))

const require = createRequire(path.join(APP_DIR, 'package.json'))

export async function load(name) {
  if (!fs.existsSync(path.join(APP_DIR, 'node_modules'))) {
    throw new Error(`${APP_DIR}/node_modules is missing: run tests/pds/install.sh first`)
  }
  let file
  try {
    file = require.resolve(name)
  } catch (err) {
    throw new Error(`cannot resolve ${name} from ${APP_DIR}/node_modules (${err.code}): re-run tests/pds/install.sh`)
  }
  return import(pathToFileURL(file).href)
}
