// Loading and submitting the same way in every view: a loading flag, a Chinese error, field errors
// beside their fields, and one Idempotency-Key per logical submission (kept for retries).
import { computed, ref, shallowRef, type Ref } from 'vue'
import { api, ApiError, newIdempotencyKey, type User } from './api'
import { useAuth } from './stores/auth'

export function errorText(error: unknown): string {
  if (error instanceof ApiError) return error.message
  return error instanceof Error ? error.message : String(error)
}

export function useLoad<T>(fetcher: () => Promise<T>, initial: T) {
  const data = shallowRef(initial) as Ref<T>
  const loading = ref(false)
  const error = ref('')
  async function load() {
    loading.value = true
    error.value = ''
    try {
      data.value = await fetcher()
    } catch (e) {
      error.value = errorText(e)
    } finally {
      loading.value = false
    }
  }
  return { data, loading, error, load }
}

export function useSubmission() {
  let key = newIdempotencyKey()
  const busy = ref(false)
  const error = ref('')
  const fieldErrors = ref<Record<string, string>>({})
  /** Runs ``action`` with this submission's key; a success starts a new submission. */
  async function run<T>(action: (idempotencyKey: string) => Promise<T>, options: { toast?: boolean } = {}): Promise<T | undefined> {
    busy.value = true
    error.value = ''
    fieldErrors.value = {}
    try {
      const result = await action(key)
      key = newIdempotencyKey()
      return result
    } catch (e) {
      error.value = errorText(e)
      if (e instanceof ApiError) {
        fieldErrors.value = e.fieldErrors
        // a refused request will not succeed when repeated as is: the next try is a new submission
        if (e.status >= 400 && e.status < 500) key = newIdempotencyKey()
      }
      if (options.toast !== false) ElMessage.error(error.value)
      return undefined
    } finally {
      busy.value = false
    }
  }
  return { busy, error, fieldErrors, run }
}

/** Reports (forecast, funnel, calibration) are per team: an admin without a team picks one. */
export function useTeamChoice() {
  const auth = useAuth()
  const needsChoice = computed(() => auth.user?.role === 'admin' && !auth.user?.team)
  const teams = ref<string[]>([])
  const team = ref<string | undefined>()
  async function init() {
    if (!needsChoice.value) return
    const users = await api.users().catch(() => [] as User[])
    teams.value = [...new Set(users.map((u) => u.team).filter((t): t is string => !!t))].sort()
    team.value ??= teams.value[0]
  }
  /** The query part naming the team, where one must be named. */
  const scope = () => (needsChoice.value ? { team: team.value } : {})
  /** False while an admin has no team to look at (a fresh system). */
  const ready = () => !needsChoice.value || !!team.value
  return { needsChoice, teams, team, init, scope, ready }
}
