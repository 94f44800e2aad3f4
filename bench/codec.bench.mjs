#!/usr/bin/env node
// The codec and crypto fast paths (issue 18 items 1, 2 and part of 4), one run, built package:
//   1. µs per call of a snapshot's encode (JSON.stringify + gzip) and decode (gunzip + JSON.parse),
//      1 KB and 256 KB of agent JSON, through each `#platform` file: web (CompressionStream) and
//      node (node:zlib). Both files run in Node here; Node itself resolves the node one.
//   2. Client CPU of a 1 KB gzip PUT through S3Storage.saveSnapshot, transport stubbed (a fetch that
//      answers 200 at once), on the node path (what Node resolves) and on the web path (the same
//      dist bundled with the `browser` condition, run in Node), against bare aws4fetch's plain
//      PUT (AwsClient, UNSIGNED-PAYLOAD, no condition). Goal: ≤ 1.5× bare aws4fetch on Node.
//   3. Where gzip stops paying (bench/codec-threshold.mjs, run under Node, Bun and Deno): stored
//      bytes plain vs gzip for 100 B-64 KB of agent JSON and the CPU of gzip + gunzip per platform file.
// Medians of rounds; the machines are shared and noisy: compare ratios from one run.
// Usage: node bench/codec.bench.mjs   (after `npx tsup`; bench/run.mjs runs it with the others)
import { spawnSync } from 'node:child_process'
import { mkdirSync } from 'node:fs'
import { fileURLToPath } from 'node:url'
import { AwsClient } from 'aws4fetch'
import { build } from 'esbuild'
import { S3Storage } from 'snapshelf/s3'
import * as node from '../dist/platform/node.js'
import * as web from '../dist/platform/web.js'
import { resolveSnapshelf } from '../scripts/esbuild-snapshelf.mjs'
import { agentJson } from './codec-data.mjs'
import { STUB_ETAG } from './shared.mjs'
import { goal, progress, quick } from './report.mjs'

const root = fileURLToPath(new URL('..', import.meta.url))
const ROUNDS = quick ? 3 : 9
const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]
const f1 = (x) => x.toFixed(1)

/**
 * µs per call of each of `contenders` ({ name: f }), median over ROUNDS rounds that interleave them
 * (each round runs every contender `ops` times in turn, after a warm-up), so load changes hit all alike.
 */
async function usPerCall(contenders, ops) {
  const results = Object.fromEntries(Object.keys(contenders).map((k) => [k, []]))
  for (let r = 0; r < ROUNDS; r++) {
    for (const [name, f] of Object.entries(contenders)) {
      for (let i = 0; i < Math.min(ops, 10); i++) await f(i)
      const t0 = performance.now()
      for (let i = 0; i < ops; i++) await f(i)
      results[name].push(((performance.now() - t0) * 1000) / ops)
    }
  }
  return Object.fromEntries(Object.entries(results).map(([k, v]) => [k, median(v)]))
}

// ---- 1. encode / decode per platform file ---------------------------------------------------
const platforms = { web, node }
const codecRows = []
let step = 0
for (const [label, size] of [
  ['1 KB', 1024],
  ['256 KB', 256 * 1024],
]) {
  const value = JSON.parse(new TextDecoder().decode(agentJson(size)))
  const stored = await node.gzip(new TextEncoder().encode(JSON.stringify(value)))
  const ops = (size > 10_000 ? 20 : 300) * (quick ? 0.2 : 1)
  progress('codec 1, encode/decode', ++step, 2, `${label}, both platforms interleaved, ${ROUNDS} rounds × ${ops}`)
  const contenders = {}
  for (const [name, p] of Object.entries(platforms)) {
    contenders[`${name} encode`] = () => p.gzip(new TextEncoder().encode(JSON.stringify(value)))
    contenders[`${name} decode`] = async () => JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(await p.gunzip(stored, 1 << 26)))
  }
  const row = { label, ...(await usPerCall(contenders, ops)) }
  codecRows.push(row)
}
console.log(`\nSnapshot encode (JSON + gzip) and decode (gunzip + JSON), µs per call, median of ${ROUNDS} rounds (lower is better)`)
console.log('size     web encode  node encode  ×faster   web decode  node decode  ×faster')
for (const r of codecRows) {
  console.log(
    `${r.label.padEnd(8)} ${f1(r['web encode']).padStart(10)}  ${f1(r['node encode']).padStart(11)}  ${(r['web encode'] / r['node encode']).toFixed(1).padStart(6)}×  ${f1(r['web decode']).padStart(11)}  ${f1(r['node decode']).padStart(11)}  ${(r['web decode'] / r['node decode']).toFixed(1).padStart(6)}×`,
  )
}

// ---- 2. a 1 KB gzip PUT's client CPU, transport stubbed ---------------------------------------
// The web path: the same dist/s3.js bundled as a browser bundler sees it (`#platform` → web.js),
// aws4fetch left external so both paths sign with the same copy.
mkdirSync(`${root}.cache`, { recursive: true })
await build({
  stdin: { contents: "export { S3Storage } from 'snapshelf/s3'", resolveDir: root, loader: 'js' },
  bundle: true,
  format: 'esm',
  platform: 'browser',
  external: ['aws4fetch'],
  outfile: `${root}.cache/bench-s3-web.mjs`,
  logLevel: 'silent',
  plugins: [resolveSnapshelf('dist')],
})
const { S3Storage: WebS3Storage } = await import(`${root}.cache/bench-s3-web.mjs`)

