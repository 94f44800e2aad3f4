/**
 * The local-first example: an agent-style conversation whose state is snapshotted on every
 * message into TieredStorage(IndexedDB → HttpStorage('/api') → the Worker → R2). It keeps working
 * offline (writes land in IndexedDB and its outbox; the service worker sw.js serves the page
 * itself), syncs when the browser comes back online, and shows online/offline, what failed and
 * why, writes not yet on the server, last sync, the history, and restore of any snapshot.
 * `window.app` exposes the pieces for the end-to-end test (test/e2e/).
 *
 * Parameters (README.md): `?session=` the conversation, `?token=` the bearer token, `?db=` the
 * IndexedDB database, `#passphrase=` the passphrase. A bad one stops the page before any storage
 * is opened, with an error.
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
/** A bearer token as RFC 6750 spells one (`b64token`): it must travel in an `Authorization` header. */
const TOKEN = /^[A-Za-z0-9._~+/-]+=*$/

/** The page's parameters, validated; `problems` says in plain words what is wrong with each bad one. */
function readParameters(): { token: string; sessionId: string; dbName: string; passphrase: string; problems: string[] } {
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
  // In the fragment, never the query: the query travels to the server with the page's request.
  const given = new URLSearchParams(location.hash.slice(1)).get('passphrase')
  if (given === '') problems.push('#passphrase= is empty.')
  return { token, sessionId, dbName, passphrase: given || DEMO_PASSPHRASE, problems }
}

// The shell cache: registered whatever the parameters, so the page loads offline next time.
const shellReady: Promise<unknown> =
  'serviceWorker' in navigator
    ? navigator.serviceWorker.register('./sw.js').then(
        () => navigator.serviceWorker.ready,
        (error: unknown) => console.warn('no offline shell (service worker not registered):', error),
      )
    : Promise.resolve()

const { token, sessionId, dbName, passphrase, problems } = readParameters()
// Another passphrase typed into the address: another key, so start again from the top.
addEventListener('hashchange', () => location.reload())
/** Set when the page refused to start: shown instead of anything else. */
const parameterProblem = problems.length
  ? `${problems.join(' ')} Nothing was loaded or sent. Fix the address, for example ?session=alice-demo (see the README).`
  : undefined
/**
 * Set when the passphrase does not open what is stored: shown until the page is reloaded with
 * another (a sync does not clear it), and the page writes nothing meanwhile: a snapshot sealed
 * with a wrong key would be one the right passphrase cannot open.
 */
let lockProblem: { badge: string; text: string } | undefined
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

/** The storage, for a write: refused while the passphrase is wrong. */
function writable(): TieredStorage {
  if (lockProblem) throw new Error(lockProblem.text)
  return started()
}

/** Appends one message and snapshots the whole conversation (history + latest). */
async function addMessage(message: Message): Promise<string> {
  // Appended before the write, so a second message sent meanwhile is appended after this one.
  messages = [...messages, message]
  const snapshotId = newSnapshotId()
  try {
    await writable().commitSnapshot({ location: where, snapshotId, snapshot: snapshotOf(messages, snapshotId) })
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
  const old = await writable().loadSnapshot({ location: where, snapshotId })
  if (!old) return
  const list = (old.data.messages as Message[]) ?? []
  const id = newSnapshotId()
  await writable().commitSnapshot({ location: where, snapshotId: id, snapshot: snapshotOf(list, id) })
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
        button.disabled = lockProblem !== undefined
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
  if (error instanceof SnapshelfError && error.code === 'ERR_CORRUPT') return lockedBy(error)
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

/**
 * What an `ERR_CORRUPT` means here: the key derived from this passphrase does not open what is
 * stored (a wrong passphrase, or bytes changed on the way). The one exception worth its own words
 * is plaintext left by the demo before it encrypted (the store refuses it as "not encrypted").
 */
function lockedBy(error: SnapshelfError): { badge: string; text: string } {
  const again = 'Nothing is shown and nothing can be written until the page is reloaded with the right one.'
  if (/ is not encrypted$/.test(error.message)) {
    return {
      badge: 'not encrypted',
      text: `This conversation was stored unencrypted (by an older version of the demo), and this page reads only encrypted messages. Start another ?session= (or delete .data/).`,
    }
  }
  return {
    badge: 'wrong passphrase',
    text: `This passphrase does not open these messages. Put the right one in the address (#passphrase=…). ${again}`,
  }
}

/** Stops the page writing (see `lockProblem`) and says why. */
function lock(error: SnapshelfError): void {
  if (!lockProblem) console.error(error) // once: every later read fails the same way
  lockProblem = lockedBy(error)
  messages = []
  for (const id of ['text', 'send']) $<HTMLInputElement>(id).disabled = true
  render()
  if (status) renderStatus(status)
  else renderProblem()
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
  // A sync that went through clears what an earlier action failed with (the server is fine now).
  if (previous && s.lastSyncAt !== previous.lastSyncAt && !s.lastError) actionProblem = undefined
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

async function loadLatest(): Promise<void> {
  heldAt = '' // an explicit load (start-up, after a sync) takes whatever is stored
  adopt(await started().loadSnapshot({ location: where }))
}

async function start(): Promise<void> {
  // Derived once per page (PBKDF2, ~0.15 s in Chromium): sealing each object is then AES-GCM only. The store
  // seals everything it writes, IndexedDB included; sync moves the sealed bytes unchanged.
  let encryption: Awaited<ReturnType<typeof encryptionFor>>
  try {
    encryption = await encryptionFor(passphrase, sessionId)
  } catch (error) {
    // No Web Crypto: an address that is neither https nor localhost (e.g. a LAN IP over http).
    console.error(error)
    lockProblem = {
      badge: 'no encryption',
      text: 'This browser cannot encrypt here (Web Crypto needs https or localhost), so nothing was loaded or stored. Open the page on http://127.0.0.1 or over https.',
    }
    for (const id of ['text', 'send', 'sync']) $<HTMLInputElement>(id).disabled = true
    $('online').textContent = lockProblem.badge
    renderProblem()
    return
  }
  // A real app would clear the token with the session; the demo keeps the last good one.
  const local = new IndexedDBStorage({ dbName })
  const remote = new HttpStorage({ baseUrl: '/api', headers: () => ({ authorization: `Bearer ${token}` }), retries: 2, timeoutMs: 10_000 })
  const store = new TieredStorage({ local, remote, name: dbName, autoSyncDelayMs: 250, encryption })
  storage = store
  store.onStatus(renderStatus)
  renderStatus(store.status)
  // Another tab (or a sync) changed latest: show it.
  store.watchLatest({ location: where, onChange: adopt, onError: showProblem })
  onSend = send
  // The load after it is caught too: a passphrase that does not open latest is shown, not unhandled.
  const syncNow = () => store.sync().then(loadLatest).catch(showProblem)
  $('sync').addEventListener('click', () => void syncNow())
  addEventListener('pagehide', () => store.close())
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
  $('passphrase-kind').textContent = passphrase === DEMO_PASSPHRASE ? 'the demo default' : 'yours, from #passphrase='
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
  get lockProblem() {
    return lockProblem?.text
  },
  send,
  addMessage,
  restore,
  loadLatest,
  ready,
  shellReady,
  messages: () => messages,
}
