/**
 * The two requests Meta limits per number, and how the ledger keeps them: plain types, shared by the Graph port,
 * the ledger port and the budget rules (shared/domain/budget.ts) without either port depending on the domain.
 */

/** The two Graph calls Meta limits to N per number in a moving window. */
export type LimitedOperation = 'register' | 'deregister';

/**
 * One request as the number's budget keeps it. Every request is kept with its operation, whatever the
 * mode, so switching ATTEMPT_BUDGET_SHARED never forgets the window. `any` marks requests from the
 * ledger's first layout, whose operation is unknown: they count against both operations.
 */
export interface SpentSlot {
  at: number;
  operation: LimitedOperation | 'any';
}

/** A slot promised to a saga (the register after its deregister): it counts as spent until used or `until`. */
export interface ReservedSlot {
  jobKey: string;
  operation: LimitedOperation;
  at: number;
  until: number;
}

/** What the budget check reads from the number's ledger item. */
export interface NumberBudget {
  spent: SpentSlot[];
  reserved: ReservedSlot[];
  /** After a 133016: no request of this operation until then. */
  blockedUntil: Partial<Record<LimitedOperation, number>>;
}

