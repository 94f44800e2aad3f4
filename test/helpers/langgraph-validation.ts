import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest'
import type { CheckpointStorageTarget } from 'snapshelf/langgraph'
import { SnapshelfCheckpointSaver } from 'snapshelf/langgraph'

/**
 * LangGraph's own conformance suite for checkpoint savers (`@langchain/langgraph-checkpoint-validation`
 * 1.1) run against `SnapshelfCheckpointSaver` over one tier: `validate()` (put, putWrites, getTuple,
 * list, deleteThread: 718 cases here, one more than on MemorySaver, which skips the channel-delta case) plus the opt-in `getDeltaChannelHistory` cases LangGraph runs for its
 * in-repo savers. The suite calls vitest's globals (`describe`, `it`, `expect`, hooks) without
 * importing them; rather than `globals: true` for every test file, this module hands it the same
 * functions on `globalThis` (each test file runs in its own isolated module graph) before loading it.
 *
 * @example
 * await runLangGraphValidation('MemoryStorage', () => new MemoryStorage({ prefix: 'p' }))
 */
export async function runLangGraphValidation(
  tier: string,
  storage: () => CheckpointStorageTarget | Promise<CheckpointStorageTarget>,
  hooks: { beforeAll?: () => void | Promise<void>; afterAll?: () => void | Promise<void> } = {},
): Promise<void> {
  Object.assign(globalThis, { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it })
  const { validate, deltaChannelHistoryTests } = await import('@langchain/langgraph-checkpoint-validation')
  const initializer = {
    // Not a name the suite special-cases (it skips cases for 'MemorySaver' and some others): every case runs.
    checkpointerName: `SnapshelfCheckpointSaver over ${tier}`,
    beforeAll: hooks.beforeAll,
    afterAll: hooks.afterAll,
    beforeAllTimeout: 60_000,
    createCheckpointer: async () => new SnapshelfCheckpointSaver({ storage: await storage() }),
  }
  validate(initializer)
  describe(`${initializer.checkpointerName} (opt-in cases)`, () => deltaChannelHistoryTests(initializer))
}
