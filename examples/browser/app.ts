/**
 * The local-first example: an agent-style conversation whose state is snapshotted on every
 * message into TieredStorage(IndexedDB → HttpStorage('/api') → the Worker → R2). It keeps working
 * offline (writes land in IndexedDB and its outbox; the service worker sw.js serves the page
 * itself), syncs when the browser comes back online, and shows online/offline, what failed and
 * why, writes not yet on the server, last sync, the history, and restore of any snapshot.
 * `window.app` exposes the pieces for the end-to-end test (test/e2e/).
 *
 * Parameters (README.md): `?session=` the conversation, `?token=` the bearer token, `?db=` the
 * IndexedDB database. A bad one stops the page before any storage is opened, with an error.
 */
import { AuthError, newSnapshotId, SnapshelfError, type Snapshot, type SnapshotLocation } from 'snapshelf'
import { HttpStorage } from 'snapshelf/http'
import { IndexedDBStorage } from 'snapshelf/indexeddb'
import { TieredStorage, type TieredStatus } from 'snapshelf/tiered'

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
/** A bearer token as RFC 6750 spells one (`b64token`): it must travel in an `Authorization` header. */
const TOKEN = /^[A-Za-z0-9._~+/-]+=*$/

/** The page's parameters, validated; `problems` says in plain words what is wrong with each bad one. */
function readParameters(): { token: string; sessionId: string; dbName: string; problems: string[] } {
  const params = new URLSearchParams(location.search)
  const problems: string[] = []
  const pick = (name: string, fallback: string, rule: RegExp, what: string): string => {
    const value = params.get(name)
    if (value === null) return fallback
    if (rule.test(value) && value.length <= 4096) return value
    problems.push(`?${name}=${JSON.stringify(value)} is not ${what}.`)
    return fallback
  }
  const idRule = "a valid id (letters, digits, '_', '-' and '.', at most 128, not starting with '.')"
  // The Worker authorizes with a bearer token; a real app gets one from its login flow.
  const token = pick('token', localStorage.getItem('snapshelf-token') ?? 'alice-dev-token', TOKEN, 'a token (letters, digits and -._~+/)')
  const sessionId = pick('session', 'alice-demo', ID, `a session id: ${idRule}`)
  const dbName = pick('db', 'snapshelf-example', ID, `a database name: ${idRule}`)
  return { token, sessionId, dbName, problems }
}

// The shell cache: registered whatever the parameters, so the page loads offline next time.
const shellReady: Promise<unknown> =
  'serviceWorker' in navigator
    ? navigator.serviceWorker.register('./sw.js').then(
        () => navigator.serviceWorker.ready,
        (error: unknown) => console.warn('no offline shell (service worker not registered):', error),
      )
    : Promise.resolve()

const { token, sessionId, dbName, problems } = readParameters()
/** Set when the page refused to start: shown instead of anything else. */
const parameterProblem = problems.length
  ? `${problems.join(' ')} Nothing was loaded or sent. Fix the address, for example ?session=alice-demo (see the README).`
  : undefined
/** What the last action (a send, a restore, the start-up load) failed with, until one succeeds or a sync does. */
let actionProblem: { badge: string; text: string } | undefined
let status: TieredStatus | undefined

const where: SnapshotLocation = { sessionId, scope: 'agent', scopeId: 'chat' }
let storage: TieredStorage | undefined
let messages: Message[] = []
/** `createdAt` of the snapshot `messages` came from or went into (see `adopt`). */
let heldAt = ''
/** The history id `messages` is (written into each snapshot's `appData`): marked in the history. */
let currentId: string | undefined

function snapshotOf(list: Message[], snapshotId: string): Snapshot {
  heldAt = new Date().toISOString()
  currentId = snapshotId
  return { scope: 'agent', schemaVersion: '1.0', createdAt: heldAt, data: { messages: list }, appData: { count: list.length, snapshotId } }
}

function idOf(snapshot: Snapshot | null): string | undefined {
  const id = (snapshot?.appData as { snapshotId?: unknown } | undefined)?.snapshotId
  return typeof id === 'string' ? id : undefined
}

/**
 * Takes a stored snapshot as the conversation unless it is older than what this tab holds. A
 * watch event can arrive while this tab's own next write is in flight (it may even be the echo
 * of this tab's previous write): adopting it would roll `messages` back, and the next message
 * would be appended to the older list, silently dropping one.
 */
function adopt(snapshot: Snapshot | null): void {
  const list = (snapshot?.data.messages as Message[] | undefined) ?? []
  if (snapshot && (snapshot.createdAt < heldAt || (snapshot.createdAt === heldAt && list.length <= messages.length))) return
  messages = list
  heldAt = snapshot?.createdAt ?? ''
  currentId = idOf(snapshot)
  render()
}

function started(): TieredStorage {
  if (!storage) throw new Error(parameterProblem ?? 'not started')
  return storage
}

/** Appends one message and snapshots the whole conversation (history + latest). */
async function addMessage(message: Message): Promise<string> {
  // Appended before the write, so a second message sent meanwhile is appended after this one.
  messages = [...messages, message]
  const snapshotId = newSnapshotId()
  try {
    await started().commitSnapshot({ location: where, snapshotId, snapshot: snapshotOf(messages, snapshotId) })
  } catch (error) {
    // Not stored: not shown either (the composer gives the text back).
    messages = messages.filter((m) => m !== message)
    render()
    throw error
  }
  actionProblem = undefined
  render()
  return snapshotId
}

/** A stand-in agent: answers at once, deterministically, so it works offline too. */
function reply(text: string): Message {
  return { role: 'assistant', text: `You said ${text.length} characters: “${text.slice(0, 40)}”.` }
}

