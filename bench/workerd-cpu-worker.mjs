// The Worker bench/workerd-cpu.bench.mjs bundles (built package, `workerd` / `worker` / `browser`
// conditions, so the web #platform) and runs in `workerd serve`. Each request runs one batch:
//   GET /?c=<contender>&op=put|get&size=<bytes>&n=<ops>  →  { n, clockMs, requests }
// n sequential operations of one contender, every transport stubbed: no network. The bench reads
// the workerd process's CPU time around each request (the figure it reports); clockMs is the
// isolate's own clock across the batch, a cross-check (see the bench's comment on the clock);
// requests, how many the stub answered (one per operation, for every contender).
// Contenders, as in bench/s3.bench.mjs part 1 (every one stores a snapshot OBJECT: PUT =
// JSON.stringify + encode + upload, GET = download + JSON.parse):
//   ours-gzip / ours-none: S3Storage.saveSnapshot({ isLatest: false }) / loadSnapshot({ snapshotId }),
//     history deltas off (one whole PUT per save, see below), fetch given as an option (the stub);
//   ours-backend: our byte layer alone (S3Backend.put with If-None-Match: * / get + JSON.parse);
//   aws4fetch: AwsClient.sign + the same stub (what AwsClient.fetch does with retries: 0),
//     UNSIGNED-PAYLOAD, no condition;
//   a4f-same: the same sending exactly ours (none)'s request (signed payload hash, If-None-Match: *,
//     a write-token header): ours ÷ this is our client's own overhead;
//   aws-sdk: @aws-sdk/client-s3 Put/GetObjectCommand with a requestHandler whose handle() answers
//     at once (absent when the bench could not bundle the SDK: then sdk.S3Client is undefined).
import * as sdk from '@aws-sdk/client-s3'
import { AwsClient } from 'aws4fetch'
import { newSnapshotId } from 'snapshelf'
import { S3Backend, S3Storage } from 'snapshelf/s3'
import { STUB_ETAG, STUB_S3, snapshotOf, stubSdkHandler } from './shared.mjs'

const fake = STUB_S3
const base = `${fake.endpoint}/${fake.bucket}`
/** Objects the setup PUT of each contender stored, by path: what its GETs are answered with. */
const objects = new Map()
let recording = false
/** Requests the stub has answered: a batch reports how many its operations sent. */
let requests = 0
/** What each contender's setup PUT and first GET send (besides the volatile headers), for the bench to print. */
const shapes = {}
let who = ''
const remember = (method, headers) =>
  (shapes[`${who} ${method}`] ??= Object.entries(headers)
    .filter(
      ([k]) =>
        !/^(authorization|x-amz-date|host|content-length|user-agent|x-amz-user-agent|amz-sdk-invocation-id|amz-sdk-request)$/.test(k),
    )
    .map(([k, v]) => `${k}: ${v.length > 20 ? `${v.slice(0, 12)}…` : v}`)
    .join(', '))

/** The stubbed transport: reads a PUT's body as a server would and answers 200 + ETag at once. */
async function stub(input, init = {}) {
  requests++
  // aws4fetch hands over a Request; ours a URL and init (its body bytes).
  const method = input instanceof Request ? input.method : (init.method ?? 'GET')
  const path = new URL(input instanceof Request ? input.url : input).pathname
  if (recording) remember(method, Object.fromEntries(new Headers(input instanceof Request ? input.headers : init.headers)))
  if (method === 'PUT') {
    const body = input instanceof Request ? input.body : init.body
    const bytes = body instanceof Uint8Array ? body : new Uint8Array(await new Response(body).arrayBuffer())
    if (recording) objects.set(path, bytes.slice())
    return new Response(null, { status: 200, headers: { etag: STUB_ETAG } })
  }
  // A HEAD only asks whether an object exists: every one a contender asks about was written.
  if (method === 'HEAD') return new Response(null, { status: 200, headers: { etag: STUB_ETAG } })
  const bytes = objects.get(path)
  if (!bytes) return new Response(null, { status: 404 })
  return new Response(bytes, { status: 200, headers: { etag: STUB_ETAG, 'content-length': String(bytes.length) } })
}

const sdkClient =
  sdk.S3Client &&
  new sdk.S3Client({
    endpoint: fake.endpoint,
    region: fake.region,
    forcePathStyle: true,
    credentials: { accessKeyId: fake.accessKeyId, secretAccessKey: fake.secretAccessKey },
    requestChecksumCalculation: 'WHEN_REQUIRED',
    responseChecksumValidation: 'WHEN_REQUIRED',
    requestHandler: stubSdkHandler(objects, {
      onRequest: (request) => {
        requests++
        if (recording) remember(request.method, request.headers)
        return recording
      },
      keep: (body) => body.slice(),
      asBody: (body, request) => (request.method === 'GET' ? new Response(body).body : body),
    }),
  })

const a4f = new AwsClient({ ...fake, service: 's3', retries: 0 })
const location = { sessionId: 'bench', scope: 'agent', scopeId: 'main' }
const encode = (snapshot) => new TextEncoder().encode(JSON.stringify(snapshot))
const decode = (bytes) => JSON.parse(new TextDecoder().decode(bytes))
const hex = (b) => Array.from(new Uint8Array(b), (x) => x.toString(16).padStart(2, '0')).join('')

