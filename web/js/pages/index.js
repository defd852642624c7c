// 我的待办: a post's open and claimed tasks, the earliest due first, worked in place (claim,
// complete, return, bulk claim), and brought up to date by itself: server-sent events from
// GET /api/v1/posts/{post}/stream, or polling every 15 s when the stream cannot be had.  Above
// the tasks, the post's unread notices (GET /api/v1/notices, #12): a refused decision, the
// week's overdue list, what the workflow tells the post; each marked read in the reader's name.

import { api } from '../api.js';
import { $, fill, h, param } from '../dom.js';
import { TASK_STATUS, daysUntil, leftText, when } from '../names.js';
import { postTitle, posts, say, start } from '../shell.js';
import { openComplete, openReturn } from '../taskform.js';

const POLL_MS = 15000;
let me, post, known = null, poller = null, source = null, loading = null, again = false;
const filters = { status: '', overdue: false, q: '' };
let rows = [];

function url() {
  const q = new URLSearchParams({ limit: '200' });
  if (filters.status) q.set('status', filters.status);
  if (filters.overdue) q.set('overdue', 'true');
  if (filters.q) q.set('q', filters.q);
  return `/api/v1/posts/${encodeURIComponent(post)}/tasks?${q}`;
}

function layout() {
  const picker = me.role === 'staff' ? null : h('div', { class: 'field' },
    h('label', { for: 'post' }, '岗位'),
    h('select', { id: 'post', onchange: (ev) => {
      const u = new URL(location.href);
      u.searchParams.set('post', ev.target.value);
      location.assign(u);
    } }, posts().map((p) => h('option', { value: p.id, selected: p.id === post }, p.title))));
  fill($('main'),
    h('div', { class: 'case-head' },
      h('h1', {}, me.role === 'staff' ? '我的待办' : '岗位待办', ' · ', postTitle(post)),
      h('span', { id: 'live', class: 'live off' }, '正在连接…')),
    h('p', { id: 'status', class: 'status', role: 'status', 'aria-live': 'polite' }),
    h('section', { class: 'panel', 'aria-label': '筛选' },
      h('form', { class: 'toolbar', id: 'filters', role: 'search', onsubmit: (ev) => {
        ev.preventDefault();
        filters.q = $('#q').value.trim();
        load();
      } },
      picker,
      h('div', { class: 'field' }, h('label', { for: 'fstatus' }, '状态'),
        h('select', { id: 'fstatus', onchange: (ev) => { filters.status = ev.target.value; load(); } },
          h('option', { value: '' }, '全部'), h('option', { value: 'open' }, '待领取'),
          h('option', { value: 'claimed' }, '已领取'))),
      h('label', { for: 'foverdue', class: 'check' },
        h('input', { id: 'foverdue', type: 'checkbox', onchange: (ev) => {
          filters.overdue = ev.target.checked;
          load();
        } }), '只看已逾期'),
      h('div', { class: 'field grow' }, h('label', { for: 'q' }, '搜索案号或事项'),
        h('input', { id: 'q', type: 'search', placeholder: '如 执1234 或 立案信息核查' })),
      h('button', { type: 'submit' }, '搜索'),
      me.role === 'staff'
        ? h('button', { type: 'button', id: 'bulk', class: 'primary', disabled: true, onclick: bulkClaim },
          '批量领取所选')
        : null)),
    h('section', { class: 'panel', id: 'notices', 'aria-label': '通知' }),
    h('div', { class: 'counts', id: 'counts' }),
    h('div', { class: 'panel', id: 'list' }, h('p', { class: 'muted' }, '正在载入待办…')));
}

const NOTICE_KIND = { refusal: '未被接受', overdue: '超期清单', workflow: '案件动态' };

/** What a notice says beyond its title: the reason of a refusal, the cases of an overdue list. */
function noticeDetail(n) {
  const b = n.body || {};
  if (n.kind === 'refusal' && b.reason) return h('span', { class: 'muted' }, b.reason);
  if (n.kind === 'overdue' && Array.isArray(b.tasks)) {
    return h('ul', { class: 'notice-tasks' }, b.tasks.slice(0, 20).map((t) => h('li', {},
      h('a', { href: `/case.html?no=${encodeURIComponent(t.case)}` }, t.case), ' ', t.title,
      ' · 截止 ', when(t.due), t.post !== n.post ? ` · ${postTitle(t.post)}` : '')),
    b.tasks.length > 20 ? h('li', { class: 'muted' }, `另有 ${b.tasks.length - 20} 项`) : null);
  }
  return null;
}

async function readNotice(n) {
  try {
    await api('POST', `/api/v1/notices/${n.id}/read`);
    say(`已读：${n.title}`, 'ok');
  } catch (e) {
    say(`未能标为已读：${e.message}`, 'error');
  }
  await loadNotices();
}

