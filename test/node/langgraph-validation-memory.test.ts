import { MemoryStorage } from 'snapshelf'
import { runLangGraphValidation } from '../helpers/langgraph-validation.js'

// LangGraph's validation suite over MemoryStorage: each checkpointer gets a fresh storage, since
// the suite's `list` cases without a thread id expect exactly the threads they wrote.
await runLangGraphValidation('MemoryStorage', () => new MemoryStorage({ prefix: 'lg' }))