/** One contender for snapshots of `size` bytes: { put(), get() }, its GET object stored once. */
async function contender(name, size) {
  const snapshot = snapshotOf(size)
  let lib
  if (name === 'ours-gzip' || name === 'ours-none') {
    // dedup: false, so a save is one conditional PUT of the whole snapshot, as the peers' PUT is.
    // The default (history deltas) saves the same snapshot as a diff against the previous save:
    // a delta PUT of a few bytes and a HEAD of its parent, another operation (history.bench.mjs).
    const store = new S3Storage({ ...fake, prefix: `${name}-${size}`, compression: name.slice(5), dedup: false, fetch: stub })
    const stored = newSnapshotId()
    lib = {
      put: () => store.saveSnapshot({ location, snapshotId: newSnapshotId(), isLatest: false, snapshot }),
      setup: () => store.saveSnapshot({ location, snapshotId: stored, isLatest: false, snapshot }),
      get: async () => {
        if (!(await store.loadSnapshot({ location, snapshotId: stored }))) throw new Error('missing')
      },
    }
  } else if (name === 'ours-backend') {
    // Our byte layer alone: S3Backend.put (conditional, as a snapshot save sends) / get + JSON.parse.
    const backend = new S3Backend({ ...fake, prefix: `backend-${size}`, fetch: stub })
    const put = (key) => backend.put(key, encode(snapshot), { ifNoneMatch: '*' })
    lib = {
      put: () => put(`${newSnapshotId()}.json`),
      setup: () => put('stored.json'),
      get: async () => decode((await backend.get('stored.json')).body),
    }
  } else if (name === 'aws4fetch') {
    const stored = `${base}/a4f-${size}/stored.json`
    const put = async (url) => {
      const res = await stub(
        await a4f.sign(url, { method: 'PUT', body: encode(snapshot), headers: { 'content-type': 'application/json' } }),
      )
      if (!res.ok) throw new Error(`PUT ${res.status}`)
      await res.arrayBuffer()
    }
    lib = {
      put: () => put(`${base}/a4f-${size}/${newSnapshotId()}.json`),
      setup: () => put(stored),
      get: async () => {
        const res = await stub(await a4f.sign(stored))
        if (!res.ok) throw new Error(`GET ${res.status}`)
        decode(new Uint8Array(await res.arrayBuffer()))
      },
    }
  } else if (name === 'a4f-same') {
    // aws4fetch sending exactly ours (none)'s PUT: signed payload hash, If-None-Match: *, a write token.
    const stored = `${base}/a4f-same-${size}/stored.json`
    const put = async (url) => {
      const body = encode(snapshot)
      const headers = {
        'content-type': 'application/json',
        'x-amz-content-sha256': hex(await crypto.subtle.digest('SHA-256', body)),
        'if-none-match': '*',
        'x-amz-meta-snapshelf-write': btoa(String.fromCharCode(...crypto.getRandomValues(new Uint8Array(9)))),
      }
      const res = await stub(await a4f.sign(url, { method: 'PUT', body, headers }))
      if (!res.ok) throw new Error(`PUT ${res.status}`)
      await res.arrayBuffer()
    }
    lib = {
      put: () => put(`${base}/a4f-same-${size}/${newSnapshotId()}.json`),
      setup: () => put(stored),
      get: async () => {
        const res = await stub(await a4f.sign(stored))
        if (!res.ok) throw new Error(`GET ${res.status}`)
        decode(new Uint8Array(await res.arrayBuffer()))
      },
    }
  } else if (name === 'aws-sdk' && sdkClient) {
    const put = (Key) =>
      sdkClient.send(new sdk.PutObjectCommand({ Bucket: fake.bucket, Key, Body: encode(snapshot), ContentType: 'application/json' }))
    lib = {
      put: () => put(`sdk-${size}/${newSnapshotId()}.json`),
      setup: () => put(`sdk-${size}/stored.json`),
      get: async () =>
        decode(
          await (
            await sdkClient.send(new sdk.GetObjectCommand({ Bucket: fake.bucket, Key: `sdk-${size}/stored.json` }))
          ).Body.transformToByteArray(),
        ),
    }
  } else throw new Error(`no contender ${name}`)
  recording = true
  who = name
  try {
    await lib.setup()
    await lib.get()
  } finally {
    recording = false
  }
  return lib
}

const contenders = new Map()

export default {
  async fetch(request) {
    const url = new URL(request.url)
    const q = (k) => url.searchParams.get(k)
    if (url.pathname === '/sdk') return Response.json({ sdk: Boolean(sdkClient) })
    if (url.pathname === '/shapes') return Response.json(shapes)
    try {
      const key = `${q('c')} ${q('size')}`
      if (!contenders.has(key)) contenders.set(key, await contender(q('c'), Number(q('size'))))
      const lib = contenders.get(key)
      const op = q('op')
      const n = Number(q('n'))
      // On Cloudflare the isolate's clock stands still while JavaScript runs (it moves on I/O
      // only): t0 is when this request arrived, and the second reading comes after a timer, an
      // I/O point. (The local workerd moves it as JavaScript runs, in whole milliseconds.)
      const sent = requests
      const t0 = performance.now()
      for (let i = 0; i < n; i++) await lib[op](i)
      await scheduler.wait(0)
      const clockMs = performance.now() - t0
      return Response.json({ n, clockMs, requests: requests - sent })
    } catch (error) {
      return new Response(String(error?.stack ?? error), { status: 500 })
    }
  },
}
