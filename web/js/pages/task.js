// One task, opened by its address (/task.html?id=...): what it is and what can be done with it
// here.  A task that is not on the person's post is refused plainly: the server answers "not
// found" for another post's task whatever its id, so the page never says whether it exists.

import { api } from '../api.js';
import { $, fill, h, param } from '../dom.js';
import { TASK_STATUS, when } from '../names.js';
import { postTitle, posts, refuse, say, start } from '../shell.js';
import { openComplete, openReturn } from '../taskform.js';

let me;

async function show(id) {
  let t;
  try {
    t = (await api('GET', `/api/v1/tasks/${encodeURIComponent(id)}`)).data;
  } catch (e) {
    if (e.status === 404 && me.role === 'staff') {
      document.title = '不是您岗位的任务 · 执行指挥中心';
      refuse(`您的岗位是「${postTitle(me.post)}」。这项任务不在本岗位的待办中：它属于其他岗位，` +
        '或已被调整。任务由所属岗位办理；如确需协助，请联系执行指挥中心调度。', '/',
        '不是您岗位的任务');
      return;
    }
    refuse(e.status === 404 ? '没有这项任务。' : `任务载入失败：${e.message}`, '/');
    return;
  }
  document.title = `${t.title} · ${t.case} · 执行指挥中心`;
  const staff = me.role === 'staff';
  const mine = t.status === 'claimed' && t.claimed_by === me.name;
  const open = t.status === 'open' || t.status === 'claimed';
  fill($('main'),
    h('h1', {}, t.title),
    h('p', { id: 'status', class: 'status', role: 'status', 'aria-live': 'polite' }),
    h('section', { class: 'panel', 'aria-labelledby': 'facts' },
      h('h2', { id: 'facts' }, '任务信息'),
      h('dl', { class: 'facts' },
        h('dt', {}, '案号'), h('dd', {}, h('a', { href: `/case.html?no=${encodeURIComponent(t.case)}` }, t.case)),
        h('dt', {}, '岗位'), h('dd', {}, postTitle(t.post)),
        h('dt', {}, '截止时间'), h('dd', { class: t.overdue ? 'error' : null }, t.due
          ? `${when(t.due)}${t.overdue ? '（已逾期）' : ''}` : '无期限'),
        h('dt', {}, '状态'), h('dd', {}, TASK_STATUS[t.status] || t.status,
          t.claimed_by ? `（${t.claimed_by}）` : ''))),
    open && staff && (t.status === 'open' || mine) ? h('div', { class: 'actions start' },
      t.status === 'open' ? h('button', { type: 'button', onclick: async () => {
        try {
          await api('POST', `/api/v1/tasks/${encodeURIComponent(t.id)}/claim`);
          show(id);
        } catch (e) {
          say(e.message, 'error');
        }
      } }, '领取') : null,
      h('button', { type: 'button', class: 'primary', onclick: () => openComplete(t, () => show(id)) }, '办结'),
      h('button', { type: 'button', class: 'danger', onclick: () => openReturn(t, () => show(id)) }, '退回'))
      : null,
    open && me.role === 'lead' ? reassign(t, id) : null,
    h('p', {}, h('a', { href: staff ? '/' : `/?post=${encodeURIComponent(t.post)}` }, '返回待办列表')));
}

/* The lead moves a task to another post. */
function reassign(t, id) {
  const select = h('select', { id: 'to-post' }, posts().filter((p) => p.id !== t.post)
    .map((p) => h('option', { value: p.id }, p.title)));
  return h('section', { class: 'panel', 'aria-labelledby': 'reassign' },
    h('h2', { id: 'reassign' }, '改派'),
    h('form', { class: 'toolbar', onsubmit: async (ev) => {
      ev.preventDefault();
      try {
        await api('POST', `/api/v1/tasks/${encodeURIComponent(t.id)}/reassign`, { post: select.value });
        await show(id);
        say(`已改派至「${postTitle(select.value)}」。`, 'ok');
      } catch (e) {
        say(`改派失败：${e.message}`, 'error');
      }
    } },
    h('div', { class: 'field' }, h('label', { for: 'to-post' }, '改派至岗位'), select),
    h('button', { type: 'submit' }, '改派')));
}

async function main() {
  me = await start(['staff', 'lead', 'auditor']);
  if (!me) return;
  const id = param('id');
  if (!id) {
    refuse('地址中没有任务编号。', '/');
    return;
  }
  await show(id);
}

main();
