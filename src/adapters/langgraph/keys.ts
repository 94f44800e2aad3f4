import { ValidationError } from '../../core/errors.js'

/**
 * The LangGraph adapter's keys, built and parsed here (beside core/keys.ts, which owns the snapshot
 * layout), all under one folder of the storage prefix:
 * ```
 * [prefix/]langgraph/<thread>/<ns>/checkpoints/<desc id>.json                  checkpoint + metadata + parent id
 * [prefix/]langgraph/<thread>/<ns>/channels/<channel>/<version>.json           one channel value at one version
 * [prefix/]langgraph/<thread>/<ns>/writes/<desc id>/<task>/<idx>.json          one pending write
 * ```
 * `<thread>`, `<ns>`, `<channel>`, `<task>` and `<version>` are LangGraph's own strings made key-safe
 * by `encodeSegment` (reversible, canonical, ASCII `[A-Za-z0-9_-]` only: no `/`, no `.`, so no segment
 * can leave its folder or look like `..`). `<desc id>` is the checkpoint id (a lowercase UUID, uuid6 as
 * LangGraph writes them) with every hex digit complemented (`0`↔`f`), so an ascending listing, the
 * only kind a backend gives, returns a namespace's checkpoints newest first, and `before: id` is a
 * listing cursor (`startAfter`).
 */

