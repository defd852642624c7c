// The login page: a name and a password; then back to the page that sent the person here
// (?next=, a path of this site only) or to the start page of their role.

import { ApiError, api, login, loginMessage } from './api.js';
import { $ } from './dom.js';
import { home } from './shell.js';

/* A `next` that stays on this site: a path, not "//host" or "https://host". */
function nextPage() {
  const next = new URLSearchParams(location.search).get('next');
  return next && next.startsWith('/') && !next.startsWith('//') && !next.includes('\\')
    ? next : null;
}

async function main() {
  const form = $('#login'), name = $('#name'), password = $('#password'), error = $('#error');
  if (nextPage()) $('#why').textContent = '请先登录，登录后将回到刚才的页面。';
  // Already logged in (a bookmark of this page): straight on.
  try {
    const { data } = await api('GET', '/api/v1/me');
    location.replace(nextPage() || home(data.account.role));
    return;
  } catch (e) {
    if (!(e instanceof ApiError) || e.status !== 401) error.textContent = e.message;
  }
  form.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    error.textContent = '';
    for (const f of [name, password]) f.setAttribute('aria-invalid', String(!f.value));
    if (!name.value.trim() || !password.value) {
      error.textContent = '请填写用户名和密码。';
      (name.value.trim() ? password : name).focus();
      return;
    }
    const button = form.querySelector('button');
    button.disabled = true;
    try {
      const me = await login(name.value.trim(), password.value);
      location.replace(nextPage() || home(me.role));
    } catch (e) {
      error.textContent = loginMessage(e);
      password.value = '';
      password.focus();
    } finally {
      button.disabled = false;
    }
  });
}

main();
