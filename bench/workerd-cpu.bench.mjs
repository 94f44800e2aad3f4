#!/usr/bin/env node
// Client CPU per S3 operation inside workerd (issue 18 item 4, the workerd half of
// bench/s3.bench.mjs part 1): the built package bundled as wrangler would (`workerd` / `worker` /
// `browser` conditions, so the web #platform: CompressionStream, Web Crypto) in a Worker
// (bench/workerd-cpu-worker.mjs) that runs `workerd serve` (the binary @cloudflare/vitest-plugin
// installs). Every transport is stubbed: a function answering a canned Response (200 + ETag; a
// GET the bytes that contender stored), no network. Contenders: ours (gzip) and ours (none) =
// S3Storage saveSnapshot (one conditional PUT of the whole snapshot, signed payload hash: history
// deltas off, `dedup: false`, so that it is the same operation as the peers' PUT) / loadSnapshot (one GET);
// ours backend = S3Backend put / get of the plain bytes (our byte layer without the store);
// aws4fetch = bare AwsClient.sign + the stub (UNSIGNED-PAYLOAD, no condition); a4f same = the
// same sending exactly ours (none)'s request; aws-sdk = @aws-sdk/client-s3 with a requestHandler
// whose handle() answers at once. 1 KB and 256 KB snapshots.
//
// How the CPU is measured. On Cloudflare `performance.now()` and `Date.now()` stand still while
// JavaScript runs and move on I/O only (a Spectre mitigation), so a loop timed inside the isolate
// reads 0 unless an I/O point ends it. The local workerd used here (2026-04-26) does move them,
// in whole milliseconds (a ~70 ms busy loop read 67-77 ms with no I/O at all, checked when this
// bench was written), but it is wall time either way. The figure reported is read from outside: each
// request to the Worker runs one batch of n sequential operations of one contender, and this
// script reads the workerd process's CPU time (the sum over its threads of
// /proc/<pid>/task/<tid>/schedstat's first field: nanoseconds on a CPU, as the scheduler counts
// them) just before the request and after its answer; a pause after each answer lets anything the
// process does after replying fall outside every window. That is CPU time, not wall time: the
// time workerd waits for a core on a loaded machine is not in it. It includes V8's helper threads
// (concurrent GC, compilation) and workerd's handling of the request itself, which a request of
// n = 0 measures and is subtracted. As a cross-check the Worker also reports its own clock across
// the batch (from the request's arrival to after `await scheduler.wait(0)`, a timer and so an I/O
// point, so that it moves on Cloudflare's clock too): wall time inside the isolate, in whole
// milliseconds, at or above the CPU figure by the waits for a core.
// Batches interleave the contenders within each round (the first round is a warm-up, dropped);
// medians of rounds. Compare the ratios, not absolute figures: the machine is shared.
// Usage: node bench/workerd-cpu.bench.mjs   (after `npx tsup`; bench/run.mjs runs it with the others)
import { spawn } from 'node:child_process'
import { mkdirSync, readdirSync, readFileSync } from 'node:fs'
import { fileURLToPath } from 'node:url'
import { build } from 'esbuild'
import { freePort, writeConfig } from './workerd.mjs'
import { resolveSnapshelf } from '../scripts/esbuild-snapshelf.mjs'
import { goal, progress, quick } from './report.mjs'

const root = fileURLToPath(new URL('..', import.meta.url))
const dir = `${root}.cache/workerd-cpu`
const workerd = `${root}node_modules/@cloudflare/workerd-linux-64/bin/workerd`
const ROUNDS = quick ? 3 : 11
const SIZES = [
  ['1 KB', 1024, quick ? 60 : 400],
  ['256 KB', 256 * 1024, quick ? 6 : 32],
]
const NAMES = {
  'ours-gzip': 'ours (gzip)',
  'ours-none': 'ours (none)',
  'ours-backend': 'ours backend',
  'aws-sdk': 'aws-sdk',
  aws4fetch: 'aws4fetch',
  'a4f-same': 'a4f same',
}
const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]
const sleep = (ms) => new Promise((r) => setTimeout(r, ms))
mkdirSync(dir, { recursive: true })

// ---- The Worker: bundled with the SDK if it bundles for workerd, else without it -------------
const bundle = (plugins) =>
  build({
    entryPoints: [`${root}bench/workerd-cpu-worker.mjs`],
    bundle: true,
    format: 'esm',
    outfile: `${dir}/worker.js`,
    platform: 'browser', // what applies package.json `browser` maps (the SDK's runtimeConfig.browser), as wrangler does
    conditions: ['workerd', 'worker', 'browser'],
    mainFields: ['browser', 'module', 'main'],
    logLevel: 'silent',
    plugins: [resolveSnapshelf('dist'), ...plugins],
  })
