import { DeleteObjectsCommand, GetObjectCommand, ListObjectsV2Command, PutObjectCommand, S3Client } from '@aws-sdk/client-s3'
import { afterAll, beforeAll, expect, it } from 'vitest'
import { newSnapshotId, type Snapshot } from 'snapshelf'
import { S3Storage } from 'snapshelf/s3'
import { sampleSnapshot } from 'snapshelf/testing'
import { describeS3, s3Options, s3Server, uniquePrefix, wipePrefix } from '../helpers/s3.js'

/**
 * Interop with Strands Agents' own S3Storage (TypeScript SDK): it writes each object with the AWS
 * SDK's PutObject, `Body: JSON.stringify(data, null, 2)`, `ContentType: 'application/json'`, at
 * `[prefix/]<sessionId>/scopes/<scope>/<scopeId>/snapshots/{snapshot_latest.json, manifest.json,
 * immutable_history/snapshot_<id padded to 5>.json}`, and reads with GetObject + JSON.parse.
 * This test does exactly that with the real AWS SDK against the real S3 server.
 */
const prefix = uniquePrefix('strands')

describeS3('Strands Agents S3Storage interop (real S3, AWS SDK writing as Strands does)', () => {
  let sdk: S3Client
  beforeAll(() => {
    const s = s3Server!
    sdk = new S3Client({
      endpoint: s.endpoint,
      region: s.region,
      forcePathStyle: true,
      credentials: { accessKeyId: s.accessKeyId, secretAccessKey: s.secretAccessKey },
      requestChecksumCalculation: 'WHEN_REQUIRED',
    })
  })
  afterAll(async () => {
    sdk?.destroy()
    await wipePrefix(prefix)
  })
  const strandsKey = (sessionId: string, path: string) => `${prefix}/${sessionId}/scopes/agent/planner/snapshots/${path}`
  const strandsWrite = (key: string, data: unknown) =>
    sdk.send(
      new PutObjectCommand({ Bucket: s3Server!.bucket, Key: key, Body: JSON.stringify(data, null, 2), ContentType: 'application/json' }),
    )
  const strandsRead = async (key: string) => {
    const res = await sdk.send(new GetObjectCommand({ Bucket: s3Server!.bucket, Key: key }))
    return { contentType: res.ContentType, value: JSON.parse((await res.Body!.transformToString())!) as unknown }
  }

  it('ours loads, lists and deletes what Strands wrote', async () => {
    const sessionId = `strands-${Date.now().toString(36)}`
    const location = { sessionId, scope: 'agent', scopeId: 'planner' }
    const ids = [newSnapshotId(), newSnapshotId(), newSnapshotId()]
    const snapshots = ids.map((id, i) => sampleSnapshot(`strands-${i}`, { id }))
    for (const [i, id] of ids.entries())
      await strandsWrite(strandsKey(sessionId, `immutable_history/snapshot_${id.padStart(5, '0')}.json`), snapshots[i])
    await strandsWrite(strandsKey(sessionId, 'snapshot_latest.json'), snapshots[2])
    const manifest = { schemaVersion: '1.0', nextSnapshotId: '4', updatedAt: '2026-01-01T00:00:00.000Z' }
    await strandsWrite(strandsKey(sessionId, 'manifest.json'), manifest)
    // An object from Strands' older numeric-id scheme: not a listable id for us, but deleteSession removes it.
    await strandsWrite(strandsKey(sessionId, 'immutable_history/snapshot_00001.json'), sampleSnapshot('legacy'))

    const store = new S3Storage(s3Options({ prefix }))
    expect(await store.loadSnapshot({ location })).toEqual(snapshots[2])
    for (const [i, id] of ids.entries()) expect(await store.loadSnapshot({ location, snapshotId: id })).toEqual(snapshots[i])
    expect(await store.listSnapshotIds({ location })).toEqual(ids)
    expect(await store.loadManifest({ location })).toEqual(manifest)
    const updated = await store.updateLatest({ location, mutate: (cur) => ({ ...cur!, appData: { ...cur!.appData, touched: true } }) })
    expect(updated.committed).toBe(true)

    await store.deleteSession({ sessionId })
    const left = await sdk.send(new ListObjectsV2Command({ Bucket: s3Server!.bucket, Prefix: `${prefix}/${sessionId}/` }))
    expect(left.KeyCount ?? 0).toBe(0)
  })

  it("with compression 'none' ours writes plain JSON that Strands' reader (GetObject + JSON.parse) loads", async () => {
    const sessionId = `ours-${Date.now().toString(36)}`
    const location = { sessionId, scope: 'agent', scopeId: 'planner' }
    const store = new S3Storage(s3Options({ prefix, compression: 'none' }))
    const id = newSnapshotId()
    const snapshot: Snapshot = sampleSnapshot('ours', { text: 'x'.repeat(10_000) })
    await store.commitSnapshot({ location, snapshotId: id, snapshot })
    const manifest = { schemaVersion: '1.0', updatedAt: new Date().toISOString() }
    await store.saveManifest({ location, manifest })
    for (const key of [strandsKey(sessionId, 'snapshot_latest.json'), strandsKey(sessionId, `immutable_history/snapshot_${id}.json`)]) {
      expect(await strandsRead(key)).toEqual({ contentType: 'application/json', value: snapshot })
    }
    expect((await strandsRead(strandsKey(sessionId, 'manifest.json'))).value).toEqual(manifest)
    // And the AWS SDK's own DeleteObjects (what a Strands user's cleanup would do) works on our keys.
    const listed = await sdk.send(new ListObjectsV2Command({ Bucket: s3Server!.bucket, Prefix: `${prefix}/${sessionId}/` }))
    expect(listed.KeyCount).toBe(3)
    await sdk.send(
      new DeleteObjectsCommand({ Bucket: s3Server!.bucket, Delete: { Objects: listed.Contents!.map((c) => ({ Key: c.Key! })) } }),
    )
    expect(await store.hasSnapshot({ location })).toBe(false)
  })
})
