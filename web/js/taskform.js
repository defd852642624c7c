// Completing and returning a task in place, and making a decision on a case: the form is drawn
// from what the workflow declares (a task's result, GET /api/v1/tasks/{id}/form; a decision's
// fields, GET /api/v1/cases/{case}/decisions), bad input is refused before anything is sent, and
// the engine's verdict is shown as it comes back (applied, or why not).  What is
// typed is kept in the tab's sessionStorage until the task is done, so a reload or a new login
// does not lose it.

import { ApiError, api } from './api.js';
import { h } from './dom.js';
import { stateTitle, workflow } from './shell.js';

const draftKey = (id, what) => `cf-draft:${what}:${id}`;

function loadDraft(id, what) {
  try {
    return JSON.parse(sessionStorage.getItem(draftKey(id, what)) || '{}');
  } catch {
    return {};
  }
}

function saveDraft(id, what, values) {
  sessionStorage.setItem(draftKey(id, what), JSON.stringify(values));
}

function dropDraft(id, what) {
  sessionStorage.removeItem(draftKey(id, what));
}

/* One field of the form: its input(s), and how to read and check its value. */
function fieldControl(f, draft) {
  const id = `f-${f.name}`;
  const help = f.help ? h('span', { class: 'help', id: `${id}-help` }, f.help) : null;
  const problem = h('span', { class: 'problem', id: `${id}-problem`, role: 'alert' });
  const described = [help && `${id}-help`, `${id}-problem`].filter(Boolean).join(' ');
  const req = f.required ? h('span', { class: 'req', 'aria-hidden': 'true' }, '*') : null;
  let box, read, focus;

  if (f.type === 'yes_no') {
    const yes = h('input', { type: 'radio', name: id, value: 'true', id: `${id}-yes` });
    const no = h('input', { type: 'radio', name: id, value: 'false', id: `${id}-no` });
    if (draft === true) yes.checked = true;
    if (draft === false) no.checked = true;
    box = h('fieldset', { role: 'radiogroup', 'aria-describedby': described,
      'aria-required': f.required ? 'true' : null },
      h('legend', {}, f.title, req),
      h('div', { class: 'choices' },
        h('label', { for: `${id}-yes` }, yes, '是'), h('label', { for: `${id}-no` }, no, '否')),
      help, problem);
    read = () => (yes.checked ? true : no.checked ? false : undefined);
    focus = () => yes.focus();
    return clearedOnEdit({ f, box, read, problem, focus, inputs: [yes, no] });
  }
  let input;
  if (f.type === 'choice' || f.type === 'post') {
    input = h('select', { id, name: f.name },
      h('option', { value: '' }, f.required ? '请选择' : '（不选）'),
      (f.choices || []).map((c) => h('option', { value: c.value }, c.title)));
    if (draft) input.value = draft;
    read = () => input.value || undefined;
  } else if (f.type === 'text') {
    input = f.max && f.max <= 60
      ? h('input', { id, name: f.name, maxlength: f.max })
      : h('textarea', { id, name: f.name, maxlength: f.max || 1000, rows: 3 });
    if (draft) input.value = draft;
    read = () => input.value.trim() || undefined;
  } else if (f.type === 'amount' || f.type === 'number') {
    input = h('input', { id, name: f.name, inputmode: f.type === 'amount' ? 'decimal' : 'numeric',
      autocomplete: 'off' });
    if (draft !== undefined) input.value = String(draft);
    read = () => (input.value.trim() === '' ? undefined : input.value.trim());
  } else {
    input = h('input', { id, name: f.name, type: 'date' });
    if (draft) input.value = draft;
    read = () => input.value || undefined;
  }
  if (f.required) input.setAttribute('aria-required', 'true');
  input.setAttribute('aria-describedby', described);
  box = h('div', { class: 'field' }, h('label', { for: id }, f.title, req), input, help, problem);
  return clearedOnEdit({ f, box, read, problem, focus: () => input.focus(), inputs: [input] });
}

/* A field's problem goes as soon as the field is changed: it stood for the value before, and a
 * message left beside a value chosen since reads as if that value were wrong.  The form is
 * checked again when it is sent. */
function clearedOnEdit(control) {
  const clear = () => {
    control.problem.textContent = '';
    control.inputs.forEach((i) => i.removeAttribute('aria-invalid'));
  };
  control.inputs.forEach((i) => {
    i.addEventListener('input', clear);
    i.addEventListener('change', clear);
  });
  return control;
}

