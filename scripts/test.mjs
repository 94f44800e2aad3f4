#!/usr/bin/env node
// `npm test`: the one test command. It provides what the suites need (Debian's Chromium, a real
// Ceph S3 gateway; both installed with apt when running as root on Debian), builds the package,
// runs every runner in turn (lint, typecheck, vitest in Node, vitest in workerd, Chromium, Deno, Bun,
// size budgets) and ends with one line summing them all: `N passed, N failed`.
//
// Test what ships: after the runs from src/, the contract runners of Node, workerd and Chromium run
// again on the freshly built dist/ (SNAPSHELF_TEST_DIST=1, see vitest.shared.ts), and the Deno and
// Bun runners only ever import dist/. Each "(dist)" row of the summary is such a run.
//
// With CI=true nothing may be skipped: a missing server or browser, or any skipped test, fails
// the run. Locally a missing piece skips its suites and says loudly what and how to enable it.
import { spawn, spawnSync } from 'node:child_process'
import { existsSync, mkdirSync, readFileSync, rmSync } from 'node:fs'
import { fileURLToPath } from 'node:url'

const root = fileURLToPath(new URL('..', import.meta.url))
const CI = process.env.CI === 'true'
const bin = (name) => `${root}node_modules/.bin/${name}`
const results = [] // { runner, passed, failed, skipped, note }
const warnings = []
/** Children still running, each in its own process group (detached): stopped with us on a signal. */
const running = new Set()
mkdirSync(`${root}.cache`, { recursive: true })

function banner(text) {
  console.log(`\n${'='.repeat(78)}\n${text}\n${'='.repeat(78)}`)
}

function loud(message) {
  warnings.push(message)
  console.warn(`\n!!! ${message}\n`)
}

/** Runs a command with inherited output; resolves with its exit code (and captured stdout when asked). */
function run(cmd, args, { env = {}, capture = false, timeoutMs = 45 * 60_000 } = {}) {
  return new Promise((resolve) => {
    const child = spawn(cmd, args, {
      cwd: root,
      env: { ...process.env, ...env },
      stdio: ['ignore', capture ? 'pipe' : 'inherit', capture ? 'pipe' : 'inherit'],
      detached: true,
    })
    let out = ''
    if (capture) {
      const echo = (stream) => (d) => {
        stream.write(d)
        out += d
      }
      child.stdout.on('data', echo(process.stdout))
      child.stderr.on('data', echo(process.stderr))
    }
    running.add(child)
    const timer = setTimeout(() => {
      console.error(`\n!!! ${cmd} ${args.join(' ')} exceeded ${timeoutMs / 60_000} min: killing it`)
      try {
        process.kill(-child.pid, 'SIGKILL')
      } catch {}
    }, timeoutMs)
    child.on('close', (code) => {
      running.delete(child)
      clearTimeout(timer)
      resolve({ code: code ?? 1, out })
    })
  })
}

// ---------------------------------------------------------------------------------------------
// What the suites need

function isRootOnDebian() {
  return process.getuid?.() === 0 && existsSync('/usr/bin/apt-get')
}

function findChromium() {
  for (const p of [process.env.CHROMIUM_PATH, '/usr/bin/chromium', '/usr/bin/chromium-browser']) if (p && existsSync(p)) return p
  return null
}

async function ensureChromium() {
  let path = findChromium()
  if (!path && isRootOnDebian()) {
    banner("Installing Debian's chromium (apt-get) for the browser suites")
    const env = { DEBIAN_FRONTEND: 'noninteractive' }
    await run('apt-get', ['update', '-qq'], { env })
    await run('apt-get', ['install', '-y', '-qq', '--no-install-recommends', 'chromium'], { env })
    path = findChromium()
  }
  if (path) return path
  const how = 'install Chromium (Debian: `apt-get install chromium`) or set CHROMIUM_PATH to a Chromium binary'
  if (CI) throw new Error(`Chromium is missing: ${how}`)
  loud(`SKIPPING the browser suites: no Chromium found. To run them, ${how}.`)
  return null
}

async function ensureS3() {
  const { ensureS3: start } = await import('./s3-server.mjs')
  const s3 = await start({ required: CI })
  if (s3) console.log(`S3: ${s3.endpoint}, bucket ${s3.bucket}${s3.startedByUs ? ' (Ceph gateway booted for this run)' : ''}`)
  if (!s3) {
    loud(
      'SKIPPING the S3 suites: no S3 server. Set S3_ENDPOINT, S3_ACCESS_KEY, S3_SECRET_KEY (and S3_REGION, S3_BUCKET) ' +
        'to use yours, or run as root on Debian so `npm test` boots a local Ceph gateway (scripts/ceph-s3.sh).',
    )
  }
  return s3
}