async function send(text: string, withReply = true): Promise<void> {
  await addMessage({ role: 'user', text })
  if (withReply) await addMessage(reply(text))
}

/** Makes an older snapshot the current conversation, as a new snapshot (history stays append-only). */
async function restore(snapshotId: string): Promise<void> {
  const old = await started().loadSnapshot({ location: where, snapshotId })
  if (!old) return
  const list = (old.data.messages as Message[]) ?? []
  const id = newSnapshotId()
  await started().commitSnapshot({ location: where, snapshotId: id, snapshot: snapshotOf(list, id) })
  messages = list
  render()
}

function render(): void {
  const list = $('messages')
  list.replaceChildren(
    ...messages.map((m) => {
      const li = document.createElement('li')
      li.className = m.role
      li.textContent = m.text
      return li
    }),
  )
  list.scrollTop = list.scrollHeight
  void renderHistory().catch(showProblem)
}

/** History is write-once: each snapshot's preview is read once and kept. */
const previews = new Map<string, string>()
/** Numbers the history renders, so a slow one never overwrites a newer one. */
let historyRenders = 0

/** A short preview of a snapshot: its last message, cut to fit one line. */
function previewOf(snapshot: Snapshot | null): string {
  const list = (snapshot?.data.messages as Message[] | undefined) ?? []
  const last = list.at(-1)
  if (!last) return '(empty conversation)'
  const text = last.text.length > 48 ? `${last.text.slice(0, 47)}…` : last.text
  return `${list.length} msg · ${last.role === 'user' ? 'you' : 'agent'}: ${text}`
}

async function renderHistory(): Promise<void> {
  const store = started()
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
        button.onclick = () => void restore(item.snapshotId).catch(showProblem)
        li.append(button)
      }
      return li
    }),
  )
}

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
  const code = statusOf(error)
  if (error instanceof AuthError || code === 401 || code === 403) {
    return code === 401
      ? { badge: 'not signed in', text: `The server did not accept the sign-in token (401). Check ?token= in the address. ${kept}` }
      : {
          badge: 'access refused',
          text: `The server refused this token access to session “${sessionId}” (403): a wrong ?token=, or a session of another user. ${kept}`,
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
  const name = error instanceof SnapshelfError ? error.code : error instanceof Error ? error.name : 'error'
  return { badge: 'sync failed', text: `Something failed (${name}${code ? `, HTTP ${code}` : ''}). ${kept}` }
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
  const problem = parameterProblem ?? (status && syncProblem(status)?.text) ?? actionProblem?.text
  $('error').textContent = problem ?? ''
  $('error').hidden = !problem
}

function renderStatus(s: TieredStatus): void {
  const previous = status
  status = s
  // A sync that went through clears what an earlier action failed with (the server is fine now).
  if (previous && s.lastSyncAt !== previous.lastSyncAt && !s.lastError) actionProblem = undefined
  const problem = syncProblem(s) ?? actionProblem
  const badge = $('online')
  badge.dataset.online = String(s.online && !problem)
  // Never "online" while syncs fail: the badge names the failure.
  badge.textContent = s.syncing ? 'syncing…' : (problem?.badge ?? 'online')
  $('pending').textContent = String(s.pending)
  $('last-sync').textContent = s.lastSyncAt ? s.lastSyncAt.toLocaleTimeString() : 'never'
  renderProblem()
}

function showProblem(error: unknown): void {
  console.error(error)
  actionProblem = describe(error)
  if (status) renderStatus(status)
  else renderProblem()
}

async function loadLatest(): Promise<void> {
  heldAt = '' // an explicit load (start-up, after a sync) takes whatever is stored
  adopt(await started().loadSnapshot({ location: where }))
}

function start(): Promise<void> {
  // A real app would clear the token with the session; the demo keeps the last good one.
  const local = new IndexedDBStorage({ dbName })
  const remote = new HttpStorage({ baseUrl: '/api', headers: () => ({ authorization: `Bearer ${token}` }), retries: 2, timeoutMs: 10_000 })
  const store = new TieredStorage({ local, remote, name: dbName, autoSyncDelayMs: 250 })
  storage = store
  store.onStatus(renderStatus)
  renderStatus(store.status)
  // Another tab (or a sync) changed latest: show it.
  store.watchLatest({ location: where, onChange: adopt })
  onSend = send
  $('sync').addEventListener('click', () => void store.sync().then(() => loadLatest(), showProblem))
  addEventListener('pagehide', () => store.close())
  return (async () => {
    // Local first: what this device holds shows even when the server refuses or is gone.
    await loadLatest().catch(showProblem)
    if (navigator.onLine) {
      // Bring down what other devices wrote, then push what this one queued. Failures land in
      // the status (shown by renderStatus).
      // A refused or failed hydrate would fail the sync the same way; and a sync with nothing to
      // do would "succeed" without asking the server, clearing the error it just showed.
      if (
        await store.hydrate({ location: where }).then(
          () => true,
          () => false,
        )
      )
        await store.sync().catch(() => {})
      await loadLatest().catch(showProblem)
    }
  })()
}

let ready: Promise<void>
if (parameterProblem) {
  // Refuse to start: no storage opened, nothing sent; the composer stays as typed, disabled.
  for (const id of ['text', 'send', 'sync']) $<HTMLInputElement>(id).disabled = true
  $('online').textContent = 'not started'
  renderProblem()
  ready = Promise.resolve()
} else {
  $('session-name').textContent = sessionId
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
  location: parameterProblem ? undefined : where,
  parameterProblem,
  send,
  addMessage,
  restore,
  loadLatest,
  ready,
  shellReady,
  messages: () => messages,
}
