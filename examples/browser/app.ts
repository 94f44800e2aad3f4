/**
 * The local-first example: agent-style conversations whose state is snapshotted on every message
 * into TieredStorage(IndexedDB → HttpStorage('/api') → the Worker → R2). It keeps working offline
 * (writes land in IndexedDB and its outbox; the service worker sw.js serves the page itself),
 * syncs when the browser comes back online, and shows online/offline, what failed and why,
 * writes not yet on the server, last sync, the list of conversations (this device's merged with
 * the server's catalogue), the history of the open one, and restore of any snapshot. A second
 * device finds every conversation with one "Sync now". `window.app` exposes the pieces for the
 * end-to-end tests (test/e2e/).
 *
 * Parameters (README.md): `?session=` the open conversation, `?user=` the user (new
 * conversations' ids, the key's salt), `?token=` the bearer token, `?db=` the IndexedDB
 * database, `#passphrase=` the passphrase. A bad one stops the page before any storage is
 * opened, with an error.
 *
 * Everything stored is encrypted here, in the page, with a key derived from the passphrase
 * (passphrase.ts): IndexedDB, the Worker and R2 hold ciphertext only, and the Worker has no key.
 * The passphrase is read from the address's fragment, which browsers never send (not in the
 * request for the page, not in a Referer), and goes nowhere but into PBKDF2.
 */
import { AuthError, newSnapshotId, SnapshelfError, type Snapshot, type SnapshotLocation } from 'snapshelf'
import { HttpStorage } from 'snapshelf/http'
import { IndexedDBStorage } from 'snapshelf/indexeddb'
import { TieredStorage, type TieredStatus } from 'snapshelf/tiered'
import { DEMO_PASSPHRASE, encryptionFor } from './passphrase.js'

type Message = { role: 'user' | 'assistant'; text: string }

const $ = <E extends HTMLElement>(id: string) => document.getElementById(id) as E

// First, before anything that could throw: the form never submits natively (that reloads the
// page with the message in the URL and drops the session parameter). index.html holds it too,
// for the time before this script runs or if it never loads.
let onSend: ((text: string) => Promise<void>) | undefined
$('composer').addEventListener('submit', (event) => {
  event.preventDefault()
  const input = $<HTMLInputElement>('text')
  const text = input.value.trim()
  if (!text || !onSend) return // not started (bad parameters): the text stays in the box
  input.value = ''
  onSend(text).catch((error: unknown) => {
    // Not stored: give the text back rather than lose it.
    if (!input.value) input.value = text
    showProblem(error)
  })
})

/** The snapshelf id rule (sessions, database names): what `checkId` in src/core/ids.ts accepts. */
const ID = /^[A-Za-z0-9_-][A-Za-z0-9._-]{0,127}$/
/** A user id: the id rule, at most 64, so `<user>-<time><random>` is an id too. */
const USER = /^[A-Za-z0-9_-][A-Za-z0-9._-]{0,63}$/
/** A bearer token as RFC 6750 spells one (`b64token`): it must travel in an `Authorization` header. */
const TOKEN = /^[A-Za-z0-9._~+/-]+=*$/

/** The page's parameters, validated; `problems` says in plain words what is wrong with each bad one. */
function readParameters(): {
  token: string
  sessionId?: string
  user: string
  dbName: string
  passphrase: string
  problems: string[]
} {
  const params = new URLSearchParams(location.search)
  const problems: string[] = []
  const pick = (name: string, fallback: string, rule: RegExp, what: string): string => {
    const value = params.get(name)
    if (value === null) return fallback
    if (rule.test(value) && value.length <= 4096) return value
    problems.push(`?${name}=${JSON.stringify(value)} is not ${what}.`)
    return fallback
  }
  const idRule = "letters, digits, '_', '-' and '.', not starting with '.'"
  // The Worker authorizes with a bearer token; a real app gets one from its login flow.
  const token = pick('token', localStorage.getItem('snapshelf-token') ?? 'alice-dev-token', TOKEN, 'a token (letters, digits and -._~+/)')
  // No ?session=: the newest conversation of this device, or a new one (see `start`).
  const sessionId = pick('session', '', ID, `a session id (${idRule}, at most 128)`) || undefined
  const user = pick('user', 'alice', USER, `a user id (${idRule}, at most 64)`)
  const dbName = pick('db', 'snapshelf-example', ID, `a database name (${idRule}, at most 128)`)
  // In the fragment, never the query: the query travels to the server with the page's request.
  const given = new URLSearchParams(location.hash.slice(1)).get('passphrase')
  if (given === '') problems.push('#passphrase= is empty.')
  return { token, sessionId, user, dbName, passphrase: given || DEMO_PASSPHRASE, problems }
}

