// What the import view shows of a background import job while it runs: pure, tested in importJob.test.ts.
import type { ImportJob } from '../../api'

export const REPORT_PAGE = 5000

export function isRunning(job: Pick<ImportJob, 'state'>): boolean {
  return job.state === 'queued' || job.state === 'running'
}

/** The bar's percentage: rows done of the file's rows (0 for an empty file). */
export function percentDone(job: Pick<ImportJob, 'rows_done' | 'total_rows'>): number {
  return job.total_rows ? Math.min(100, Math.round((job.rows_done / job.total_rows) * 100)) : 0
}

/** How many report rows to ask for: one while the job runs (its counts are what the bar needs),
 * a page of the report once it has ended. */
export function reportRowsWanted(job: Pick<ImportJob, 'state'>): number {
  return isRunning(job) ? 1 : REPORT_PAGE
}
