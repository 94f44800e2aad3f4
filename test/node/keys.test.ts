// The key layout, both directions: every key a builder makes parses back to what built it, and
// nothing else parses as a snapshot key.
import { describe, expect, it } from 'vitest'
import { newSnapshotId } from 'snapshelf'
import {
  historyFolder,
  historyIdIn,
  historyKey,
  latestKey,
  manifestKey,
  nestedLayoutKey,
  parseKey,
  sessionLayoutKey,
  sessionOfListing,
  sessionTombstoneKey,
  tombstoneKey,
} from '../../src/core/keys.js'
import { encodeSegment } from '../../src/adapters/langgraph/keys.js'

const location = { sessionId: 's-1', scope: 'agent', scopeId: 'snapshots' }

describe('parseKey', () => {
  it('parses every key a builder makes, with and without a prefix', () => {
    const id = newSnapshotId()
    for (const prefix of ['', 'prod', 'prod/tenant.a']) {
      expect(parseKey(latestKey(prefix, location))).toEqual({ prefix, kind: 'latest', location })
      expect(parseKey(manifestKey(prefix, location))).toEqual({ prefix, kind: 'manifest', location })
      expect(parseKey(historyKey(prefix, location, id))).toEqual({ prefix, kind: 'history', location, snapshotId: id })
    }
  })

  it("reads Strands' non-UUID history names as foreign history", () => {
    expect(parseKey(historyKey('', location, '42'))).toEqual({ prefix: '', kind: 'foreignHistory', location, snapshotId: '42' })
  })

  it('refuses stray files, subfolders of the history folder, bad ids and bad prefixes', () => {
    const folder = historyFolder('', location)
    const id = newSnapshotId()
    for (const key of [
      `${folder}sub/snapshot_${id}.json`,
      `${folder}snapshot_${id}.json.bak`,
      `${folder}notes.txt`,
      's-1/scopes/agent/a/snapshots/other.json',
      's-1/scopes/agent/a/snapshots/snapshot_latest.json/x',
      's-1/scope/agent/a/snapshots/snapshot_latest.json',
      '../s-1/scopes/agent/a/snapshots/snapshot_latest.json',
      's-1/scopes/.hidden/a/snapshots/snapshot_latest.json',
      'p//s-1/scopes/agent/a/snapshots/snapshot_latest.json',
      '.snapshelf/outbox/s-1/scopes/agent/a/snapshots/snapshot_latest.json!put!x',
      '',
    ]) {
      expect(parseKey(key), key).toBeUndefined()
    }
  })

  it('historyIdIn accepts exactly the history objects of its folder', () => {
    const folder = historyFolder('p', location)
    const id = newSnapshotId()
    expect(historyIdIn(folder, `${folder}snapshot_${id}.json`)).toBe(id)
    expect(historyIdIn(folder, `${folder}x/snapshot_${id}.json`)).toBeUndefined()
    expect(historyIdIn(folder, `${folder}snapshot_42.json`)).toBeUndefined()
    expect(historyIdIn(historyFolder('q', location), `${folder}snapshot_${id}.json`)).toBeUndefined()
  })

  it('sessionOfListing confines a listing prefix to one session', () => {
    expect(sessionOfListing('prefix', 's-1/')).toBe('s-1')
    expect(sessionOfListing('prefix', 's-1/scopes/ag')).toBe('s-1')
    expect(sessionOfListing('prefix', 's-1/scopes/agent/a/snapshots/immutable_history/')).toBe('s-1')
    expect(sessionOfListing('startAfter', historyKey('', location, newSnapshotId()))).toBe('s-1')
    expect(sessionOfListing('startAfter', latestKey('', location))).toBe('s-1')
    for (const bad of [
      's-1',
      '../x/',
      's-1/../',
      '/s-1/',
      's-1/other/',
      'session/victim/',
      's-1/scopes/agent/a/other/',
      's-1/scopes/a/b/snapshots/x/y',
      's-1/scopes/a/b/snapshots/immutable_history/x/y',
    ]) {
      expect(() => sessionOfListing('prefix', bad), bad).toThrow(/prefix/)
    }
  })

  it('nestedLayoutKey agrees with parseKey: a layout key under a session folder is nested iff it parses with a deeper prefix', () => {
    const id = newSnapshotId()
    const root = 'prod/'
    for (const inner of ['', 'tenantB', 'tenantB/x']) {
      for (const scopeId of ['main', 'snapshots', 'scopes', 'immutable_history']) {
        const l = { sessionId: 'scopes', scope: 'agent', scopeId }
        for (const key of [
          latestKey(`prod/tenantB${inner ? `/${inner}` : ''}`, l),
          historyKey(`prod/tenantB${inner ? `/${inner}` : ''}`, l, id),
        ]) {
          if (!inner) continue
          const rest = key.slice(`${root}tenantB/`.length)
          expect(nestedLayoutKey(rest), key).toBe(parseKey(key)!.prefix !== 'prod')
        }
      }
      const own = { sessionId: 'tenantB', scope: 'agent', scopeId: 'snapshots' }
      for (const key of [latestKey('prod', own), manifestKey('prod', own), historyKey('prod', own, id)]) {
        expect(nestedLayoutKey(key.slice(`${root}tenantB/`.length)), key).toBe(false)
      }
    }
    expect(nestedLayoutKey('notes.txt')).toBe(false)
  })

  it('sessionLayoutKey: a session’s own layout keys and tombstones, never a nested store’s, an adapter’s or a stray file', () => {
    const id = newSnapshotId()
    const own = { sessionId: 'tenantB', scope: 'agent', scopeId: 'snapshots' }
    const rest = (key: string) => key.slice('tenantB/'.length)
    for (const key of [
      latestKey('', own),
      manifestKey('', own),
      historyKey('', own, id),
      tombstoneKey('', own, id),
      sessionTombstoneKey('', 'tenantB'),
      'tenantB/scopes/agent/snapshots/snapshots/immutable_history/snapshot_1.json', // Strands' own id
    ]) {
      expect(sessionLayoutKey(rest(key)), key).toBe(true)
    }
    // A store with prefix `tenantB` (nested in the folder), sessions named like layout folders.
    for (const sessionId of ['scopes', 'a'])
      for (const scopeId of ['main', 'snapshots', 'scopes', 'immutable_history']) {
        const l = { sessionId, scope: 'agent', scopeId }
        for (const key of [latestKey('tenantB', l), historyKey('tenantB', l, id), tombstoneKey('tenantB', l, id)]) {
          expect(sessionLayoutKey(rest(key)), key).toBe(false)
        }
      }
    for (const key of [
      'langgraph/scopes/_/checkpoints/0f.json', // a LangGraph thread called `scopes`
      `langgraph/scopes/agent/channels/snapshots/${encodeSegment('v', 'snapshot_latest')}.json`,
      'genkit/scopes/snapshots/x.json',
      'context/scopes/scopes/agent/main/toolu_01', // Strands' stash of its session `scopes`
      'tenantB/notes.txt',
      'tenantB/scopes/notes.txt',
    ]) {
      expect(sessionLayoutKey(key.slice(key.indexOf('/') + 1)), key).toBe(false)
    }
  })
})
