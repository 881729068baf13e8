/**
 * Where deliveries stand: a delivery's status in the outbox, and what accepting an alert reports. Their own
 * module because the store writes them while the ledger and the lifecycle store (which the store opens) read
 * them: declared in the store, those files and the store would import each other.
 */
export type DeliveryStatus = 'pending' | 'delivered' | 'dead';

export interface DeliverySummary {
  route: string;
  destination: string;
  /** A resolved alert may instead edit the firing message ("updated") or be dropped by its route ("ignored"). */
  status: DeliveryStatus | 'updated' | 'ignored';
}

export interface AcceptResult {
  status: 'accepted' | 'duplicate';
  deliveries: DeliverySummary[];
  /** A duplicate's: when the store accepted the alert it repeats (epoch ms), so the answer can say why. */
  acceptedAt?: number;
}
