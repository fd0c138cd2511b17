/**
 * CardGate's business rules over the {@link CardLedger}, with no SOAP in sight: what each
 * operation answers and what it writes to the ledger. The SOAP service (service.ts) calls these.
 */
import { result, type MoneyOperation, type StatusResult, type TransactionResult } from './codes.ts';
import { maskCard, type CardLedger, type LedgerEntry } from './ledger.ts';
import { decideCard, isSystemErrorAmount, isValidAmount, type CardInput } from './test-cards.ts';

/** Thrown for a system error (`96`); the service turns it into a soap:Server fault. */
export class SystemError extends Error {
  constructor() {
    super('system error');
    this.name = 'SystemError';
  }
}

/** Authorize and Sale. */
export interface PaymentRequest {
  merchantRef: string;
  amount: number;
  currency: string;
  card: CardInput;
}

/** Capture, Refund (amount optional: the whole remainder) and Void (no amount). */
export interface FollowUpRequest {
  merchantRef: string;
  transactionId: string;
  amount?: number | undefined;
}

/** The processor; one per sandbox. */
export class CardProcessor {
  constructor(
    private readonly ledger: CardLedger,
    private readonly now: () => Date = () => new Date(),
  ) {}

  /** Authorize (`Sale` = authorize and capture at once). A repeated MerchantRef replays. */
  payment(operation: 'Authorize' | 'Sale', request: PaymentRequest): TransactionResult {
    return this.idempotent(operation, request.merchantRef, () => {
      if (isSystemErrorAmount(request.amount)) throw new SystemError();
      const decision = isValidAmount(request.amount) ? decideCard(request.card, this.now()) : { code: '13' as const };
      const { transactionId, authCode } = this.ledger.nextIds();
      const approved = decision.code === '00';
      const sale = operation === 'Sale';
      const entry: LedgerEntry = {
        transactionId,
        merchantRef: request.merchantRef,
        type: sale ? 'sale' : 'authorize',
        amount: request.amount,
        currency: request.currency,
        state: approved ? (sale ? 'captured' : 'authorized') : 'declined',
        responseCode: decision.code,
        captured: approved && sale ? request.amount : 0,
        refunded: 0,
        card: maskCard(request.card.number),
        ...(approved && { authCode }),
        ...(decision.avs && { avs: decision.avs }),
        ...(decision.cvv && { cvv: decision.cvv }),
        createdAt: this.now().toISOString(),
      };
      this.ledger.add(entry);
      return result(decision.code, {
        TransactionId: transactionId,
        ...(approved && { AuthCode: authCode }),
        ...(decision.avs && { AvsResult: decision.avs }),
        ...(decision.cvv && { CvvResult: decision.cvv }),
        Amount: request.amount,
        Currency: request.currency,
      });
    });
  }

  /** Captures an authorization, in full or in part (once). */
  capture(request: FollowUpRequest): TransactionResult {
    return this.idempotent('Capture', request.merchantRef, () => {
      this.checkSystemError(request.amount);
      const payment = this.ledger.live(request.transactionId);
      if (!payment || payment.type !== 'authorize' || payment.state !== 'authorized') return result('12');
      const amount = request.amount ?? payment.amount;
      if (!isValidAmount(amount) || amount > payment.amount) return result('13');
      payment.state = 'captured';
      payment.captured = amount;
      return this.movement('capture', request.merchantRef, payment, amount, 'captured');
    });
  }

  /** Refunds a captured payment (a sale, or an authorization through it or its capture). */
  refund(request: FollowUpRequest): TransactionResult {
    return this.idempotent('Refund', request.merchantRef, () => {
      this.checkSystemError(request.amount);
      const payment = this.paymentOf(request.transactionId);
      if (!payment || payment.state !== 'captured') return result('12');
      const remaining = (payment.captured ?? 0) - (payment.refunded ?? 0);
      const amount = request.amount ?? remaining;
      if (!isValidAmount(amount) || amount > remaining) return result('13');
      payment.refunded = (payment.refunded ?? 0) + amount;
      if (payment.refunded === payment.captured) payment.state = 'refunded';
      return this.movement('refund', request.merchantRef, payment, amount, 'refunded');
    });
  }

