import type { Alert } from '../domain/alert';

/** A delivery leased to this worker, with everything needed to format and send it. */
export interface ClaimedDelivery {
  id: number;
  /** Row id of the alert (shared by every delivery of it; the key of its triage state). */
  alertRow: number;
  /**
   * Edit revision when claimed: what the message will show at least. 0 = nothing happened to the alert yet (no
   * click, reply or sync problem), so its triage view is the open one without reading it.
   */
  revision: number;
  alert: Alert;
  route: string;
  destination: string;
  template?: string;
  attempts: number;
  createdAt: number;
}

/** The columns of a leased `deliveries` row that a claim hands on, as both engines read them. */
export interface ClaimedRow {
  id: number;
  alert_row: number;
  route: string;
  destination: string;
  template: string | null;
  attempts: number;
  created_at: number;
  edit_wanted: number;
}

/** A leased row and its (parsed, shared) alert as the worker takes them, whichever engine leased it. */
export function claimedDelivery(row: ClaimedRow, alert: Alert): ClaimedDelivery {
  return {
    id: row.id,
    alertRow: row.alert_row,
    alert,
    route: row.route,
    destination: row.destination,
    ...(row.template ? { template: row.template } : {}),
    attempts: row.attempts,
    createdAt: row.created_at,
    revision: row.edit_wanted,
  };
}
