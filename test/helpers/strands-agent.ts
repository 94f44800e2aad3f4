import { Agent, Model, SessionManager, type BaseModelConfig, type Message, type ModelStreamEvent, type Storage } from '@strands-agents/sdk'
import { expect } from 'vitest'

/**
 * A real Strands `Agent` driven offline, for the adapter's tests in every runtime (Node, workerd,
 * Chromium): the SDK's own `Agent`, `SessionManager` and `ContextManager` (whose stash writes
 * through the same unified storage), with a model of our own that implements the SDK's `Model`
 * and answers from the conversation, so no network and no credentials are involved.
 */

/** Answers every turn with `echo: <last user text> (<turn>)`, streamed as a real provider does. */
export class EchoModel extends Model<BaseModelConfig> {
  #config: BaseModelConfig = { modelId: 'echo', contextWindowLimit: 200_000 }

  updateConfig(config: BaseModelConfig): void {
    this.#config = { ...this.#config, ...config }
  }

  getConfig(): BaseModelConfig {
    return this.#config
  }

  async *stream(messages: Message[]): AsyncIterable<ModelStreamEvent> {
    const user = [...messages].reverse().find((m) => m.role === 'user')
    const said = user?.content.map((block) => ('text' in block ? block.text : '')).join('') ?? ''
    const text = `echo: ${said} (${messages.length})`
    yield { type: 'modelMessageStartEvent', role: 'assistant' }
    yield { type: 'modelContentBlockStartEvent' }
    yield { type: 'modelContentBlockDeltaEvent', delta: { type: 'textDelta', text } }
    yield { type: 'modelContentBlockStopEvent' }
    yield { type: 'modelMessageStopEvent', stopReason: 'endTurn' }
  }
}

/**
 * An Agent whose only storage is `storage` (the agent-level default, as Strands 1.19 documents
 * it): `SessionManager` resolves it under `session/`, the `ContextManager` keeps its stash in it.
 */
export function strandsAgent(storage: Storage, sessionId: string, id = 'planner'): Agent {
  return new Agent({
    id,
    model: new EchoModel(),
    storage,
    sessionManager: new SessionManager({ sessionId }),
    // No offloading strategy (nothing to summarise offline); the stash is on by default.
    contextManager: { strategies: [] },
    printer: false,
  })
}

/** What a conversation left behind: everything a restore must bring back. */
export interface Conversation {
  messages: unknown[]
  state: Record<string, unknown>
  stash: Record<string, unknown>
}

/** What `agent` holds now, in comparable JSON. */
export async function conversationOf(agent: Agent): Promise<Conversation> {
  return {
    messages: JSON.parse(JSON.stringify(agent.messages)),
    state: JSON.parse(JSON.stringify(agent.appState.getAll())),
    stash: (await agent.contextManager?.stash?.takeSnapshot()) ?? {},
  }
}

/**
 * Two turns with app state set between them, so the snapshot saved after the second turn holds
 * messages, app state and (through the stash) every text block; returns what was left behind.
 */
export async function converse(agent: Agent): Promise<Conversation> {
  await agent.invoke('plan three days in Lisbon')
  agent.appState.set('city', 'Lisbon')
  agent.appState.set('days', 3)
  await agent.invoke('and a day trip to Sintra?')
  const left = await conversationOf(agent)
  expect(left.messages).toHaveLength(4)
  expect(Object.keys(left.stash).length).toBeGreaterThanOrEqual(4)
  return left
}

/** A new Agent on `storage` restores exactly `expected` (messages, app state, stash). */
export async function expectRestored(storage: Storage, sessionId: string, expected: Conversation): Promise<Agent> {
  const agent = strandsAgent(storage, sessionId)
  await agent.initialize()
  expect(await conversationOf(agent)).toEqual(expected)
  return agent
}
