import {
  BaseCheckpointSaver,
  type ChannelVersions,
  type Checkpoint,
  type CheckpointListOptions,
  type CheckpointMetadata,
  type CheckpointPendingWrite,
  type CheckpointTuple,
  type DeltaChannelHistory,
  type PendingWrite,
  type SerializerProtocol,
  TASKS,
  WRITES_IDX_MAP,
  compareWritesSortKeys,
  copyCheckpoint,
  getCheckpointId,
  maxChannelVersion,
  writesSortKey,
} from '@langchain/langgraph-checkpoint'
import type { RunnableConfig } from '@langchain/core/runnables'
import type { Backend } from '../../core/backend.js'
import { ValidationError } from '../../core/errors.js'
import { deleteAll, listAll, nextCursor } from '../../core/listing.js'
import { type AdapterTarget, type StorageTarget, adapterTarget, decodeRecord, encodeRecord } from '../../core/target.js'
import { PAGE_SIZE, toBase64, toHex } from '../../core/util.js'
import {
  type NamespaceKeys,
  checkCheckpointId,
  decodeSegment,
  encodeSegment,
  namespaceKeys,
  pastFolder,
  threadFolder,
  threadsFolder,
} from './keys.js'

/**
 * What `SnapshelfCheckpointSaver` takes from a snapshelf storage (core's `StorageTarget`): its byte
 * backend, its prefix and its codec settings. Every storage class is one.
 *
 * @example
 * const target: CheckpointStorageTarget = new S3Storage({ bucket, endpoint, accessKeyId, secretAccessKey, prefix: 'agents' })
 */
export type CheckpointStorageTarget = StorageTarget

/**
 * Options of `SnapshelfCheckpointSaver`.
 *
 * @example
 * const options: SnapshelfCheckpointSaverOptions = { storage: new MemoryStorage() }
 */
export interface SnapshelfCheckpointSaverOptions {
  /** Any snapshelf storage; keys land under `<its prefix>/langgraph/`, in its backend, with its compression. */
  storage: CheckpointStorageTarget
  /** LangGraph's serializer of values (default: its `JsonPlusSerializer`, as every LangGraph saver). */
  serde?: SerializerProtocol
}

/** A value as the serializer typed it: JSON embedded as JSON (readable in the bucket), anything else as base64. */
type StoredValue = { type: string; json: unknown } | { type: string; base64: string }
/** `checkpoints/<desc id>.json`: the checkpoint without its channel values, its metadata, its parent. */
interface CheckpointRecord {
  checkpoint: StoredValue
  metadata: StoredValue
  parentId?: string
}
/** `channels/<channel>/<version>.json`: the channel's value at that version; no `value`: the channel was empty. */
interface ChannelRecord {
  value?: StoredValue
}
/** `writes/<desc id>/<task>/<idx>.json`: one pending write, with what LangGraph orders a superstep's writes by. */
interface WriteRecord {
  taskId: string
  channel: string
  idx: number
  taskPath: string
  value: StoredValue
}

/** Reads of one page of checkpoint records, or of one checkpoint's blobs and writes, run this many at a time. */
const READ_POOL = 16

/**
 * LangGraph JS's checkpoint saver (`BaseCheckpointSaver` of `@langchain/langgraph-checkpoint` 1.2)
 * over any snapshelf storage: graphs keep their threads in S3, R2, IndexedDB, memory, over HTTP or
 * local-first on `TieredStorage`, with the engine's codec (gzip, bounded decode, typed errors), the
 * backend's retries and conditional writes. Passes LangGraph's own validation suite on every tier (HTTP: not yet, see the README).
 *
 * Stored the way LangGraph's database savers store it (layout in `keys.ts`): each channel value once
 * per channel and version (a channel a step did not change is not written again), the checkpoint
 * record naming its versions and its parent, pending writes one object per task and index
 * (create-only, so a retried `putWrites` is idempotent; LangGraph's special negative indices are
 * replaced, as in `MemorySaver`). Channel versions are `<32-digit counter>.<random>` strings, as in
 * LangGraph's Postgres saver, so a fork (time travel) never reuses a version another branch stored.
 * A checkpoint record is written after its channel values, so no reader sees a checkpoint whose
 * values are missing. `list` is newest first and paged from the backend's listing; without a thread
 * id it walks threads and namespaces one listed key at a time, never listing everything.
 *
 * Bad input (no `thread_id` for `put`/`putWrites`, a checkpoint id that is not a UUID, a thread id or
 * namespace with no UTF-8 form, a key over 1024 bytes) is a `ValidationError` before any I/O.
 *
 * @example
 * import { StateGraph, MessagesAnnotation } from '@langchain/langgraph'
 * import { S3Storage } from 'snapshelf/s3'
 * import { SnapshelfCheckpointSaver } from 'snapshelf/langgraph'
 *
 * const checkpointer = new SnapshelfCheckpointSaver({ storage: new S3Storage({ bucket, endpoint, accessKeyId, secretAccessKey }) })
 * const graph = new StateGraph(MessagesAnnotation).addNode('agent', callModel).addEdge('__start__', 'agent').compile({ checkpointer })
 * await graph.invoke({ messages: [{ role: 'user', content: 'hi' }] }, { configurable: { thread_id: 'trip-1' } })
 */
