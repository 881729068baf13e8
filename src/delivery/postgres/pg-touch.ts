import type { PgSession } from './pg-session';

/** Every message of the alert (posted or still to post) must show the new state: the editor catches them up. */
export async function touchAlert(session: PgSession, alertRow: number): Promise<void> {
  await session.query(`UPDATE deliveries SET edit_wanted = edit_wanted + 1, edit_next_at = 0, edit_attempts = 0 WHERE alert_row = $1`, [alertRow]);
}