let sdkNote = ''
try {
  await bundle([])
} catch (error) {
  sdkNote = `@aws-sdk/client-s3 did not bundle for workerd (${String(error.message).split('\n')[0]}): aws4fetch only`
  const noSdk = {
    name: 'no-sdk',
    setup: (b) => b.onResolve({ filter: /^@aws-sdk\/client-s3$/ }, () => ({ path: 'no-sdk', namespace: 'no-sdk' })),
  }
  const empty = { name: 'empty', setup: (b) => b.onLoad({ filter: /.*/, namespace: 'no-sdk' }, () => ({ contents: '', loader: 'js' })) }
  await bundle([noSdk, empty])
}

const port = await freePort()
writeConfig(dir, port)
const child = spawn(workerd, ['serve', `${dir}/config.capnp`], { stdio: ['ignore', 'ignore', 'pipe'] })
let stderr = ''
child.stderr.on('data', (d) => (stderr += d))
const url = `http://127.0.0.1:${port}`
for (let i = 0; ; i++) {
  try {
    const { sdk } = await (await fetch(`${url}/sdk`)).json()
    if (!sdk && !sdkNote) sdkNote = '@aws-sdk/client-s3 is not in the Worker: aws4fetch only'
    break
  } catch (error) {
    if (child.exitCode !== null || i > 100) throw new Error(`workerd failed: ${stderr.slice(0, 800) || error.message}`)
    await sleep(100)
  }
}

/** Nanoseconds the workerd process has run on a CPU: all its threads, and its main thread alone. */
function cpuNs() {
  let all = 0
  let main = 0
  for (const tid of readdirSync(`/proc/${child.pid}/task`)) {
    try {
      const ns = Number(readFileSync(`/proc/${child.pid}/task/${tid}/schedstat`, 'utf8').split(' ')[0])
      all += ns
      if (tid === String(child.pid)) main = ns
    } catch (error) {
      // A thread that ended between the listing and the read; anything else is the bench's fault.
      if (error?.code !== 'ENOENT' && error?.code !== 'ESRCH') throw error
    }
  }
  return { all, main }
}

/** One batch in the Worker: its CPU time (ns, all threads and main thread) and the isolate's clock (ms). */
async function batch(c, op, size, n) {
  await sleep(3) // what the process does after its previous answer, outside the window
  const before = cpuNs()
  const res = await fetch(`${url}/?c=${c}&op=${op}&size=${size}&n=${n}`)
  const text = await res.text()
  const after = cpuNs()
  if (!res.ok) throw new Error(`${c} ${op} ${size}: ${text.slice(0, 600)}`)
  const { clockMs, requests } = JSON.parse(text)
  return { all: after.all - before.all, main: after.main - before.main, clockMs, requests }
}

const names = Object.keys(NAMES)
// The SDK may bundle and still fail in workerd: one try, then it is reported as left out.
if (!sdkNote) {
  try {
    await batch('aws-sdk', 'put', 1024, 1)
    await batch('aws-sdk', 'get', 1024, 1)
  } catch (error) {
    sdkNote = `@aws-sdk/client-s3 bundled but failed in workerd (${String(error.message).split('\n')[0].slice(0, 200)}): aws4fetch only`
  }
}
if (sdkNote) {
  names.splice(names.indexOf('aws-sdk'), 1)
  console.log(sdkNote)
}

const rows = []
let shapes = {}
/** Requests the stub answered per operation, by contender, op and size (from the warm-up round). */
const sent = {}
let step = 0
try {
  for (const [label, size, n] of SIZES) {
    for (const op of ['put', 'get']) {
      progress(
        'workerd-cpu',
        ++step,
        SIZES.length * 2,
        `${label} ${op.toUpperCase()}, ${ROUNDS} rounds × ${n} ops × ${names.length} clients`,
      )
      const results = Object.fromEntries(names.map((k) => [k, { all: [], main: [], clock: [] }]))
      const empty = { all: [], main: [] }
      for (let round = 0; round <= ROUNDS; round++) {
        const zero = await batch('ours-none', 'get', size, 0) // the request's own cost
        for (const c of names) {
          const b = await batch(c, op, size, n)
          if (round === 0) {
            sent[`${NAMES[c]} ${op.toUpperCase()} ${label}`] = b.requests / n
            continue // warm-up
          }
          results[c].all.push(b.all)
          results[c].main.push(b.main)
          results[c].clock.push(b.clockMs)
        }
        if (round) for (const k of ['all', 'main']) empty[k].push(zero[k])
      }
      const perOp = (xs, zero) => Math.max(0, median(xs) - zero) / 1000 / n
      const row = { label, op: op.toUpperCase(), empty: median(empty.all) / 1000 }
      for (const c of names) {
        row[c] = perOp(results[c].all, median(empty.all))
        row[`${c} main`] = perOp(results[c].main, median(empty.main))
        row[`${c} clock`] = (median(results[c].clock) * 1000) / n
      }
      rows.push(row)
    }
  }
  shapes = await (await fetch(`${url}/shapes`)).json()
} finally {
  child.kill()
}

