import type { RunnableConfig } from '@langchain/core/runnables'
import { ERROR, MemorySaver, emptyCheckpoint, uuid6, type Checkpoint } from '@langchain/langgraph-checkpoint'
import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { MemoryBackend, ValidationError } from 'snapshelf'
import { SnapshelfCheckpointSaver } from 'snapshelf/langgraph'
import { decodeSegment, encodeSegment } from '../../src/adapters/langgraph/keys.js'
import { RecordingBackend } from '../helpers/recording-backend.js'

// SnapshelfCheckpointSaver's own guarantees, beyond LangGraph's validation suite
// (langgraph-validation-*.test.ts): keys that cannot escape their folder, refusals before any
// I/O, channel values written once per version, idempotent writes, and listings that page.

const meta = (step = -1) => ({ source: 'loop' as const, step, parents: {} })
function setup(prefix = 'p') {
  const backend = new RecordingBackend()
  const saver = new SnapshelfCheckpointSaver({ storage: { backend, prefix } })
  return { backend, saver }
}
const keysOf = async (backend: MemoryBackend) => (await backend.list('')).entries.map((e) => e.key)
function checkpointWith(values: Record<string, unknown>, versions: Record<string, number | string>): Checkpoint {
  return { ...emptyCheckpoint(), id: uuid6(-1), channel_values: values, channel_versions: versions }
}

describe('key encoding', () => {
  it('is reversible for every string with a UTF-8 form, and every segment is [A-Za-z0-9_-] only', () => {
    fc.assert(
      fc.property(fc.string({ unit: 'grapheme', maxLength: 40 }), (value) => {
        const segment = encodeSegment('f', value)
        expect(segment).toMatch(/^[A-Za-z0-9_-]+$/)
        expect(decodeSegment(segment)).toBe(value)
      }),
      { seed: 13, numRuns: 2000 },
    )
  })

  it('one string, one segment: non-canonical or foreign segments do not decode', () => {
    for (const segment of ['_2e', '_41', '_', 'a.b', 'a/b', '_C3', '__', '_ZZ', '']) {
      if (segment === '_') expect(decodeSegment(segment)).toBe('')
      else expect(decodeSegment(segment)).toBeUndefined()
    }
    expect(encodeSegment('f', '../..')).toBe('_2E_2E_2F_2E_2E')
    expect(encodeSegment('f', '')).toBe('_')
  })
})

