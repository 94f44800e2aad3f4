#!/usr/bin/env node
// S3 throughput, one run, same S3 server: snapshelf's S3Storage (built package, imported by name)
// vs @aws-sdk/client-s3 vs bare aws4fetch, PUT and GET of 1 KB and 256 KB snapshots, sequential
// and with 16 in flight. Medians of several rounds; libraries interleave within each round so
// machine noise hits all of them alike. Compare the ratios, not absolute figures.
//
// Every contender stores a snapshot OBJECT: PUT = JSON.stringify + encode + upload, GET =
// download + JSON.parse (what Strands' own S3 storage does), so no row skips work another does.
//   ours (gzip): saveSnapshot({ isLatest: false }) = one conditional PUT (If-None-Match: *, write
//                token) incl. JSON + gzip + signed SHA-256; loadSnapshot({ snapshotId }) = one GET
//                incl. gunzip + JSON.parse.
//   ours (none): the same without gzip (plain JSON, what Strands writes).
//   aws-sdk:     PutObjectCommand / GetObjectCommand + transformToByteArray. Signs the payload
//                hash like ours; no condition.
//   aws4fetch:   AwsClient.fetch with its default UNSIGNED-PAYLOAD (the server does not verify
//                the body, unlike ours) and no condition.
//   a4f same:    aws4fetch sending exactly ours (none)'s request: signed payload hash,
//                If-None-Match: *, a write-token metadata header. Ours ÷ this is client overhead
//                alone; the goals compare with the plain rows.
// Three parts: (1) client CPU per request with `fetch` stubbed (no server: what each client costs
// by itself), (2) ops/s against the real server, (3) GET rate by object size with bare aws4fetch,
// which shows the server's own small-response delay (see the note printed with it).
// Usage: node bench/s3.bench.mjs [cpu]   (reads S3_* env; boots the local Ceph via ensureS3 if unset;
//        `cpu` runs part 1 only, no server needed)
import { GetObjectCommand, PutObjectCommand } from '@aws-sdk/client-s3'
import { AwsClient } from 'aws4fetch'
import { Readable } from 'node:stream'
import { newSnapshotId } from 'snapshelf'
import { S3Backend, S3Storage } from 'snapshelf/s3'
import { ensureS3, stopS3 } from '../scripts/s3-server.mjs'
import { goal, progress, quick } from './report.mjs'
import { sdkClient } from './sdk.mjs'
import { STUB_ETAG, STUB_S3, snapshotOf, stubSdkHandler } from './shared.mjs'

// --quick (bench/run.mjs): one round of a quarter of the operations, a smoke run.
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? (quick ? 1 : 5))
const CPU_ROUNDS = quick ? 3 : 7
const scale = quick ? 0.25 : 1
const SIZES = [
  ['1 KB', 1024, { 1: 60 * scale, 16: 240 * scale }],
  ['256 KB', 256 * 1024, { 1: 20 * scale, 16: 80 * scale }],
]
const NAMES = ['ours (gzip)', 'ours (none)', 'aws-sdk', 'aws4fetch', 'a4f same']
const cpuOnly = process.argv[2] === 'cpu'
const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]
const hex = (b) => Array.from(new Uint8Array(b), (x) => x.toString(16).padStart(2, '0')).join('')
const started = performance.now()