// The shell cache: registered whatever the parameters, so the page loads offline next time.
const shellReady: Promise<unknown> =
  'serviceWorker' in navigator
    ? navigator.serviceWorker.register('./sw.js').then(
        () => navigator.serviceWorker.ready,
        (error: unknown) => console.warn('no offline shell (service worker not registered):', error),
      )
    : Promise.resolve()

const { token, sessionId: askedSession, user, dbName, passphrase, problems } = readParameters()
// Another passphrase typed into the address: another key, so start again from the top.
addEventListener('hashchange', () => location.reload())
/** Set when the page refused to start: shown instead of anything else. */
const parameterProblem = problems.length
  ? `${problems.join(' ')} Nothing was loaded or sent. Fix the address, for example ?session=alice-demo (see the README).`
  : undefined
/**
 * Set when the passphrase does not open the open conversation: shown until the page is reloaded
 * with another or another conversation is opened (a sync does not clear it), and the page writes
 * nothing meanwhile: a snapshot sealed with a wrong key would be one the right passphrase cannot
 * open. Also set, for good, when this browser cannot encrypt at all.
 */
let lockProblem: { badge: string; text: string } | undefined
/** What the last action (a send, a restore, the start-up load) failed with, until one succeeds or a sync does. */
let actionProblem: { badge: string; text: string } | undefined
let status: TieredStatus | undefined
let storage: TieredStorage | undefined

/**
 * The open conversation. Replaced (never changed in place) when another is opened: a write, a
 * load or a watch event that finishes after the switch updates its own conversation, and touches
 * the page only while that conversation is still the open one.
 */
type Conversation = {
  sessionId: string
  where: SnapshotLocation
  messages: Message[]
  /** `createdAt` of the snapshot `messages` came from or went into (see `adopt`). */
  heldAt: string
  /** The history id `messages` is (written into each snapshot's `appData`): marked in the history. */
  currentId?: string
  stopWatch?: () => void
}

function conversationOf(sessionId: string): Conversation {
  return { sessionId, where: { sessionId, scope: 'agent', scopeId: 'chat' }, messages: [], heldAt: '' }
}

let open: Conversation = conversationOf(askedSession ?? `${user}-demo`)
/** False until `start` opened the first conversation: `open` is a placeholder before. */
let opened = false

/** A new conversation's id: the user's, then the time and a few random characters. */
function newSessionId(): string {
  const random = Math.random().toString(36).slice(2, 6).padEnd(4, '0')
  return `${user}-${Date.now().toString(36)}${random}`
}

function snapshotOf(c: Conversation, list: Message[], snapshotId: string): Snapshot {
  c.heldAt = new Date().toISOString()
  c.currentId = snapshotId
  return {
    scope: 'agent',
    schemaVersion: '1.0',
    createdAt: c.heldAt,
    data: { messages: list },
    appData: { count: list.length, snapshotId },
  }
}

function idOf(snapshot: Snapshot | null): string | undefined {
  const id = (snapshot?.appData as { snapshotId?: unknown } | undefined)?.snapshotId
  return typeof id === 'string' ? id : undefined
}

/**
 * Takes a stored snapshot as conversation `c` unless it is older than what this tab holds. A
 * watch event can arrive while this tab's own next write is in flight (it may even be the echo
 * of this tab's previous write): adopting it would roll `messages` back, and the next message
 * would be appended to the older list, silently dropping one.
 */