// ---------------------------------------------------------------------------------------------
// Runners and their summaries

function readJson(path) {
  try {
    return JSON.parse(readFileSync(path, 'utf8'))
  } catch {
    return null
  }
}

async function vitest(name, config, env) {
  if (!existsSync(`${root}${config}`)) {
    results.push({ runner: name, passed: 0, failed: 1, skipped: 0, note: `${config} is missing` })
    return
  }
  banner(`vitest: ${name} (${config})`)
  const report = `${root}.cache/vitest-${name.replace(/\W+/g, '-')}.json`
  rmSync(report, { force: true })
  const { code } = await run(
    bin('vitest'),
    ['run', '--config', config, '--reporter=default', '--reporter=json', `--outputFile.json=${report}`],
    { env },
  )
  const json = readJson(report)
  if (!json) {
    results.push({ runner: name, passed: 0, failed: 1, skipped: 0, note: `vitest exited ${code} without a report` })
    return
  }
  const skipped = (json.numPendingTests ?? 0) + (json.numTodoTests ?? 0)
  // A suite that failed to load counts as a failure even when no test inside it ran.
  const broken = (json.testResults ?? []).filter(
    (f) => f.status === 'failed' && !(f.assertionResults ?? []).some((a) => a.status === 'failed'),
  ).length
  results.push({
    runner: name,
    passed: json.numPassedTests,
    failed: json.numFailedTests + broken,
    skipped,
    note: code ? `exit ${code}` : '',
  })
}

async function deno(env) {
  banner('Deno: contract suites on the built package (dist/)')
  const { code, out } = await run(
    bin('deno'),
    ['test', '--no-check', '--allow-net=127.0.0.1', '--allow-env', '--allow-read', 'test/runtime/deno/'],
    {
      env: { ...env, NO_COLOR: '1' },
      capture: true,
    },
  )
  const m = /(?:ok|FAILED) \| (\d+) passed(?: \(\d+ steps?\))? \| (\d+) failed(?: \| (\d+) ignored)?/.exec(out)
  if (!m)
    return void results.push({ runner: 'deno (dist)', passed: 0, failed: 1, skipped: 0, note: `deno exited ${code} without a summary` })
  results.push({ runner: 'deno (dist)', passed: +m[1], failed: +m[2], skipped: +(m[3] ?? 0), note: '' })
}

async function bun(env) {
  banner('Bun: contract suites on the built package (dist/)')
  const { code, out } = await run(bin('bun'), ['test', 'test/runtime/bun/'], { env: { ...env, NO_COLOR: '1' }, capture: true })
  const pass = /^\s*(\d+) pass$/m.exec(out)
  const fail = /^\s*(\d+) fail$/m.exec(out)
  const skip = /^\s*(\d+) skip$/m.exec(out)
  if (!pass || !fail)
    return void results.push({ runner: 'bun (dist)', passed: 0, failed: 1, skipped: 0, note: `bun exited ${code} without a summary` })
  results.push({ runner: 'bun (dist)', passed: +pass[1], failed: +fail[1], skipped: +(skip?.[1] ?? 0), note: '' })
}

async function plain(name, cmd, args, env) {
  banner(name)
  const { code, out } = await run(cmd, args, { env, capture: true })
  const m = /(\d+) passed, (\d+) failed/.exec(
    out
      .split('\n')
      .filter((l) => /\d+ passed, \d+ failed/.test(l))
      .at(-1) ?? '',
  )
  if (m) results.push({ runner: name, passed: +m[1], failed: +m[2], skipped: 0, note: '' })
  else results.push({ runner: name, passed: code === 0 ? 1 : 0, failed: code === 0 ? 0 : 1, skipped: 0, note: `exit ${code}` })
}

// ---------------------------------------------------------------------------------------------

const started = Date.now()

// Stopped from outside (CI's time limit, Ctrl-C, a closed terminal): say so, stop the runner in
// progress with us (it is in its own process group) and still end with the totals line, so a
// stopped run never reads as an unexplained failure.
for (const signal of ['SIGTERM', 'SIGINT', 'SIGHUP'])
  process.on(signal, () => {
    console.error(`\n!!! npm test received ${signal} after ${Math.round((Date.now() - started) / 1000)} s: stopping`)
    for (const child of running)
      try {
        process.kill(-child.pid, 'SIGKILL')
      } catch {}
    results.push({ runner: 'stopped', passed: 0, failed: 1, skipped: 0, note: `${signal} from outside the run` })
    summarize()
  })

