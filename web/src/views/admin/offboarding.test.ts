import { describe, expect, it } from 'vitest'
import { ApiError, type User } from '../../api'
import { colleagueRefusals } from '../../messages'
import { colleagueOptions, deactivateBody, isActive, mayDeactivate, mayReactivate, refusalText, stateName } from './offboarding'

const user = (id: number, role: User['role'], team: string, extra: Partial<User> = {}): User => ({
  id, username: `u${id}`, display_name: `用户${id}`, role, team, active: true, ...extra,
})

const admin = user(1, 'admin', '')
const eastManager = user(2, 'manager', 'east')
const westManager = user(3, 'manager', 'west')
const zhang = user(4, 'sales', 'east', { display_name: '张三' })
const li = user(5, 'sales', 'east', { display_name: '李四' })
const gone = user(6, 'sales', 'east', { active: false })
const westSales = user(7, 'sales', 'west')
const eastAdmin = user(8, 'admin', 'east')

describe('who may deactivate whom', () => {
  it('lets an admin deactivate anyone active but themself', () => {
    for (const u of [eastManager, westManager, zhang, westSales, eastAdmin]) expect(mayDeactivate(admin, u), u.username).toBe(true)
    expect(mayDeactivate(admin, admin)).toBe(false)
    expect(mayDeactivate(admin, gone)).toBe(false)
  })

  it("lets a manager deactivate only their own team's salespeople", () => {
    expect(mayDeactivate(eastManager, zhang)).toBe(true)
    expect(mayDeactivate(eastManager, westSales)).toBe(false)
    expect(mayDeactivate(eastManager, eastManager)).toBe(false)
    expect(mayDeactivate(eastManager, eastAdmin)).toBe(false)
    expect(mayDeactivate(westManager, zhang)).toBe(false)
  })

  it('lets a manager without a team deactivate nobody, and a salesperson nobody', () => {
    const loose = user(9, 'manager', '')
    expect(mayDeactivate(loose, user(10, 'sales', ''))).toBe(false)
    expect(mayDeactivate(zhang, li)).toBe(false)
    expect(mayDeactivate(null, li)).toBe(false)
  })

  it('offers reactivation for deactivated users by the same rules', () => {
    expect(mayReactivate(admin, gone)).toBe(true)
    expect(mayReactivate(eastManager, gone)).toBe(true)
    expect(mayReactivate(westManager, gone)).toBe(false)
    expect(mayReactivate(admin, zhang)).toBe(false)
    expect(mayReactivate(li, gone)).toBe(false)
  })

  it('names the state; a user without the field counts as active', () => {
    expect(stateName(zhang)).toBe('在职')
    expect(stateName(gone)).toBe('已停用')
    expect(isActive({})).toBe(true)
  })
})

describe('colleague options', () => {
  const everyone = [admin, eastManager, westManager, zhang, li, gone, westSales, eastAdmin]

  it("offers the leaver's team's active salespeople and managers, not the leaver nor admins", () => {
    // sorted by name in pinyin order: 李四 (li) before 用户2 (yong)
    expect(colleagueOptions(everyone, zhang).map((u) => u.id)).toEqual([li.id, eastManager.id])
    const ids = colleagueOptions(everyone, zhang).map((u) => u.id)
    expect(ids).not.toContain(zhang.id)
    expect(ids).not.toContain(gone.id)
    expect(ids).not.toContain(eastAdmin.id)
    expect(ids).not.toContain(westSales.id)
  })

  it('offers none for a leaver without a team', () => {
    expect(colleagueOptions(everyone, user(11, 'sales', ''))).toEqual([])
  })
})

describe('the request', () => {
  it('names the colleague or the pool, and nothing until a colleague is picked', () => {
    expect(deactivateBody({ kind: 'colleague', colleagueId: 5 })).toEqual({ hand_over_to: 5 })
    expect(deactivateBody({ kind: 'colleague', colleagueId: null })).toBeNull()
    expect(deactivateBody({ kind: 'pool' })).toEqual({ to_pool: true })
  })
})

describe('refusals', () => {
  it('says why a colleague may not take the customers, with the code', () => {
    const error = new ApiError(409, 'colleague_not_eligible', 'li is deactivated', { reason: 'inactive', hand_over_to: 5 })
    expect(refusalText(error)).toBe(`这位同事不能接手客户：${colleagueRefusals.inactive}（colleague_not_eligible）`)
  })

  it('keeps an unknown reason as it is, and shows the server message for an unknown code', () => {
    expect(refusalText(new ApiError(409, 'colleague_not_eligible', 'x', { reason: 'new_rule' }))).toContain('：new_rule（')
    expect(refusalText(new ApiError(409, 'surprise', 'something odd', null))).toBe('操作与当前状态冲突：something odd（surprise）')
    expect(refusalText(new ApiError(403, 'forbidden', 'no', null))).toBe('没有权限进行此操作（forbidden）')
    expect(refusalText(new ApiError(409, 'cannot_deactivate_self', 'no', null))).toBe('不能停用自己的账号（cannot_deactivate_self）')
  })
})