function adopt(c: Conversation, snapshot: Snapshot | null): void {
  const list = (snapshot?.data.messages as Message[] | undefined) ?? []
  if (snapshot && (snapshot.createdAt < c.heldAt || (snapshot.createdAt === c.heldAt && list.length <= c.messages.length))) return
  c.messages = list
  c.heldAt = snapshot?.createdAt ?? ''
  c.currentId = idOf(snapshot)
  // Its row follows (title, time) once it is listed here: a read-through of one not pulled yet is
  // no copy on this device.
  if (snapshot && here.has(c.sessionId)) noteHeld(c)
  if (c === open) render()
}

function started(): TieredStorage {
  if (!storage) throw new Error(parameterProblem ?? lockProblem?.text ?? 'not started')
  return storage
}

/** The storage, for a write into `c`: refused while the passphrase is wrong or `c` is not here yet. */
function writable(c: Conversation): TieredStorage {
  if (lockProblem) throw new Error(lockProblem.text)
  if (onlyRemote(c.sessionId)) throw new Error(PULL_FIRST)
  return started()
}

/** Appends one message to conversation `c` (the open one) and snapshots it whole (history + latest). */
async function addMessage(message: Message, c: Conversation = open): Promise<string> {
  // Appended before the write, so a second message sent meanwhile is appended after this one.
  c.messages = [...c.messages, message]
  const snapshotId = newSnapshotId()
  try {
    await writable(c).commitSnapshot({ location: c.where, snapshotId, snapshot: snapshotOf(c, c.messages, snapshotId) })
  } catch (error) {
    // Not stored: not shown either (the composer gives the text back).
    c.messages = c.messages.filter((m) => m !== message)
    if (c === open) render()
    throw error
  }
  if (c === open) actionProblem = undefined
  noteHeld(c)
  if (c === open) render()
  return snapshotId
}

/** A stand-in agent: answers at once, deterministically, so it works offline too. */
function reply(text: string): Message {
  return { role: 'assistant', text: `You said ${text.length} characters: “${text.slice(0, 40)}”.` }
}

async function send(text: string, withReply = true): Promise<void> {
  // The reply goes where the message went, even if another conversation is opened meanwhile.
  const c = open
  await addMessage({ role: 'user', text }, c)
  if (withReply) await addMessage(reply(text), c)
}

/** Makes an older snapshot the current conversation, as a new snapshot (history stays append-only). */
async function restore(snapshotId: string): Promise<void> {
  const c = open
  const old = await writable(c).loadSnapshot({ location: c.where, snapshotId })
  if (!old) return
  const list = (old.data.messages as Message[]) ?? []
  const id = newSnapshotId()
  await writable(c).commitSnapshot({ location: c.where, snapshotId: id, snapshot: snapshotOf(c, list, id) })
  c.messages = list
  noteHeld(c)
  if (c === open) render()
}

function render(): void {
  const list = $('messages')
  list.replaceChildren(
    ...open.messages.map((m) => {
      const li = document.createElement('li')
      li.className = m.role
      li.textContent = m.text
      return li
    }),
  )
  list.scrollTop = list.scrollHeight
  renderConversations()
  if (storage) void renderHistory().catch(showProblem)
}

/** History is write-once: each snapshot's preview is read once and kept. */
const previews = new Map<string, string>()
/** Numbers the history renders, so a slow one (or one of another conversation) never overwrites a newer one. */
let historyRenders = 0

/** A short preview of a snapshot: its last message, cut to fit one line. */
function previewOf(snapshot: Snapshot | null): string {
  const list = (snapshot?.data.messages as Message[] | undefined) ?? []
  const last = list.at(-1)
  if (!last) return '(empty conversation)'
  return `${list.length} msg · ${last.role === 'user' ? 'you' : 'agent'}: ${cut(last.text, 48)}`
}

/** `text` cut to at most `max` characters, an ellipsis marking the cut. */
function cut(text: string, max: number): string {
  return text.length > max ? `${text.slice(0, max - 1)}…` : text
}