/* Checks the values as the server will (core/form.c); returns [{control, text}] problems and the
 * result to send. */
function check(controls) {
  const result = {}, problems = [];
  const raw = Object.fromEntries(controls.map((c) => [c.f.name, c.read()]));
  for (const c of controls) {
    const f = c.f;
    let v = raw[f.name];
    let required = f.required;
    if (f.required_if) {
      const [other, want] = Object.entries(f.required_if)[0];
      if (raw[other] === want) required = true;
    }
    if (v === undefined) {
      if (required) problems.push({ c, text: `请填写「${f.title}」` });
      continue;
    }
    if (f.type === 'amount') {
      if (!/^\d+(\.\d{1,2})?$/.test(v)) {
        problems.push({ c, text: '金额为不小于 0 的数字，最多两位小数（单位：元）' });
        continue;
      }
      v = Number(v);
    }
    if (f.type === 'number') {
      if (!/^\d+$/.test(v)) {
        problems.push({ c, text: '请填写不小于 0 的整数' });
        continue;
      }
      v = Number(v);
    }
    if (f.type === 'text' && f.max && [...v].length > f.max) {
      problems.push({ c, text: `最多 ${f.max} 个字` });
      continue;
    }
    result[f.name] = v;
  }
  return { result, problems, raw };
}

/* Checks the form and marks its problems at their fields; the result to send, or null. */
function checked(controls) {
  const { result, problems } = check(controls);
  for (const c of controls) {
    c.problem.textContent = '';
    c.inputs.forEach((i) => i.removeAttribute('aria-invalid'));
  }
  for (const p of problems) {
    p.c.problem.textContent = p.text;
    p.c.inputs.forEach((i) => i.setAttribute('aria-invalid', 'true'));
  }
  if (problems.length) {
    problems[0].c.focus();
    return null;
  }
  return result;
}

/* Shows the server's refusal of `field` (a JSON pointer) at the control it names, if any. */
function markField(controls, e, pointer) {
  const field = e.problem && e.problem.field;
  const c = field && controls.find((x) => field === pointer(x.f.name));
  if (c) {
    c.problem.textContent = e.problem.detail;
    c.inputs.forEach((i) => i.setAttribute('aria-invalid', 'true'));
  }
}

function dialogShell(title, subtitle) {
  const heading = h('h2', { id: 'task-dialog-title' }, title);
  const dialog = h('dialog', { 'aria-labelledby': 'task-dialog-title', class: 'task-dialog' });
  const body = h('div', {});
  dialog.append(heading, h('p', { class: 'muted' }, subtitle), body);
  dialog.addEventListener('close', () => dialog.remove());
  document.body.append(dialog);
  return { dialog, body };
}

/* The verdict of the engine in words. */
function verdictBox(status, data, wf, done = '已办结。') {
  if (status === 200 && data && data.status === 'applied') {
    const from = stateTitle(wf, data.from), to = stateTitle(wf, data.to);
    return h('div', { class: 'verdict applied', role: 'status' },
      h('strong', {}, done),
      from === to ? `案件仍在「${to}」。` : `案件由「${from}」转入「${to}」。`);
  }
  return h('div', { class: 'verdict pending', role: 'status' },
    h('strong', {}, '已提交。'), '引擎尚未处理完毕，稍后刷新即可看到结果。');
}

function refusalText(e) {
  const p = e.problem || {};
  if (e.status === 409 && p.claimed_by) return `该任务已由 ${p.claimed_by} 领取，不能由您办理。`;
  if (e.status === 409) return '该任务已办结或已退回，无需再办。';
  if (e.status === 404) return '该任务不在您岗位的待办中（可能已被调整到其他岗位）。';
  if (p.type === 'urn:caseflow:problem:refused-by-engine') return `引擎拒绝了该结果：${p.detail}`;
  if (p.type === 'urn:caseflow:problem:result-refused') return `工作流不接受该结果：${p.detail}`;
  return e.message;
}

/**
 * Opens the completion dialog of task `task` ({id, case, title}).  `onDone()` runs after the
 * engine's verdict (or when the dialog closes after a change).
 */
/* What the workflow gave the task to work from: the payments worker's candidate cases (each can
 * be chosen into apply_to), why an earlier choice failed, a payout's balance and account. */
