/** One line of `doctor`'s report (its `--json` output is a list of these). */
export interface DoctorCheck {
  check: string;
  ok: boolean;
  /** Passed, but worth a look (e.g. a clock a few seconds off); does not fail `doctor`. */
  warn?: boolean;
  detail?: string;
  /** What to do about a failure (or a warning). */
  fix?: string;
}