/** The five contenders over one server (`s3`) and SDK client; `runId` scopes every key. */
function libraries(s3, sdk, runId, snapshot, size) {
  const common = {
    bucket: s3.bucket,
    endpoint: s3.endpoint,
    region: s3.region,
    accessKeyId: s3.accessKeyId,
    secretAccessKey: s3.secretAccessKey,
  }
  const a4f = new AwsClient({
    accessKeyId: s3.accessKeyId,
    secretAccessKey: s3.secretAccessKey,
    region: s3.region,
    service: 's3',
    retries: 0,
  })
  const base = `${s3.endpoint.replace(/\/+$/, '')}/${s3.bucket}`
  const location = { sessionId: runId.replace('/', '-'), scope: 'agent', scopeId: `s${size}` }
  const encode = () => new TextEncoder().encode(JSON.stringify(snapshot))
  const decode = (bytes) => JSON.parse(new TextDecoder().decode(bytes))
  const mk = (compression) => {
    // Whole history objects (dedup: false): every contender PUTs the same snapshot whole, as the
    // peers do; with delta history a repeated save would be a few bytes and a HEAD of its parent.
    const store = new S3Storage({ ...common, prefix: `${runId}/ours-${compression}`, compression, dedup: false })
    const ids = []
    return {
      put: async () => {
        const id = newSnapshotId()
        await store.saveSnapshot({ location, snapshotId: id, isLatest: false, snapshot })
        ids.push(id)
      },
      get: async (i) => {
        if (!(await store.loadSnapshot({ location, snapshotId: ids[i % ids.length] }))) throw new Error('missing')
      },
    }
  }
  const keyed = (name, put, get) => {
    const keys = []
    return {
      put: async () => {
        const key = `${runId}/${name}/${size}/${newSnapshotId()}.json`
        await put(key, encode())
        keys.push(key)
      },
      get: async (i) => decode(await get(keys[i % keys.length])),
    }
  }
  const a4fPut = (extra) => async (key, body) => {
    const headers = { 'content-type': 'application/json', ...(await extra(body)) }
    const res = await a4f.fetch(`${base}/${key}`, { method: 'PUT', body, headers })
    if (!res.ok) throw new Error(`PUT ${res.status}`)
    await res.arrayBuffer()
  }
  const a4fGet = async (key) => {
    const res = await a4f.fetch(`${base}/${key}`)
    if (!res.ok) throw new Error(`GET ${res.status}`)
    return new Uint8Array(await res.arrayBuffer())
  }
  return {
    'ours (gzip)': mk('gzip'),
    'ours (none)': mk('none'),
    'aws-sdk': keyed(
      'sdk',
      (Key, Body) => sdk.send(new PutObjectCommand({ Bucket: s3.bucket, Key, Body, ContentType: 'application/json' })),
      async (Key) => (await sdk.send(new GetObjectCommand({ Bucket: s3.bucket, Key }))).Body.transformToByteArray(),
    ),
    aws4fetch: keyed(
      'a4f',
      a4fPut(() => ({})),
      a4fGet,
    ),
    'a4f same': keyed(
      'a4f-same',
      a4fPut(async (body) => ({
        'x-amz-content-sha256': hex(await crypto.subtle.digest('SHA-256', body)),
        'if-none-match': '*',
        'x-amz-meta-snapshelf-write': btoa(String.fromCharCode(...crypto.getRandomValues(new Uint8Array(9)))),
      })),
      a4fGet,
    ),
  }
}

// ---- Part 1: client CPU, network stubbed ----------------------------------------------------
// Every client's transport answers at once with a canned S3 response (200 + ETag; a GET returns
// the bytes that client would have stored), so the figures are client work alone: signing,
// hashing, codec, request/response objects. aws4fetch and ours go through the global `fetch`;
// the SDK has its own HTTP handler, replaced by an equivalent stub.
{
  const fake = STUB_S3
  const objects = new Map()
  const shapes = {}
  let who = ''
  const remember = (method, headers) =>
    (shapes[`${who} ${method}`] ??= Object.entries(headers)
      .filter(([k]) => !/^(authorization|x-amz-date|host|content-length|user-agent|x-amz-user-agent|amz-sdk-invocation-id)$/.test(k))
      .map(([k, v]) => `${k}: ${v.length > 20 ? `${v.slice(0, 12)}…` : v}`)
      .join(', '))
  const realFetch = globalThis.fetch
  globalThis.fetch = async (input, init = {}) => {
    // aws4fetch hands over a Request; ours a URL and init (its body is already bytes).
    const req =
      input instanceof Request
        ? input
        : { url: input, method: init.method ?? 'GET', headers: new Headers(init.headers), arrayBuffer: async () => init.body }
    const path = new URL(req.url).pathname
    remember(req.method, Object.fromEntries(req.headers))
    if (req.method === 'PUT') {
      objects.set(path, new Uint8Array(await req.arrayBuffer()))
      return new Response(null, { status: 200, headers: { etag: STUB_ETAG } })
    }
    const body = objects.get(path) ?? objects.values().next().value
    return new Response(body, { status: 200, headers: { etag: STUB_ETAG, 'content-length': String(body.length) } })
  }
  const sdk = sdkClient(
    fake,
    stubSdkHandler(objects, {
      onRequest: (request) => {
        remember(request.method, request.headers)
        return true
      },
      asBody: (body) => Readable.from([Buffer.from(body)]),
    }),
  )
  const rows = []
  let cpuCase = 0
  for (const [label, size] of SIZES) {
    const ops = (size > 10_000 ? 60 : 300) * scale
    const libs = libraries(fake, sdk, 'cpu/run', snapshotOf(size), size)
    for (const op of ['put', 'get']) {
      progress('s3 part 1, client CPU', ++cpuCase, SIZES.length * 2, `${label} ${op.toUpperCase()}, ${CPU_ROUNDS} rounds × ${ops} ops`)
      const results = {}
      for (let round = 0; round < CPU_ROUNDS; round++) {
        for (const [name, lib] of Object.entries(libs)) {
          who = name
          for (let i = 0; i < 3; i++) await lib[op](i) // warm-up (and objects for the GETs)
          const t0 = performance.now()
          for (let i = 0; i < ops; i++) await lib[op](i)
          results[name] ??= []
          results[name].push(((performance.now() - t0) * 1000) / ops)
        }
      }
      rows.push({ label, op: op.toUpperCase(), ...Object.fromEntries(NAMES.map((k) => [k, median(results[k])])) })
    }
  }
  globalThis.fetch = realFetch
  sdk.destroy()
  console.log(`\nClient CPU per request, fetch stubbed: µs, median of ${CPU_ROUNDS} rounds, sequential (lower is better)`)
  console.log(`size    op    ${NAMES.map((n) => n.padStart(12)).join('')} | none/a4f-same`)
  for (const row of rows)
    console.log(
      `${row.label.padEnd(7)} ${row.op.padEnd(4)}  ${NAMES.map((n) => row[n].toFixed(0).padStart(12)).join('')} | ${(row['ours (none)'] / row['a4f same']).toFixed(2)}×`,
    )
  console.log('What each PUT / GET sends (besides authorization, x-amz-date, host, length, user agents):')
  for (const [k, v] of Object.entries(shapes)) console.log(`  ${k.padEnd(16)} ${v}`)
  if (cpuOnly) process.exit(0)
}

