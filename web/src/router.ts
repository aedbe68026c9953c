import { createRouter, createWebHistory, type RouteRecordRaw } from 'vue-router'
import { useAuth } from './stores/auth'
import AppLayout from './components/AppLayout.vue'
import LoginView from './views/login/LoginView.vue'
import DashboardView from './views/dashboard/DashboardView.vue'

// The login page, the layout and 工作台 are in the first bundle; every other screen loads on demand.
const routes: RouteRecordRaw[] = [
  { path: '/login', name: 'login', component: LoginView, meta: { public: true, title: '登录' } },
  {
    path: '/',
    component: AppLayout,
    children: [
      { path: '', name: 'dashboard', component: DashboardView, meta: { title: '工作台' } },
      { path: 'customers', name: 'customers', component: () => import('./views/customers/CustomerList.vue'), meta: { title: '客户' } },
      { path: 'customers/new', name: 'customer-new', component: () => import('./views/customers/NewCustomer.vue'), meta: { title: '新建客户' } },
      { path: 'customers/import', name: 'customer-import', component: () => import('./views/customers/ImportView.vue'), meta: { title: '导入客户' } },
      { path: 'customers/:id(\\d+)', name: 'customer', component: () => import('./views/customers/CustomerDetail.vue'), props: (r) => ({ id: Number(r.params.id) }), meta: { title: '客户详情' } },
      { path: 'reminders', name: 'reminders', component: () => import('./views/reminders/RemindersView.vue'), meta: { title: '提醒' } },
      { path: 'pipeline', name: 'pipeline', component: () => import('./views/pipeline/PipelineView.vue'), meta: { title: '销售管道' } },
      { path: 'knowledge', name: 'knowledge', component: () => import('./views/knowledge/KnowledgeView.vue'), meta: { title: '知识库' } },
      { path: 'knowledge/entries/:id(\\d+)', name: 'entry', component: () => import('./views/knowledge/EntryView.vue'), props: (r) => ({ id: Number(r.params.id) }), meta: { title: '知识条目' } },
      { path: 'alarms/:id(\\d+)', name: 'alarm', component: () => import('./views/knowledge/AlarmView.vue'), props: (r) => ({ id: Number(r.params.id) }), meta: { title: '困难报警' } },
      { path: 'appraisal/:tab?', name: 'appraisal', component: () => import('./views/appraisal/AppraisalView.vue'), meta: { title: '绩效' } },
      { path: 'admin/:tab?', name: 'admin', component: () => import('./views/admin/AdminView.vue'), meta: { title: '管理', manager: true } },
      { path: 'forbidden', name: 'forbidden', component: () => import('./views/ForbiddenView.vue'), meta: { title: '无权访问' } },
      { path: ':rest(.*)*', name: 'not-found', component: () => import('./views/NotFoundView.vue'), meta: { title: '页面不存在' } },
    ],
  },
]

export const router = createRouter({ history: createWebHistory(), routes })

let checkingUser = false

/** The token expired or is invalid: log out, and to the login page with a message, then back here. */
export function sessionExpired() {
  useAuth().logout()
  // while the guard below is asking who the user is, it sends them to the login page itself
  if (checkingUser) return
  const current = router.currentRoute.value
  if (current.name !== 'login') {
    void router.push({ name: 'login', query: { redirect: current.fullPath, expired: '1' } })
  }
}

router.beforeEach(async (to) => {
  const auth = useAuth()
  if (to.meta.public) return true
  if (!auth.loggedIn) return { name: 'login', query: { redirect: to.fullPath } }
  checkingUser = true
  try {
    await auth.loadUser()
  } catch {
    auth.logout()
    return { name: 'login', query: { redirect: to.fullPath, expired: '1' } }
  } finally {
    checkingUser = false
  }
  if (to.meta.manager && !auth.isManager) return { name: 'forbidden', query: { from: to.fullPath } }
  return true
})

router.afterEach((to) => {
  document.title = `${to.meta.title ?? ''} · 销售工作台`
})