describe('bad input is refused before any I/O, nothing stored', () => {
  const cases: [string, (saver: SnapshelfCheckpointSaver) => Promise<unknown>][] = [
    ['put without thread_id', (s) => s.put({ configurable: {} }, emptyCheckpoint(), meta(), {})],
    ['put without configurable', (s) => s.put({}, emptyCheckpoint(), meta(), {})],
    [
      'put with a malformed checkpoint id',
      (s) => s.put({ configurable: { thread_id: 't' } }, { ...emptyCheckpoint(), id: '../x' }, meta(), {}),
    ],
    [
      'put with an upper-case id',
      (s) => s.put({ configurable: { thread_id: 't' } }, { ...emptyCheckpoint(), id: uuid6(1).toUpperCase() }, meta(), {}),
    ],
    [
      'put with a malformed parent id',
      (s) => s.put({ configurable: { thread_id: 't', checkpoint_id: 'x' } }, emptyCheckpoint(), meta(), {}),
    ],
    ['put with a non-string thread id', (s) => s.put({ configurable: { thread_id: 7 } }, emptyCheckpoint(), meta(), {})],
    ['put with a lone surrogate in the thread id', (s) => s.put({ configurable: { thread_id: 'a\ud800' } }, emptyCheckpoint(), meta(), {})],
    [
      'put with a lone surrogate in the namespace',
      (s) => s.put({ configurable: { thread_id: 't', checkpoint_ns: '\udc00' } }, emptyCheckpoint(), meta(), {}),
    ],
    ['put with a key over 1024 bytes', (s) => s.put({ configurable: { thread_id: 'é'.repeat(200) } }, emptyCheckpoint(), meta(), {})],
    ['put with a bad version', (s) => s.put({ configurable: { thread_id: 't' } }, emptyCheckpoint(), meta(), { a: {} as never })],
    ['putWrites without thread_id', (s) => s.putWrites({ configurable: { checkpoint_id: uuid6(1) } }, [['a', 1]], 'task')],
    ['putWrites without checkpoint_id', (s) => s.putWrites({ configurable: { thread_id: 't' } }, [['a', 1]], 'task')],
    [
      'putWrites with a malformed checkpoint_id',
      (s) => s.putWrites({ configurable: { thread_id: 't', checkpoint_id: 'a/b' } }, [['a', 1]], 'task'),
    ],
    ['putWrites without a task id', (s) => s.putWrites({ configurable: { thread_id: 't', checkpoint_id: uuid6(1) } }, [['a', 1]], '')],
    [
      'putWrites with a malformed write',
      (s) => s.putWrites({ configurable: { thread_id: 't', checkpoint_id: uuid6(1) } }, [[5 as never, 1]], 'task'),
    ],
    ['getTuple with a malformed checkpoint_id', (s) => s.getTuple({ configurable: { thread_id: 't', checkpoint_id: '..' } })],
    [
      'list with a malformed before',
      async (s) => s.list({ configurable: { thread_id: 't' } }, { before: { configurable: { checkpoint_id: 'x' } } }).next(),
    ],
    ['list with a NaN limit', async (s) => s.list({ configurable: { thread_id: 't' } }, { limit: Number.NaN }).next()],
    ['list with a non-string namespace', async (s) => s.list({ configurable: { thread_id: 't', checkpoint_ns: 1 } }).next()],
    ['deleteThread with a non-string id', (s) => s.deleteThread(undefined as never)],
  ]
  for (const [name, call] of cases) {
    it(name, async () => {
      const { backend, saver } = setup()
      await expect(call(saver)).rejects.toBeInstanceOf(ValidationError)
      expect(backend.calls).toEqual([])
    })
  }

  it('a value over maxDecodedBytes is ERR_TOO_LARGE before any write, even when other values are fine', async () => {
    const backend = new RecordingBackend()
    const saver = new SnapshelfCheckpointSaver({ storage: { backend, prefix: '', maxDecodedBytes: 1000 } })
    const checkpoint = checkpointWith({ small: 1, big: 'x'.repeat(5000) }, { small: 1, big: 1 })
    await expect(saver.put({ configurable: { thread_id: 't' } }, checkpoint, meta(), { small: 1, big: 1 })).rejects.toMatchObject({
      code: 'ERR_TOO_LARGE',
    })
    expect(backend.calls).toEqual([])
  })

  it('a namespace or thread id full of path syntax stays inside its own folder', async () => {
    const { backend, saver } = setup('p')
    await saver.put({ configurable: { thread_id: '../../etc', checkpoint_ns: '/../x\\y' } }, emptyCheckpoint(), meta(), {})
    const [key] = await keysOf(backend)
    expect(key).toMatch(/^p\/langgraph\/_2E_2E_2F_2E_2E_2Fetc\/_2F_2E_2E_2Fx_5Cy\/checkpoints\/[0-9a-f-]{36}\.json$/)
  })
})