/** The adapter's folder under the storage prefix. */
const FOLDER = 'langgraph/'
/** S3's and R2's longest key, in bytes of UTF-8 (encoded segments are ASCII, so characters). */
const MAX_KEY_BYTES = 1024
/** A canonical lowercase UUID (any version): what LangGraph's `uuid6` returns. */
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/
/** Characters an encoded segment keeps as they are; every other UTF-8 byte is `_XX`. */
const PLAIN = /[A-Za-z0-9-]/
/** The encoding of `''` (the root namespace): a lone `_`, which no other string encodes to. */
const EMPTY = '_'
/** Code units that have no UTF-8 form: an unpaired surrogate would not survive the round trip. */
const LONE_SURROGATE = /[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/
/**
 * Sorts after every character an encoded segment or file name holds (`~` is 0x7e, above `z`): a
 * listing cursor `<folder>~` skips everything inside `<folder>` (UTF-8 and UTF-16 orders agree on ASCII).
 */
const PAST = '~'

/**
 * A LangGraph string (thread id, namespace, channel, task id, version) as one key segment:
 * `[A-Za-z0-9-]` kept, every other UTF-8 byte as `_` + two uppercase hex digits, `''` as `_`.
 * Throws `ValidationError` naming `field` for a non-string or an unpaired surrogate.
 *
 * @example
 * encodeSegment('thread_id', 'user 1/../x') // 'user_201_2F_2E_2E_2Fx'
 */
export function encodeSegment(field: string, value: unknown): string {
  if (typeof value !== 'string') throw new ValidationError(field, 'must be a string')
  if (value === '') return EMPTY
  if (LONE_SURROGATE.test(value)) throw new ValidationError(field, 'must not contain unpaired surrogates (no UTF-8 form)')
  let out = ''
  for (const char of value) {
    if (PLAIN.test(char)) out += char
    else for (const byte of new TextEncoder().encode(char)) out += `_${byte.toString(16).toUpperCase().padStart(2, '0')}`
  }
  return out
}

/**
 * The string `encodeSegment` turned into `segment`, or `undefined` when `segment` is not exactly
 * what it produces (a stray key, another tool's folder): decoding is canonical, so one string has
 * one key.
 *
 * @example
 * decodeSegment('user_201') // 'user 1'
 */
export function decodeSegment(segment: string): string | undefined {
  if (segment === EMPTY) return ''
  if (!/^(?:[A-Za-z0-9-]|_[0-9A-F]{2})+$/.test(segment)) return undefined
  const bytes: number[] = []
  for (let i = 0; i < segment.length; i++) {
    if (segment[i] === '_') {
      bytes.push(Number.parseInt(segment.slice(i + 1, i + 3), 16))
      i += 2
    } else bytes.push(segment.charCodeAt(i))
  }
  let value: string
  try {
    value = new TextDecoder('utf-8', { fatal: true }).decode(new Uint8Array(bytes))
  } catch {
    return undefined
  }
  return encodeSegment('segment', value) === segment ? value : undefined
}

/**
 * Throws `ValidationError` naming `field` unless `value` is a canonical lowercase UUID (LangGraph's
 * checkpoint ids are uuid6).
 *
 * @example
 * checkCheckpointId('checkpoint_id', uuid6(-1))
 */
export function checkCheckpointId(field: string, value: unknown): string {
  if (typeof value !== 'string' || !UUID.test(value)) throw new ValidationError(field, 'must be a lowercase UUID (LangGraph uuid6)')
  return value
}

/** A checkpoint id with every hex digit complemented: ascending order of these is descending order of ids. */
function descending(id: string): string {
  return id.replace(/[0-9a-f]/g, (digit) => (15 - Number.parseInt(digit, 16)).toString(16))
}

/**
 * Where one thread's keys live under a storage root (`''` or `'<prefix>/'`): `deleteThread` erases it.
 *
 * @example
 * threadFolder('prod/', 't 1') // 'prod/langgraph/t_201/'
 */
export function threadFolder(root: string, threadId: string): string {
  return `${root}${FOLDER}${encodeSegment('thread_id', threadId)}/`
}

/** The folder of every thread under a storage root. */
export function threadsFolder(root: string): string {
  return root + FOLDER
}

/**
 * The keys of one namespace of one thread (`thread` and `ns` raw LangGraph strings, validated here):
 * a builder per object kind, so every key of the adapter comes from this one place.
 *
 * @example
 * const keys = namespaceKeys('', 't1', '')
 * keys.checkpoint(id) // 'langgraph/t1/_/checkpoints/<desc id>.json'
 */
export function namespaceKeys(root: string, threadId: string, ns: string) {
  const folder = `${threadFolder(root, threadId)}${encodeSegment('checkpoint_ns', ns)}/`
  const checked = (key: string): string => {
    if (key.length > MAX_KEY_BYTES)
      throw new ValidationError('config', `makes a key longer than ${MAX_KEY_BYTES} bytes: ${key.slice(0, 64)}…`)
    return key
  }
  const checkpoints = `${folder}checkpoints/`
  const writes = (checkpointId: string): string => `${folder}writes/${descending(checkpointId)}/`
  return {
    /** Everything of this namespace. */
    folder,
    /** The checkpoints folder: listed ascending, it is newest first. */
    checkpoints,
    /** One checkpoint's record; as a listing cursor, it starts the listing at the next older checkpoint. */
    checkpoint: (checkpointId: string): string => checked(`${checkpoints}${descending(checkpointId)}.json`),
    /** The id of a key listed under `checkpoints`, or `undefined` for anything else there. */
    checkpointIdOf: (key: string): string | undefined => {
      const name = key.startsWith(checkpoints) ? /^([0-9a-f-]{36})\.json$/.exec(key.slice(checkpoints.length))?.[1] : undefined
      const id = name === undefined ? undefined : descending(name)
      return id !== undefined && UUID.test(id) ? id : undefined
    },
    /** One channel's value at one version. */
    channel: (channel: string, version: string | number): string =>
      checked(`${folder}channels/${encodeSegment('channel', channel)}/${encodeSegment('version', String(version))}.json`),
    /** The pending writes of one checkpoint. */
    writes,
    /** One pending write: task and index name it, so a retried `putWrites` lands on the same key. */
    write: (checkpointId: string, taskId: string, idx: number): string =>
      checked(`${writes(checkpointId)}${encodeSegment('task_id', taskId)}/${idx}.json`),
  }
}

/** What `namespaceKeys` returns. */
export type NamespaceKeys = ReturnType<typeof namespaceKeys>

/**
 * The thread and namespace of a key listed under `threadsFolder(root)`, or `undefined` when the key
 * is not one of ours. Used by listings that walk threads and namespaces without listing everything.
 *
 * @example
 * threadAndNamespaceOf('', 'langgraph/t1/_/checkpoints/….json') // { threadId: 't1', ns: '', threadSegment: 't1', nsSegment: '_' }
 */
export function threadAndNamespaceOf(
  root: string,
  key: string,
): { threadId?: string; ns?: string; threadSegment: string; nsSegment?: string } | undefined {
  const base = threadsFolder(root)
  if (!key.startsWith(base)) return undefined
  const [threadSegment, nsSegment, ...rest] = key.slice(base.length).split('/')
  if (threadSegment === undefined) return undefined
  const threadId = decodeSegment(threadSegment)
  const ns = nsSegment === undefined || rest.length === 0 ? undefined : decodeSegment(nsSegment)
  return { threadId, ns, threadSegment, nsSegment: rest.length ? nsSegment : undefined }
}

/**
 * A listing cursor just past everything under `folder` (which ends in `/`): the next key listed
 * after it is outside the folder.
 *
 * @example
 * await backend.list(threadsFolder(root), { startAfter: pastFolder('langgraph/t1/'), limit: 1 }) // the next thread
 */
export function pastFolder(folder: string): string {
  return folder + PAST
}
