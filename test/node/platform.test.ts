import { createGzip } from 'node:zlib'
import { AwsV4Signer } from 'aws4fetch'
import { describe, expect, it } from 'vitest'
import { S3Backend } from 'snapshelf/s3'
import { sampleSnapshot } from 'snapshelf/testing'
import * as node from '../../src/platform/node.js'
import * as web from '../../src/platform/web.js'
import { nodeWritten } from '../helpers/platform-fixture.js'

// `#platform` (src/platform/): the node:zlib / node:crypto file Node, Bun and Deno get and the
// CompressionStream / Web Crypto file Workers and browsers get must be interchangeable. Both run
// here, in Node, so each reads what the other wrote; workerd and Chromium read Node-written
// objects in their own suites (test/workers/codec.test.ts, test/browser/codec.test.ts).
const platforms = { node, web }
const pairs = [
  ['node', 'web'],
  ['web', 'node'],
] as const

/** Agent-like JSON of about `size` bytes: turns of a conversation with tool calls, as Strands stores them. */
function agentJson(size: number): Uint8Array {
  const messages: unknown[] = []
  for (let turn = 0, length = 200; length < size; turn++) {
    const asked = { role: 'user', content: [{ text: `Question ${turn}: what is the status of order #${1000 + turn}?` }] }
    const answered = {
      role: 'assistant',
      content: [
        { toolUse: { toolUseId: `tooluse_${turn.toString(36)}`, name: 'lookup_order', input: { orderId: 1000 + turn } } },
        { text: `Order #${1000 + turn} shipped on day ${turn % 28}; tracking ${(turn * 7919).toString(16)}.` },
      ],
    }
    messages.push(asked, answered)
    length += JSON.stringify(asked).length + JSON.stringify(answered).length + 2
  }
  return new TextEncoder().encode(JSON.stringify(sampleSnapshot(0, { messages })))
}

/** A gzip stream of `decoded` zero bytes, built without ever holding them (1 MiB at a time). */
async function zeroBomb(decoded: number): Promise<Uint8Array> {
  const gz = createGzip()
  const parts: Buffer[] = []
  gz.on('data', (part: Buffer) => parts.push(part))
  const ended = new Promise((resolve) => gz.on('end', resolve))
  const chunk = new Uint8Array(1 << 20)
  for (let left = decoded; left > 0; left -= chunk.length) {
    if (!gz.write(chunk.subarray(0, Math.min(left, chunk.length)))) await new Promise((resolve) => gz.once('drain', resolve))
  }
  gz.end()
  await ended
  return new Uint8Array(Buffer.concat(parts))
}

describe.each(pairs)('written by the %s platform, read by the %s platform', (writer, reader) => {
  for (const size of [100, 1024, 64 * 1024 + 1, 256 * 1024]) {
    it(`${size} B of agent JSON round-trips`, async () => {
      const raw = agentJson(size)
      const stored = await platforms[writer].gzip(raw)
      expect([stored[0], stored[1]]).toEqual([0x1f, 0x8b])
      // (At 100 B gzip's 18 B of framing outweigh what it saves: see the codec's threshold.)
      if (size >= 1024) expect(stored.length).toBeLessThan(raw.length)
      const back = await platforms[reader].gunzip(stored, raw.length)
      expect(back).toEqual(raw)
      // A plain Uint8Array of exactly the output (never a view into a larger working buffer).
      expect(back?.constructor).toBe(Uint8Array)
      expect(back?.buffer.byteLength).toBe(raw.length)
    })
  }
})