/** The stubbed transport: reads the body as a server would, answers 200 with an ETag at once. */
const stub = async (input) => {
  if (input instanceof Request) await input.arrayBuffer()
  return new Response(null, { status: 200, headers: { etag: STUB_ETAG } })
}
const fake = {
  bucket: 'snapshelf-bench',
  endpoint: 'http://127.0.0.1:7480',
  region: 'us-east-1',
  accessKeyId: 'AKIDEXAMPLE',
  secretAccessKey: 'wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY',
}
const snapshot = JSON.parse(new TextDecoder().decode(agentJson(1024)))
const location = { sessionId: 'bench', scope: 'agent', scopeId: 'main' }
const oursNode = new S3Storage({ ...fake, fetch: stub })
const oursWeb = new WebS3Storage({ ...fake, fetch: stub })
const realFetch = globalThis.fetch
globalThis.fetch = stub // aws4fetch's AwsClient calls the global fetch
const a4f = new AwsClient({ accessKeyId: fake.accessKeyId, secretAccessKey: fake.secretAccessKey, service: 's3', region: fake.region })
const plainBody = new TextEncoder().encode(JSON.stringify(snapshot))
const contenders = {
  'bare aws4fetch, plain PUT': () =>
    a4f.fetch(`${fake.endpoint}/${fake.bucket}/bench/a.json`, {
      method: 'PUT',
      body: plainBody,
      headers: { 'content-type': 'application/json' },
    }),
  'ours, gzip PUT, node path': () => oursNode.saveSnapshot({ location, snapshotId: 'latest', isLatest: true, snapshot }),
  'ours, gzip PUT, web path': () => oursWeb.saveSnapshot({ location, snapshotId: 'latest', isLatest: true, snapshot }),
}
const putOps = quick ? 60 : 300
progress('codec 2, 1 KB PUT client CPU', 1, 1, `3 contenders interleaved, ${ROUNDS} rounds × ${putOps} PUTs`)
const put = await usPerCall(contenders, putOps)
globalThis.fetch = realFetch
const bare = put['bare aws4fetch, plain PUT']
console.log(`\n1 KB PUT, client CPU with the transport stubbed: µs per PUT, median of ${ROUNDS} interleaved rounds (lower is better)`)
for (const [name, us] of Object.entries(put))
  console.log(`${name.padEnd(28)} ${f1(us).padStart(8)} µs  ${(us / bare).toFixed(2)}× bare aws4fetch`)
const ratio = put['ours, gzip PUT, node path'] / bare
goal({
  bench: 'codec',
  goal: "client CPU of a 1 KB gzip PUT ≤ 1.5× bare aws4fetch's plain PUT on Node",
  measured: `${ratio.toFixed(2)}× (${f1(put['ours, gzip PUT, node path'])} vs ${f1(bare)} µs; web path ${(put['ours, gzip PUT, web path'] / bare).toFixed(2)}×)`,
  met: ratio <= 1.5,
})

// ---- 3. where gzip stops paying, per runtime -------------------------------------------------
const runtimes = [
  ['node', process.execPath, []],
  ['bun', `${root}node_modules/.bin/bun`, []],
  ['deno', `${root}node_modules/.bin/deno`, ['run', '--allow-read', '--allow-env']],
]
const threshold = []
for (const [i, [name, bin, args]] of runtimes.entries()) {
  progress('codec 3, gzip threshold', i + 1, runtimes.length, `${name}: 100 B-64 KB, both platform files`)
  const run = spawnSync(bin, [...args, 'bench/codec-threshold.mjs'], { cwd: root, encoding: 'utf8', env: process.env })
  if (run.status !== 0) {
    console.log(`  ${name}: skipped (exit ${run.status}) ${(run.stderr ?? '').split('\n')[0]}`)
    continue
  }
  threshold.push(JSON.parse(run.stdout.trim().split('\n').at(-1)))
}
console.log('\nGzip on small agent JSON: stored bytes and gzip + gunzip CPU (µs per snapshot, median), per runtime and platform file')
console.log('µs/B saved: that CPU ÷ the bytes gzip saved (what each saved byte costs; "-" where gzip saves nothing)')
for (const { runtime, rows } of threshold) {
  console.log(`${runtime}\n  JSON B  gzip B  saved   node µs  µs/B saved   web µs  µs/B saved`)
  for (const r of rows) {
    const saved = r.size - r.gz
    const cost = (p) => r.encode[p] + r.decode[p]
    const per = (p) => (saved > 0 ? (cost(p) / saved).toFixed(2) : '-')
    console.log(
      `  ${String(r.size).padStart(6)}  ${String(r.gz).padStart(6)}  ${`${Math.round((saved / r.size) * 100)}%`.padStart(5)}  ${f1(cost('node')).padStart(8)}  ${per('node').padStart(10)}  ${f1(cost('web')).padStart(7)}  ${per('web').padStart(10)}`,
    )
  }
}
goal({
  bench: 'codec',
  goal: 'small snapshots: JSON under GZIP_MIN_BYTES (512) is stored plain; what gzip would make of 499 B',
  measured: threshold
    .map(({ runtime, rows }) => {
      const r = rows.find((x) => x.size >= 499 && x.size < 512)
      return r ? `${runtime.split(' ')[0]} 499 B → ${r.gz} B` : ''
    })
    .join(', '),
  met: null,
})
