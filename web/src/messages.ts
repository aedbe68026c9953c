// Every piece of Chinese text the console shows that is not a one-off label lives here, so the
// wording is reviewed in one place. Error messages are keyed by the API's stable error `code`.

export const errorMessages: Record<string, string> = {
  // any area
  validation_error: '填写的内容有误，请检查标出的字段',
  malformed_json: '请求格式错误，请刷新页面后重试',
  unauthenticated: '请先登录',
  invalid_token: '登录已过期，请重新登录',
  bad_credentials: '用户名或密码错误',
  forbidden: '没有权限进行此操作',
  not_found: '要找的内容不存在或已被删除',
  conflict: '操作与当前状态冲突，请刷新后重试',
  concurrent_change: '记录刚被别人修改过，请刷新后重试',
  service_unavailable: '服务暂时不可用，请稍后再试',
  service_timeout: '服务响应超时，请稍后再试',
  internal_error: '系统出错了，已记录，请稍后再试',
  rate_limited: '操作太频繁，请稍后再试',
  network_error: '网络连接失败，请检查网络后重试',
  blank_field: '必填项不能为空',
  // accounts
  username_taken: '用户名已被使用',
  unknown_manager: '找不到指定的经理',
  unknown_user: '找不到该用户',
  unknown_owner: '找不到指定的负责人',
  not_manager: '只有经理或管理员可以进行此操作',
  not_in_team: '对方不在你的团队中',
  cannot_deactivate_self: '不能停用自己的账号',
  unknown_colleague: '找不到指定的接手同事',
  colleague_not_eligible: '这位同事不能接手客户',
  // customers
  duplicate_customer: '客户已存在，不能重复录入',
  customer_not_found: '客户不存在',
  customer_archived: '客户已归档',
  customer_in_pool: '客户在公海中，请先领取',
  not_in_pool: '客户不在公海中',
  not_your_customer: '这不是你的客户',
  immutable_record: '记录不能直接修改或删除，请提交更正申请',
  nothing_to_amend: '更正内容与当前记录相同',
  already_decided: '已经处理过了',
  claim_exists: '你已对该客户提出过认领',
  alarm_required: '放弃客户或退回公海前需要有经理已回复的困难报警',
  referral_cycle: '推荐关系不能形成循环',
  reason_required: '请填写原因',
  malformed_import: '导入文件格式不正确',
  customer_limit_reached: '名下客户数已达团队上限',
  daily_take_limit_reached: '今天从公海领取的客户数已达上限',
  pool_cooldown: '这个客户刚从你名下退回公海，冷却期内不能领回',
  // pipeline
  unknown_stage: '阶段不存在',
  already_in_stage: '商机已在该阶段',
  opportunity_not_found: '商机不存在',
  opportunity_closed: '商机已关闭（赢单或输单），不能再移动',
  invalid_stage_set: '阶段设置不正确',
  stage_in_use: '该阶段还有商机，不能删除',
  // notify
  reminder_not_found: '提醒不存在',
  reminder_closed: '提醒已处理或已取消',
  not_owner: '只有本人可以进行此操作',
  notification_not_found: '通知不存在',
  invalid_signature: '签名无效',
  // knowledge
  entry_not_found: '知识条目不存在',
  alarm_not_found: '困难报警不存在',
  alarm_not_open: '报警已解决，不能再回复',
  answer_not_of_alarm: '该回复不属于这条报警',
  already_voted: '你已经投过票了',
  own_entry: '不能给自己的条目投票',
  not_author: '只有作者可以修改',
  not_raiser: '只有报警人或经理可以解决报警',
  invalid_kind: '类型不正确',
  invalid_tags: '标签不正确',
  // appraisal
  invalid_scheme: '考核方案不正确',
  invalid_period: '考核周期不正确（如 2026-Q3 或 2026）',
  period_in_future: '考核周期还没有开始',
  invalid_score: '评分不正确（0–100）',
  not_reviewer: '申诉须由评分经理的上级或管理员复核',
  scorecard_not_found: '考核表不存在',
  wrong_state: '考核表当前状态不允许此操作，请刷新',
  scores_missing: '请先为所有需要经理评分的指标打分',
}

const statusMessages: Record<number, string> = {
  400: '填写的内容有误',
  401: '请先登录',
  403: '没有权限进行此操作',
  404: '要找的内容不存在',
  409: '操作与当前状态冲突',
  413: '文件太大',
  429: '操作太频繁，请稍后再试',
  500: '系统出错了，请稍后再试',
  502: '服务暂时不可用，请稍后再试',
  503: '服务暂时不可用，请稍后再试',
  504: '服务响应超时，请稍后再试',
}