async function renderHistory(): Promise<void> {
  const store = started()
  const { where, currentId } = open
  const run = ++historyRenders
  const items = []
  let startAfter: string | undefined
  do {
    const page = await store.listSnapshots({ location: where, startAfter, limit: 500 })
    items.push(...page.items)
    startAfter = page.nextStartAfter
  } while (startAfter)
  for (const { snapshotId } of items) {
    if (previews.has(snapshotId)) continue
    // One unreadable snapshot must not hide the whole history (it can still be restored, or not).
    const preview = await store.loadSnapshot({ location: where, snapshotId }).then(previewOf, () => '(unreadable)')
    previews.set(snapshotId, preview)
  }
  if (run !== historyRenders) return
  $('history-count').textContent = String(items.length)
  $('history').replaceChildren(
    ...items.reverse().map((item) => {
      const li = document.createElement('li')
      li.dataset.snapshotId = item.snapshotId
      const current = item.snapshotId === currentId
      if (current) {
        li.className = 'current'
        li.setAttribute('aria-current', 'true')
      }
      const label = document.createElement('span')
      const meta = document.createElement('small')
      meta.textContent = `${item.createdAt.toLocaleTimeString()} · ${item.storedBytes} B`
      meta.title = `snapshot ${item.snapshotId}`
      const preview = document.createElement('span')
      preview.className = 'preview'
      preview.textContent = previews.get(item.snapshotId) ?? ''
      label.append(meta, preview)
      li.append(label)
      if (current) {
        const mark = document.createElement('b')
        mark.className = 'mark'
        mark.textContent = 'current'
        li.append(mark)
      } else {
        const button = document.createElement('button')
        button.type = 'button'
        button.textContent = 'Restore'
        button.disabled = lockProblem !== undefined
        button.onclick = () => void restore(item.snapshotId).catch(showProblem)
        li.append(button)
      }
      return li
    }),
  )
}

// ---- The list of conversations ----------------------------------------------------------------

/**
 * One row of the list. `held`: `here` (on this device: its title and time come from its latest
 * snapshot), `remote` (in the server's catalogue only: a short label, the server's time; opening
 * it or "Sync now" pulls it), `new` (opened here, nothing written yet).
 */
type Row = { sessionId: string; title: string; updatedAt: Date | null; held: 'here' | 'remote' | 'new'; locked?: boolean }

/** This device's conversations (`listSessions`), each read once per change of its local time. */
let here = new Map<string, Row & { localTime: number | null }>()
/** The server's catalogue as `discover` last answered: session id → when it last changed there. */
let remote = new Map<string, Date | null>()
/** Whether the last `discover` failed (offline, refused): the list then shows this device's only. */
let remoteUnknown = false
/** Numbers the list refreshes, so a slow one never overwrites a newer one. */
let listRefreshes = 0

const PULL_FIRST = 'This conversation is on the server and not on this device yet: it can be written once it is here (Sync now).'

function onlyRemote(sessionId: string): boolean {
  return !here.has(sessionId) && remote.has(sessionId)
}

/** The title of a conversation: its first message, cut to one line. */
function titleOf(list: Message[]): string {
  return list[0] ? cut(list[0].text, 40) : 'Empty conversation'
}

function rowOf(sessionId: string): Row {
  const held = here.get(sessionId)
  if (held) return held
  if (remote.has(sessionId)) return { sessionId, title: sessionId, updatedAt: remote.get(sessionId) ?? null, held: 'remote' }
  return { sessionId, title: 'New conversation', updatedAt: null, held: 'new' }
}

/**
 * Records what conversation `c` now holds (after a write here, or a load of one listed here): its
 * row, at once, without a listing. `localTime: -1`: read again by the next refresh.
 */
function noteHeld(c: Conversation): void {
  if (!c.heldAt) return
  here.set(c.sessionId, { sessionId: c.sessionId, title: titleOf(c.messages), updatedAt: new Date(c.heldAt), held: 'here', localTime: -1 })
  renderConversations()
}

/**
 * Lists this device's conversations again (every page of the local catalogue, no request to the
 * server) and reads the latest of each one that changed since the last refresh, for its title and
 * time: the snapshot's own `createdAt`, the same on every device (the local catalogue's time is
 * when this device wrote or pulled it). One that does not open (another passphrase, an older
 * demo) is listed, locked; only the open one locks the page.
 */