/** The post's unread notices; nothing is shown when there are none. */
async function loadNotices() {
  const q = new URLSearchParams({ unread: 'true', limit: '20' });
  if (me.role !== 'staff') q.set('post', post);
  let data;
  try {
    ({ data } = await api('GET', `/api/v1/notices?${q}`));
  } catch (e) {
    fill($('#notices'), h('p', { class: 'muted' }, `通知载入失败：${e.message}`));
    return;
  }
  if (!data.notices.length) {
    fill($('#notices'));
    $('#notices').hidden = true;
    return;
  }
  $('#notices').hidden = false;
  fill($('#notices'),
    h('h2', {}, '通知 ', h('span', { class: 'badge overdue' }, `${data.unread} 条未读`)),
    h('ul', { class: 'notices', id: 'notice-list' }, data.notices.map((n) => h('li', { 'data-notice': n.id },
      h('span', { class: 'badge' }, NOTICE_KIND[n.kind] || n.kind), ' ',
      h('b', {}, n.title), ' ', h('span', { class: 'muted nowrap' }, when(n.created_at)),
      n.case ? [' ', h('a', { href: `/case.html?no=${encodeURIComponent(n.case)}` }, n.case)] : null,
      me.role !== 'auditor'
        ? [' ', h('button', { type: 'button', 'aria-label': `标为已读 ${n.title}`, onclick: () => readNotice(n) }, '已读')]
        : null,
      noticeDetail(n)))));
}

function dueCell(t, now) {
  if (!t.due) return h('td', { class: 'due' }, h('span', { class: 'muted' }, '无期限'));
  const d = daysUntil(t.due, now);
  const badge = t.overdue ? h('span', { class: 'badge overdue' }, leftText(t.due, now))
    : d === 0 ? h('span', { class: 'badge today' }, '今日到期')
      : h('span', { class: 'muted' }, leftText(t.due, now));
  return h('td', { class: 'due nowrap' }, when(t.due), h('br'), badge);
}

function actions(t) {
  if (me.role !== 'staff') return h('td', { class: 'actions-cell muted' }, '只读');
  const mine = t.status === 'claimed' && t.claimed_by === me.name;
  const label = `${t.case} ${t.title}`;
  return h('td', { class: 'actions-cell' },
    t.status === 'open'
      ? h('button', { type: 'button', 'aria-label': `领取 ${label}`, onclick: () => claim([t]) }, '领取')
      : null,
    t.status === 'open' || mine
      ? [h('button', { type: 'button', class: 'primary', 'aria-label': `办结 ${label}`,
        onclick: () => openComplete(t, () => load()) }, '办结'),
      h('button', { type: 'button', class: 'danger', 'aria-label': `退回 ${label}`,
        onclick: () => openReturn(t, () => load()) }, '退回')]
      : h('span', { class: 'muted' }, '他人办理中'));
}

function render(data, fresh) {
  const now = data.now;
  rows = data.tasks;
  // The table is drawn again on each change of the queue: what the clerk had selected and where
  // the keyboard was stay as they were.
  const picked = new Set([...document.querySelectorAll('input.pick:checked')].map((c) => c.value));
  const focus = document.activeElement && document.activeElement.closest('tr[data-task]')
    ? { task: document.activeElement.closest('tr').dataset.task,
      label: document.activeElement.getAttribute('aria-label') || document.activeElement.className }
    : null;
  fill($('#counts'),
    h('span', {}, '共', h('b', {}, data.counts.total), '项'),
    h('span', {}, '待领取', h('b', {}, data.counts.open)),
    h('span', {}, '已领取', h('b', {}, data.counts.claimed)),
    h('span', { class: 'overdue' }, '已逾期', h('b', {}, data.counts.overdue)),
    h('span', { class: 'muted' }, `工作日期 ${when(now)}${data.clock === 'simulated' ? '（模拟时钟）' : ''}`));
  if (!rows.length) {
    fill($('#list'), h('p', { class: 'muted' }, filters.q || filters.status || filters.overdue
      ? '没有符合条件的待办。' : '暂无待办。新任务到达时会自动出现在这里。'));
    updateBulk();
    return;
  }
  const staff = me.role === 'staff';
  fill($('#list'), h('table', { class: 'grid', id: 'tasks' },
    h('caption', { class: 'muted' }, `${postTitle(post)}的待办，按截止时间排列`),
    h('thead', {}, h('tr', {},
      staff ? h('th', { scope: 'col' }, h('input', { type: 'checkbox', id: 'all',
        'aria-label': '选择全部待领取任务', onchange: (ev) => {
          document.querySelectorAll('input.pick').forEach((c) => { c.checked = ev.target.checked; });
          updateBulk();
        } })) : null,
      h('th', { scope: 'col' }, '案号'), h('th', { scope: 'col' }, '事项'),
      h('th', { scope: 'col' }, '截止时间'), h('th', { scope: 'col' }, '状态'),
      h('th', { scope: 'col' }, '操作'))),
    h('tbody', {}, rows.map((t) => {
      const today = t.due && !t.overdue && daysUntil(t.due, now) === 0;
      const isNew = fresh.has(t.id);
      return h('tr', { 'data-task': t.id, 'data-case': t.case,
        class: [t.overdue ? 'overdue' : '', today ? 'today' : '', isNew ? 'fresh' : ''].join(' ').trim() || null },
      staff ? h('td', {}, t.status === 'open'
        ? h('input', { type: 'checkbox', class: 'pick', value: t.id, 'aria-label': `选择 ${t.case}`,
          onchange: updateBulk }) : null) : null,
      h('td', { class: 'nowrap' }, h('a', { href: `/case.html?no=${encodeURIComponent(t.case)}` }, t.case),
        isNew ? [' ', h('span', { class: 'badge new' }, '新')] : null),
      h('td', {}, h('a', { href: `/task.html?id=${encodeURIComponent(t.id)}` }, t.title)),
      dueCell(t, now),
      h('td', {}, t.status === 'claimed'
        ? [TASK_STATUS.claimed, h('br'), h('span', { class: 'muted' }, t.claimed_by === me.name ? '（本人）' : t.claimed_by)]
        : TASK_STATUS[t.status] || t.status),
      actions(t));
    }))));
  for (const c of document.querySelectorAll('input.pick')) c.checked = picked.has(c.value);
  if (focus) {
    const row = [...document.querySelectorAll('tr[data-task]')].find((r) => r.dataset.task === focus.task);
    const again = row && [...row.querySelectorAll('button, input, a')].find((el) =>
      (el.getAttribute('aria-label') || el.className) === focus.label);
    if (again) again.focus();
  }
  updateBulk();
}

