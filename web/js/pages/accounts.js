// The administrator's accounts: who may log in, with which role and post; add one, disable or
// enable one, set a new password.  Service accounts of the filing system (ingest) are made on
// the database host with `caseflow tokens add` and only listed here.

import { api } from '../api.js';
import { $, fill, h } from '../dom.js';
import { ROLES, when } from '../names.js';
import { postTitle, posts, say, start } from '../shell.js';

let me;

async function load() {
  let list;
  try {
    list = (await api('GET', '/api/v1/accounts')).data.accounts;
  } catch (e) {
    say(`账号载入失败：${e.message}`, 'error');
    return;
  }
  fill($('#accounts'), h('table', { class: 'grid', id: 'account-table' },
    h('thead', {}, h('tr', {}, ['账号', '角色', '岗位', '状态', '在线会话', '最近活动', '操作']
      .map((t) => h('th', { scope: 'col' }, t)))),
    h('tbody', {}, list.map((a) => h('tr', { 'data-account': a.name },
      h('td', {}, h('strong', {}, a.name)),
      h('td', {}, ROLES[a.role] || a.role),
      h('td', {}, a.post ? postTitle(a.post) : '—'),
      h('td', {}, a.disabled ? h('span', { class: 'badge bad' }, '已停用') : h('span', { class: 'badge ok' }, '正常')),
      h('td', { class: 'num' }, String(a.sessions)),
      h('td', { class: 'nowrap' }, a.last_seen ? when(a.last_seen) : h('span', { class: 'muted' }, '—')),
      h('td', { class: 'actions-cell' }, a.role === 'ingest'
        ? h('span', { class: 'muted' }, `接口账号（${a.tokens} 个令牌，在服务器上管理）`)
        : [a.disabled
          ? h('button', { type: 'button', 'aria-label': `启用 ${a.name}`, onclick: () => setDisabled(a, false) }, '启用')
          : h('button', { type: 'button', class: 'danger', disabled: a.name === me.name,
            'aria-label': `停用 ${a.name}`, onclick: () => setDisabled(a, true) }, '停用'),
        h('button', { type: 'button', 'aria-label': `重置密码：${a.name}`, onclick: () => resetPassword(a) }, '重置密码')]))))));
}

async function setDisabled(a, disable) {
  if (disable && !confirm(`停用账号 ${a.name}？其登录会话将立即结束。`)) return;
  try {
    await api('POST', `/api/v1/accounts/${encodeURIComponent(a.name)}/${disable ? 'disable' : 'enable'}`);
    say(`${a.name} 已${disable ? '停用' : '启用'}。`, 'ok');
  } catch (e) {
    say(`操作失败：${e.message}`, 'error');
  }
  load();
}

/* A password for someone to change at once: 16 characters from a set without look-alikes. */
function suggestion() {
  const set = 'ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnpqrstuvwxyz23456789';
  const bytes = crypto.getRandomValues(new Uint8Array(16));
  return [...bytes].map((b) => set[b % set.length]).join('');
}

function resetPassword(a) {
  const input = h('input', { id: 'new-password', autocomplete: 'new-password', value: suggestion(),
    'aria-describedby': 'new-password-help' });
  const problem = h('p', { class: 'error', role: 'alert' });
  const dialog = h('dialog', { 'aria-labelledby': 'reset-title' });
  const form = h('form', { novalidate: true },
    h('h2', { id: 'reset-title' }, `重置 ${a.name} 的密码`),
    h('div', { class: 'field' }, h('label', { for: 'new-password' }, '新密码'), input,
      h('span', { class: 'help', id: 'new-password-help' }, '至少 10 个字符。请当面或电话告知本人；重置后其登录会话将结束。')),
    problem,
    h('div', { class: 'actions' },
      h('button', { type: 'button', onclick: () => dialog.close() }, '取消'),
      h('button', { type: 'submit', class: 'primary' }, '重置密码')));
  form.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    try {
      await api('POST', `/api/v1/accounts/${encodeURIComponent(a.name)}/password`, { password: input.value });
      dialog.close();
      say(`${a.name} 的密码已重置。`, 'ok');
      load();
    } catch (e) {
      problem.textContent = e.status === 422 ? '密码至少 10 个字符。' : e.message;
      input.focus();
    }
  });
  dialog.append(form);
  dialog.addEventListener('close', () => dialog.remove());
  document.body.append(dialog);
  dialog.showModal();
  input.select();
}

function addForm() {
  const role = h('select', { id: 'a-role', onchange: () => { post.disabled = role.value !== 'staff'; } },
    ['staff', 'lead', 'auditor', 'admin'].map((r) => h('option', { value: r }, ROLES[r])));
  const post = h('select', { id: 'a-post' }, posts().map((p) => h('option', { value: p.id }, p.title)));
  const name = h('input', { id: 'a-name', autocomplete: 'off', maxlength: 64 });
  const password = h('input', { id: 'a-password', autocomplete: 'new-password', value: suggestion() });
  const problem = h('p', { class: 'error', role: 'alert', id: 'add-problem' });
  return h('section', { class: 'panel', 'aria-labelledby': 'add-title' },
    h('h2', { id: 'add-title' }, '新增账号'),
    h('form', { class: 'toolbar', id: 'add', novalidate: true, onsubmit: async (ev) => {
      ev.preventDefault();
      problem.textContent = '';
      if (!name.value.trim()) {
        problem.textContent = '请填写账号（登录名，不含空格）。';
        name.focus();
        return;
      }
      try {
        await api('POST', '/api/v1/accounts', { name: name.value.trim(), role: role.value,
          post: role.value === 'staff' ? post.value : undefined, password: password.value });
        say(`账号 ${name.value.trim()} 已新增。`, 'ok');
        name.value = '';
        password.value = suggestion();
        load();
      } catch (e) {
        problem.textContent = e.status === 409 ? '已有同名账号。' : e.message;
      }
    } },
    h('div', { class: 'field' }, h('label', { for: 'a-name' }, '账号'), name),
    h('div', { class: 'field' }, h('label', { for: 'a-role' }, '角色'), role),
    h('div', { class: 'field' }, h('label', { for: 'a-post' }, '岗位（岗位人员）'), post),
    h('div', { class: 'field' }, h('label', { for: 'a-password' }, '初始密码'), password),
    h('button', { type: 'submit', class: 'primary' }, '新增')),
    problem);
}

async function main() {
  me = await start(['admin']);
  if (!me) return;
  fill($('main'), h('h1', {}, '账号管理'),
    h('p', { id: 'status', class: 'status', role: 'status', 'aria-live': 'polite' }),
    addForm(), h('section', { class: 'panel', 'aria-label': '账号列表', id: 'accounts' }));
  await load();
}

main();