describe.each(Object.keys(platforms) as (keyof typeof platforms)[])('the %s platform', (name) => {
  const p = platforms[name]

  it('gzip output is a plain Uint8Array of exactly its bytes', async () => {
    const stored = await p.gzip(agentJson(200))
    expect(stored.constructor).toBe(Uint8Array)
    expect(stored.byteOffset).toBe(0)
    expect(stored.buffer.byteLength).toBe(stored.length)
  })

  it('gunzip takes exactly maxBytes and refuses one byte more (undefined)', async () => {
    const raw = agentJson(5000)
    const stored = await p.gzip(raw)
    expect(await p.gunzip(stored, raw.length)).toEqual(raw)
    expect(await p.gunzip(stored, raw.length - 1)).toBeUndefined()
  })

  // Small bombs take the synchronous zlib path on Node, large ones the asynchronous one.
  for (const [label, decoded, limit] of [
    ['a 4 MiB bomb under a 1 MiB limit', 4 << 20, 1 << 20],
    ['a 256 MiB bomb under a 1 MiB limit', 256 << 20, 1 << 20],
  ] as const) {
    it(`${label} is refused without allocating its decoded size`, { timeout: 120_000 }, async () => {
      const bomb = await zeroBomb(decoded)
      expect(bomb.length).toBeLessThan(decoded / 500)
      const before = process.memoryUsage().arrayBuffers
      expect(await p.gunzip(bomb, limit)).toBeUndefined()
      // An unbounded inflate would still hold (or just have dropped) `decoded` bytes here.
      expect(process.memoryUsage().arrayBuffers - before).toBeLessThan(64 << 20)
    })
  }

  it('garbage, a foreign method, truncated gzip and trailing junk reject', async () => {
    const stored = await p.gzip(agentJson(4000))
    const cases = [
      new Uint8Array([0x1f, 0x8b, 1, 2, 3, 4, 5, 6, 7, 8, 9]),
      new Uint8Array([0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 3, 0xff, 0xff]),
      stored.slice(0, stored.length >> 1),
      stored.slice(0, -4),
    ]
    for (const bytes of cases) await expect(p.gunzip(bytes, 1 << 20)).rejects.toBeDefined()
  })

  it('gzip of chunks handed out in one reused buffer writes what gzip of the whole does (issue 18 item 3)', async () => {
    const raw = agentJson(300_000)
    const buffer = new Uint8Array(7000)
    let pulled = 0
    // Each chunk overwrites the last one's bytes: only a compressor done with a chunk before it
    // pulls the next gets the input right.
    function* chunks(): Generator<Uint8Array> {
      for (let at = 0; at < raw.length; at += buffer.length) {
        const piece = raw.subarray(at, at + buffer.length)
        buffer.set(piece)
        pulled++
        yield buffer.subarray(0, piece.length)
      }
    }
    const stored = await p.gzip(chunks())
    expect(pulled).toBe(Math.ceil(raw.length / buffer.length))
    expect([stored[0], stored[1]]).toEqual([0x1f, 0x8b])
    expect(await p.gunzip(stored, raw.length)).toEqual(raw)
    // zlib at its default level, fed without flushes: the same deflate stream as in one call.
    expect(stored).toEqual(await p.gzip(raw))
  })

  it("gzip of chunks rejects with the iterable's own error", async () => {
    const failure = new Error('the value failed half-way')
    function* chunks(): Generator<Uint8Array> {
      yield agentJson(100_000)
      throw failure
    }
    await expect(p.gzip(chunks())).rejects.toBe(failure)
  })

  it('gunzip into a sink hands over all of the output, refuses a bomb, and rejects with what the sink throws', async () => {
    const raw = agentJson(300_000)
    const stored = await p.gzip(raw)
    const pieces: Uint8Array[] = []
    const done = await p.gunzip(stored, raw.length, (piece) => pieces.push(piece.slice()))
    expect(done).toEqual(new Uint8Array(0))
    expect(Buffer.concat(pieces)).toEqual(Buffer.from(raw))
    let taken = 0
    const bomb = await zeroBomb(8 << 20)
    expect(await p.gunzip(bomb, 1 << 20, (piece) => (taken += piece.length))).toBeUndefined()
    // Never past the limit: what the sink took is within it.
    expect(taken).toBeLessThanOrEqual(1 << 20)
    const failure = new Error('not UTF-8')
    await expect(
      p.gunzip(stored, raw.length, () => {
        throw failure
      }),
    ).rejects.toBe(failure)
  })

  it('sha256Hex matches the known digests', async () => {
    expect(await p.sha256Hex(new Uint8Array())).toBe('e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855')
    expect(await p.sha256Hex(new TextEncoder().encode('abc'))).toBe('ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad')
  })
})

it("the node platform's sink gets all of a two-member gzip, whose trailer names only the last member's size", async () => {
  const [a, b] = [agentJson(200_000), agentJson(50_000)]
  const stored = Buffer.concat([await node.gzip(a), await node.gzip(b)])
  const pieces: Uint8Array[] = []
  expect(await node.gunzip(stored, 1 << 20, (piece) => pieces.push(piece.slice()))).toEqual(new Uint8Array(0))
  expect(Buffer.concat(pieces)).toEqual(Buffer.concat([a, b]))
})

it('in Node both platforms write the same gzip bytes (both are zlib at its default level)', async () => {
  for (const size of [100, 1024, 100_000]) {
    const raw = agentJson(size)
    expect(await node.gzip(raw)).toEqual(await web.gzip(raw))
  }
})

it('both platforms hash the same, for every size', async () => {
  for (const size of [0, 1, 63, 64, 1000, 70_000]) {
    const bytes = agentJson(Math.max(size, 2)).subarray(0, size)
    expect(await node.sha256Hex(bytes)).toBe(await web.sha256Hex(bytes))
  }
})

