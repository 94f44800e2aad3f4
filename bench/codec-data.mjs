// Realistic agent snapshots for the codec benches: a Strands-shaped snapshot whose conversation
// (user questions, tool calls with ids and inputs, tool results, answers) grows to `size` bytes of
// JSON. Deterministic (no dates, no randomness), so every runtime measures the same bytes.

const TOOLS = ['lookup_order', 'search_docs', 'get_weather', 'create_ticket']

/** One turn: a question, a tool call, its result and an answer, as the Strands SDK stores messages. */
function turn(i) {
  const tool = TOOLS[i % TOOLS.length]
  return [
    { role: 'user', content: [{ text: `Can you check order #${10_000 + i * 37} for me? It was due on the ${(i % 28) + 1}th.` }] },
    {
      role: 'assistant',
      content: [
        { toolUse: { toolUseId: `tooluse_${(i * 2654435761).toString(36).slice(0, 10)}`, name: tool, input: { id: 10_000 + i * 37 } } },
      ],
    },
    {
      role: 'user',
      content: [
        {
          toolResult: {
            toolUseId: `tooluse_${(i * 2654435761).toString(36).slice(0, 10)}`,
            status: 'success',
            content: [
              {
                json: {
                  id: 10_000 + i * 37,
                  status: i % 3 ? 'shipped' : 'processing',
                  carrier: 'DHL',
                  eta: `2026-12-${String((i % 28) + 1).padStart(2, '0')}`,
                },
              },
            ],
          },
        },
      ],
    },
    { role: 'assistant', content: [{ text: `Order #${10_000 + i * 37} is ${i % 3 ? 'on its way with DHL' : 'still being prepared'}.` }] },
  ]
}

/** Prose-like text of `chars` characters (words from a seeded generator): compresses like a user's message. */
function prose(seed, chars) {
  const words = ['the', 'order', 'arrived', 'late', 'and', 'I', 'would', 'like', 'a', 'refund', 'for', 'shipping', 'please', 'check']
  let x = seed * 2654435761 + 1
  let text = ''
  while (text.length < chars) {
    x = (x * 1103515245 + 12345) % 2147483648
    text += `${words[x % words.length]}${x % 11 ? ' ' : '. '}`
  }
  return text.slice(0, chars)
}

/**
 * UTF-8 JSON of a snapshot about `size` bytes long (the first object already ~100 B; below that
 * the agent's state fields alone).
 *
 * @example
 * const raw = agentJson(1024) // Uint8Array of ~1 KB
 */
export function agentJson(size) {
  const snapshot = { scope: 'agent', schemaVersion: '1.0', createdAt: '2026-12-03T12:00:00.000Z', data: {}, appData: {} }
  let text = JSON.stringify(snapshot)
  if (text.length + 40 < size) snapshot.data.state = { step: 3, model: 'claude', done: false }
  const messages = []
  for (let i = 0; ; i++) {
    const next = JSON.stringify({ ...snapshot, data: { ...snapshot.data, messages } })
    if (next.length >= size || i > 10_000) {
      text = next
      break
    }
    text = next
    messages.push(...turn(i))
    const grown = JSON.stringify({ ...snapshot, data: { ...snapshot.data, messages } })
    if (grown.length > size) {
      // Trim the last turn's answer to land near `size` rather than one turn past it.
      messages.splice(-4)
      messages.push({ role: 'user', content: [{ text: prose(i, Math.max(0, size - next.length - 40)) }] })
      text = JSON.stringify({ ...snapshot, data: { ...snapshot.data, messages } })
      break
    }
  }
  return new TextEncoder().encode(text)
}

/**
 * A snapshot value whose JSON is about `size` bytes (at least), built turn by turn without
 * re-serialising the whole (agentJson's trimming is quadratic: fine for kilobytes, not for the
 * 8-32 MB snapshots of bench/memory.bench.mjs). The same turns as agentJson, ASCII only.
 *
 * @example
 * const snapshot = agentSnapshot(32 << 20) // ~32 MB of JSON, ~50,000 turns
 */
export function agentSnapshot(size) {
  const messages = []
  let length = 200
  for (let i = 0; length < size; i++) {
    for (const message of turn(i)) {
      messages.push(message)
      length += JSON.stringify(message).length + 1
    }
  }
  return {
    scope: 'agent',
    schemaVersion: '1.0',
    createdAt: '2026-12-03T12:00:00.000Z',
    data: { state: { step: 3, model: 'claude', done: false }, messages },
    appData: {},
  }
}