let s3 = null
let chromium = null
try {
  chromium = await ensureChromium()
  s3 = await ensureS3()
} catch (error) {
  console.error(`\n!!! ${error.message}`)
  results.push({ runner: 'setup', passed: 0, failed: 1, skipped: 0, note: error.message })
}

const env = { NODE_NO_WARNINGS: '1' }
if (s3)
  Object.assign(env, {
    S3_ENDPOINT: s3.endpoint,
    S3_REGION: s3.region,
    S3_ACCESS_KEY: s3.accessKeyId,
    S3_SECRET_KEY: s3.secretAccessKey,
    S3_BUCKET: s3.bucket,
  })
if (chromium) env.CHROMIUM_PATH = chromium

// Formatting and lint rules (biome.json) over the whole tree: a finding fails the run.
banner('lint (biome check): formatting and lint rules')
const linted = spawnSync(bin('biome'), ['check', '.'], { cwd: root, stdio: 'inherit' }).status === 0
results.push({ runner: 'lint', passed: linted ? 1 : 0, failed: linted ? 0 : 1, skipped: 0, note: linted ? '' : 'npm run lint' })

// The library, the tests (including the compile-time Strands interop check), both examples and
// every TypeScript block of the README (the front door must compile as written).
banner('typecheck (tsc --noEmit): src, test, examples/worker, examples/browser, README snippets')
spawnSync(process.execPath, ['scripts/readme-snippets.mjs'], { cwd: root, stdio: 'inherit' })
const projects = [
  'tsconfig.json',
  'test/tsconfig.json',
  'examples/worker/tsconfig.json',
  'examples/browser/tsconfig.json',
  'test/readme/tsconfig.json',
]
const typeErrors = projects.filter((p) => spawnSync(bin('tsc'), ['-p', p, '--noEmit'], { cwd: root, stdio: 'inherit' }).status !== 0)
results.push({
  runner: 'typecheck',
  passed: projects.length - typeErrors.length,
  failed: typeErrors.length,
  skipped: 0,
  note: typeErrors.join(' '),
})

banner('build (tsup)')
rmSync(`${root}dist`, { recursive: true, force: true })
const built = spawnSync(bin('tsup'), [], { cwd: root, stdio: 'inherit' }).status === 0
results.push({ runner: 'build', passed: built ? 1 : 0, failed: built ? 0 : 1, skipped: 0, note: '' })

if (built) {
  await vitest('node', 'vitest.config.ts', env)
  await vitest('workerd', 'vitest.workers.config.ts', env)
  if (chromium) {
    await vitest('chromium', 'vitest.browser.config.ts', env)
    await vitest('e2e', 'vitest.e2e.config.ts', env)
  }
  // The same contract runners (and the tier checks in their files) on the build above, imported by
  // package name through package.json `exports`; vitest.shared.ts lists the files (distInclude).
  const dist = { ...env, SNAPSHELF_TEST_DIST: '1' }
  await vitest('node (dist)', 'vitest.config.ts', dist)
  await vitest('workerd (dist)', 'vitest.workers.config.ts', dist)
  if (chromium) await vitest('chromium (dist)', 'vitest.browser.config.ts', dist)
  await deno(env)
  await bun(env)
  await plain('size budgets', process.execPath, ['scripts/size.mjs'], env)
}

if (s3?.startedByUs && !process.env.SNAPSHELF_KEEP_S3) {
  const { stopS3 } = await import('./s3-server.mjs')
  await stopS3()
}

summarize()

function summarize() {
  banner(`Summary (${Math.round((Date.now() - started) / 1000)} s)`)
  let passed = 0
  let failed = 0
  let skipped = 0
  for (const r of results) {
    passed += r.passed
    failed += r.failed
    skipped += r.skipped
    console.log(
      `${r.runner.padEnd(16)} ${String(r.passed).padStart(5)} passed ${String(r.failed).padStart(4)} failed ${String(r.skipped).padStart(4)} skipped  ${r.note}`,
    )
  }
  for (const w of warnings) console.log(`!!! ${w}`)
  if (CI && skipped) {
    console.log(`!!! CI=true: ${skipped} skipped test(s) count as failures (nothing may be skipped in CI)`)
    failed += skipped
    skipped = 0
  }
  console.log(skipped ? `${passed} passed, ${failed} failed, ${skipped} skipped` : `${passed} passed, ${failed} failed`)
  process.exit(failed ? 1 : 0)
}