async function refreshHere(): Promise<void> {
  const store = started()
  const run = ++listRefreshes
  const found = new Map<string, Row & { localTime: number | null }>()
  let startAfter: string | undefined
  do {
    const page = await store.listSessions({ startAfter, limit: 1000 })
    for (const { sessionId, updatedAt } of page.items) {
      const localTime = updatedAt?.getTime() ?? null
      const known = here.get(sessionId)
      if (known && localTime !== null && known.localTime === localTime) {
        found.set(sessionId, known)
        continue
      }
      const location: SnapshotLocation = { sessionId, scope: 'agent', scopeId: 'chat' }
      const row = await store.loadSnapshot({ location }).then(
        (latest) => {
          const list = (latest?.data.messages as Message[] | undefined) ?? []
          return { title: titleOf(list), updatedAt: latest ? new Date(latest.createdAt) : updatedAt, locked: false }
        },
        () => ({ title: '🔒 Locked: another passphrase', updatedAt, locked: true }),
      )
      found.set(sessionId, { sessionId, held: 'here', localTime, ...row })
    }
    startAfter = page.nextStartAfter
  } while (startAfter)
  if (run !== listRefreshes) return
  // A conversation written meanwhile (noteHeld), after the listing or the read of its latest, stays as written.
  const time = (row?: Row) => row?.updatedAt?.getTime() ?? Number.NEGATIVE_INFINITY
  for (const [id, row] of here) if (row.localTime === -1 && time(row) > time(found.get(id))) found.set(id, row)
  here = found
  renderConversations()
}

/** Asks the server's catalogue (`TieredStorage.discover`, every page) what conversations it holds. */
async function discoverRemote(): Promise<void> {
  const store = started()
  const found = new Map<string, Date | null>()
  try {
    let startAfter: string | undefined
    do {
      const page = await store.discover({ startAfter, limit: 1000 })
      for (const { sessionId, updatedAt } of page.items) found.set(sessionId, updatedAt)
      startAfter = page.nextStartAfter
    } while (startAfter)
  } catch (error) {
    // Offline or refused: the sync says why (status); the list stays this device's.
    console.warn('the server’s list of conversations could not be read:', error)
    remoteUnknown = true
    renderConversations()
    return
  }
  remote = found
  remoteUnknown = false
  renderConversations()
}

/** The rows, newest first: the open conversation first while it is new, then by time. */
function rows(): Row[] {
  const ids = new Set([...here.keys(), ...remote.keys()])
  const list = [...ids].map(rowOf)
  if (opened && !ids.has(open.sessionId)) list.push(rowOf(open.sessionId))
  const time = (r: Row) => (r.held === 'new' ? Number.POSITIVE_INFINITY : (r.updatedAt?.getTime() ?? Number.NEGATIVE_INFINITY))
  return list.sort((a, b) => time(b) - time(a) || (a.sessionId < b.sessionId ? -1 : 1))
}

/** A time as a person reads it: the time today, the date and time before. */
function whenOf(date: Date): string {
  const today = date.toDateString() === new Date().toDateString()
  return today ? date.toLocaleTimeString() : date.toLocaleString()
}

/** The list, and what depends on it: the open conversation's title, whether it is here yet. */
function renderConversations(): void {
  $('session-name').textContent = opened ? open.sessionId : '–'
  $('conversation-title').textContent = opened ? rowOf(open.sessionId).title : '–'
  $('pull-note').hidden = !onlyRemote(open.sessionId)
  renderControls()
  const list = rows()
  $('conversation-count').textContent = String(list.filter((r) => r.held !== 'new').length)
  $('list-note').hidden = !remoteUnknown
  $('conversations').replaceChildren(
    ...list.map((row) => {
      const li = document.createElement('li')
      li.dataset.sessionId = row.sessionId
      li.dataset.held = row.held
      if (row.locked) li.classList.add('locked')
      const button = document.createElement('button')
      button.type = 'button'
      if (row.sessionId === open.sessionId) li.setAttribute('aria-current', 'true')
      else button.onclick = () => void openConversation(row.sessionId).catch(showProblem)
      const title = document.createElement('span')
      title.className = 'title'
      title.textContent = row.title
      const meta = document.createElement('small')
      if (row.updatedAt) {
        const time = document.createElement('time')
        time.dateTime = row.updatedAt.toISOString()
        time.textContent = whenOf(row.updatedAt)
        meta.append(time)
      }
      meta.append(row.held === 'remote' ? ' · on the server only' : row.held === 'new' ? 'not saved yet' : '')
      meta.title = `session ${row.sessionId}`
      button.append(title, meta)
      li.append(button)
      return li
    }),
  )
}