function updateBulk() {
  const b = $('#bulk');
  if (!b) return;
  const n = document.querySelectorAll('input.pick:checked').length;
  b.disabled = n === 0;
  b.textContent = n ? `批量领取所选（${n}）` : '批量领取所选';
}

/** Fetches the queue; tasks not seen before are marked new and announced. */
async function load() {
  if (loading) {
    again = true;
    return loading;
  }
  loading = (async () => {
    try {
      const [{ data }] = await Promise.all([api('GET', url()), loadNotices()]);
      const fresh = new Set();
      if (known) for (const t of data.tasks) if (!known.has(t.id)) fresh.add(t.id);
      known = new Set([...(known || []), ...data.tasks.map((t) => t.id)]);
      render(data, fresh);
      if (fresh.size) {
        const cases = data.tasks.filter((t) => fresh.has(t.id)).map((t) => t.case);
        say(`新到 ${fresh.size} 项待办：${cases.slice(0, 3).join('、')}${cases.length > 3 ? ' 等' : ''}`, 'ok');
      }
    } catch (e) {
      say(`待办载入失败：${e.message}`, 'error');
    }
  })();
  await loading;
  loading = null;
  if (again) {
    again = false;
    await load();
  }
}

async function claim(tasks) {
  let ok = 0, taken = [];
  for (const t of tasks) {
    try {
      await api('POST', `/api/v1/tasks/${encodeURIComponent(t.id)}/claim`);
      ok++;
    } catch (e) {
      taken.push(e.problem && e.problem.claimed_by ? `${t.case}（已由 ${e.problem.claimed_by} 领取）` : `${t.case}（${e.message}）`);
    }
  }
  say(taken.length ? `已领取 ${ok} 项；未能领取：${taken.join('，')}` : `已领取 ${ok} 项。`,
    taken.length ? 'error' : 'ok');
  await load();
}

function bulkClaim() {
  const ids = new Set([...document.querySelectorAll('input.pick:checked')].map((c) => c.value));
  claim(rows.filter((t) => ids.has(t.id)));
}

function live(on, text) {
  const el = $('#live');
  if (!el) return;
  el.className = `live ${on ? 'on' : 'off'}`;
  el.textContent = text;
}

/* The stream first; after repeated failures, polling, with a new try at the stream each
 * minute. */
function follow() {
  let failures = 0;
  const poll = () => {
    if (poller) return;
    live(false, '每 15 秒自动刷新');
    poller = setInterval(load, POLL_MS);
  };
  if (!('EventSource' in window)) {
    poll();
    return;
  }
  source = new EventSource(`/api/v1/posts/${encodeURIComponent(post)}/stream`);
  source.addEventListener('hello', () => {
    failures = 0;
    if (poller) {
      clearInterval(poller);
      poller = null;
    }
    live(true, '实时更新');
  });
  source.addEventListener('queue', () => load());
  source.addEventListener('error', () => {
    failures++;
    if (source.readyState === EventSource.CLOSED || failures >= 3) {
      source.close();
      poll();
      // The session may have ended: the next load asks for a login.  The stream is tried again.
      setTimeout(() => { if (poller) { clearInterval(poller); poller = null; } follow(); }, 60000);
    }
  });
}

async function main() {
  me = await start(['staff', 'lead', 'auditor']);
  if (!me) return;
  post = me.role === 'staff' ? me.post : param('post') || (posts()[0] || {}).id || 'intake';
  layout();
  await load();
  follow();
}

main();
