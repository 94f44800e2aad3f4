#!/usr/bin/env node
// `npm start`: runs examples/worker locally in workerd with `wrangler dev`: the snapshot API
// (createSnapshotHandler over a local R2 persisted under .data/) at /api and the files of
// examples/browser at /. Offline: no Cloudflare account, no metrics, no cf.json download.
// PORT chooses the port (default 8787). Prints the URL once the Worker answers. Two overrides for
// the end-to-end tests (test/e2e/harness.ts): EXAMPLE_DATA, the local R2's directory instead of
// .data/ (a fresh one per run), and EXAMPLE_USERS, the Worker's USERS variable instead of
// wrangler.toml's (JSON, the same shape: a user per test).
import { spawn, spawnSync } from 'node:child_process'
import { existsSync } from 'node:fs'
import { createRequire } from 'node:module'
import { fileURLToPath } from 'node:url'

const root = fileURLToPath(new URL('..', import.meta.url))
const port = process.env.PORT || '8787'
if (!/^\d{1,5}$/.test(port) || +port < 1 || +port > 65535) {
  console.error(`PORT must be a port number, got ${JSON.stringify(port)}`)
  process.exit(2)
}

// The browser example may need a bundle of its own; it owns that step (examples/browser/build.mjs).
const browserBuild = `${root}examples/browser/build.mjs`
if (existsSync(browserBuild)) {
  const built = spawnSync(process.execPath, [browserBuild], { cwd: root, stdio: 'inherit' })
  if (built.status !== 0) process.exit(built.status ?? 1)
}

const wrangler = createRequire(import.meta.url).resolve('wrangler/bin/wrangler.js')
const args = [
  wrangler,
  'dev',
  '--config',
  'examples/worker/wrangler.toml',
  '--ip',
  '127.0.0.1',
  '--port',
  port,
  '--persist-to',
  process.env.EXAMPLE_DATA || '.data',
  '--local',
  '--show-interactive-dev-session=false',
]
if (process.env.EXAMPLE_USERS) {
  try {
    JSON.parse(process.env.EXAMPLE_USERS)
  } catch {
    console.error('EXAMPLE_USERS must be JSON, the shape of USERS in examples/worker/wrangler.toml')
    process.exit(2)
  }
  args.push('--var', `USERS:${process.env.EXAMPLE_USERS}`)
}
const env = {
  ...process.env,
  // Stay offline and quiet: no usage metrics, no cf.json fetch (request.cf), no update check banner.
  WRANGLER_SEND_METRICS: 'false',
  CLOUDFLARE_CF_FETCH_ENABLED: 'false',
  WRANGLER_HIDE_BANNER: 'true',
}
const child = spawn(process.execPath, args, { cwd: root, env, stdio: ['ignore', 'pipe', 'inherit'] })
const url = `http://127.0.0.1:${port}`
let announced = false
child.stdout.on('data', (chunk) => {
  process.stdout.write(chunk)
  if (!announced && /Ready on/i.test(String(chunk))) {
    announced = true
    process.stdout.write(`\nsnapshelf example Worker: ${url}  (API at ${url}/api, data in ${process.env.EXAMPLE_DATA || '.data'}/)\n`)
  }
})
for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP']) process.on(signal, () => child.kill(signal))
child.on('exit', (code, signal) => process.exit(code ?? (signal ? 1 : 0)))