// ---- The tables ------------------------------------------------------------------------------
const f = (x) => x.toFixed(0).padStart(13)
const r = (x) => `${x.toFixed(2)}×`.padStart(7)
const hasSdk = names.includes('aws-sdk')
const table = (title, suffix) => {
  console.log(`\n${title}`)
  console.log(
    `size    op    ${names.map((c) => NAMES[c].padStart(13)).join('')} | gz/a4f  no/a4f${hasSdk ? '  gz/sdk  no/sdk' : ''} no/same`,
  )
  for (const row of rows) {
    const v = (c) => row[`${c}${suffix}`]
    console.log(
      `${row.label.padEnd(7)} ${row.op.padEnd(4)}  ${names.map((c) => f(v(c))).join('')} |${r(v('ours-gzip') / v('aws4fetch'))} ${r(v('ours-none') / v('aws4fetch'))}` +
        (hasSdk ? ` ${r(v('ours-gzip') / v('aws-sdk'))} ${r(v('ours-none') / v('aws-sdk'))}` : '') +
        ` ${r(v('ours-none') / v('a4f-same'))}`,
    )
  }
}
table(
  `Client CPU per request in workerd, transport stubbed: µs of workerd's CPU time (all threads, less an empty request's: ${Math.min(...rows.map((x) => x.empty)).toFixed(0)}-${Math.max(...rows.map((x) => x.empty)).toFixed(0)} µs), median of ${ROUNDS} rounds (lower is better)`,
  '',
)
table("The same, workerd's main thread alone (where the isolate runs)", ' main')
table("Cross-check: the isolate's own clock across each batch (wall time, to a timer's I/O point), µs per request", ' clock')
if (sdkNote) console.log(sdkNote)
// One request per operation for every contender, or the rows would not compare like with like.
const other = Object.entries(sent).filter(([, v]) => v !== 1)
console.log(
  other.length
    ? `Requests per operation, where not 1: ${other.map(([k, v]) => `${k} ${v.toFixed(2)}`).join(', ')}`
    : 'One request per operation, every row.',
)
console.log('What each PUT / GET sends (besides authorization, x-amz-date, host, length, user agents):')
for (const [k, v] of Object.entries(shapes)) console.log(`  ${k.padEnd(16)} ${v}`)

// ---- Goals -------------------------------------------------------------------------------------
const put1k = rows.find((x) => x.label === '1 KB' && x.op === 'PUT')
const ratio = put1k['ours-gzip'] / put1k.aws4fetch
goal({
  bench: 'workerd-cpu',
  goal: "client CPU of a 1 KB gzip PUT ≤ 1.5× bare aws4fetch's plain PUT in workerd",
  measured: `${ratio.toFixed(2)}× (${put1k['ours-gzip'].toFixed(0)} vs ${put1k.aws4fetch.toFixed(0)} µs; main thread ${(put1k['ours-gzip main'] / put1k['aws4fetch main']).toFixed(2)}×)`,
  met: ratio <= 1.5,
})
const each = (c, peer) => rows.map((x) => `${x.label} ${x.op} ${(x[c] / x[peer]).toFixed(2)}×`).join(', ')
goal({ bench: 'workerd-cpu', goal: 'ours (gzip) ÷ aws4fetch, client CPU in workerd', measured: each('ours-gzip', 'aws4fetch'), met: null })
goal({ bench: 'workerd-cpu', goal: 'ours (none) ÷ aws4fetch, client CPU in workerd', measured: each('ours-none', 'aws4fetch'), met: null })
if (hasSdk) {
  goal({ bench: 'workerd-cpu', goal: 'ours (gzip) ÷ aws-sdk, client CPU in workerd', measured: each('ours-gzip', 'aws-sdk'), met: null })
  goal({ bench: 'workerd-cpu', goal: 'ours (none) ÷ aws-sdk, client CPU in workerd', measured: each('ours-none', 'aws-sdk'), met: null })
} else goal({ bench: 'workerd-cpu', goal: 'aws-sdk in workerd', measured: sdkNote, met: null })