export class SnapshelfCheckpointSaver extends BaseCheckpointSaver {
  readonly #backend: Backend
  /** `[prefix/]`: prepended to every key. */
  readonly #root: string
  /** Codec settings and, with the storage's `encryption`, the sealer. */
  readonly #target: AdapterTarget

  constructor(options: SnapshelfCheckpointSaverOptions) {
    super(options?.serde)
    const target = adapterTarget(options?.storage)
    this.#backend = target.backend
    this.#root = target.root
    this.#target = target
  }

  /**
   * The checkpoint `config` names (`checkpoint_id`), or the thread's newest in its namespace; with its
   * metadata, parent and pending writes (in LangGraph's `writesSortKey` order). `undefined` when
   * there is none, or when `config` has no `thread_id` (as LangGraph's savers answer).
   *
   * @example
   * const tuple = await saver.getTuple({ configurable: { thread_id: 't1' } })
   */
  async getTuple(config: RunnableConfig): Promise<CheckpointTuple | undefined> {
    const threadId = config?.configurable?.thread_id
    if (threadId === undefined) return undefined
    const ns = config.configurable?.checkpoint_ns ?? ''
    const keys = namespaceKeys(this.#root, threadId, ns)
    const wanted = getCheckpointId(config)
    const id = wanted ? checkCheckpointId('config.configurable.checkpoint_id', wanted) : await this.#newestId(keys)
    return id === undefined ? undefined : this.#tuple(threadId, ns, keys, id)
  }

  /**
   * The checkpoints of a thread (every thread when `config` names none; every namespace when it
   * names none), newest first per namespace, older than `before`, whose metadata has every
   * `filter` entry, at most `limit`.
   *
   * @example
   * for await (const tuple of saver.list({ configurable: { thread_id: 't1' } }, { limit: 10 })) console.log(tuple.checkpoint.id)
   */
  async *list(config: RunnableConfig, options?: CheckpointListOptions): AsyncGenerator<CheckpointTuple> {
    const { before, filter } = options ?? {}
    let limit = options?.limit
    const threadId: unknown = config?.configurable?.thread_id
    const ns: unknown = config?.configurable?.checkpoint_ns
    const onlyId = config?.configurable?.checkpoint_id
    const beforeId = before?.configurable?.checkpoint_id
    // Everything checked before the first request.
    if (threadId !== undefined) encodeSegment('config.configurable.thread_id', threadId)
    if (ns !== undefined) encodeSegment('config.configurable.checkpoint_ns', ns)
    if (onlyId) checkCheckpointId('config.configurable.checkpoint_id', onlyId)
    if (beforeId) checkCheckpointId('options.before.configurable.checkpoint_id', beforeId)
    if (filter !== undefined && (typeof filter !== 'object' || filter === null))
      throw new ValidationError('options.filter', 'must be an object')
    if (limit !== undefined && (typeof limit !== 'number' || Number.isNaN(limit)))
      throw new ValidationError('options.limit', 'must be a number')
    if (limit !== undefined && limit <= 0) return
    const matches = (metadata: CheckpointMetadata | undefined): boolean =>
      !filter || Object.entries(filter).every(([key, value]) => (metadata as Record<string, unknown> | undefined)?.[key] === value)

    const threads = threadId === undefined ? this.#folders(threadsFolder(this.#root)) : only([threadId as string])
    for await (const thread of threads) {
      const namespaces = ns === undefined ? this.#folders(threadFolder(this.#root, thread)) : only([ns as string])
      for await (const namespace of namespaces) {
        const keys = namespaceKeys(this.#root, thread, namespace)
        const ids = onlyId
          ? only(!beforeId || onlyId < beforeId ? [onlyId as string] : [])
          : this.#ids(keys, beforeId ? keys.checkpoint(beforeId) : undefined, filter || limit === undefined ? PAGE_SIZE : limit)
        // Tuples are read READ_POOL at a time (never more than the limit still wants), yielded in order:
        // a history over S3 costs one round of requests per batch, not per checkpoint.
        const batch: string[] = []
        const iterator = ids[Symbol.asyncIterator]()
        for (let done = false; !done; ) {
          batch.length = 0
          while (batch.length < Math.min(READ_POOL, limit ?? READ_POOL)) {
            const next = await iterator.next()
            if (next.done) {
              done = true
              break
            }
            batch.push(next.value)
          }
          for (const tuple of await Promise.all(batch.map((id) => this.#tuple(thread, namespace, keys, id, matches)))) {
            if (!tuple) continue
            yield tuple
            if (limit !== undefined && --limit <= 0) return
          }
        }
      }
    }
  }

  /**
   * Stores a checkpoint: the values of the channels in `newVersions` (the others are already stored
   * at their versions), then the checkpoint record. Returns the config that names it.
   *
   * @example
   * const next = await saver.put(config, checkpoint, { source: 'loop', step: 1, parents: {} }, { messages: 2 })
   */
  async put(
    config: RunnableConfig,
    checkpoint: Checkpoint,
    metadata: CheckpointMetadata,
    newVersions: ChannelVersions,
  ): Promise<RunnableConfig> {
    const threadId = config?.configurable?.thread_id
    if (threadId === undefined) {
      throw new ValidationError('config.configurable.thread_id', 'is required: graph.invoke(input, { configurable: { thread_id } })')
    }
    const ns = config.configurable?.checkpoint_ns ?? ''
    const keys = namespaceKeys(this.#root, threadId, ns)
    const id = checkCheckpointId('checkpoint.id', checkpoint?.id)
    const parentId = config.configurable?.checkpoint_id
      ? checkCheckpointId('config.configurable.checkpoint_id', config.configurable.checkpoint_id)
      : undefined
    if (typeof newVersions !== 'object' || newVersions === null) throw new ValidationError('newVersions', 'must be an object')
    const { channel_values: values, ...rest } = copyCheckpoint(checkpoint)
    // Every object encoded (and so every key and value checked) before the first write.
    const blobs = await Promise.all(
      Object.entries(newVersions).map(async ([channel, version]) => {
        if (typeof version !== 'string' && typeof version !== 'number')
          throw new ValidationError(`newVersions.${channel}`, 'must be a string or a number')
        const present = Object.hasOwn(values, channel) && values[channel] !== undefined
        const record: ChannelRecord = present ? { value: await this.#dump(values[channel]) } : {}
        const key = keys.channel(channel, version)
        return { key, body: await this.#encode(record, 'channel value', key) }
      }),
    )
    const record: CheckpointRecord = {
      checkpoint: await this.#dump({ ...rest, channel_values: {} }),
      metadata: await this.#dump(metadata),
      ...(parentId === undefined ? {} : { parentId }),
    }
    const key = keys.checkpoint(id)
    const body = await this.#encode(record, 'checkpoint', key)
    // Write-once per channel and version: one that is already there holds that version already (a
    // retried put, or a sibling branch that shared it).
    await inPool(blobs, ({ key, body }) => this.#backend.put(key, body, { ifNoneMatch: '*', writeOnce: true }))
    // Last, so a reader that finds the checkpoint finds its values. A checkpoint id is put once by
    // LangGraph; a second put of the same id replaces it, as in LangGraph's own savers.
    if ((await this.#backend.put(key, body, { ifNoneMatch: '*', writeOnce: true })) === null) await this.#backend.put(key, body)
    return { configurable: { thread_id: threadId, checkpoint_ns: ns, checkpoint_id: id } }
  }

  /**
   * Stores the pending writes of task `taskId` against the checkpoint `config` names. Idempotent per
   * task and index: a write already stored at an index stays (LangGraph's special channels, whose
   * indices are negative, are replaced).
   *
   * @example
   * await saver.putWrites(config, [['messages', [message]]], taskId)
   */
  async putWrites(config: RunnableConfig, writes: PendingWrite[], taskId: string, taskPath?: string): Promise<void> {
    const threadId = config?.configurable?.thread_id
    if (threadId === undefined) throw new ValidationError('config.configurable.thread_id', 'is required')
    const checkpointId = config.configurable?.checkpoint_id
    if (checkpointId === undefined) throw new ValidationError('config.configurable.checkpoint_id', 'is required')
    checkCheckpointId('config.configurable.checkpoint_id', checkpointId)
    const keys = namespaceKeys(this.#root, threadId, config.configurable?.checkpoint_ns ?? '')
    if (typeof taskId !== 'string' || taskId === '') throw new ValidationError('taskId', 'must be a non-empty string')
    if (taskPath !== undefined && typeof taskPath !== 'string') throw new ValidationError('taskPath', 'must be a string')
    if (!Array.isArray(writes)) throw new ValidationError('writes', 'must be an array of [channel, value]')
    const encoded = await Promise.all(
      writes.map(async (write, position) => {
        const [channel, value] = Array.isArray(write) ? write : []
        if (typeof channel !== 'string') throw new ValidationError(`writes[${position}]`, 'must be [channel: string, value]')
        // Own keys only: a channel named `constructor` or `toString` is an ordinary channel.
        const idx = Object.hasOwn(WRITES_IDX_MAP, channel) ? WRITES_IDX_MAP[channel]! : position
        const record: WriteRecord = { taskId, channel, idx, taskPath: taskPath ?? '', value: await this.#dump(value) }
        const key = keys.write(checkpointId, taskId, idx)
        return { key, idx, body: await this.#encode(record, 'write', key) }
      }),
    )
    await inPool(encoded, ({ key, idx, body }) =>
      idx >= 0 ? this.#backend.put(key, body, { ifNoneMatch: '*', writeOnce: true }) : this.#backend.put(key, body),
    )
  }

  /**
   * Erases every checkpoint, channel value and write of a thread (all namespaces).
   *
   * @example
   * await saver.deleteThread('t1')
   */
  async deleteThread(threadId: string): Promise<void> {
    await deleteAll(this.#backend, threadFolder(this.#root, threadId))
  }

  /**
   * What LangGraph's `DeltaChannel`s replay from (`BaseCheckpointSaver.getDeltaChannelHistory`, the
   * same contract as `MemorySaver`'s override): for each of `channels`, the pending writes of the
   * ancestors of the checkpoint `config` names, oldest first, back to the nearest ancestor that
   * stores a value of the channel (its `seed`). Walks the parent chain once for all channels and
   * reads only what it needs: each ancestor's record, its writes, and the requested channels'
   * values, never the other channels the base class's `getTuple` walk would read.
   *
   * @example
   * const { messages } = await saver.getDeltaChannelHistory({ config, channels: ['messages'] })
   */
  override async getDeltaChannelHistory(options: {
    config: RunnableConfig
    channels: string[]
  }): Promise<Record<string, DeltaChannelHistory>> {
    const { config, channels } = options
    if (channels.length === 0) return {}
    const threadId = config?.configurable?.thread_id
    const collected = new Map(channels.map((channel) => [channel, [] as CheckpointPendingWrite[]]))
    const seeds = new Map<string, unknown>()
    if (threadId !== undefined) {
      const keys = namespaceKeys(this.#root, threadId, config.configurable?.checkpoint_ns ?? '')
      const wanted = getCheckpointId(config)
      const target = wanted ? checkCheckpointId('config.configurable.checkpoint_id', wanted) : await this.#newestId(keys)
      const remaining = new Set(channels)
      let cursor = target === undefined ? undefined : (await this.#read<CheckpointRecord>(keys.checkpoint(target)))?.parentId
      while (cursor !== undefined && remaining.size > 0) {
        const record = await this.#read<CheckpointRecord>(keys.checkpoint(cursor))
        if (!record) break
        const { channel_versions: versions = {} } = (await this.#load(record.checkpoint)) as Checkpoint
        const [values, writes] = await Promise.all([
          inPool([...remaining], async (channel) => {
            const version = versions[channel]
            const stored = version === undefined ? undefined : await this.#read<ChannelRecord>(keys.channel(channel, version))
            return stored?.value ? ([channel, await this.#load(stored.value)] as const) : undefined
          }),
          this.#pendingWrites(keys, cursor),
        ])
        // Newest first while walking back; reversed once at the end.
        for (let i = writes.length - 1; i >= 0; i--) if (remaining.has(writes[i]![1])) collected.get(writes[i]![1])!.push(writes[i]!)
        for (const entry of values) {
          if (!entry) continue
          seeds.set(entry[0], entry[1])
          remaining.delete(entry[0])
        }
        cursor = record.parentId
      }
    }
    return Object.fromEntries(
      channels.map((channel) => {
        const history: DeltaChannelHistory = { writes: collected.get(channel)!.slice().reverse() }
        if (seeds.has(channel)) history.seed = seeds.get(channel)
        return [channel, history]
      }),
    )
  }

  /**
   * The version after `current`: `<counter + 1, 32 digits>.<16 random hex digits>`, the scheme of
   * LangGraph's Python Postgres saver. Ordered like the counter (LangGraph compares string versions
   * as strings, and the counter is zero-padded); the random part makes the versions of two branches
   * of a thread differ, so a fork from an earlier checkpoint (time travel) never reuses a version
   * another branch stored, which plain counters do (LangGraph numbers the next version from the
   * checkpoint it resumes), and one branch's channel value would then stand in for another's.
   *
   * Typed `number` because `compile({ checkpointer })` takes a `BaseCheckpointSaver<number>`;
   * LangGraph's runtime handles string versions (`compareChannelVersions`, `maxChannelVersion`).
   *
   * @example
   * saver.getNextVersion(undefined) // '00000000000000000000000000000001.9f3c…' (a string at run time)
   */
  override getNextVersion(current: number | undefined): number {
    const now = current as number | string | undefined
    const counter = now === undefined ? 0 : typeof now === 'number' ? now : Number.parseInt(now.split('.')[0]!, 10)
    const version = `${String(Math.floor(counter) + 1).padStart(32, '0')}.${toHex(crypto.getRandomValues(new Uint8Array(8)))}`
    return version as unknown as number
  }

  /** The newest checkpoint id of a namespace, or `undefined` when it has none. */
  async #newestId(keys: NamespaceKeys): Promise<string | undefined> {
    for await (const id of this.#ids(keys, undefined, 1)) return id
    return undefined
  }

  /** Checkpoint ids of a namespace, newest first, after the listing cursor `startAfter`, listed `pageSize` at a time. */
  async *#ids(keys: NamespaceKeys, startAfter: string | undefined, pageSize: number): AsyncGenerator<string> {
    let cursor = startAfter
    for (;;) {
      const page = await this.#backend.list(keys.checkpoints, { startAfter: cursor, limit: Math.min(pageSize, PAGE_SIZE) })
      for (const { key } of page.entries) {
        const id = keys.checkpointIdOf(key)
        if (id !== undefined) yield id
      }
      cursor = nextCursor(cursor, page, keys.checkpoints)
      if (!page.truncated) return
      // After a short first page, read on in full pages.
      pageSize = PAGE_SIZE
    }
  }

  /**
   * The decoded names of the folders right under `base`, ascending, one listed key per folder: each
   * listing asks for one key after the previous folder (`pastFolder`), so a thread with a million
   * checkpoints costs one request, like an empty one.
   */
  async *#folders(base: string): AsyncGenerator<string> {
    let startAfter: string | undefined
    for (;;) {
      const key = (await this.#backend.list(base, { startAfter, limit: 1 })).entries[0]?.key
      if (key === undefined) return
      const rest = key.slice(base.length)
      const slash = rest.indexOf('/')
      const past = slash < 0 ? key : pastFolder(base + rest.slice(0, slash + 1))
      // Never backwards: a stray key sorting after `~` (non-ASCII) is itself the next cursor.
      startAfter = past
      if (key > past) startAfter = key
      const name = slash < 0 ? undefined : decodeSegment(rest.slice(0, slash))
      if (name !== undefined) yield name
    }
  }

  /**
   * One checkpoint as LangGraph reads it, or `undefined` when absent (or its metadata fails `matches`,
   * checked before the rest is read): channel values from their versions, pending writes in
   * `writesSortKey` order, and for a checkpoint older than format 4 the pending sends of its parent
   * migrated into `channel_values[TASKS]`, as `MemorySaver` does.
   */
  async #tuple(
    threadId: string,
    ns: string,
    keys: NamespaceKeys,
    id: string,
    matches?: (metadata: CheckpointMetadata) => boolean,
  ): Promise<CheckpointTuple | undefined> {
    const record = await this.#read<CheckpointRecord>(keys.checkpoint(id))
    if (!record) return undefined
    const metadata = (await this.#load(record.metadata)) as CheckpointMetadata
    if (matches && !matches(metadata)) return undefined
    const checkpoint = (await this.#load(record.checkpoint)) as Checkpoint
    const versions = Object.entries(checkpoint.channel_versions ?? {})
    const [values, pendingWrites] = await Promise.all([
      inPool(versions, async ([channel, version]) => {
        const stored = await this.#read<ChannelRecord>(keys.channel(channel, version))
        return stored?.value ? ([channel, await this.#load(stored.value)] as const) : undefined
      }),
      this.#pendingWrites(keys, id),
    ])
    checkpoint.channel_values = Object.fromEntries(values.filter((entry) => entry !== undefined))
    const { parentId } = record
    if (checkpoint.v < 4 && parentId !== undefined) {
      const sends = (await this.#pendingWrites(keys, parentId)).filter(([, channel]) => channel === TASKS).map(([, , value]) => value)
      const existing = Object.values(checkpoint.channel_versions)
      checkpoint.channel_values[TASKS] = sends
      checkpoint.channel_versions[TASKS] = existing.length ? maxChannelVersion(...existing) : this.getNextVersion(undefined)
    }
    const tuple: CheckpointTuple = {
      config: { configurable: { thread_id: threadId, checkpoint_ns: ns, checkpoint_id: id } },
      checkpoint,
      metadata,
      pendingWrites,
    }
    if (parentId !== undefined) tuple.parentConfig = { configurable: { thread_id: threadId, checkpoint_ns: ns, checkpoint_id: parentId } }
    return tuple
  }

  /** The pending writes of one checkpoint, in LangGraph's `writesSortKey` order (task path, task id, index). */
  async #pendingWrites(keys: NamespaceKeys, checkpointId: string): Promise<CheckpointPendingWrite[]> {
    const entries = await listAll(this.#backend, keys.writes(checkpointId))
    const records = (await inPool(entries, ({ key }) => this.#read<WriteRecord>(key))).filter((r) => r !== undefined)
    records.sort((a, b) => compareWritesSortKeys(writesSortKey(a.taskPath, a.taskId, a.idx), writesSortKey(b.taskPath, b.taskId, b.idx)))
    return Promise.all(records.map(async (r) => [r.taskId, r.channel, await this.#load(r.value)] as CheckpointPendingWrite))
  }

  /** A value through LangGraph's serializer, kept as JSON when it is JSON. */
  async #dump(value: unknown): Promise<StoredValue> {
    const [type, bytes] = await this.serde.dumpsTyped(value)
    if (type === 'json') {
      try {
        return { type, json: JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(bytes)) }
      } catch {
        // Not JSON after all (a custom serializer): kept as bytes below.
      }
    }
    return { type, base64: toBase64(bytes) }
  }

  /** The value `#dump` stored. */
  #load(stored: StoredValue): Promise<unknown> {
    return 'json' in stored
      ? this.serde.loadsTyped(stored.type, JSON.stringify(stored.json))
      : this.serde.loadsTyped(
          stored.type,
          Uint8Array.from(atob(stored.base64), (c) => c.charCodeAt(0)),
        )
  }

  /** A record as stored at `key`: the core codec, sealed when the storage has `encryption`. */
  #encode(record: object, field: string, key: string): Promise<Uint8Array> {
    return encodeRecord(this.#target, record, key, field)
  }

  /** The decoded record at `key`, or `undefined` when absent. */
  async #read<T>(key: string): Promise<T | undefined> {
    const found = await this.#backend.get(key)
    return found ? decodeRecord<T>(this.#target, found.body, key) : undefined
  }
}

/** `values` as an async sequence: what a listing walk yields when the config already names the one item. */
async function* only<T>(values: T[]): AsyncGenerator<T> {
  yield* values
}

/** `work` over `items`, at most `READ_POOL` at a time, results in order. */
async function inPool<T, R>(items: readonly T[], work: (item: T) => Promise<R>): Promise<R[]> {
  const results: R[] = new Array(items.length)
  let next = 0
  const worker = async (): Promise<void> => {
    while (next < items.length) {
      const i = next++
      results[i] = await work(items[i]!)
    }
  }
  await Promise.all(Array.from({ length: Math.min(READ_POOL, items.length) }, worker))
  return results
}
