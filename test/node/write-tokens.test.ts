import { describe, expect, it } from 'vitest'
import { CHAIN_DEPTH, WriteTokens } from '../../src/core/write-tokens.js'

// The write-token rules on their own (no I/O), as histories of one key: each writer is a
// WriteTokens instance (a backend), each version the tokens its PUT carried. What `settle` may
// answer for a retried PUT that failed its precondition: "landed", "lost race" only when the
// object provably descends from our base without us, otherwise "outcome unknown".
const key = 's1/scopes/agent/main/snapshots/snapshot_latest.json'
const historyKey = 's1/scopes/agent/main/snapshots/immutable_history/snapshot_0190f3a2-6b1c-7d4e-8f00-0123456789ab.json'
type Version = { etag: string; tokens: string[] }
let etags = 0
/** A conditional write by `writer` on top of `base` (null: a create); returns the new version and what it sent. */
function write(writer: WriteTokens, base: Version | null, k = key): { version: Version; mine: string[] } {
  if (base) writer.keep(k, base.etag, base.tokens)
  const mine = writer.forPut(k, base?.etag, base ? undefined : '*')
  const version = { etag: `e${++etags}`, tokens: mine }
  writer.keep(k, version.etag, mine)
  return { version, mine }
}
const unknown = expect.objectContaining({ code: 'ERR_REMOTE', status: 412, message: expect.stringContaining('outcome unknown') })

describe('WriteTokens.forPut', () => {
  it('no tokens for an unconditional PUT; a fresh 12-character token for a conditional one', () => {
    const tokens = new WriteTokens()
    expect(tokens.forPut(key, undefined, undefined)).toEqual([])
    const [a] = tokens.forPut(key, undefined, '*')
    const [b] = tokens.forPut(key, undefined, '*')
    expect(a).toMatch(/^[\w-]{12}$/)
    expect(b).not.toBe(a)
  })

  it('chains the tokens of the version at THAT key with that ETag, not of another key with the same ETag', () => {
    const tokens = new WriteTokens()
    tokens.keep(key, 'same-md5', ['tokenOfKey01', 'olderOfKey01'])
    tokens.keep('other/key.json', 'same-md5', ['tokenOfOther'])
    expect(tokens.forPut(key, 'same-md5', undefined).slice(1)).toEqual(['tokenOfKey01', 'olderOfKey01'])
    expect(tokens.forPut('other/key.json', 'same-md5', undefined).slice(1)).toEqual(['tokenOfOther'])
  })

  it('chains nothing for a replaced version without tokens, and UNKNOWN for one it forgot', () => {
    const tokens = new WriteTokens()
    tokens.keep(key, 'd41d8cd98f00b204e9800998ecf8427e', [])
    expect(tokens.forPut(key, 'd41d8cd98f00b204e9800998ecf8427e', undefined)).toHaveLength(1)
    expect(tokens.forPut(key, 'never-read', undefined).slice(1)).toEqual(['-'])
  })

  it('keeps at most CHAIN_DEPTH replaced tokens', () => {
    const tokens = new WriteTokens()
    const long = Array.from({ length: 60 }, (_, i) => `t${String(i).padStart(11, '0')}`)
    tokens.keep(key, 'e', long)
    expect(tokens.forPut(key, 'e', undefined)).toHaveLength(1 + CHAIN_DEPTH)
  })
})

