/** The simulator's scripted faults: one leaf module, so the simulator and its lifecycle routes share it without a cycle. */

/** A scripted answer for a number's next request(s); consumed in order, one per register/deregister (`inject`) or lifecycle request (`injectLifecycle`). */
export type SimulatedFault =
  /** No fault: answer this request normally (to interleave faults with normal answers). */
  | { type: 'pass' }
  /** HTTP 500 with a non-JSON body; the request is not applied. */
  | { type: 'http500' }
  /** Apply the request, then answer HTTP 500: the caller cannot know it worked. */
  | { type: 'apply_then_http500' }
  /** Never answer (the caller's timeout fires); not applied. */
  | { type: 'hang' }
  /** Apply the request, then never answer. */
  | { type: 'apply_then_hang' }
  /** Close the connection without an answer; not applied. */
  | { type: 'drop' }
  /** Answer with a Graph error. */
  | { type: 'graph_error'; code: number; httpStatus?: number; details?: string; subcode?: number; headers?: Record<string, string> };