/**
 * Opens conversation `sessionId` (a new one when `fresh`): what this device holds at once, then,
 * for one only the server holds, its pull (`hydrate`: every snapshot and latest). The address
 * names it (`?session=`), so a reload opens it again.
 */
async function openConversation(sessionId: string, { fresh = false } = {}): Promise<void> {
  const store = started()
  open.stopWatch?.()
  const c = conversationOf(sessionId)
  // Decided before the first load: a read falls through to the server, and shows messages not here yet.
  const pull = !fresh && onlyRemote(sessionId)
  open = c
  opened = true
  // The lock was about the conversation left: this one is judged by its own load.
  lockProblem = undefined
  actionProblem = undefined
  const address = new URL(location.href)
  address.searchParams.set('session', sessionId)
  history.replaceState(null, '', address)
  render()
  if (status) renderStatus(status)
  // Another tab (or a sync) changed latest: show it.
  const failed = problemOf(c)
  c.stopWatch = store.watchLatest({ location: c.where, onChange: (s) => adopt(c, s), onError: failed })
  if (fresh) return
  await loadLatest(c).catch(failed)
  if (pull) {
    await store.hydrate({ location: c.where }).catch(failed)
    await refreshHere().catch(failed)
    await loadLatest(c).catch(failed)
  }
}

/** `showProblem` for what conversation `c` failed with, while it is the open one (else it is no longer shown). */
function problemOf(c: Conversation): (error: unknown) => void {
  return (error) => {
    if (c === open) showProblem(error)
  }
}

async function newConversation(): Promise<void> {
  await openConversation(newSessionId(), { fresh: true })
  $('text').focus()
}

// ---- Problems and status ---------------------------------------------------------------------

/** The HTTP status of a snapshelf error, when the remote answered. */
function statusOf(error: unknown): number | undefined {
  return error instanceof SnapshelfError && typeof error.status === 'number' && error.status > 0 ? error.status : undefined
}

/**
 * A failure in plain words. Never the error's own message: a storage error names the key it
 * failed on (`alice-demo/scopes/agent/chat/snapshots/…`), which means nothing to a user.
 */
function describe(error: unknown): { badge: string; text: string } {
  const kept = 'Your messages are kept on this device and will sync once this is fixed.'
  if (error instanceof SnapshelfError && error.code === 'ERR_CORRUPT') return lockedBy(error)
  const code = statusOf(error)
  if (error instanceof AuthError || code === 401 || code === 403) {
    return code === 401
      ? { badge: 'not signed in', text: `The server did not accept the sign-in token (401). Check ?token= in the address. ${kept}` }
      : {
          badge: 'access refused',
          text: `The server refused this token access to session “${open.sessionId}” (403): a wrong ?token=, or a session of another user. ${kept}`,
        }
  }
  if (code !== undefined && (code >= 500 || code === 408 || code === 429)) {
    return {
      badge: 'server error',
      text: `The server failed (HTTP ${code}); the next sync tries again. Your messages are kept on this device.`,
    }
  }
  if (code === undefined && error instanceof SnapshelfError && (error.code === 'ERR_REMOTE' || error.code === 'ERR_TIMEOUT')) {
    return {
      badge: 'offline',
      text: 'The server cannot be reached (offline). Your messages are saved on this device and sync when the connection is back.',
    }
  }
  if (error instanceof Error && error.message === PULL_FIRST) return { badge: 'not here yet', text: PULL_FIRST }
  const name = error instanceof SnapshelfError ? error.code : error instanceof Error ? error.name : 'error'
  return { badge: 'sync failed', text: `Something failed (${name}${code ? `, HTTP ${code}` : ''}). ${kept}` }
}