/** The Chinese message for an API error: by its code, else by its HTTP status. */
export function messageFor(code: string | undefined, status: number): string {
  if (code && errorMessages[code]) return errorMessages[code]
  return statusMessages[status] ?? `请求失败（${status}）`
}

/** What a field's validation error says, in Chinese, for the few marshmallow messages we know. */
export function fieldMessage(raw: unknown): string {
  const text = Array.isArray(raw) ? raw.map(String).join('；') : typeof raw === 'object' && raw ? JSON.stringify(raw) : String(raw)
  const known: [RegExp, string][] = [
    [/Missing data for required field/i, '必填'],
    [/Field may not be null/i, '必填'],
    [/blank|empty|Shorter than minimum/i, '不能为空'],
    [/Not a valid email/i, '邮箱格式不正确'],
    [/Not a valid (integer|number)/i, '请输入数字'],
    [/Not a valid (datetime|date)/i, '日期格式不正确'],
    [/phone/i, '电话号码不正确'],
    [/Unknown field/i, '不支持的字段'],
    [/Must be one of/i, '取值不在允许范围内'],
    [/warning must come before the return/i, '提醒天数必须小于未跟进退回天数'],
    [/Must be greater than or equal|Must be less than or equal|between/i, '数值超出范围'],
  ]
  for (const [pattern, message] of known) if (pattern.test(text)) return `${message}（${text}）`
  return text
}

/** Why a colleague may not take a leaver's customers (``details.reason`` of colleague_not_eligible). */
export const colleagueRefusals: Record<string, string> = {
  same_user: '不能交给要停用的本人',
  inactive: '对方已停用，请选择在职的同事',
  role: '只能交给业务员或经理',
  other_team: '对方不在该用户的团队中',
}

/** Why a customer is in the pool (``pool_cause`` of GET /pool). */
export const poolCauseNames: Record<string, string> = {
  no_followup: '超期未跟进',
  no_won_deal: '超期未成交',
  released: '主动退回',
  abandoned: '放弃客户',
  offboarding: '离职交接',
}

/** Why a customer changed hands (``reason`` of the history's ownership changes). */
export const ownershipReasonNames: Record<string, string> = {
  entered: '录入',
  duplicate_overridden: '经理放行录入',
  claim: '认领',
  duplicate_confirmed: '确认重复',
  pool_take: '公海领取',
  admin: '管理员调整',
  abandoned: '放弃客户',
  released: '退回公海',
  offboarding: '离职交接',
  no_followup: '超期未跟进，自动退回公海',
  no_won_deal: '超期未成交，自动退回公海',
  archived: '归档',
}

export const roleNames: Record<string, string> = { sales: '业务员', manager: '经理', admin: '管理员' }

export const reminderStatusNames: Record<string, string> = {
  pending: '待提醒',
  due: '已到期',
  acknowledged: '已知道',
  escalated: '已短信通知',
  cancelled: '已取消',
}

export const customerStatusNames: Record<string, string> = {
  active: '跟进中',
  owned: '跟进中',
  pool: '公海',
  pooled: '公海',
  archived: '已归档',
  disputed: '争议中',
}

export const followupKindNames: Record<string, string> = {
  call: '电话',
  visit: '拜访',
  sample: '送样',
  quote: '报价',
  other: '其他',
}

export const alarmStatusNames: Record<string, string> = {
  open: '待回复',
  answered: '已回复',
  resolved: '已解决',
}

export const knowledgeKindNames: Record<string, string> = {
  solution: '解决方案',
  success_story: '成功案例',
  faq: '常见问题',
}

export const smsStatusNames: Record<string, string> = {
  queued: '排队中',
  sending: '发送中',
  sent: '已发送',
  delivered: '已送达',
  failed: '发送失败',
  undelivered: '未送达',
}

export const decisionLevels: Record<number, string> = {
  1: '1 经办人',
  2: '2 影响者',
  3: '3 部门负责人',
  4: '4 高管',
  5: '5 最终拍板人',
}

export const text = {
  appName: '销售工作台',
  loginExpired: '登录已过期，请重新登录',
  loggedOut: '已退出登录',
  forbiddenPage: '无权访问：此页面仅限经理和管理员使用',
  empty: '暂无数据',
  loading: '加载中…',
  saved: '已保存',
  duplicateOwned: (owner: string, when: string) => `已存在：由 ${owner} 于 ${when} 录入`,
  nearMatch: (name: string, owner: string) => `相似客户：${name}（${owner}），请确认不是同一家公司`,
  abandonNeedsAlarm: '放弃客户前需要先发起困难报警，并等经理回复',
  releaseNeedsAlarm: '退回公海前需要先发起困难报警，并等经理回复',
  escalatedSms: '已短信通知',
  gotIt: '知道了',
}
