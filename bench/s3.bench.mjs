#!/usr/bin/env node
// S3 throughput, one run, same S3 server: snapshelf's S3Storage (built package, imported by name)
// vs @aws-sdk/client-s3 vs bare aws4fetch, PUT and GET of 1 KB and 256 KB snapshots, sequential
// and with 16 in flight. Medians of several rounds; libraries interleave within each round so
// machine noise hits all of them alike. Compare the ratios, not absolute figures.
//   ours (gzip): saveSnapshot({ isLatest: false }) = one conditional PUT incl. JSON + gzip + SHA-256;
//                loadSnapshot({ snapshotId }) = one GET incl. gunzip + JSON.parse.
//   ours (none): the same without gzip (plain JSON, what Strands writes).
//   aws-sdk:     PutObjectCommand / GetObjectCommand + transformToByteArray of the JSON bytes.
//   aws4fetch:   AwsClient.fetch PUT / GET of the JSON bytes (its default UNSIGNED-PAYLOAD: the
//                server does not verify the body, unlike ours).
// Usage: node bench/s3.bench.mjs   (reads S3_* env; boots the local Ceph via ensureS3 if unset)
import { GetObjectCommand, PutObjectCommand, S3Client } from '@aws-sdk/client-s3'
import { AwsClient } from 'aws4fetch'
import { newSnapshotId } from 'snapshelf'
import { S3Backend, S3Storage } from 'snapshelf/s3'
import { ensureS3, stopS3 } from '../scripts/s3-server.mjs'

const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 5)
const SIZES = [
  ['1 KB', 1024, { 1: 60, 16: 240 }],
  ['256 KB', 256 * 1024, { 1: 20, 16: 80 }],
]

let s3
if (process.env.S3_ENDPOINT) {
  s3 = { endpoint: process.env.S3_ENDPOINT, region: process.env.S3_REGION || 'us-east-1', accessKeyId: process.env.S3_ACCESS_KEY, secretAccessKey: process.env.S3_SECRET_KEY, bucket: process.env.S3_BUCKET || 'snapshelf-test' }
} else {
  s3 = await ensureS3({ required: false })
  if (!s3) {
    console.error('bench/s3: no S3 server, skipped (see the banner above)')
    process.exit(0)
  }
}

const runId = `bench/${Date.now().toString(36)}`
const common = { bucket: s3.bucket, endpoint: s3.endpoint, region: s3.region, accessKeyId: s3.accessKeyId, secretAccessKey: s3.secretAccessKey }
const sdk = new S3Client({
  endpoint: s3.endpoint,
  region: s3.region,
  forcePathStyle: true,
  credentials: { accessKeyId: s3.accessKeyId, secretAccessKey: s3.secretAccessKey },
  // What non-AWS servers need (older gateways reject the new default trailing checksums).
  requestChecksumCalculation: 'WHEN_REQUIRED',
  responseChecksumValidation: 'WHEN_REQUIRED',
})
const a4f = new AwsClient({ accessKeyId: s3.accessKeyId, secretAccessKey: s3.secretAccessKey, region: s3.region, service: 's3', retries: 0 })
const base = `${s3.endpoint.replace(/\/+$/, '')}/${s3.bucket}`

/** A Strands-shaped snapshot whose JSON is about `bytes` long, with text that compresses like real chat. */
function snapshotOf(bytes) {
  const words = ['the', 'agent', 'called', 'a', 'tool', 'with', 'result', 'user', 'asked', 'about', 'weather', 'in', 'Paris', '42', 'ok']
  let text = ''
  for (let i = 0; text.length < bytes - 200; i++) text += words[(i * 7 + (i >> 3)) % words.length] + (i % 11 ? ' ' : '. ')
  return { scope: 'agent', schemaVersion: '1.0', createdAt: new Date().toISOString(), data: { messages: [{ role: 'user', content: [{ text }] }] }, appData: {} }
}

