#!/usr/bin/env node
// Peak extra memory of one large save and one large load (issue 18 items 3 and 4), built package:
// an 8 MB and a 32 MB agent snapshot (many messages, bench/codec-data.mjs's turns), each case in a
// fresh `node --expose-gc` child so no case inherits another's heap. Contenders: ours over
// MemoryStorage and over S3Storage against the real S3 server (gzip, the default), and the AWS SDK
// (`@aws-sdk/client-s3`) doing what a user of it writes: JSON.stringify + node:zlib gzip +
// PutObject; GetObject + transformToByteArray + gunzip + TextDecoder + JSON.parse.
// How a child measures: the snapshot value is built and (for a load) saved first, then two GCs;
// the baseline is the RSS then. Writing 5 to /proc/self/clear_refs resets the kernel's peak RSS
// (VmHWM) to the current RSS, so VmHWM after the operation is the true peak of the operation alone,
// synchronous phases (JSON.stringify, JSON.parse) included, where a timer sampling the heap sees
// only the gaps between them. Also printed: the heap + arrayBuffers peak sampled every millisecond
// (a lower bound), and what is still held after a GC (the loaded value itself, for a load).
// Goal: peak extra RSS ≤ 2× the JSON size for save and load of 32 MB (ours, each backend).
// Usage: node bench/memory.bench.mjs   (after `npx tsup`; bench/run.mjs runs it with the others)
import { spawnSync } from 'node:child_process'
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs'
import { fileURLToPath } from 'node:url'
import { agentSnapshot } from './codec-data.mjs'
import { goal, progress, quick } from './report.mjs'

const MB = 1024 * 1024
const file = fileURLToPath(import.meta.url)
const cache = fileURLToPath(new URL('../.cache', import.meta.url))

/** VmRSS / VmHWM of this process, in bytes (Linux). */
function status(field) {
  return Number(new RegExp(`${field}:\\s+(\\d+) kB`).exec(readFileSync('/proc/self/status', 'utf8'))[1]) * 1024
}

/** The S3 server of `S3_*` (bench/run.mjs boots one when unset), or null. */
function s3Server() {
  const e = process.env
  if (!e.S3_ENDPOINT) return null
  return {
    endpoint: e.S3_ENDPOINT,
    region: e.S3_REGION ?? 'us-east-1',
    accessKeyId: e.S3_ACCESS_KEY,
    secretAccessKey: e.S3_SECRET_KEY,
    bucket: e.S3_BUCKET,
  }
}

/** save(value), plant(bytes) (stored bytes put as they are) and load() of one contender; `run` scopes its keys. */
async function contender(name, run) {
  const location = { sessionId: `mem-${run}`, scope: 'agent', scopeId: 'main' }
  const s3 = s3Server()
  if (name === 'aws-sdk') {
    const { DeleteObjectCommand, GetObjectCommand, PutObjectCommand } = await import('@aws-sdk/client-s3')
    const { promisify } = await import('node:util')
    const zlib = await import('node:zlib')
    const [gzip, gunzip] = [promisify(zlib.gzip), promisify(zlib.gunzip)]
    const sdk = (await import('./sdk.mjs')).sdkClient(s3)
    const Key = `bench-memory/${run}/sdk.json.gz`
    const put = (Body) => sdk.send(new PutObjectCommand({ Bucket: s3.bucket, Key, Body, ContentType: 'application/gzip' }))
    return {
      save: async (value) => {
        await put(await gzip(JSON.stringify(value)))
      },
      plant: (bytes) => put(bytes),
      load: async () => {
        const body = await (await sdk.send(new GetObjectCommand({ Bucket: s3.bucket, Key }))).Body.transformToByteArray()
        return JSON.parse(new TextDecoder().decode(await gunzip(body)))
      },
      cleanup: () => sdk.send(new DeleteObjectCommand({ Bucket: s3.bucket, Key })),
    }
  }
  const store =
    name === 'ours, S3' ? new (await import('snapshelf/s3')).S3Storage({ ...s3 }) : new (await import('snapshelf')).MemoryStorage()
  const save = (value) => store.saveSnapshot({ location, snapshotId: 'latest', isLatest: true, snapshot: value })
  return {
    save,
    /** The key `save` writes, found by saving a small snapshot once and listing. */
    plant: async (bytes) => {
      await save({ note: 'placeholder' })
      const [{ key }] = (await store.backend.list(`${location.sessionId}/`)).entries
      await store.backend.put(key, bytes)
    },
    load: () => store.loadSnapshot({ location }),
    cleanup: () => store.deleteSession({ sessionId: location.sessionId }),
  }
}

/** The bytes our store keeps for the agent snapshot of `size` (what every contender then loads: node:zlib gzip of the JSON). */
async function storedBytes(size) {
  const { MemoryStorage } = await import('snapshelf')
  const store = new MemoryStorage()
  const location = { sessionId: 'stored', scope: 'agent', scopeId: 'main' }
  const value = agentSnapshot(size)
  await store.saveSnapshot({ location, snapshotId: 'latest', isLatest: true, snapshot: value })
  const [{ key }] = (await store.backend.list('')).entries
  return { bytes: (await store.backend.get(key)).body, json: JSON.stringify(value).length }
}