/**
 * What an `ERR_CORRUPT` means here: the key derived from this passphrase does not open what is
 * stored (a wrong passphrase, or bytes changed on the way). The exceptions worth their own words
 * are what older versions of the demo left: plaintext (refused as "not encrypted"), and objects
 * sealed with the per-conversation key of `pbkdf2-v1` (passphrase.ts).
 */
function lockedBy(error: SnapshelfError): { badge: string; text: string } {
  const again = 'Nothing is shown and nothing can be written until the page is reloaded with the right one.'
  if (/ is not encrypted$/.test(error.message)) {
    return {
      badge: 'not encrypted',
      text: `This conversation was stored unencrypted (by an older version of the demo), and this page reads only encrypted messages. Start another conversation (or delete .data/).`,
    }
  }
  if (/ needs key id "pbkdf2-v1"$/.test(error.message)) {
    return {
      badge: 'older key',
      text: 'This conversation was sealed by an older version of the demo, with a key per conversation; this one keys all your conversations alike. Start another conversation (or delete .data/).',
    }
  }
  return {
    badge: 'wrong passphrase',
    text: `This passphrase does not open these messages. Put the right one in the address (#passphrase=…). ${again}`,
  }
}

/** Stops the page writing into the open conversation (see `lockProblem`) and says why. */
function lock(error: SnapshelfError): void {
  if (!lockProblem) console.error(error) // once: every later read fails the same way
  lockProblem = lockedBy(error)
  open.messages = []
  render()
  if (status) renderStatus(status)
  else renderProblem()
}

/** What may be pressed: nothing before the page started, no writing while locked or not pulled yet. */
function renderControls(): void {
  const stopped = parameterProblem !== undefined || !storage
  const locked = stopped || lockProblem !== undefined
  for (const id of ['text', 'send']) $<HTMLInputElement>(id).disabled = locked || onlyRemote(open.sessionId)
  $<HTMLButtonElement>('new').disabled = locked
  $<HTMLButtonElement>('sync').disabled = stopped
}

/** What the sync status says is wrong, or nothing: a failed sync, a failed read-through, offline. */
function syncProblem(s: TieredStatus): { badge: string; text: string } | undefined {
  if (s.lastError) return describe(s.lastError)
  if (!s.online) return { badge: 'offline', text: 'Offline: your messages are saved on this device and sync when the connection is back.' }
  if (s.conflicts.length)
    return { badge: 'conflict', text: `${s.conflicts.length} snapshot(s) differ from the server's copy and stay unsynced.` }
  return undefined
}

/** Shows the one problem that matters most: bad parameters, then the sync's, then the last action's. */
function renderProblem(): void {
  const problem = parameterProblem ?? lockProblem?.text ?? (status && syncProblem(status)?.text) ?? actionProblem?.text
  $('error').textContent = problem ?? ''
  $('error').hidden = !problem
}

function renderStatus(s: TieredStatus): void {
  const previous = status
  status = s
  if (previous && s.lastSyncAt !== previous.lastSyncAt && !s.lastError) {
    // A sync that went through clears what an earlier action failed with (the server is fine now).
    actionProblem = undefined
    // And it may have pulled what other devices wrote into conversations this one holds.
    if (storage) void refreshHere().catch(showProblem)
  }
  const problem = lockProblem ?? syncProblem(s) ?? actionProblem
  const badge = $('online')
  badge.dataset.online = String(s.online && !problem)
  // Never "online" while syncs fail: the badge names the failure.
  badge.textContent = s.syncing ? 'syncing…' : (problem?.badge ?? 'online')
  $('pending').textContent = String(s.pending)
  $('last-sync').textContent = s.lastSyncAt ? s.lastSyncAt.toLocaleTimeString() : 'never'
  renderProblem()
}

function showProblem(error: unknown): void {
  // The passphrase does not open what is stored: that is no passing failure of one action.
  if (error instanceof SnapshelfError && error.code === 'ERR_CORRUPT') {
    lock(error)
    return
  }
  console.error(error)
  actionProblem = describe(error)
  if (status) renderStatus(status)
  else renderProblem()
}

/** Reads conversation `c` (the open one) as stored: an explicit load takes whatever is stored. */
async function loadLatest(c: Conversation = open): Promise<void> {
  c.heldAt = ''
  adopt(c, await started().loadSnapshot({ location: c.where }))
}