describe('WriteTokens.settle', () => {
  it('our token on the object, or in its chain: our write landed', () => {
    const [us, rival] = [new WriteTokens(), new WriteTokens()]
    const base = { etag: 'e0', tokens: [] }
    const ours = write(us, base)
    expect(us.settle(key, ours.mine, ours.version)).toEqual({ etag: ours.version.etag })
    const after = write(rival, ours.version)
    expect(us.settle(key, ours.mine, after.version)).toEqual({ etag: '' })
  })

  it('a lost race is proven only by our base in the chain (past its own place) without us', () => {
    const [us, rival] = [new WriteTokens(), new WriteTokens()]
    const v0 = write(rival, null).version
    us.keep(key, v0.etag, v0.tokens)
    const mine = us.forPut(key, v0.etag, undefined)
    const v1 = write(rival, v0).version
    const v2 = write(rival, v1).version
    expect(us.settle(key, mine, v2)).toBe(null)
    // Our base still current (a 409 while our first attempt may still be running): cannot tell.
    expect(() => us.settle(key, mine, v0)).toThrow(unknown)
  })

  it('a lost race from a base without tokens: the object descends from a write that chained nothing', () => {
    const [us, rival] = [new WriteTokens(), new WriteTokens()]
    const v0 = { etag: 'abcdef0123456789abcdef0123456789', tokens: [] }
    us.keep(key, v0.etag, v0.tokens)
    const mine = us.forPut(key, v0.etag, undefined)
    const v1 = write(rival, v0).version
    expect(us.settle(key, mine, v1)).toBe(null)
    expect(us.settle(key, mine, write(rival, v1).version)).toBe(null)
    // The token-less base itself (a 409), or any object without tokens, proves nothing.
    expect(() => us.settle(key, mine, v0)).toThrow(unknown)
    expect(() => us.settle(key, mine, { etag: 'ffff', tokens: [] })).toThrow(unknown)
    // Nor does a chain that a forgetful writer ended.
    const forgetful = { etag: 'e-forgot', tokens: new WriteTokens().forPut(key, v1.etag, undefined) }
    expect(() => us.settle(key, mine, write(rival, forgetful).version)).toThrow(unknown)
  })

  it('a chain cut by a token-less writer, a delete, a forgetful writer or the depth: outcome unknown', () => {
    const [us, rival] = [new WriteTokens(), new WriteTokens()]
    const v0 = write(rival, null).version
    us.keep(key, v0.etag, v0.tokens)
    const mine = us.forPut(key, v0.etag, undefined)
    // Our write landed; then a writer without tokens replaced it (v2), and a snapshelf writer v2 (v3).
    const v2 = { etag: 'e-foreign', tokens: [] }
    const v3 = write(rival, v2).version
    expect(() => us.settle(key, mine, v3)).toThrow(unknown)
    // Deleted, then created again.
    expect(() => us.settle(key, mine, write(new WriteTokens(), null).version)).toThrow(unknown)
    expect(() => us.settle(key, mine, null)).toThrow(unknown)
    // A writer that no longer knew what it replaced.
    const forgetful = new WriteTokens()
    const v4 = { etag: 'e-forgot', tokens: forgetful.forPut(key, 'e-ours', undefined) }
    expect(v4.tokens[1]).toBe('-')
    expect(() => us.settle(key, mine, v4)).toThrow(unknown)
    // So many writes since that our base fell off the chain.
    let v = v0
    for (let i = 0; i <= CHAIN_DEPTH; i++) v = write(rival, v).version
    expect(() => us.settle(key, mine, v)).toThrow(unknown)
  })

  it('a writer that forgot its own base never claims a lost race', () => {
    const [us, rival] = [new WriteTokens(), new WriteTokens()]
    const v0 = write(rival, null).version
    const mine = us.forPut(key, v0.etag, undefined)
    expect(mine[1]).toBe('-')
    const v1 = write(rival, v0).version
    expect(() => us.settle(key, mine, v1)).toThrow(unknown)
    expect(() => us.settle(key, mine, write(rival, { etag: 'x', tokens: [] }).version)).toThrow(unknown)
  })

  it('survives any amount of other traffic: a forgotten version makes the outcome unknown, never a false lost race', () => {
    const [us, rival] = [new WriteTokens(), new WriteTokens()]
    const v0 = write(rival, null).version
    us.keep(key, v0.etag, v0.tokens)
    const mine = us.forPut(key, v0.etag, undefined)
    // Our write landed as v1; the rival read it, then handled 5000 other objects before writing.
    const v1 = { etag: 'e-ours', tokens: mine }
    rival.keep(key, v1.etag, v1.tokens)
    for (let i = 0; i < 5000; i++) rival.keep(`other/${i}`, `e${i}`, [`tok${String(i).padStart(9, '0')}`])
    const v2 = { etag: 'e-rival', tokens: rival.forPut(key, v1.etag, undefined) }
    expect(() => us.settle(key, mine, v2)).toThrow(unknown)
  })

  it('a retried create: landed, lost to another create, or unknown', () => {
    const [us, rival] = [new WriteTokens(), new WriteTokens()]
    const mine = us.forPut(key, undefined, '*')
    const theirs = write(rival, null).version
    expect(us.settle(key, mine, theirs)).toBe(null)
    expect(us.settle(key, mine, write(rival, theirs).version)).toBe(null)
    expect(us.settle(key, mine, { etag: 'e-mine', tokens: mine })).toEqual({ etag: 'e-mine' })
    // Written without tokens, descended from a forgetful writer, or gone: cannot tell.
    expect(() => us.settle(key, mine, { etag: 'e-foreign', tokens: [] })).toThrow(unknown)
    const forgetful = { etag: 'e-forgot', tokens: new WriteTokens().forPut(key, theirs.etag, undefined) }
    expect(() => us.settle(key, mine, write(rival, forgetful).version)).toThrow(unknown)
    expect(() => us.settle(key, mine, null)).toThrow(unknown)
    // History is write-once: the store compares bytes, so a retried history create is never unknown.
    expect(us.settle(historyKey, us.forPut(historyKey, undefined, '*'), null)).toBe(null)
    expect(us.settle(historyKey, us.forPut(historyKey, undefined, '*'), { etag: 'e', tokens: [] })).toBe(null)
  })
})