describe('storage', () => {
  it('a channel a step did not change is not written again; a changed one is written once per version', async () => {
    const { backend, saver } = setup()
    let config = { configurable: { thread_id: 't' } } as RunnableConfig
    const big = 'x'.repeat(10_000)
    config = await saver.put(config, checkpointWith({ docs: big, step: 0 }, { docs: 1, step: 1 }), meta(0), { docs: 1, step: 1 })
    for (let step = 1; step <= 5; step++) {
      config = await saver.put(config, checkpointWith({ docs: big, step }, { docs: 1, step: step + 1 }), meta(step), { step: step + 1 })
    }
    const channelKeys = (await keysOf(backend)).filter((k) => k.includes('/channels/'))
    expect(channelKeys.filter((k) => k.includes('/docs/'))).toHaveLength(1)
    expect(channelKeys.filter((k) => k.includes('/step/'))).toHaveLength(6)
    expect((await saver.getTuple(config))?.checkpoint.channel_values).toEqual({ docs: big, step: 5 })
  })

  it('putWrites is idempotent per task and index; special (negative-index) writes are replaced, as in MemorySaver', async () => {
    const ours = setup().saver
    const theirs = new MemorySaver()
    for (const saver of [ours, theirs] as const) {
      const config = await saver.put({ configurable: { thread_id: 't', checkpoint_ns: '' } }, checkpointWith({}, {}), meta(), {})
      await saver.putWrites(
        config,
        [
          ['a', 'first'],
          [ERROR, 'boom 1'],
        ],
        'task',
      )
      await saver.putWrites(
        config,
        [
          ['a', 'second'],
          [ERROR, 'boom 2'],
        ],
        'task',
      )
      await saver.putWrites(config, [['a', 'other task']], 'task2')
    }
    const pending = async (s: SnapshelfCheckpointSaver | MemorySaver) =>
      (await s.getTuple({ configurable: { thread_id: 't', checkpoint_ns: '' } }))?.pendingWrites
    expect(await pending(ours)).toEqual([
      ['task', ERROR, 'boom 2'],
      ['task', 'a', 'first'],
      ['task2', 'a', 'other task'],
    ])
    expect(await pending(ours)).toEqual(await pending(theirs))
  })

  it('channels named like Object.prototype members are ordinary channels', async () => {
    const { saver } = setup()
    const config = await saver.put({ configurable: { thread_id: 't' } }, checkpointWith({}, {}), meta(), {})
    await saver.putWrites(
      config,
      [
        ['constructor', 1],
        ['toString', 2],
        ['__proto__', 3],
      ],
      'task',
    )
    expect((await saver.getTuple(config))?.pendingWrites).toEqual([
      ['task', 'constructor', 1],
      ['task', 'toString', 2],
      ['task', '__proto__', 3],
    ])
  })

  it('values are gzipped through the core codec and readable with compression none', async () => {
    const backend = new MemoryBackend()
    const gz = new SnapshelfCheckpointSaver({ storage: { backend, prefix: '' } })
    const plain = new SnapshelfCheckpointSaver({ storage: { backend, prefix: '', compression: 'none' } })
    // Over the codec's GZIP_MIN_BYTES (512 B of JSON): smaller records are stored plain even with gzip.
    const long = 'a value long enough to be worth gzip '.repeat(20)
    const a = await gz.put({ configurable: { thread_id: 'gz' } }, checkpointWith({ v: long }, { v: 1 }), meta(), { v: 1 })
    const b = await plain.put({ configurable: { thread_id: 'plain' } }, checkpointWith({ v: 'plain' }, { v: 1 }), meta(), { v: 1 })
    const first = async (thread: string) =>
      (await backend.get((await keysOf(backend)).find((k) => k.startsWith(`langgraph/${thread}/`))!))!.body
    expect([...(await first('gz')).subarray(0, 2)]).toEqual([0x1f, 0x8b])
    expect(new TextDecoder().decode(await first('plain'))[0]).toBe('{')
    expect((await plain.getTuple(a))?.checkpoint.channel_values).toEqual({ v: long })
    expect((await gz.getTuple(b))?.checkpoint.channel_values).toEqual({ v: 'plain' })
  })

  it('a corrupt record is ERR_CORRUPT naming its key', async () => {
    const { backend, saver } = setup('')
    const config = await saver.put({ configurable: { thread_id: 't' } }, checkpointWith({}, {}), meta(), {})
    const [key] = await keysOf(backend)
    await backend.put(key!, new Uint8Array([0x1f, 0x8b, 1, 2, 3]))
    await expect(saver.getTuple(config)).rejects.toMatchObject({ code: 'ERR_CORRUPT', key })
  })

  it('deleteThread erases every namespace of the thread and nothing of another thread', async () => {
    const { backend, saver } = setup()
    for (const thread_id of ['t1', 't10', 't2']) {
      for (const checkpoint_ns of ['', 'child:1']) {
        const config = await saver.put({ configurable: { thread_id, checkpoint_ns } }, checkpointWith({ a: 1 }, { a: 1 }), meta(), { a: 1 })
        await saver.putWrites(config, [['a', 2]], 'task')
      }
    }
    await saver.deleteThread('t1')
    const keys = await keysOf(backend)
    expect(keys.some((k) => k.startsWith('p/langgraph/t1/'))).toBe(false)
    expect(keys.filter((k) => k.startsWith('p/langgraph/t10/'))).toHaveLength(6)
    expect(keys.filter((k) => k.startsWith('p/langgraph/t2/'))).toHaveLength(6)
  })
})