describe('SigV4: both platforms sign exactly as aws4fetch does', () => {
  const credentials = { accessKeyId: 'AKIDEXAMPLE', secretAccessKey: 'wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY' }
  const requests: { method: string; url: string; headers: Record<string, string>; region: string; sessionToken?: string }[] = [
    { method: 'GET', url: 'https://examplebucket.s3.amazonaws.com/test.txt', headers: { range: 'bytes=0-9' }, region: 'us-east-1' },
    {
      method: 'PUT',
      url: 'http://127.0.0.1:7480/bucket/s1/scopes/agent/main/snapshots/snapshot_latest.json',
      headers: {
        'content-type': 'application/gzip',
        'if-match': 'abc123',
        'x-amz-content-sha256': '44ce7dd67c959e0d3524ffac1771dfbba87d2b6b4b4e99e42034a8b803f8b072',
        'x-amz-meta-snapshelf-write': 'tok1',
      },
      region: 'us-east-1',
    },
    {
      method: 'GET',
      url: 'https://acct.r2.cloudflarestorage.com/b?list-type=2&max-keys=1000&prefix=s%201%2F&start-after=a%2Bb%3D',
      headers: {},
      region: 'auto',
      sessionToken: 'IQoJb3JpZ2luX2VjEJr//////////wEaCXVz+token=',
    },
    {
      method: 'POST',
      url: 'https://s3.eu-west-1.amazonaws.com/b?delete',
      headers: { 'content-md5': '1B2M2Y8AsgTpgAmY7PhCfg==', 'content-type': 'application/xml' },
      region: 'eu-west-1',
    },
  ]
  const days = ['20261203T120000Z', '20261203T235959Z', '20261204T000001Z']

  for (const request of requests) {
    it(`${request.method} ${request.url.slice(0, 60)}…`, async () => {
      const signers = {
        node: node.sigV4Signer(credentials.secretAccessKey, request.region, 's3'),
        web: web.sigV4Signer(credentials.secretAccessKey, request.region, 's3'),
      }
      // Across a change of day too: the cached key must follow the date.
      for (const datetime of days) {
        const make = () => new AwsV4Signer({ ...request, ...credentials, service: 's3', datetime })
        const reference = (await make().sign()).headers.get('authorization')
        expect(reference).toMatch(/Signature=[0-9a-f]{64}$/)
        for (const sign of Object.values(signers)) {
          const signer = make()
          signer.signature = () => sign(signer)
          expect((await signer.sign()).headers.get('authorization')).toBe(reference)
        }
      }
    })
  }
})

it('S3Backend on this runner (the node platform) sends the Authorization aws4fetch computes', async () => {
  let sent: Headers | undefined
  const backend = new S3Backend({
    bucket: 'bucket',
    endpoint: 'http://127.0.0.1:7480',
    accessKeyId: 'AKIDEXAMPLE',
    secretAccessKey: 'secret/with+chars',
    fetch: async (_url, init) => {
      sent = new Headers(init?.headers)
      return new Response(null, { status: 200, headers: { etag: '"e1"' } })
    },
  })
  const body = new TextEncoder().encode('{"a":1}')
  await backend.put('s1/key.json', body, { ifNoneMatch: '*' })
  const datetime = sent!.get('x-amz-date')!
  const headers = Object.fromEntries([...sent!].filter(([k]) => k !== 'authorization' && k !== 'x-amz-date'))
  const reference = new AwsV4Signer({
    method: 'PUT',
    url: 'http://127.0.0.1:7480/bucket/s1/key.json',
    headers,
    accessKeyId: 'AKIDEXAMPLE',
    secretAccessKey: 'secret/with+chars',
    service: 's3',
    region: 'us-east-1',
    datetime,
  })
  expect(sent!.get('x-amz-content-sha256')).toBe(await web.sha256Hex(body))
  expect(sent!.get('authorization')).toBe((await reference.sign()).headers.get('authorization'))
})

it('the node platform still writes the bytes workerd and Chromium are tested against (test/helpers/platform-fixture.ts)', async () => {
  const raw = new TextEncoder().encode(JSON.stringify(nodeWritten.snapshot))
  expect(Buffer.from(await node.gzip(raw)).toString('base64')).toBe(nodeWritten.gzipBase64)
  expect(await node.sha256Hex(raw)).toBe(nodeWritten.sha256)
  expect(await web.gunzip(Buffer.from(nodeWritten.gzipBase64, 'base64'), raw.length)).toEqual(raw)
})