// ---- a child: one case ------------------------------------------------------------------------
// A save builds the value here (it is the caller's: in the baseline). A load starts from the
// stored bytes the parent wrote to a file, put into the store as they are, so nothing of building
// or encoding the value is in the baseline or left for a GC.
if (process.argv[2] === '--case') {
  const [, , , name, op, size, stored] = process.argv
  const c = await contender(name, `${process.pid}-${Date.now()}`)
  let value = op === 'save' ? agentSnapshot(Number(size)) : undefined
  if (op === 'load') await c.plant(new Uint8Array(readFileSync(stored)))
  globalThis.gc()
  globalThis.gc()
  await new Promise((r) => setTimeout(r, 50))
  const used = () => {
    const m = process.memoryUsage()
    return m.heapUsed + m.arrayBuffers
  }
  const base = status('VmRSS')
  const baseUsed = used()
  let sampled = 0
  const timer = setInterval(() => {
    sampled = Math.max(sampled, used())
  }, 1)
  writeFileSync('/proc/self/clear_refs', '5')
  let result = op === 'save' ? await c.save(value) : await c.load()
  const peak = status('VmHWM')
  clearInterval(timer)
  sampled = Math.max(sampled, used())
  value = undefined
  // A turn of the event loop first: until the operation's async frames are gone they still hold
  // its intermediates (the decoded text: 32 MB more for 32 MB of JSON right after the await).
  await new Promise((r) => setTimeout(r, 50))
  globalThis.gc()
  globalThis.gc()
  // What the operation leaves held: for a load, the loaded value itself (heap, not RSS: a GC's
  // freed pages stay in the RSS).
  const held = used() - baseUsed
  const json = result && JSON.stringify(result).length
  result = undefined
  await c.cleanup()
  console.log(JSON.stringify({ json, peak: peak - base, sampled: sampled - baseUsed, held }))
  process.exit(0)
}

// ---- the parent: every case in its own child --------------------------------------------------
// The peak comes from Linux's /proc (VmHWM and its reset): elsewhere there is nothing to measure.
if (!existsSync('/proc/self/clear_refs')) {
  console.log('memory bench skipped: it reads the peak RSS from Linux /proc (VmHWM, clear_refs)')
  process.exit(0)
}
const sizes = quick ? [8 * MB] : [8 * MB, 32 * MB]
const names = ['ours, MemoryStorage', ...(s3Server() ? ['ours, S3', 'aws-sdk'] : [])]
if (!s3Server()) console.log('no S3 server (S3_ENDPOINT unset): MemoryStorage only')
mkdirSync(cache, { recursive: true })
const rows = []
let step = 0
for (const size of sizes) {
  const stored = `${cache}/memory-${size}.gz`
  const { bytes, json } = await storedBytes(size)
  writeFileSync(stored, bytes)
  for (const name of names) {
    for (const op of ['save', 'load']) {
      progress('memory', ++step, sizes.length * names.length * 2, `${name} ${op} ${size / MB} MB, fresh child`)
      const child = spawnSync(process.execPath, ['--expose-gc', file, '--case', name, op, String(size), stored], {
        encoding: 'utf8',
        env: process.env,
      })
      if (child.status !== 0) throw new Error(`${name} ${op} ${size / MB} MB failed:\n${child.stderr}`)
      const row = { size, name, op, json, ...JSON.parse(child.stdout.trim().split('\n').at(-1)) }
      // A load must give back the value saved: its JSON as long as the original's.
      if (op === 'load' && row.json !== json) throw new Error(`${name} loaded ${row.json} chars of JSON, not ${json}`)
      rows.push(row)
    }
  }
}
const mb = (n) => (n / MB).toFixed(1)
console.log(
  '\nPeak extra memory of one save / load (MB), above the baseline (a save: with the value built; a load: with the stored bytes in the store)',
)
console.log(
  '  peak RSS: VmHWM - baseline RSS (exact); ×JSON: ÷ the JSON size; heap+ab: heap + arrayBuffers sampled every ms (a lower bound);',
)
console.log('  value: what is still held after a GC (a load: the parsed value itself); beyond value: peak RSS - value, ×JSON')
console.log('size   contender             op    JSON MB  peak RSS  ×JSON  heap+ab  value  beyond value  ×JSON')
for (const r of rows) {
  const beyond = r.peak - Math.max(0, r.held)
  console.log(
    `${`${r.size / MB} MB`.padEnd(6)} ${r.name.padEnd(21)} ${r.op.padEnd(5)} ${mb(r.json).padStart(7)}  ${mb(r.peak).padStart(8)}  ${(r.peak / r.json).toFixed(1).padStart(5)}  ${mb(r.sampled).padStart(7)}  ${mb(Math.max(0, r.held)).padStart(5)}  ${mb(beyond).padStart(12)}  ${(beyond / r.json).toFixed(1).padStart(5)}`,
  )
}
for (const r of rows.filter((r) => r.size === 32 * MB && r.name.startsWith('ours'))) {
  const beyond = r.peak - Math.max(0, r.held)
  goal({
    bench: 'memory',
    goal: `${r.name} ${r.op} 32 MB: peak extra ≤ 2× JSON${r.op === 'load' ? ' (beyond the loaded value itself)' : ''}`,
    measured: `${(beyond / r.json).toFixed(2)}×${r.op === 'load' ? ` (${(r.peak / r.json).toFixed(2)}× with it)` : ''}`,
    met: beyond <= 2 * r.json,
  })
}
for (const r of rows.filter((r) => r.name === 'aws-sdk')) {
  goal({
    bench: 'memory',
    goal: `aws-sdk ${r.op} ${r.size / MB} MB peak extra (peer)`,
    measured: `${(r.peak / r.json).toFixed(2)}×`,
    met: null,
  })
}