// ---- Part 2: ops/s against the real server --------------------------------------------------
let s3
if (process.env.S3_ENDPOINT) {
  s3 = {
    endpoint: process.env.S3_ENDPOINT,
    region: process.env.S3_REGION || 'us-east-1',
    accessKeyId: process.env.S3_ACCESS_KEY,
    secretAccessKey: process.env.S3_SECRET_KEY,
    bucket: process.env.S3_BUCKET || 'snapshelf-test',
  }
} else {
  s3 = await ensureS3({ required: false })
  if (!s3) {
    console.error('bench/s3: no S3 server, skipped (see the banner above)')
    process.exit(0)
  }
}
const runId = `bench/${Date.now().toString(36)}`
const common = {
  bucket: s3.bucket,
  endpoint: s3.endpoint,
  region: s3.region,
  accessKeyId: s3.accessKeyId,
  secretAccessKey: s3.secretAccessKey,
}
const sdk = sdkClient(s3)

/** Runs `ops` calls of `fn` with `concurrency` in flight; returns ops/s. */
async function measure(fn, ops, concurrency) {
  let next = 0
  const t0 = performance.now()
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (next < ops) await fn(next++)
    }),
  )
  return ops / ((performance.now() - t0) / 1000)
}

const rows = []
let gzipSize = 0
let serverCase = 0
for (const [label, size, opsBy] of SIZES) {
  const snapshot = snapshotOf(size)
  const libs = libraries(s3, sdk, runId, snapshot, size)
  for (const lib of Object.values(libs)) await lib.put() // warm-up: connections, signing-key cache
  for (const op of ['put', 'get']) {
    for (const concurrency of [1, 16]) {
      progress(
        's3 part 2, real server',
        ++serverCase,
        SIZES.length * 4,
        `${label} ${op.toUpperCase()}, ${concurrency} in flight, ${ROUNDS} rounds × ${opsBy[concurrency]} ops × 5 clients`,
      )
      const results = Object.fromEntries(NAMES.map((k) => [k, []]))
      for (let round = 0; round < ROUNDS; round++) {
        for (const [name, lib] of Object.entries(libs)) results[name].push(await measure(lib[op], opsBy[concurrency], concurrency))
      }
      rows.push({
        label,
        op: op.toUpperCase(),
        concurrency,
        ...Object.fromEntries(Object.entries(results).map(([k, v]) => [k, median(v)])),
      })
    }
  }
  if (size > 10_000) {
    const gz = new Response(new Response(JSON.stringify(snapshot)).body.pipeThrough(new CompressionStream('gzip')))
    gzipSize = (await gz.arrayBuffer()).byteLength
  }
}