function workingData(params, controls) {
  const parts = [];
  if (params.error) {
    parts.push(h('div', { class: 'verdict refused', role: 'alert' }, params.error));
  }
  if (Array.isArray(params.candidates)) {
    const target = controls.find((c) => c.f.name === 'apply_to');
    const rows = params.candidates.map((c) => h('li', {},
      h('strong', {}, c.case_no), ` 可信度 ${c.confidence}`, c.why ? `（${c.why}）` : '',
      target ? h('button', { type: 'button', onclick: () => { target.inputs[0].value = c.case_no; } },
        '选用') : null));
    parts.push(h('div', { class: 'field' }, h('span', {}, '候选案件（按可信度）'),
      rows.length ? h('ol', {}, rows) : h('p', {}, '未找到候选案件')));
  }
  if (params.balance !== undefined) {
    parts.push(h('p', {}, `案款余额 ${params.balance} 元；收款人 ${params.payee || '（未登记）'}，`
      + `账号 ${params.account || '（未登记）'}`));
  }
  return parts;
}

export async function openComplete(task, onDone) {
  let spec;
  try {
    spec = (await api('GET', `/api/v1/tasks/${encodeURIComponent(task.id)}/form`)).data;
  } catch (e) {
    alertDialog('无法办理', refusalText(e));
    return;
  }
  const wf = workflow(spec.workflow, spec.version);
  const form = spec.form;
  const draft = loadDraft(task.id, 'complete');
  const { dialog, body } = dialogShell(`办结：${form.title}`, `${task.case}`);
  let controls;
  if (form.fields.length) {
    controls = form.fields.map((f) => fieldControl(f, draft[f.name]));
  } else {
    controls = [fieldControl({ name: 'note', type: 'text', title: '办理说明', max: 500,
      help: '工作流对此任务无须填写内容，可简要说明办理情况。' }, draft.note)];
  }
  const verdict = h('div', { 'aria-live': 'polite' });
  const send = h('button', { class: 'primary', type: 'submit' }, '确认办结');
  const cancel = h('button', { type: 'button', onclick: () => dialog.close() }, '取消');
  const el = h('form', { novalidate: true }, workingData(spec.params || {}, controls),
    controls.map((c) => c.box), verdict, h('div', { class: 'actions' }, cancel, send));
  body.append(el);
  el.addEventListener('input', () => saveDraft(task.id, 'complete', check(controls).raw));
  el.addEventListener('change', () => saveDraft(task.id, 'complete', check(controls).raw));
  el.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    const result = checked(controls);
    if (!result) return;
    send.disabled = true;
    verdict.replaceChildren(h('div', { class: 'verdict pending', role: 'status' }, '正在提交，等待引擎处理…'));
    try {
      const { status, data } = await api('POST',
        `/api/v1/tasks/${encodeURIComponent(task.id)}/complete`, { result });
      dropDraft(task.id, 'complete');
      verdict.replaceChildren(verdictBox(status, data, wf));
      send.remove();
      cancel.textContent = '关闭';
      cancel.focus();
      if (onDone) onDone();
    } catch (e) {
      verdict.replaceChildren(h('div', { class: 'verdict refused', role: 'alert' },
        h('strong', {}, '未办结。'), refusalText(e)));
      markField(controls, e, (name) => `/result/${name}`);
      send.disabled = false;
    }
  });
  dialog.showModal();
  controls[0].focus();
}

function decisionRefusal(e) {
  const p = e.problem || {};
  if (e.status === 403) return `您的岗位不能作出此决定：${p.detail || ''}`;
  if (e.status === 409) return `案件当前状态不允许此决定：${p.detail || ''}`;
  if (e.status === 404) return '没有这个案件。';
  if (p.type === 'urn:caseflow:problem:refused-by-engine') return `引擎拒绝了该决定：${p.detail}`;
  return e.message;
}

/** A key for one decision: a retry of the same dialog is the same event (Idempotency-Key). */
function freshKey() {
  const b = crypto.getRandomValues(new Uint8Array(16));
  return `web-${Array.from(b, (x) => x.toString(16).padStart(2, '0')).join('')}`;
}

/**
 * Opens the dialog of decision `d` ({decision, title, fields}, from GET
 * /api/v1/cases/{case}/decisions) on case `caseNo` of workflow `wf`, and sends it in the
 * account's name.  `onDone()` runs when the dialog closes after the decision was sent.
 */
