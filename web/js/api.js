// Talking to caseflow serve (docs/api.md): JSON over fetch with the session cookie, the CSRF
// token on every change, and problems (RFC 9457) turned into ApiError.  When the session ends
// while someone works, a login dialog opens over the page and the request is sent again after
// it: nothing typed on the page is lost.

import { h } from './dom.js';

let csrf = '';
let me = null;
let relogin = null; // the open login dialog's promise, shared by every request that waits

export class ApiError extends Error {
  constructor(status, problem) {
    super((problem && problem.detail) || `HTTP ${status}`);
    this.status = status;
    this.problem = problem || {};
  }
}

/** The account logged in ({name, role, post}), once session() has run. */
export function account() {
  return me;
}

/**
 * Sends `method path` with `body` (JSON, or undefined) and `extra` headers, and returns
 * {status, data}.  Throws ApiError for an error answer (status 0 when the server cannot be
 * reached).
 */
export async function api(method, path, body, extra = {}) {
  for (let attempt = 0; ; attempt++) {
    const headers = { Accept: 'application/json', ...extra };
    if (body !== undefined) headers['Content-Type'] = 'application/json';
    if (method !== 'GET') headers['X-CSRF-Token'] = csrf;
    let res;
    try {
      res = await fetch(path, {
        method, headers, credentials: 'same-origin', cache: 'no-store',
        body: body === undefined ? undefined : JSON.stringify(body),
      });
    } catch {
      throw new ApiError(0, { detail: '无法连接服务器，请检查网络后重试' });
    }
    if (res.status === 401 && me && attempt === 0) {
      await sessionEnded();
      continue;
    }
    const type = res.headers.get('Content-Type') || '';
    const data = type.includes('json') ? await res.json().catch(() => null) : null;
    if (!res.ok) throw new ApiError(res.status, data);
    return { status: res.status, data };
  }
}

/** Where the login page sends someone back to: this page, with its address. */
function here() {
  return location.pathname + location.search + location.hash;
}

/**
 * Who is logged in: GET /api/v1/me.  Without a session the browser goes to the login page,
 * which comes back here after it; this never returns then.
 */
export async function session() {
  try {
    const { data } = await api('GET', '/api/v1/me');
    me = data.account;
    csrf = data.csrf || '';
    return me;
  } catch (e) {
    if (e.status === 401) {
      location.replace('/login.html?next=' + encodeURIComponent(here()));
      await new Promise(() => {});
    }
    throw e;
  }
}

/** Logs in; returns the account.  Throws ApiError (401 wrong, 403 disabled, 429 locked). */
export async function login(name, password) {
  const { data } = await api('POST', '/api/v1/login', { name, password });
  me = data.account;
  csrf = data.csrf;
  return me;
}

export async function logout() {
  try {
    await api('POST', '/api/v1/logout');
  } finally {
    me = null;
    location.assign('/login.html');
  }
}

/** A login problem in words a clerk can act on. */
export function loginMessage(e) {
  if (e.status === 401) return '用户名或密码不正确。';
  if (e.status === 403) return '该账号已停用，请联系系统管理员。';
  if (e.status === 429) {
    const s = (e.problem && e.problem.retry_after) || 0;
    return `登录失败次数过多，账号已暂时锁定，请 ${Math.ceil(s / 60)} 分钟后再试。`;
  }
  if (e.status === 422) return '请填写用户名和密码。';
  return e.message;
}

/* The session ended under a working page: log in again in a dialog over it. */
function sessionEnded() {
  if (relogin) return relogin;
  relogin = new Promise((resolve) => {
    const name = h('input', {
      id: 'relogin-name', name: 'username', autocomplete: 'username', required: true,
      value: me.name,
    });
    const password = h('input', {
      id: 'relogin-password', name: 'password', type: 'password',
      autocomplete: 'current-password', required: true,
    });
    const error = h('p', { class: 'error', role: 'alert' });
    const form = h('form', { method: 'dialog', class: 'stack' },
      h('h2', { id: 'relogin-title' }, '登录已过期'),
      h('p', {}, '为保护案件信息，长时间未操作后需要重新登录。页面上已填写的内容会保留。'),
      h('label', { for: 'relogin-name' }, '用户名'), name,
      h('label', { for: 'relogin-password' }, '密码'), password,
      error,
      h('div', { class: 'actions' }, h('button', { class: 'primary', type: 'submit' }, '重新登录')));
    const dialog = h('dialog', { class: 'relogin', 'aria-labelledby': 'relogin-title' }, form);
    // The dialog stays until someone logs in: Escape does not close it.
    dialog.addEventListener('cancel', (ev) => ev.preventDefault());
    form.addEventListener('submit', async (ev) => {
      ev.preventDefault();
      const before = me.name;
      try {
        await login(name.value.trim(), password.value);
      } catch (e) {
        error.textContent = loginMessage(e);
        password.select();
        return;
      }
      dialog.close();
      dialog.remove();
      relogin = null;
      // Another person at this desk: their page, not the last one's.
      if (me.name !== before) location.reload();
      resolve();
    });
    document.body.append(dialog);
    dialog.showModal();
    password.focus();
  });
  return relogin;
}