const f = (x) => x.toFixed(0).padStart(8)
const r = (x) => `${x.toFixed(2)}×`.padStart(7)
console.log(`\nS3 ops/s, median of ${ROUNDS} rounds (${s3.endpoint}); ratios = ours ÷ peer (goals: ≥ 1.2× sdk, ≥ 0.95× a4f)`)
console.log(`size    op   conc  ${NAMES.map((n) => n.padStart(12)).join('')} | gz/sdk  no/sdk  gz/a4f  no/a4f no/same`)
for (const row of rows) {
  const g = row['ours (gzip)']
  const n = row['ours (none)']
  console.log(
    `${row.label.padEnd(7)} ${row.op.padEnd(4)} ${String(row.concurrency).padStart(4)}  ${NAMES.map((k) => f(row[k]).padStart(12)).join('')} |` +
      `${r(g / row['aws-sdk'])} ${r(n / row['aws-sdk'])} ${r(g / row.aws4fetch)} ${r(n / row.aws4fetch)} ${r(n / row['a4f same'])}`,
  )
}

// The goals, over every row of part 2: ops/s ≥ 1.2× the AWS SDK's, ≥ 0.95× bare aws4fetch's.
for (const [variant, peer, target] of [
  ['ours (gzip)', 'aws-sdk', 1.2],
  ['ours (none)', 'aws-sdk', 1.2],
  ['ours (none)', 'aws4fetch', 0.95],
]) {
  const ratios = rows.map((row) => ({ row, ratio: row[variant] / row[peer] }))
  const worst = ratios.reduce((a, b) => (b.ratio < a.ratio ? b : a))
  const metRows = ratios.filter((x) => x.ratio >= target).length
  goal({
    bench: 's3',
    goal: `${variant} ops/s ≥ ${target}× ${peer}, every size, op and concurrency`,
    measured: `${metRows}/${ratios.length} rows; worst ${worst.ratio.toFixed(2)}× (${worst.row.label} ${worst.row.op}, ${worst.row.concurrency} in flight)`,
    met: metRows === ratios.length,
  })
}

// ---- Part 3: GET rate by object size (bare aws4fetch, sequential) ----------------------------
// A server that writes a response's headers and body separately with Nagle on (Ceph's beast
// frontend unless `tcp_nodelay=1`) holds a body shorter than one segment (~64 KB on loopback)
// until the client's delayed ACK (~40 ms): every client then GETs small objects ~22/s. A gzipped
// 256 KB snapshot is that small, which is why "256 KB GET" with gzip tracks the 1 KB rate.
{
  const a4f = new AwsClient({
    accessKeyId: s3.accessKeyId,
    secretAccessKey: s3.secretAccessKey,
    region: s3.region,
    service: 's3',
    retries: 0,
  })
  progress('s3 part 3, GET/s by size', 1, 1, 'bare aws4fetch, 12 GETs per size')
  const line = []
  for (const size of [gzipSize, 1024, 16 * 1024, 60_000, 70_000, 256 * 1024]) {
    const url = `${s3.endpoint.replace(/\/+$/, '')}/${s3.bucket}/${runId}/by-size/${size}`
    await (await a4f.fetch(url, { method: 'PUT', body: new Uint8Array(size).fill(120) })).arrayBuffer()
    const rate = await measure(async () => (await a4f.fetch(url)).arrayBuffer(), 12, 1)
    line.push(`${size === gzipSize ? `${size} B (gzipped 256 KB snapshot)` : `${size} B`}: ${rate.toFixed(0)}/s`)
  }
  console.log(`\nBare aws4fetch GET/s by object size, sequential: ${line.join(' · ')}`)
}
console.log(`(${((performance.now() - started) / 1000).toFixed(0)} s)`)

// Clean up everything this run wrote.
const cleaner = new S3Backend(common)
for (;;) {
  const page = await cleaner.list(`${runId}/`)
  if (page.entries.length) await cleaner.delete(page.entries.map((e) => e.key))
  if (!page.truncated) break
}
for (const loc of ['ours-gzip', 'ours-none'])
  await new S3Storage({ ...common, prefix: `${runId}/${loc}` }).deleteSession({ sessionId: runId.replace('/', '-') })
sdk.destroy()
if (!process.env.S3_ENDPOINT) await stopS3()
