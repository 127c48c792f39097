import { createApp } from 'vue'
import App from './App.vue'
import { i18n } from './i18n.js'
import { router } from './router.js'
import { restoreSession } from './session.js'

restoreSession().finally(() => {
  createApp(App).use(i18n).use(router).mount('#app')
  // Read by the browser test that measures the first load (docs/benchmarks.md).
  router.isReady().then(() => performance.mark('tianshu-interactive'))
})