  /** Voids an authorization, or a captured payment nothing has been refunded from. */
  void(request: FollowUpRequest): TransactionResult {
    return this.idempotent('Void', request.merchantRef, () => {
      const payment = this.paymentOf(request.transactionId);
      const voidable = payment?.state === 'authorized' || (payment?.state === 'captured' && !payment.refunded);
      if (!payment || !voidable) return result('12');
      payment.state = 'voided';
      for (const child of this.ledger.children(payment.transactionId)) child.state = 'voided';
      const amount = payment.captured || payment.amount;
      return this.movement('void', request.merchantRef, payment, amount, 'voided');
    });
  }

  /** What the ledger knows of `merchantRef` (reconciliation after a lost answer). */
  status(merchantRef: string): StatusResult {
    const record = this.ledger.record(merchantRef);
    if (!record) return { ResponseCode: '00', ResponseText: 'no transaction for this merchant reference', State: 'not_found' };
    const original = record.result;
    const entry = original.TransactionId === undefined ? undefined : this.ledger.live(original.TransactionId);
    const state = entry && entry.merchantRef === merchantRef ? entry.state : 'declined';
    return {
      ResponseCode: '00',
      ResponseText: 'transaction found',
      State: state,
      Operation: record.operation,
      ...(original.TransactionId !== undefined && { TransactionId: original.TransactionId }),
      ...(original.Amount !== undefined && { Amount: original.Amount }),
      ...(original.Currency !== undefined && { Currency: original.Currency }),
      OriginalResponseCode: original.ResponseCode,
      OriginalResponseText: original.ResponseText,
      ...(original.AuthCode !== undefined && { AuthCode: original.AuthCode }),
      ...(original.AvsResult !== undefined && { AvsResult: original.AvsResult }),
      ...(original.CvvResult !== undefined && { CvvResult: original.CvvResult }),
    };
  }

  /** Replays the first answer for `merchantRef`, or computes and remembers it. */
  private idempotent(operation: MoneyOperation, merchantRef: string, run: () => TransactionResult): TransactionResult {
    const record = this.ledger.record(merchantRef);
    if (record) return record.operation === operation ? structuredClone(record.result) : result('12');
    const answer = run();
    this.ledger.remember(merchantRef, { operation, result: structuredClone(answer) });
    return answer;
  }

  private checkSystemError(amount: number | undefined): void {
    if (amount !== undefined && isSystemErrorAmount(amount)) throw new SystemError();
  }

  /** The authorization or sale `transactionId` names, directly or through its capture. */
  private paymentOf(transactionId: string): LedgerEntry | undefined {
    const entry = this.ledger.live(transactionId);
    if (entry?.type === 'capture' && entry.parentId !== undefined) return this.ledger.live(entry.parentId);
    return entry?.type === 'authorize' || entry?.type === 'sale' ? entry : undefined;
  }

  /** Writes an approved capture/refund/void of `payment` and answers it. */
  private movement(
    type: 'capture' | 'refund' | 'void',
    merchantRef: string,
    payment: LedgerEntry,
    amount: number,
    state: LedgerEntry['state'],
  ): TransactionResult {
    const { transactionId } = this.ledger.nextIds();
    this.ledger.add({
      transactionId,
      merchantRef,
      type,
      amount,
      currency: payment.currency,
      state,
      responseCode: '00',
      parentId: payment.transactionId,
      ...(payment.card && { card: { ...payment.card } }),
      createdAt: this.now().toISOString(),
    });
    return result('00', { TransactionId: transactionId, Amount: amount, Currency: payment.currency });
  }
}
