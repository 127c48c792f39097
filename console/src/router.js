import { createRouter, createWebHashHistory } from 'vue-router'
import { session, hasScope, visiblePages } from './session.js'

// Hash routes: the gateway serves one page at / and needs no fallback for other paths.
// Each page is its own chunk, loaded when first opened.
export const router = createRouter({
  history: createWebHashHistory(),
  routes: [
    { path: '/', redirect: () => (visiblePages()[0] ? `/${visiblePages()[0].name}` : '/signin') },
    { path: '/signin', name: 'signin', component: () => import('./pages/SignIn.vue'), meta: { public: true } },
    { path: '/playground', name: 'playground', component: () => import('./pages/Playground.vue'), meta: { scope: 'chat' } },
    { path: '/knowledge', name: 'knowledge', component: () => import('./pages/KnowledgeBases.vue'), meta: { scope: 'rag:read' } },
    { path: '/batches', name: 'batches', component: () => import('./pages/Batches.vue'), meta: { scope: 'batch' } },
    { path: '/admin', name: 'admin', component: () => import('./pages/Admin.vue'), meta: { scope: 'admin' } },
    { path: '/:rest(.*)', redirect: '/' },
  ],
})

router.beforeEach((to) => {
  if (to.meta.public) return true
  if (!session.me) return { name: 'signin' }
  if (to.meta.scope && !hasScope(to.meta.scope)) return visiblePages()[0] ? `/${visiblePages()[0].name}` : { name: 'signin' }
  return true
})
