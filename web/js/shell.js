// The frame of every page after login: who is logged in (name and post, always in view), the
// links that person's role may follow, logout, and the names of posts and states from the
// workflows.

import { account, api, logout, session } from './api.js';
import { $, fill, h } from './dom.js';
import { ROLES } from './names.js';

const NAV = [
  { href: '/', text: '我的待办', roles: ['staff'] },
  { href: '/wall.html', text: '指挥大屏', roles: ['lead'] },
  { href: '/', text: '岗位待办', roles: ['lead', 'auditor'] },
  { href: '/case.html', text: '案件查询', roles: ['staff', 'lead', 'auditor'] },
  { href: '/replay.html', text: '审计回放', roles: ['lead', 'auditor'] },
  { href: '/accounts.html', text: '账号管理', roles: ['admin'] },
];

/** Where a role starts after login. */
export function home(role) {
  return { lead: '/wall.html', auditor: '/replay.html', admin: '/accounts.html' }[role] || '/';
}

let workflows = [];

/** A post's name ("集约启动岗") from the workflows, or its id. */
export function postTitle(id) {
  for (const w of workflows) {
    const p = w.posts.find((x) => x.id === id);
    if (p) return p.title;
  }
  return id || '';
}

/** Every post of the workflows, once each: [{id, title}]. */
export function posts() {
  const seen = new Map();
  for (const w of workflows) for (const p of w.posts) if (!seen.has(p.id)) seen.set(p.id, p);
  return [...seen.values()];
}

/** The workflow `name` version `version` as GET /api/v1/workflows gives it, or undefined. */
export function workflow(name, version) {
  return workflows.find((w) => w.name === name && (version === undefined || w.version === version));
}

/** A state's name ("执行实施") in workflow `wf`, or its id. */
export function stateTitle(wf, state) {
  const s = wf && wf.states.find((x) => x.name === state);
  return s ? s.title : state;
}

/**
 * Starts a page: the session (to the login page without one), the header, and the workflows.
 * `roles` are the roles the page is for; others see a plain refusal.  Returns the account, or
 * null when the page is not for its role.
 */
export async function start(roles) {
  const me = await session();
  try {
    workflows = (await api('GET', '/api/v1/workflows')).data.workflows;
  } catch {
    workflows = [];
  }
  header(me);
  if (roles && !roles.includes(me.role)) {
    refuse(`此页面不对${ROLES[me.role] || me.role}开放。`, home(me.role));
    return null;
  }
  return me;
}

function header(me) {
  const top = $('header.top');
  const links = NAV.filter((n) => n.roles.includes(me.role));
  const current = location.pathname;
  fill(top,
    h('div', { class: 'brand' }, h('span', { class: 'court' }, '偃师区人民法院'),
      h('span', { class: 'app' }, '执行指挥中心 · 集约化执行平台')),
    h('nav', { 'aria-label': '主导航' }, h('ul', {}, links.map((n) => h('li', {},
      h('a', { href: n.href, 'aria-current': n.href === current ? 'page' : null }, n.text))))),
    h('div', { class: 'who', id: 'who' },
      h('span', { class: 'name' }, me.name),
      h('span', { class: 'post' }, me.post ? postTitle(me.post) : ROLES[me.role] || me.role),
      h('button', { type: 'button', class: 'quiet', onclick: () => logout() }, '退出登录')));
}

/**
 * The engine's clock now (ISO), for "days left": the simulated clock in tests and demos, the
 * real one otherwise.  Falls back to the browser's clock.
 */
export async function engineNow(me) {
  try {
    if (me.role === 'lead' || me.role === 'auditor')
      return (await api('GET', '/api/v1/stats')).data.clock.now;
    if (me.role === 'staff')
      return (await api('GET', `/api/v1/posts/${encodeURIComponent(me.post)}/tasks?limit=1`)).data.now;
  } catch {
    /* the browser's clock will do */
  }
  return new Date().toISOString();
}

/** Replaces the page's main part with a refusal and a way back. */
export function refuse(text, back, title = '无法打开此页面') {
  fill($('main'), h('section', { class: 'refusal', role: 'alert' },
    h('h1', {}, title), h('p', {}, text),
    h('p', {}, h('a', { class: 'button', href: back || '/' }, '返回我的工作台'))));
}

/** Says `text` in the page's status line (read out by screen readers). */
export function say(text, kind = 'info') {
  const el = $('#status');
  if (!el) return;
  el.className = `status ${kind}`;
  el.textContent = text;
}

export { account };