describe('list pages from the store', () => {
  it('a page of 3 out of 2500 checkpoints lists 3 keys and reads 3 records; before pushes down as a cursor', async () => {
    const { backend, saver } = setup()
    let config = { configurable: { thread_id: 't' } } as RunnableConfig
    const ids: string[] = []
    for (let i = 0; i < 2500; i++) {
      config = await saver.put(config, checkpointWith({}, {}), meta(i), {})
      ids.push(config.configurable?.checkpoint_id as string)
    }
    backend.calls = []
    const page = []
    for await (const tuple of saver.list(
      { configurable: { thread_id: 't', checkpoint_ns: '' } },
      { limit: 3, before: { configurable: { checkpoint_id: ids[2000] } } },
    ))
      page.push(tuple.checkpoint.id)
    expect(page).toEqual([ids[1999], ids[1998], ids[1997]])
    const lists = backend.calls.filter((c) => c.startsWith('list') && c.includes('/checkpoints/'))
    expect(lists).toHaveLength(1)
    expect(lists[0]).toMatch(/after=p\/langgraph\/t\/_\/checkpoints\/[0-9a-f-]{36}\.json limit=3$/)
    expect(backend.calls.filter((c) => c.startsWith('get') && c.includes('/checkpoints/'))).toHaveLength(3)
  })

  it('without a thread id, threads and namespaces are found one listed key each, newest first within each', async () => {
    const { backend, saver } = setup()
    const expected: string[] = []
    for (const thread_id of ['a', 'b']) {
      for (const checkpoint_ns of ['', 'sub']) {
        let config = { configurable: { thread_id, checkpoint_ns } } as RunnableConfig
        const here: string[] = []
        for (let i = 0; i < 40; i++) {
          config = await saver.put(config, checkpointWith({}, {}), meta(i), {})
          here.push(config.configurable?.checkpoint_id as string)
        }
        expected.push(...here.reverse())
      }
    }
    backend.calls = []
    const seen: string[] = []
    for await (const tuple of saver.list({})) seen.push(tuple.checkpoint.id)
    expect(seen).toEqual(expected)
    // Folder walks list one key at a time; only the checkpoints folders are paged in full.
    const walks = backend.calls.filter((c) => c.startsWith('list') && !c.includes('/checkpoints/') && !c.includes('/writes/'))
    expect(walks.every((c) => c.endsWith('limit=1'))).toBe(true)
    expect(walks).toHaveLength(3 + 2 * 3)
  })
})

describe('getDeltaChannelHistory', () => {
  it('answers as MemorySaver on random parent chains (values present or not, writes of several tasks and paths)', async () => {
    const channel = fc.constantFrom('messages', 'notes', 'other')
    const step = fc.record({
      values: fc.dictionary(channel, fc.integer(), { maxKeys: 3 }),
      writes: fc.array(
        fc.record({ task: fc.constantFrom('t-a', 't-b', 't-c'), path: fc.constantFrom('', '~a', '~b'), channel, value: fc.integer() }),
        {
          maxLength: 4,
        },
      ),
    })
    await fc.assert(
      fc.asyncProperty(fc.array(step, { minLength: 1, maxLength: 8 }), fc.nat(7), async (steps, pick) => {
        const ours = setup().saver
        const theirs = new MemorySaver()
        const configs: RunnableConfig[][] = [[], []]
        for (const [s, saver] of [ours, theirs].entries()) {
          let config: RunnableConfig = { configurable: { thread_id: 't', checkpoint_ns: '' } }
          for (const [i, { values, writes }] of steps.entries()) {
            const versions = Object.fromEntries(Object.keys(values).map((k) => [k, i + 1]))
            config = await saver.put(config, { ...checkpointWith(values, versions), id: uuid6(i) }, meta(i), versions)
            const byTask = new Map<string, { path: string; writes: [string, number][] }>()
            for (const w of writes) {
              const entry = byTask.get(w.task) ?? { path: w.path, writes: [] }
              entry.writes.push([w.channel, w.value])
              byTask.set(w.task, entry)
            }
            for (const [task, { path, writes: ws }] of byTask) await saver.putWrites(config, ws, task, path)
            configs[s]!.push(config)
          }
        }
        const at = pick % steps.length
        const channels = ['messages', 'notes', 'other']
        const expected = await theirs.getDeltaChannelHistory({ config: configs[1]![at]!, channels })
        expect(await ours.getDeltaChannelHistory({ config: configs[0]![at]!, channels })).toEqual(expected)
      }),
      { seed: 13, numRuns: 150 },
    )
  })
})