/**
 * "Sync now": the outbox pushed, then every conversation of the server's catalogue pulled
 * (`sync({ sessions: 'all' })`: a new device gets them all, in one run), then the list again.
 */
async function syncNow(): Promise<void> {
  const store = started()
  try {
    await store.sync({ sessions: 'all' })
  } catch (error) {
    showProblem(error)
    return
  }
  await loadLatest().catch(showProblem)
  await discoverRemote()
  await refreshHere().catch(showProblem)
}

/** What the last "Sync now" does, until done (never rejects: failures are shown). */
let syncing: Promise<void> = Promise.resolve()

async function start(): Promise<void> {
  // Derived once per page (PBKDF2, ~0.15 s in Chromium): sealing each object is then AES-GCM only. The store
  // seals everything it writes, IndexedDB included; sync moves the sealed bytes unchanged.
  let encryption: Awaited<ReturnType<typeof encryptionFor>>
  try {
    encryption = await encryptionFor(passphrase, user)
  } catch (error) {
    // No Web Crypto: an address that is neither https nor localhost (e.g. a LAN IP over http).
    console.error(error)
    lockProblem = {
      badge: 'no encryption',
      text: 'This browser cannot encrypt here (Web Crypto needs https or localhost), so nothing was loaded or stored. Open the page on http://127.0.0.1 or over https.',
    }
    renderControls()
    $('online').textContent = lockProblem.badge
    renderProblem()
    return
  }
  // A real app would clear the token with the session; the demo keeps the last good one.
  const local = new IndexedDBStorage({ dbName })
  const remoteStore = new HttpStorage({
    baseUrl: '/api',
    headers: () => ({ authorization: `Bearer ${token}` }),
    retries: 2,
    timeoutMs: 10_000,
  })
  const store = new TieredStorage({ local, remote: remoteStore, name: dbName, autoSyncDelayMs: 250, encryption })
  storage = store
  store.onStatus(renderStatus)
  renderStatus(store.status)
  onSend = send
  $('sync').addEventListener('click', () => {
    syncing = syncNow()
  })
  $('new').addEventListener('click', () => void newConversation().catch(showProblem))
  addEventListener('pagehide', () => store.close())
  // Local first: what this device holds shows even when the server refuses or is gone.
  await refreshHere().catch(showProblem)
  const newest = rows().find((r) => r.held === 'here')?.sessionId
  const first = askedSession ?? newest
  await openConversation(first ?? newSessionId(), { fresh: first === undefined })
  if (navigator.onLine) {
    // Bring down what other devices wrote, then push what this one queued. Failures land in
    // the status (shown by renderStatus).
    // A refused or failed hydrate would fail the sync the same way; and a sync with nothing to
    // do would "succeed" without asking the server, clearing the error it just showed.
    const c = open
    if (
      first === undefined ||
      (await store.hydrate({ location: c.where }).then(
        () => true,
        () => false,
      ))
    )
      await store.sync().catch(() => {})
    await loadLatest(c).catch(problemOf(c))
    // The server's conversations this device has not seen: listed at once, pulled by "Sync now".
    await discoverRemote()
    await refreshHere().catch(showProblem)
  }
}

let ready: Promise<void>
if (parameterProblem) {
  // Refuse to start: no storage opened, nothing sent; the composer stays as typed, disabled.
  renderControls()
  $('online').textContent = 'not started'
  renderProblem()
  ready = Promise.resolve()
} else {
  $('passphrase-kind').textContent = passphrase === DEMO_PASSPHRASE ? 'the demo default' : 'yours, from #passphrase='
  $('user-name').textContent = user
  ready = start()
}

declare global {
  interface Window {
    app: unknown
  }
}
window.app = {
  get storage() {
    return storage
  },
  get location() {
    return parameterProblem ? undefined : open.where
  },
  parameterProblem,
  get lockProblem() {
    return lockProblem?.text
  },
  send,
  addMessage,
  restore,
  loadLatest,
  openConversation,
  newConversation,
  get syncing() {
    return syncing
  },
  ready,
  shellReady,
  messages: () => open.messages,
  conversations: () => rows(),
}
