import { AIMessage, type BaseMessage, HumanMessage } from '@langchain/core/messages'
import { tool } from '@langchain/core/tools'
import { Command, END, MessagesAnnotation, START, StateGraph, interrupt } from '@langchain/langgraph'
import type { BaseCheckpointSaver } from '@langchain/langgraph-checkpoint'
import { ToolNode } from '@langchain/langgraph/prebuilt'

/**
 * A real LangGraph `StateGraph` for the adapter's graph tests: an agent node that calls an `add`
 * tool until it has summed every number of the question (a tool loop through LangGraph's own
 * `ToolNode`), then a review node that stops on `interrupt()` for a human's approval, and ends
 * with the answer and the reviewer's word. The "model" is deterministic (no network): what it
 * decides depends only on the messages so far, so two savers driving the same inputs must end
 * with the same state.
 */

const add = tool(async ({ a, b }: { a: number; b: number }) => String(a + b), {
  name: 'add',
  description: 'Adds two numbers',
  schema: { type: 'object', properties: { a: { type: 'number' }, b: { type: 'number' } }, required: ['a', 'b'] },
})

/** The deterministic "model": sums the question's numbers one tool call at a time. */
function agent(state: typeof MessagesAnnotation.State): { messages: BaseMessage[] } {
  const numbers = String(state.messages.find((m) => m.getType() === 'human')?.content ?? '')
    .match(/\d+/g)!
    .map(Number)
  const results = state.messages.filter((m) => m.getType() === 'tool').map((m) => Number(m.content))
  const total = results.at(-1) ?? numbers[0]!
  const next = numbers[results.length + 1]
  if (next === undefined) return { messages: [new AIMessage({ content: `The sum is ${total}.`, id: `answer-${results.length}` })] }
  const id = `call-${results.length}`
  return {
    messages: [new AIMessage({ content: '', id: `ai-${results.length}`, tool_calls: [{ id, name: 'add', args: { a: total, b: next } }] })],
  }
}

/** Asks a human (LangGraph `interrupt`) to approve the answer; the resume value is their word. */
function review(state: typeof MessagesAnnotation.State): { messages: BaseMessage[] } {
  const answer = String(state.messages.at(-1)?.content)
  const verdict = interrupt({ question: 'Approve this answer?', answer }) as string
  return { messages: [new HumanMessage({ content: `review: ${verdict}`, id: `review-${verdict}` })] }
}

/**
 * The graph compiled with `checkpointer`.
 *
 * @example
 * const graph = sumGraph(new SnapshelfCheckpointSaver({ storage }))
 */
export function sumGraph(checkpointer: BaseCheckpointSaver) {
  return new StateGraph(MessagesAnnotation)
    .addNode('agent', agent)
    .addNode('tools', new ToolNode([add]))
    .addNode('review', review)
    .addEdge(START, 'agent')
    .addConditionalEdges('agent', (s) => ((s.messages.at(-1) as AIMessage).tool_calls?.length ? 'tools' : 'review'), ['tools', 'review'])
    .addEdge('tools', 'agent')
    .addEdge('review', END)
    .compile({ checkpointer })
}

/** The question every run starts with: three additions, then review. */
export const question = () => ({ messages: [new HumanMessage({ content: 'What is 1 + 2 + 3 + 4?', id: 'q' })] })

/** LangGraph's resume command for the interrupt. */
export const resume = (verdict: string) => new Command<string, Record<string, never>, 'review'>({ resume: verdict })

/** Messages as comparable plain data (type, content, tool calls). */
export function plain(messages: BaseMessage[]): unknown[] {
  return messages.map((m) => ({ type: m.getType(), content: m.content, tool_calls: (m as AIMessage).tool_calls ?? [] }))
}
