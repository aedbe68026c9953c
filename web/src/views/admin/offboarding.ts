// Deactivating and reactivating users (离职交接): who may do it to whom, which colleagues may take
// the leaver's customers, the request body, and the server's refusals in Chinese. The accounts
// service decides (services/accounts/accounts/domain.py); this mirrors its rules so the console
// only offers what it would accept.
import { ApiError, type User } from '../../api'
import { colleagueRefusals, errorMessages } from '../../messages'

type Viewer = Pick<User, 'id' | 'role' | 'team'>

/** An admin manages every user; a manager the salespeople of their own team (not themself). */
function manages(viewer: Viewer | null | undefined, user: User): boolean {
  if (!viewer || viewer.id === user.id) return false
  if (viewer.role === 'admin') return true
  return viewer.role === 'manager' && !!viewer.team && user.role === 'sales' && user.team === viewer.team
}

/** Whether ``viewer`` may deactivate ``user``: an active user they manage, never themself. */
export function mayDeactivate(viewer: Viewer | null | undefined, user: User): boolean {
  return isActive(user) && manages(viewer, user)
}

/** Whether ``viewer`` may reactivate ``user``: a deactivated user they manage. */
export function mayReactivate(viewer: Viewer | null | undefined, user: User): boolean {
  return !isActive(user) && manages(viewer, user)
}

/** A user is active unless the server says otherwise. */
export function isActive(user: Pick<User, 'active'>): boolean {
  return user.active !== false
}

export function stateName(user: Pick<User, 'active'>): string {
  return isActive(user) ? '在职' : '已停用'
}

/** Who may take the leaver's customers: active salespeople and managers of the leaver's team,
 * not the leaver (no admins); sorted by name. None for a leaver without a team. */
export function colleagueOptions(users: User[], leaver: User): User[] {
  if (!leaver.team) return []
  return users
    .filter((u) => u.id !== leaver.id && isActive(u) && u.team === leaver.team && (u.role === 'sales' || u.role === 'manager'))
    .sort((a, b) => a.display_name.localeCompare(b.display_name, 'zh-CN') || a.id - b.id)
}

/** Where the customers go: a colleague's id, or the team pool. */
export type HandOver = { kind: 'colleague'; colleagueId: number | null } | { kind: 'pool' }

export type DeactivateBody = { hand_over_to: number } | { to_pool: true }

/** The body of POST /users/{id}/deactivate for a choice; null while a colleague is still to be picked. */
export function deactivateBody(choice: HandOver): DeactivateBody | null {
  if (choice.kind === 'pool') return { to_pool: true }
  return choice.colleagueId ? { hand_over_to: choice.colleagueId } : null
}

/** A refused deactivation in Chinese, with the server's code (and, for a colleague who may not
 * take the customers, why not) so it can be reported exactly. */
export function refusalText(error: unknown): string {
  if (!(error instanceof ApiError)) return error instanceof Error ? error.message : String(error)
  let text = error.message
  if (error.code === 'colleague_not_eligible') {
    const reason = (error.details as { reason?: string } | null)?.reason
    if (reason) text += `：${colleagueRefusals[reason] ?? reason}`
  } else if (!errorMessages[error.code] && error.serverMessage) {
    text += `：${error.serverMessage}`
  }
  return `${text}（${error.code}）`
}