export function openDecision(caseNo, d, wf, onDone) {
  const what = `decision:${d.decision}`;
  const draft = loadDraft(caseNo, what);
  const key = freshKey();
  const { dialog, body } = dialogShell(`决定：${d.title}`, caseNo);
  let sent = false;
  dialog.addEventListener('close', () => { if (sent && onDone) onDone(); });
  const controls = (d.fields || []).map((f) => fieldControl(f, draft[f.name]));
  const verdict = h('div', { 'aria-live': 'polite' });
  const send = h('button', { class: 'primary', type: 'submit' }, '确认作出决定');
  const cancel = h('button', { type: 'button', onclick: () => dialog.close() }, '取消');
  const el = h('form', { novalidate: true },
    controls.length ? controls.map((c) => c.box)
      : h('p', {}, `确认对本案作出「${d.title}」的决定？`),
    verdict, h('div', { class: 'actions' }, cancel, send));
  body.append(el);
  el.addEventListener('change', () => saveDraft(caseNo, what, check(controls).raw));
  el.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    const result = checked(controls);
    if (!result) return;
    send.disabled = true;
    verdict.replaceChildren(h('div', { class: 'verdict pending', role: 'status' }, '正在提交，等待引擎处理…'));
    try {
      const { status, data } = await api('POST',
        `/api/v1/cases/${encodeURIComponent(caseNo)}/decisions`,
        { decision: d.decision, ...result }, { 'Idempotency-Key': key });
      dropDraft(caseNo, what);
      sent = true;
      verdict.replaceChildren(verdictBox(status, data, wf, '已作出决定。'));
      send.remove();
      cancel.textContent = '关闭';
      cancel.focus();
    } catch (e) {
      verdict.replaceChildren(h('div', { class: 'verdict refused', role: 'alert' },
        h('strong', {}, '未作出决定。'), decisionRefusal(e)));
      markField(controls, e, (name) => `/${name}`);
      send.disabled = false;
    }
  });
  dialog.showModal();
  if (controls.length) controls[0].focus();
  else send.focus();
}

/** Opens the dialog that sends task `task` back with a reason. */
export function openReturn(task, onDone) {
  const { dialog, body } = dialogShell('退回任务', `${task.case} · ${task.title}`);
  const reason = h('textarea', { id: 'return-reason', maxlength: 1000, rows: 4,
    'aria-required': 'true', 'aria-describedby': 'return-problem' });
  reason.value = loadDraft(task.id, 'return').reason || '';
  const problem = h('span', { class: 'problem', id: 'return-problem', role: 'alert' });
  const verdict = h('div', { 'aria-live': 'polite' });
  const send = h('button', { class: 'danger', type: 'submit' }, '确认退回');
  const cancel = h('button', { type: 'button', onclick: () => dialog.close() }, '取消');
  const el = h('form', { novalidate: true },
    h('div', { class: 'field' }, h('label', { for: 'return-reason' }, '退回理由',
      h('span', { class: 'req', 'aria-hidden': 'true' }, '*')), reason, problem),
    verdict, h('div', { class: 'actions' }, cancel, send));
  body.append(el);
  reason.addEventListener('input', () => saveDraft(task.id, 'return', { reason: reason.value }));
  el.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    if (!reason.value.trim()) {
      problem.textContent = '请写明退回理由';
      reason.setAttribute('aria-invalid', 'true');
      reason.focus();
      return;
    }
    send.disabled = true;
    try {
      await api('POST', `/api/v1/tasks/${encodeURIComponent(task.id)}/return`,
        { reason: reason.value.trim() });
      dropDraft(task.id, 'return');
      verdict.replaceChildren(h('div', { class: 'verdict applied', role: 'status' }, '已退回。'));
      send.remove();
      cancel.textContent = '关闭';
      cancel.focus();
      if (onDone) onDone();
    } catch (e) {
      verdict.replaceChildren(h('div', { class: 'verdict refused', role: 'alert' }, refusalText(e)));
      send.disabled = false;
    }
  });
  dialog.showModal();
  reason.focus();
}

/** A message in a dialog with one button. */
export function alertDialog(title, text) {
  const { dialog, body } = dialogShell(title, '');
  const ok = h('button', { class: 'primary', type: 'button', onclick: () => dialog.close() }, '知道了');
  body.append(h('p', { role: 'alert' }, text), h('div', { class: 'actions' }, ok));
  dialog.showModal();
  ok.focus();
}

export { ApiError };