function libraries(snapshot, bytes) {
  const location = { sessionId: runId.replace('/', '-'), scope: 'agent', scopeId: `s${bytes.length}` }
  const mk = (compression) => {
    const store = new S3Storage({ ...common, prefix: `${runId}/ours-${compression}`, compression })
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
        const key = `${runId}/${name}/${bytes.length}/${newSnapshotId()}.json`
        await put(key)
        keys.push(key)
      },
      get: (i) => get(keys[i % keys.length]),
    }
  }
  return {
    'ours (gzip)': mk('gzip'),
    'ours (none)': mk('none'),
    'aws-sdk': keyed(
      'sdk',
      (Key) => sdk.send(new PutObjectCommand({ Bucket: s3.bucket, Key, Body: bytes, ContentType: 'application/json' })),
      async (Key) => (await (await sdk.send(new GetObjectCommand({ Bucket: s3.bucket, Key }))).Body.transformToByteArray()).length,
    ),
    aws4fetch: keyed(
      'a4f',
      async (key) => {
        const res = await a4f.fetch(`${base}/${key}`, { method: 'PUT', body: bytes, headers: { 'content-type': 'application/json' } })
        if (!res.ok) throw new Error(`PUT ${res.status}`)
        await res.arrayBuffer()
      },
      async (key) => {
        const res = await a4f.fetch(`${base}/${key}`)
        if (!res.ok) throw new Error(`GET ${res.status}`)
        await res.arrayBuffer()
      },
    ),
  }
}

/** Runs `ops` calls of `fn` with `concurrency` in flight; returns ops/s. */
async function measure(fn, ops, concurrency) {
  let next = 0
  const t0 = performance.now()
  await Promise.all(Array.from({ length: concurrency }, async () => {
    while (next < ops) await fn(next++)
  }))
  return ops / ((performance.now() - t0) / 1000)
}

const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]
const rows = []
const started = performance.now()
for (const [label, size, opsBy] of SIZES) {
  const snapshot = snapshotOf(size)
  const bytes = new TextEncoder().encode(JSON.stringify(snapshot))
  const libs = libraries(snapshot, bytes)
  for (const lib of Object.values(libs)) await lib.put() // warm-up: connections, signing-key cache
  for (const op of ['put', 'get']) {
    for (const concurrency of [1, 16]) {
      const results = Object.fromEntries(Object.keys(libs).map((k) => [k, []]))
      for (let round = 0; round < ROUNDS; round++) {
        for (const [name, lib] of Object.entries(libs)) results[name].push(await measure(lib[op], opsBy[concurrency], concurrency))
      }
      rows.push({ label, op: op.toUpperCase(), concurrency, ...Object.fromEntries(Object.entries(results).map(([k, v]) => [k, median(v)])) })
    }
  }
}

const f = (x) => x.toFixed(0).padStart(7)
const r = (x) => `${x.toFixed(2)}×`.padStart(8)
console.log(`\nS3 ops/s, median of ${ROUNDS} rounds (${s3.endpoint}); ratios = ours ÷ peer`)
console.log('size    op   conc  ours(gzip) ours(none)  aws-sdk  aws4fetch | gzip/sdk none/sdk gzip/a4f none/a4f')
for (const row of rows) {
  const g = row['ours (gzip)']
  const n = row['ours (none)']
  console.log(
    `${row.label.padEnd(7)} ${row.op.padEnd(4)} ${String(row.concurrency).padStart(4)}  ${f(g)}    ${f(n)}   ${f(row['aws-sdk'])}  ${f(row.aws4fetch)}   |` +
      `${r(g / row['aws-sdk'])}${r(n / row['aws-sdk'])}${r(g / row.aws4fetch)}${r(n / row.aws4fetch)}`,
  )
}
console.log(`(${((performance.now() - started) / 1000).toFixed(0)} s)`)

// Clean up everything this run wrote.
const cleaner = new S3Backend(common)
for (;;) {
  const page = await cleaner.list(`${runId}/`)
  if (page.entries.length) await cleaner.delete(page.entries.map((e) => e.key))
  if (!page.truncated) break
}
for (const loc of ['ours-gzip', 'ours-none']) await new S3Storage({ ...common, prefix: `${runId}/${loc}` }).deleteSession({ sessionId: runId.replace('/', '-') })
sdk.destroy()
if (!process.env.S3_ENDPOINT) await stopS3()
