// ClientHub console: a client of the HTTP API, in Russian first (English selectable; texts in
// i18n.js). An employee signs in with a login and password (or an API token) for a session
// cookie the page cannot read (HttpOnly); state-changing calls carry the session's CSRF token.
// Signing in marks the person available, signing out off. The inbox follows the server's live
// event stream instead of polling. The API enforces roles and scope; the console hides what
// the caller may not do. No build step, no dependencies.
'use strict';

/** How much each role may do (the server's `Role::rank`). */
const RANKS = { viewer: 0, master: 1, operator: 1, supervisor: 2, admin: 3 };
const STATUSES = ['new', 'routed', 'in_work', 'paused', 'triage', 'dropped', 'resolved'];
const PRIORITIES = ['urgent', 'high', 'normal', 'low'];
let me = null;
let timer = null;
/** The session's CSRF token, sent with every call that changes something. */
let csrf = null;
/** The routing directory, for names instead of ids and the company's time offset. */
let dir = { regions: [], departments: [], employees: [], topics: [], utc_offset_minutes: 0 };
/** The live event stream, and what the shown page does when an appeal changes. */
let events = null;
let onChange = null;
/** Whether the person changed a field on the shown page: a live update then only offers itself. */
let editing = false;
document.addEventListener('input', () => { editing = true; });
document.addEventListener('change', (e) => { if (e.target.id !== 'presence' && e.target.id !== 'lang') editing = true; });
/** Counts page renders: a render whose data arrives after a newer one began is dropped. */
let renders = 0;
/** What the operator is typing, per appeal and field: kept when the page re-renders live. */
const drafts = {};
/** A textarea whose text survives re-renders (`key`: appeal and field). */
const draft = (key, attrs) => h('textarea', { ...attrs, value: drafts[key] || '', oninput: (e) => { drafts[key] = e.target.value; } });

const main = () => document.getElementById('main');
/** Replaces the page's content (nested arrays flattened, null and false skipped). */
const render = (...children) =>
  main().replaceChildren(...children.flat(Infinity).filter((c) => c !== null && c !== undefined && c !== false));
const can = (role) => me !== null && RANKS[me.role] >= RANKS[role];
const list = (v) => (Array.isArray(v) ? v.join(', ') : v ?? '');
/** An instant in the company's time (the directory's offset from UTC), in the chosen language's format. */
const when = (ms) => (ms
  ? new Date(ms + (dir.utc_offset_minutes || 0) * 60000).toLocaleString(LANG === 'ru' ? 'ru-RU' : 'en-GB',
    { timeZone: 'UTC', day: '2-digit', month: '2-digit', year: 'numeric', hour: '2-digit', minute: '2-digit' })
  : '—');
/** The display name of a directory entry (`employees`, `departments`, `regions`, `topics`) by id. */
const nameOf = (section, id) => {
  if (!id) return '—';
  const entry = (dir[section] || []).find((e) => e.id === id);
  return entry && entry.name ? entry.name : id;
};

/** Builds an element: h('a', {href: '#', onclick: f}, 'text', child). */
function h(tag, attrs = {}, ...children) {
  const el = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs)) {
    if (value === undefined || value === null || value === false) continue;
    if (key.startsWith('on')) el.addEventListener(key.slice(2), value);
    else if (key === 'class') el.className = value;
    else if (key === 'value') el.value = value;
    else if (key === 'checked') el.checked = Boolean(value);
    else el.setAttribute(key, value === true ? '' : value);
  }
  for (const child of children.flat(Infinity)) {
    if (child !== null && child !== undefined && child !== false) {
      el.append(child instanceof Node ? child : String(child));
    }
  }
  return el;
}

function toast(text, bad = false) {
  const box = document.getElementById('toast');
  box.textContent = text;
  box.className = bad ? 'bad' : '';
  box.hidden = false;
  clearTimeout(toast.timer);
  toast.timer = setTimeout(() => (box.hidden = true), bad ? 8000 : 3000);
}

/** Calls the API; throws an Error with the API's message on a non-2xx answer. */
async function api(method, path, body, contentType) {
  const headers = {};
  if (method !== 'GET' && csrf) headers['x-csrf-token'] = csrf;
  let payload;
  if (body !== undefined) {
    headers['content-type'] = contentType || 'application/json';
    payload = contentType ? body : JSON.stringify(body);
  }
  const response = await fetch(path, { method, headers, body: payload });
  const text = await response.text();
  let data = text;
  try {
    data = text ? JSON.parse(text) : null;
  } catch (_) {
    // Not JSON (CSV, a plain message): keep the text.
  }
  if (response.status === 401) {
    me = null;
    route();
    throw new Error(t('sessionEnded'));
  }
  if (!response.ok) throw new Error(errorText(data, text || response.statusText));
  return data;
}

/** Runs an action, reports its outcome, then re-renders the page. */
async function act(what, action) {
  try {
    await action();
    toast(what);
    await route();
  } catch (e) {
    toast(t('failed', what, e.message), true);
  }
}

function download(name, text, type) {
  const link = h('a', { href: URL.createObjectURL(new Blob([text], { type })), download: name });
  document.body.append(link);
  link.click();
  link.remove();
}

function pickFile(accept, read) {
  const input = h('input', { type: 'file', accept });
  input.addEventListener('change', () => input.files[0] && read(input.files[0]));
  input.click();
}

/** A select of `values` (id → label), with an empty first choice when `empty` is given. */
function choice(id, values, selected, empty) {
  return h('select', { id },
    empty !== undefined ? h('option', { value: '' }, empty) : null,
    values.map(([value, text]) => h('option', { value, selected: value === selected }, text)));
}

const entries = (section) => (dir[section] || []).map((e) => [e.id, e.name || e.id]);

async function logout() {
  if (me && me.employee) await api('PUT', '/api/presence', { state: 'off' }).catch(() => {});
  await fetch('/api/session', { method: 'DELETE' });
  me = null;
  csrf = null;
  if (events) events.close();
  events = null;
  route();
}

/** The session of this page's cookie, if any: who it is and its CSRF token. */
async function session(method, body) {
  const init = body ? { method, headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) } : { method };
  const response = await fetch('/api/session', init);
  const data = await response.json().catch(() => ({}));
  if (!response.ok) throw Object.assign(new Error(errorText(data, response.statusText)), { second_factor: data.second_factor });
  csrf = data.csrf;
  return { name: data.name, role: data.role, employee: data.employee, scope: data.scope, presence: data.presence };
}

/** Follows the server's event stream; the shown page decides what a change means to it. */
function follow() {
  if (events) return;
  events = new EventSource('/api/events');
  let pending = null;
  const changed = (id) => {
    clearTimeout(pending);
    pending = setTimeout(() => onChange && onChange(id), 150);
  };
  events.addEventListener('appeal', (e) => changed(JSON.parse(e.data).id));
  events.addEventListener('reload', () => changed(null));
}

// --- sign-in ---------------------------------------------------------------------------------

function loginPage(message, needCode = false) {
  document.getElementById('nav').hidden = true;
  document.getElementById('logout').hidden = true;
  document.getElementById('presence').hidden = true;
  document.getElementById('who').textContent = '';
  const invite = location.hash.match(/^#invite=(chi_[0-9a-f]+)$/);
  if (invite) return invitationPage(invite[1]);
  const login = h('input', { id: 'login-name', placeholder: t('login'), autocomplete: 'username' });
  const password = h('input', { id: 'password', type: 'password', placeholder: t('password'), autocomplete: 'current-password' });
  const code = needCode ? h('input', { id: 'code', inputmode: 'numeric', placeholder: t('code'), autocomplete: 'one-time-code' }) : null;
  const token = h('input', { id: 'token', type: 'password', placeholder: t('token'), autocomplete: 'off' });
  const signIn = async (body, clockIn) => {
    try {
      me = await session('POST', body);
    } catch (e) {
      return loginPage(e.message, Boolean(e.second_factor));
    }
    if (clockIn && me.employee) await api('PUT', '/api/presence', { state: 'available' }).catch(() => {});
    await route();
  };
  const withPassword = (event) => {
    event.preventDefault();
    const body = { login: login.value.trim(), password: password.value };
    if (code) body.code = code.value.trim();
    signIn(body, true);
  };
  const withToken = (event) => {
    event.preventDefault();
    signIn({ token: token.value.trim() }, false);
  };
  render(
    h('form', { class: 'card login', onsubmit: withPassword },
      h('h1', {}, t('signInTitle')),
      login, password, code,
      message ? h('p', { class: 'error', id: 'login-error' }, message) : null,
      h('button', { type: 'submit', id: 'sign-in' }, t('signIn'))),
    h('form', { class: 'card login', onsubmit: withToken },
      h('p', { class: 'muted' }, t('tokenHint')),
      token,
      h('button', { type: 'submit', id: 'login' }, t('signInToken'))));
  login.focus();
}

/** The page an invitation link opens: the employee sets a password. */
function invitationPage(key, message) {
  const password = h('input', { id: 'new-password', type: 'password', placeholder: t('invitePassword'), autocomplete: 'new-password' });
  const submit = async (event) => {
    event.preventDefault();
    const response = await fetch('/api/invitations/accept', {
      method: 'POST', headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ token: key, password: password.value }),
    });
    const data = await response.json().catch(() => ({}));
    if (!response.ok) return invitationPage(key, errorText(data, response.statusText));
    history.replaceState(null, '', '#/inbox');
    loginPage(t('passwordSet', data.employee));
  };
  render(
    h('form', { class: 'card login', onsubmit: submit },
      h('h1', {}, t('inviteTitle')),
      h('p', { class: 'muted' }, t('inviteHint')),
      password,
      message ? h('p', { class: 'error', id: 'invite-error' }, message) : null,
      h('button', { type: 'submit', id: 'accept' }, t('setPassword'))));
  password.focus();
}

// --- team ------------------------------------------------------------------------------------

/** The supervisor's view: who is available, away or off, and how many open appeals each holds. */
async function team() {
  const rows = await api('GET', '/api/presence');
  render(
    h('section', { class: 'card', id: 'team' },
      h('h1', {}, t('teamTitle')),
      h('table', {},
        h('thead', {}, h('tr', {}, [t('employee'), t('department'), t('status'), t('since'), t('openAppeals')].map((c) => h('th', {}, c)))),
        h('tbody', {}, rows.map((r) => h('tr', { 'data-employee': r.id },
          h('td', {}, r.name || r.id),
          h('td', {}, nameOf('departments', r.department)),
          h('td', { class: `presence ${r.state}` }, label('presence', r.state)),
          h('td', {}, when(r.since)),
          h('td', { class: 'load' }, r.max_open ? `${r.open_appeals} / ${r.max_open}` : String(r.open_appeals))))))));
  timer = setInterval(() => location.hash.startsWith('#/team') && team().catch(() => {}), 5000);
}

/** The header's presence switch, for a signed-in employee. */
async function presenceSwitch() {
  const select = document.getElementById('presence');
  select.hidden = !(me && me.employee);
  if (select.hidden) return;
  const current = await session('GET').catch(() => me);
  select.replaceChildren(...['available', 'away', 'off'].map((value) => h('option', { value }, label('presence', value))));
  select.value = current.presence || 'off';
}

// --- inbox -----------------------------------------------------------------------------------

const FILTERS = ['status', 'channel', 'queue', 'department', 'region', 'assignee', 'topic', 'priority'];
const inboxFilters = { q: '', overdue: '', mine: '' };
let inboxPages = 1;

/** Whether an appeal is past a deadline now (or was, for resolved ones). */
const late = (a) => Boolean(a.work.reaction_overdue_at || a.work.resolution_overdue_at);

/** A due time, marked when it passed. */
function due(ms, overdue) {
  return h('td', { class: overdue ? 'error' : '' }, when(ms));
}

async function inbox() {
  const health = await api('GET', '/healthz');
  const body = h('tbody');
  const queues = [...new Set(dir.departments.map((d) => d.queue || d.id))];
  const values = {
    status: STATUSES.map((s) => [s, label('status', s)]), channel: health.channels.concat(['phone', 'visit', 'book']).map((c) => [c, label('channel', c)]),
    queue: queues.map((q) => [q, q]), department: entries('departments'), region: entries('regions'), assignee: entries('employees'),
    topic: entries('topics'), priority: PRIORITIES.map((p) => [p, label('priority', p)]),
  };
  const filter = (key) => {
    const select = choice(`filter-${key}`, values[key], inboxFilters[key], t('any', t(key)));
    select.addEventListener('change', (e) => { inboxFilters[key] = e.target.value; inboxPages = 1; refresh(); });
    return select;
  };
  const toggle = (key, text, value) => h('label', { class: 'toggle' },
    h('input', { type: 'checkbox', id: `filter-${key}`, checked: Boolean(inboxFilters[key]),
      onchange: (e) => { inboxFilters[key] = e.target.checked ? value : ''; inboxPages = 1; refresh(); } }), ` ${text}`);
  let selected = -1;
  const select = (i) => {
    const rows = [...body.rows];
    if (!rows.length) return;
    selected = Math.max(0, Math.min(rows.length - 1, i));
    rows.forEach((r, j) => r.classList.toggle('selected', j === selected));
    rows[selected].scrollIntoView({ block: 'nearest' });
  };
  // The server filters (from its indexes) and sends only what is shown: 50 rows a page.
  const refresh = async () => {
    const turn = ++renders;
    const query = new URLSearchParams({ limit: String(Math.min(50 * inboxPages, 500)) });
    for (const key of FILTERS) if (inboxFilters[key]) query.set(key, inboxFilters[key]);
    if (inboxFilters.q) query.set('q', inboxFilters.q);
    if (inboxFilters.overdue) query.set('overdue', 'yes');
    if (inboxFilters.mine && me.employee) query.set('assignee', me.employee);
    const page = await api('GET', `/api/appeals?${query}`);
    if (turn !== renders) return;
    const rows = page.items;
    document.getElementById('inbox-more').hidden = !page.next || inboxPages >= 10;
    body.replaceChildren(...rows.map((a) =>
      h('tr', { class: `clickable${late(a) && a.status !== 'resolved' ? ' late' : ''}`, 'data-appeal': a.id, onclick: () => (location.hash = `#/appeal/${a.id}`) },
        h('td', {}, when(a.received_at)),
        h('td', {}, label('channel', a.channel)),
        h('td', {}, h('span', { class: `status ${a.status}`, 'data-status': a.status }, label('status', a.status)),
          late(a) ? h('span', { class: 'status overdue' }, t('overdue')) : null),
        h('td', { class: `priority ${a.decision?.priority || ''}` }, a.decision ? label('priority', a.decision.priority) : '—'),
        h('td', {}, a.work.queue || a.decision?.queue || '—'),
        h('td', {}, a.contact.name || a.contact.phone || a.contact.email || '—'),
        h('td', {}, (a.subject ? `${a.subject}: ` : '') + a.text.slice(0, 120)),
        h('td', {}, nameOf('regions', a.work.region || a.decision?.region)),
        h('td', {}, nameOf('departments', a.work.department)),
        h('td', {}, nameOf('employees', a.work.assignee)),
        due(a.work.reaction_due, a.work.reaction_overdue_at),
        due(a.work.resolution_due, a.work.resolution_overdue_at),
        h('td', {}, list(a.tags)))));
    document.getElementById('inbox-count').textContent = t('shown', rows.length);
    if (selected >= 0) select(selected);
  };
  const search = h('input', {
    id: 'search', type: 'search', value: inboxFilters.q, placeholder: t('search'),
    onchange: (e) => { inboxFilters.q = e.target.value.trim(); inboxPages = 1; refresh(); },
  });
  render(
    h('h1', {}, t('inbox'), ' ', h('span', { class: 'muted live' }, `● ${t('live')}`)),
    channelWarning(health),
    h('div', { class: 'bar' }, search, FILTERS.map(filter),
      me.employee ? toggle('mine', t('mine'), 'yes') : null, toggle('overdue', t('overdueOnly'), 'yes'),
      can('operator') && me.role !== 'master' ? h('a', { href: '#/new', class: 'button', id: 'new-appeal' }, `+ ${t('newAppeal')}`) : null,
      h('span', { id: 'inbox-count', class: 'muted' })),
    h('table', { id: 'inbox' },
      h('thead', {}, h('tr', {}, ['received', 'channel', 'status', 'priority', 'queue', 'contact', 'text', 'region', 'department', 'assignee', 'reactionDue', 'resolutionDue', 'tags'].map((k) => h('th', {}, t(k))))),
      body),
    h('div', { class: 'bar' },
      h('button', { id: 'inbox-more', class: 'secondary', hidden: true, onclick: () => { inboxPages += 1; refresh(); } }, t('more')),
      h('span', { class: 'muted' }, t('keys'))));
  await refresh();
  onChange = () => refresh().catch(() => {});
  document.onkeydown = (e) => {
    if (!document.getElementById('inbox')) return;
    // From the search box, ↓ moves into the list.
    if (e.target === search && e.key === 'ArrowDown') search.blur();
    else if (e.target.matches('input, textarea, select')) return;
    if (e.key === 'ArrowDown' || e.key === 'j') { e.preventDefault(); select(selected + 1); }
    if (e.key === 'ArrowUp' || e.key === 'k') { e.preventDefault(); select(selected - 1); }
    if (e.key === 'Enter' && selected >= 0) body.rows[selected]?.click();
    if (e.key === '/') { e.preventDefault(); search.focus(); }
  };
}

// --- one appeal --------------------------------------------------------------------------------

/** A customer's attachment as a link: nothing on a customer-supplied URL loads by itself (a
 * photo URL would otherwise tell its owner who opened the appeal, and when). */
function attachment(a) {
  const url = /^https?:\/\//.test(a.reference) ? a.reference : null;
  const name = a.file_name || a.kind;
  if (url) return h('a', { href: url, target: '_blank', rel: 'noopener noreferrer' }, `${name} ↗`);
  return h('span', { class: 'muted' }, `${name} (${a.reference})`);
}

/** A reply with its delivery state, attempts, last error and next try; "retry now" when it failed. */
function replyBubble(id, r) {
  return h('div', { class: 'message reply', 'data-reply': r.id },
    h('div', { class: 'muted' }, when(r.created_at), ' · ', t('reply'), r.author ? ` · ${r.author}` : '', ' · ',
      h('span', { class: `status reply-state ${r.state}` }, label('reply', r.state)),
      r.attempts ? ` · ${t('attempts', r.attempts)}` : '',
      r.next_attempt_at && r.state === 'queued' ? ` · ${t('nextTry', when(r.next_attempt_at))}` : ''),
    h('div', {}, r.text),
    r.error ? h('div', { class: 'error' }, r.error) : null,
    r.state === 'failed' && can('operator') ? h('button', { class: 'secondary', onclick: () => act(t('retryNow'), () => api('POST', `/api/appeals/${id}/replies/${r.id}/retry`)) }, t('retryNow')) : null);
}

/** The actions the appeal's state and the caller's role allow. */
function actionsCard(a) {
  const id = a.id;
  const open = !['resolved', 'dropped'].includes(a.status);
  const master = me.role === 'master';
  const reason = h('input', { id: 'reason', placeholder: t('reason') });
  const verb = (name, body) => () => act(label('stage', { take: 'taken', handoff: 'handed_off', pause: 'paused', resume: 'resumed', resolve: 'resolved', reopen: 'reopened' }[name]),
    () => api('POST', `/api/appeals/${id}/${name}`, body()));
  const button = (idName, text, onclick, cls) => h('button', { id: idName, class: cls, onclick }, text);
  const employee = choice('employee', dir.employees.map((e) => [e.id, `${e.name || e.id} (${nameOf('departments', e.department)})`]), a.work.assignee);
  const department = choice('department', entries('departments'), a.work.department);
  const mineNow = a.work.assignee && a.work.assignee === me.employee;
  return h('div', { class: 'card', id: 'actions' }, h('h2', {}, t('actions')),
    h('div', { class: 'bar' },
      open && a.status !== 'in_work' || (open && !mineNow && me.employee) ? button('take', t('take'), verb('take', () => (can('supervisor') || !me.employee ? { employee: employee.value } : {}))) : null,
      open && a.status === 'in_work' && !me.employee ? button('take', t('takeFor'), verb('take', () => ({ employee: employee.value })), 'secondary') : null,
      open && !master && a.status !== 'paused' ? button('pause', t('pause'), verb('pause', () => ({ reason: reason.value || undefined })), 'secondary') : null,
      a.status === 'paused' ? button('resume', t('resume'), verb('resume', () => ({})), 'secondary') : null,
      open && a.status !== 'new' ? button('resolve', t('resolve'), verb('resolve', () => ({}))) : null,
      a.status === 'resolved' && !master ? button('reopen', t('reopen'), verb('reopen', () => ({})), 'secondary') : null,
      a.status === 'triage' && can('operator') && !master ? button('reprocess', t('reprocess'), () => act(t('reprocess'), () => api('POST', `/api/appeals/${id}/reprocess`)), 'danger') : null),
    open && !master ? h('div', { class: 'bar' },
      employee, button('handoff-employee', t('handToEmployee'), verb('handoff', () => ({ employee: employee.value, reason: reason.value || undefined })), 'secondary'),
      department, button('handoff-department', t('handToDepartment'), verb('handoff', () => ({ department: department.value, reason: reason.value || undefined })), 'secondary'),
      button('escalate', t('escalate'), verb('handoff', () => ({ escalate: true })), 'secondary')) : null,
    open && !master ? h('div', { class: 'bar' }, reason) : null);
}

/** Reclassify: another topic, region or department, or route again. */
function reclassifyCard(a) {
  const topic = choice('reclassify-topic', entries('topics'), '', t('unchanged'));
  const region = choice('reclassify-region', entries('regions'), '', t('unchanged'));
  const department = choice('reclassify-department', entries('departments'), '', t('unchanged'));
  const why = h('input', { id: 'reclassify-reason', placeholder: t('reason') });
  const save = () => {
    const body = { reason: why.value || undefined };
    for (const [key, el] of [['topic', topic], ['region', region], ['department', department]]) if (el.value) body[key] = el.value;
    act(label('stage', 'reclassified'), () => api('POST', `/api/appeals/${a.id}/reclassify`, body));
  };
  return h('div', { class: 'card', id: 'reclassify' }, h('h2', {}, t('reclassify')),
    h('div', { class: 'bar' }, topic, region, department),
    h('div', { class: 'bar' }, why, h('button', { id: 'reclassify-save', onclick: save }, t('reclassifyDo')),
      h('button', { class: 'secondary', id: 'route-again', onclick: () => act(t('routeAgain'), () => api('POST', `/api/appeals/${a.id}/reclassify`, { route_again: true })) }, t('routeAgain'))));
}

/** The topic's checklist: each item ticked off (or back) by the assignee. */
function checklistCard(a, editable) {
  if (!a.checklist || !a.checklist.length) return null;
  return h('div', { class: 'card', id: 'checklist' }, h('h2', {}, t('checklist')),
    h('ul', { class: 'checklist' }, a.checklist.map((item) => h('li', { 'data-item': item.id },
      h('label', {},
        h('input', { type: 'checkbox', checked: item.done, disabled: !editable,
          onchange: (e) => act(item.text, () => api('POST', `/api/appeals/${a.id}/checklist/${item.id}`, { done: e.target.checked })) }),
        ` ${item.text}`, item.required ? h('span', { class: 'muted' }, ` (${t('required')})`) : null),
      item.by ? h('span', { class: 'muted' }, ` — ${item.by}, ${when(item.at)}`) : null))));
}

async function appeal(id) {
  const turn = ++renders;
  const a = await api('GET', `/api/appeals/${id}`);
  const operator = can('operator');
  const master = me.role === 'master';
  const department = dir.departments.find((d) => d.id === a.work.department);
  const mayReply = operator && (!master || (department && department.masters_may_reply));
  const templates = mayReply ? await api('GET', `/api/appeals/${id}/templates`).catch(() => []) : [];
  if (turn !== renders) return;
  const messages = [
    h('div', { class: 'message' }, h('div', { class: 'muted' }, when(a.received_at), ' · ', a.contact.name || t('client')), a.subject ? h('b', {}, a.subject) : null, h('div', {}, a.text)),
    a.history.filter((e) => e.stage === 'message').map((e) =>
      h('div', { class: 'message' }, h('div', { class: 'muted' }, when(e.at), ' · ', t('followUp')), h('div', {}, e.detail))),
    a.replies.map((r) => replyBubble(id, r)),
  ];
  const notes = a.history.filter((e) => e.stage === 'note');
  const noteText = draft(`${id}:note`, { id: 'note-text', placeholder: t('notePlaceholder') });
  const replyText = draft(`${id}:reply`, { id: 'reply-text', placeholder: t('replyPlaceholder') });
  const template = templates.length ? choice('template', templates.map((x) => [x.id, x.name]), '', t('template')) : null;
  if (template) template.addEventListener('change', () => {
    const chosen = templates.find((x) => x.id === template.value);
    if (chosen) drafts[`${id}:reply`] = replyText.value = chosen.text;
  });
  const d = a.decision || {};
  render(
    h('h1', {}, `${t('appeal')} ${a.id} `, h('span', { class: `status ${a.status}`, id: 'appeal-status', 'data-status': a.status }, label('status', a.status)),
      late(a) ? h('span', { class: 'status overdue' }, t('overdue')) : null),
    a.error ? h('p', { class: 'error' }, a.error) : null,
    h('div', { class: 'grid' },
      h('div', {},
        h('div', { class: 'card', id: 'conversation' }, h('h2', {}, `${t('conversation')} · ${label('channel', a.channel)}`), messages,
          a.attachments.length ? h('div', { class: 'attachments bar' }, a.attachments.map(attachment)) : null),
        mayReply ? h('div', { class: 'card' }, h('h2', {}, t('replyTitle')), template, replyText,
          h('div', { class: 'bar' }, h('button', { id: 'send-reply', onclick: () => act(t('reply'), async () => { await api('POST', `/api/appeals/${id}/replies`, { text: replyText.value }); delete drafts[`${id}:reply`]; }) }, t('send'))))
          : master ? h('p', { class: 'muted' }, t('mastersNoReply')) : null,
        operator ? actionsCard(a) : null,
        checklistCard(a, operator),
        h('div', { class: 'card', id: 'notes' }, h('h2', {}, t('notes')),
          notes.length ? h('ul', {}, notes.map((n) => h('li', {}, h('span', { class: 'muted' }, when(n.at)), ' ', n.detail))) : h('p', { class: 'muted' }, t('none')),
          operator ? [noteText, h('div', { class: 'bar' }, h('button', { id: 'add-note', class: 'secondary', onclick: () => act(t('addNote'), async () => { await api('POST', `/api/appeals/${id}/notes`, { text: noteText.value }); delete drafts[`${id}:note`]; }) }, t('addNote')))] : null),
        h('div', { class: 'card' }, h('h2', {}, t('history')),
          h('table', { id: 'history' }, h('thead', {}, h('tr', {}, [t('when'), t('stage'), t('plugin'), t('detail')].map((x) => h('th', {}, x)))),
            h('tbody', {}, a.history.map((e) => h('tr', { 'data-stage': e.stage }, h('td', {}, when(e.at)), h('td', {}, label('stage', e.stage)), h('td', {}, e.plugin || '—'), h('td', {}, e.detail))))))),
      h('div', {},
        h('div', { class: 'card', id: 'contact' }, h('h2', {}, t('contact')),
          h('div', {}, a.contact.name || '—'), h('div', {}, a.contact.phone || ''), h('div', {}, a.contact.email || ''),
          h('div', { class: 'muted' }, a.contact.platform_user_id ? `${label('channel', a.channel)} id ${a.contact.platform_user_id}` : ''),
          h('h2', {}, t('earlier')),
          (a.contact_appeals || []).length
            ? h('ul', {}, a.contact_appeals.map((o) => h('li', {}, h('a', { href: `#/appeal/${o.id}` }, `${when(o.received_at)} · ${label('channel', o.channel)} · ${label('status', o.status)}`), h('div', { class: 'muted' }, o.text))))
            : h('p', { class: 'muted' }, t('none'))),
        h('div', { class: 'card', id: 'routing' }, h('h2', {}, t('routing')),
          h('table', {}, h('tbody', {}, [
            [t('queue'), a.work.queue || d.queue], [t('region'), `${nameOf('regions', a.work.region || d.region)} (${a.work.region || d.region || '—'})`],
            [t('department'), `${nameOf('departments', a.work.department)} (${a.work.department || '—'})`],
            [t('topic'), `${nameOf('topics', d.topic)} (${d.topic || '—'})`], [t('priority'), label('priority', d.priority)],
            [t('assignee'), nameOf('employees', a.work.assignee)], [t('reactionDue'), when(a.work.reaction_due)],
            [t('resolutionDue'), when(a.work.resolution_due)], [t('reasonOfRoute'), d.reason], [t('tags'), list(a.tags)],
            [t('crm'), a.crm ? `${a.crm.entity} ${a.crm.id}` : '—'],
          ].map(([k, v]) => h('tr', {}, h('th', {}, k), h('td', {}, v ?? '—')))))),
        operator && !master && !['resolved', 'dropped'].includes(a.status) ? reclassifyCard(a) : null)));
  editing = false;
  onChange = (changed) => {
    if (changed !== null && changed !== id) return;
    // Never under the person's hands: while they fill a form, the update waits for a click.
    if (!editing) return appeal(id).catch(() => {});
    if (document.getElementById('appeal-changed')) return;
    main().prepend(h('button', { id: 'appeal-changed', class: 'secondary', onclick: () => appeal(id).catch(() => {}) }, t('changedShow')));
  };
}

// --- a call card: an appeal typed in by hand ---------------------------------------------------

function newAppealPage() {
  const channel = choice('new-channel', ['phone', 'visit', 'book'].map((c) => [c, label('channel', c)]), 'phone');
  const name = h('input', { id: 'new-name', placeholder: t('name') });
  const phone = h('input', { id: 'new-phone', placeholder: t('phone'), inputmode: 'tel' });
  const email = h('input', { id: 'new-email', placeholder: t('email'), type: 'email' });
  const text = h('textarea', { id: 'new-text', placeholder: t('customerSaid') });
  const topic = choice('new-topic', entries('topics'), '', t('autoTopic'));
  const region = choice('new-region', entries('regions'), '', t('autoRegion'));
  const create = async () => {
    const body = { channel: channel.value, text: text.value, contact: {} };
    for (const [key, el] of [['name', name], ['phone', phone], ['email', email]]) if (el.value.trim()) body.contact[key] = el.value.trim();
    if (topic.value) body.topic = topic.value;
    if (region.value) body.region = region.value;
    try {
      const created = await api('POST', '/api/appeals', body);
      toast(label('stage', 'created'));
      location.hash = `#/appeal/${created.id}`;
    } catch (e) {
      toast(t('failed', t('create'), e.message), true);
    }
  };
  render(h('div', { class: 'card', id: 'call-card' }, h('h1', {}, t('callCard')),
    h('div', { class: 'bar' }, h('label', {}, `${t('callChannel')}: `), channel),
    h('div', { class: 'bar' }, name, phone, email),
    text,
    h('div', { class: 'bar' }, topic, region),
    h('button', { id: 'create-appeal', onclick: create }, t('create'))));
}

// --- routing directory -------------------------------------------------------------------------

const SECTIONS = {
  regions: ['id', 'name', 'cities', 'stores', 'time_zone'],
  departments: ['id', 'name', 'queue', 'fallback_queue', 'escalate_to', 'escalate_after_minutes', 'manager', 'notify', 'notify_regions', 'external', 'masters_may_reply'],
  employees: ['id', 'name', 'department', 'regions', 'active', 'crm_user_id', 'max_open', 'working_hours', 'days_off'],
  topics: ['id', 'name', 'keywords', 'department', 'reaction_minutes', 'resolution_minutes', 'business_hours', 'checklist'],
};
const ARRAYS = new Set(['cities', 'stores', 'regions', 'keywords', 'days_off']);
const NUMBERS = new Set(['escalate_after_minutes', 'max_open', 'reaction_minutes', 'resolution_minutes']);
const BOOLEANS = new Set(['active', 'business_hours', 'external', 'masters_may_reply']);

/** A cell's text for a value: lists comma-separated, objects (notice targets, hours, checklists) as JSON. */
function cellText(key, value) {
  if (value === undefined || value === null) return '';
  if (ARRAYS.has(key)) return list(value);
  if (typeof value === 'object') return JSON.stringify(value);
  return String(value);
}

/** A value back from a cell's text; throws on bad input. */
function cellValue(key, text) {
  const trimmed = text.trim();
  if (ARRAYS.has(key)) return trimmed ? trimmed.split(',').map((s) => s.trim()).filter(Boolean) : [];
  if (trimmed === '') return undefined;
  if (NUMBERS.has(key)) {
    const n = Number(trimmed);
    if (!Number.isInteger(n) || n < 0) throw new Error(t('wholeNumber', key, trimmed));
    return n;
  }
  if (trimmed.startsWith('{') || trimmed.startsWith('[')) {
    try { return JSON.parse(trimmed); } catch (_) { throw new Error(t('notJson', key)); }
  }
  return trimmed;
}

function parseCsv(text) {
  const rows = [[]];
  let field = '';
  let quoted = false;
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    if (quoted) {
      if (c === '"' && text[i + 1] === '"') { field += '"'; i++; } else if (c === '"') quoted = false; else field += c;
    } else if (c === '"') quoted = true;
    else if (c === ',') { rows[rows.length - 1].push(field); field = ''; }
    else if (c === '\n') { rows[rows.length - 1].push(field.replace(/\r$/, '')); field = ''; rows.push([]); }
    else field += c;
  }
  if (field || rows[rows.length - 1].length) rows[rows.length - 1].push(field);
  return rows.filter((r) => r.length > 1 || (r[0] ?? '') !== '');
}

// A cell a spreadsheet would run as a formula gets a leading ' (OWASP CSV injection); an
// import takes it off again.
const FORMULA = /^[=+\-@\t\r]/;
const spreadsheetSafe = (s) => (FORMULA.test(s) ? `'${s}` : s);
const fromSpreadsheet = (s) => (s.startsWith("'") && FORMULA.test(s.slice(1)) ? s.slice(1) : s);
const csvField = (s) => {
  const safe = spreadsheetSafe(s);
  return /[",\n\r\t]/.test(safe) ? `"${safe.replace(/"/g, '""')}"` : safe;
};

/** The directory's company-wide settings: business hours, holidays, offset, pause limit. */
function settingsCard(directory, editable) {
  const field = (key, value) => h('tr', {}, h('th', {}, label('field', key)),
    h('td', {}, h('input', { 'data-setting': key, value: cellText(key, value), disabled: !editable })));
  return h('div', { class: 'card', id: 'section-settings' }, h('h2', {}, t('settings')),
    h('table', {}, h('tbody', {},
      field('business_hours', directory.business_hours), field('holidays', list(directory.holidays)),
      field('utc_offset_minutes', directory.utc_offset_minutes), field('pause_limit_minutes', directory.pause_limit_minutes))));
}

async function directoryPage() {
  const [directory, history] = await Promise.all([api('GET', '/api/directory'), api('GET', '/api/directory/history')]);
  const editable = can('admin');
  const tables = {};
  const section = (name) => {
    const keys = [...SECTIONS[name]];
    for (const row of directory[name]) for (const k of Object.keys(row)) if (!keys.includes(k)) keys.push(k);
    const body = h('tbody');
    const addRow = (row) => {
      const cells = keys.map((k) => BOOLEANS.has(k)
        ? h('td', {}, h('input', { type: 'checkbox', 'data-key': k, checked: row[k] ?? (k === 'active'), disabled: !editable }))
        : h('td', {}, h('input', { 'data-key': k, value: cellText(k, row[k]), disabled: !editable })));
      body.append(h('tr', {}, cells, editable ? h('td', {}, h('button', { class: 'danger', title: '×', onclick: (e) => e.target.closest('tr').remove() }, '×')) : null));
    };
    directory[name].forEach(addRow);
    tables[name] = { keys, body, addRow };
    const exportCsv = () => {
      const rows = read(name);
      download(`${name}.csv`, [keys.join(','), ...rows.map((r) => keys.map((k) => csvField(cellText(k, r[k]))).join(','))].join('\n') + '\n', 'text/csv');
    };
    const importCsv = () => pickFile('.csv,text/csv', async (file) => {
      const [header, ...rows] = parseCsv(await file.text());
      body.replaceChildren();
      for (const k of header) if (!keys.includes(k)) keys.push(k);
      rows.forEach((r) => addRow(Object.fromEntries(header.map((k, i) => [k, BOOLEANS.has(k) ? r[i] === 'true' : cellValue(k, fromSpreadsheet(r[i] ?? ''))]))));
      toast(t('readFrom', rows.length, file.name));
    });
    return h('div', { class: 'card', id: `section-${name}` },
      h('h2', {}, label('section', name)),
      h('table', {}, h('thead', {}, h('tr', {}, keys.map((k) => h('th', { title: k }, label('field', k))), editable ? h('th', {}) : null)), body),
      h('div', { class: 'bar' },
        editable ? h('button', { class: 'secondary', id: `add-${name}`, onclick: () => addRow({}) }, `${t('add')}: ${label('section', name).toLowerCase()}`) : null,
        h('button', { class: 'secondary', 'data-action': 'export-csv', onclick: exportCsv }, t('exportCsv')),
        editable ? h('button', { class: 'secondary', 'data-action': 'import-csv', onclick: importCsv }, t('importCsv')) : null));
  };
  const read = (name) => [...tables[name].body.rows].map((tr) => {
    const row = {};
    for (const input of tr.querySelectorAll('input[data-key]')) {
      const key = input.dataset.key;
      const value = input.type === 'checkbox' ? input.checked : cellValue(key, input.value);
      if (value !== undefined && !(BOOLEANS.has(key) && key !== 'active' && value === false)) row[key] = value;
    }
    return row;
  });
  const collect = () => {
    const next = { ...directory };
    for (const name of Object.keys(SECTIONS)) next[name] = read(name);
    for (const input of document.querySelectorAll('input[data-setting]')) {
      const key = input.dataset.setting;
      const value = key === 'holidays' ? input.value.split(',').map((s) => s.trim()).filter(Boolean) : cellValue(key, input.value);
      if (value === undefined) delete next[key];
      else next[key] = key.endsWith('minutes') ? Number(value) : value;
    }
    const problems = [];
    for (const name of Object.keys(SECTIONS)) {
      const ids = next[name].map((r) => r.id);
      ids.forEach((id, i) => {
        if (!id) problems.push(t('noId', label('section', name), i + 1));
        else if (ids.indexOf(id) !== i) problems.push(t('twice', label('section', name), id));
      });
    }
    const departments = new Set(next.departments.map((x) => x.id));
    for (const e of next.employees) if (e.department && !departments.has(e.department)) problems.push(t('noDepartment', 'employee', e.id, e.department));
    for (const x of next.topics) if (x.department && !departments.has(x.department)) problems.push(t('noDepartment', 'topic', x.id, x.department));
    if (problems.length) throw new Error(problems.join('\n'));
    return next;
  };
  const save = (next) => act(t('directorySaved'), () => api('PUT', '/api/directory', next));
  render(
    h('h1', {}, t('directoryTitle')),
    h('div', { class: 'bar' },
      editable ? h('button', { id: 'save-directory', onclick: () => { try { save(collect()); } catch (e) { toast(e.message, true); } } }, t('save')) : h('span', { class: 'muted' }, t('readOnly')),
      h('button', { class: 'secondary', onclick: () => download('directory.json', JSON.stringify(directory, null, 2), 'application/json') }, t('exportJson')),
      editable ? h('button', { class: 'secondary', onclick: () => pickFile('.json,application/json', async (f) => save(JSON.parse(await f.text()))) }, t('importJson')) : null),
    Object.keys(SECTIONS).map(section),
    settingsCard(directory, editable),
    h('div', { class: 'card' }, h('h2', {}, t('changes')),
      h('table', { id: 'directory-history' }, h('thead', {}, h('tr', {}, [t('when'), t('who'), t('what')].map((x) => h('th', {}, x)))),
        h('tbody', {}, history.map((c) => h('tr', {}, h('td', {}, when(c.at)), h('td', {}, c.by), h('td', {}, c.changes.join('; ') || t('noChange'))))))));
}

// --- plugins -----------------------------------------------------------------------------------

/** A warning while channels accept unverified deliveries or refuse them for a missing secret. */
function channelWarning(health) {
  const open = health.unverified_channels || [];
  const unset = health.unconfigured_channels || [];
  if (!open.length && !unset.length || !can('admin')) return null;
  return h('p', { class: 'error', id: 'channel-warning' },
    open.length ? `Без проверки подписи / open without verification: ${open.join(', ')}. ` : '',
    unset.length ? `Не настроены / not configured: ${unset.join(', ')}.` : '');
}

/** Each channel's webhook address, state, generated secrets and what to paste on the platform. */
async function channelsCard() {
  const channels = await api('GET', `/api/channels?lang=${LANG}`);
  const state = (c) => ({ verified: 'проверка включена / verified', unverified: 'БЕЗ ПРОВЕРКИ / unverified' })[c.verification.state]
    || `не настроен / not configured: ${list(c.verification.missing) || 'no secret declared'}`;
  const toggle = (c) => {
    const opening = c.verification.state !== 'unverified';
    const text = opening ? 'Открыть без проверки / open without verification' : 'Требовать проверку / require verification';
    const run = () => {
      if (opening && !confirm(`/hooks/${c.channel}: ?`)) return;
      act(`${c.channel}: ${text}`, () => api('PUT', `/api/channels/${c.channel}/verification`, { required: !opening }));
    };
    return h('button', { class: opening ? 'danger' : '', onclick: run }, text);
  };
  return h('section', { class: 'card', id: 'channels' },
    h('h2', {}, t('channels')),
    h('table', {},
      h('thead', {}, h('tr', {}, [t('channel'), t('status'), 'Webhook', '', ''].map((x) => h('th', {}, x)))),
      h('tbody', {}, channels.map((c) => h('tr', { 'data-channel': c.channel },
        h('td', {}, label('channel', c.channel)), h('td', {}, state(c)),
        h('td', {}, h('code', {}, c.url), Object.entries(c.secrets).map(([k, v]) => h('div', {}, `${k}: `, h('code', {}, v)))),
        h('td', { class: 'muted' }, c.setup || ''),
        h('td', {}, toggle(c)))))));
}

async function pluginsPage() {
  const plugins = await api('GET', '/api/plugins');
  const channels = can('admin') ? await channelsCard() : null;
  const upload = () => pickFile('.wasm,application/wasm', (file) =>
    act(`${file.name}`, async () => {
      const record = await api('POST', '/api/plugins', await file.arrayBuffer(), 'application/wasm');
      toast(`${record.name}@${record.version}`);
    }));
  render(
    h('h1', {}, t('pluginsTitle')),
    can('admin') ? h('div', { class: 'bar' }, h('button', { id: 'upload', onclick: upload }, t('upload'))) : null,
    h('table', { id: 'plugins' },
      h('thead', {}, h('tr', {}, [t('plugin'), t('kind'), t('active'), t('earlierVersions'), t('calls'), t('errors'), t('shadow')].map((x) => h('th', {}, x)))),
      h('tbody', {}, plugins.map((p) => {
        const counts = p.calls[p.active] || { calls: 0, errors: 0 };
        return h('tr', { class: 'clickable', 'data-plugin': p.name, onclick: () => (location.hash = `#/plugin/${p.name}`) },
          h('td', {}, p.name), h('td', {}, p.versions[0]?.kind), h('td', {}, p.active || '—'), h('td', {}, list(p.previous) || '—'),
          h('td', {}, counts.calls), h('td', {}, counts.errors), h('td', {}, p.shadow || '—'));
      }))),
    channels);
}

/** A form for `config` against a JSON Schema's top-level properties. */
function configForm(schema, config, name) {
  const properties = schema.properties || {};
  const required = new Set(schema.required || []);
  const inputs = {};
  const rows = Object.entries(properties).map(([key, prop]) => {
    const value = config[key];
    let input;
    if (prop.type === 'boolean') input = h('input', { type: 'checkbox', checked: value === true });
    else if (prop.type === 'integer' || prop.type === 'number') input = h('input', { type: 'number', value: value ?? '' });
    else if (prop.type === 'string') input = h('input', { type: /secret|token|key|password/.test(key) ? 'password' : 'text', value: value ?? '', autocomplete: 'off' });
    else if (prop.type === 'array' && prop.items?.type === 'string') input = h('input', { value: list(value) });
    else input = h('textarea', { value: value === undefined ? '' : JSON.stringify(value, null, 2) });
    input.dataset.config = key;
    inputs[key] = input;
    return h('tr', {}, h('th', {}, key, required.has(key) ? ' *' : ''), h('td', {}, input, h('div', { class: 'muted' }, prop.description || '')));
  });
  const read = () => {
    const out = {};
    const problems = [];
    for (const [key, prop] of Object.entries(properties)) {
      const input = inputs[key];
      let value;
      if (prop.type === 'boolean') value = input.checked || undefined;
      else if (input.value.trim() === '') value = undefined;
      else if (prop.type === 'integer' || prop.type === 'number') value = Number(input.value);
      else if (prop.type === 'string') value = input.value;
      else if (prop.type === 'array' && prop.items?.type === 'string') value = input.value.split(',').map((s) => s.trim()).filter(Boolean);
      else {
        try { value = JSON.parse(input.value); } catch (_) { problems.push(t('notJson', key)); }
      }
      if (value === undefined) { if (required.has(key)) problems.push(`${key}: *`); continue; }
      if (prop.type === 'integer' && !Number.isInteger(value)) problems.push(t('wholeNumber', key, value));
      if (prop.minimum !== undefined && value < prop.minimum) problems.push(`${key} ≥ ${prop.minimum}`);
      if (prop.minLength !== undefined && typeof value === 'string' && value.length < prop.minLength) problems.push(`${key}: *`);
      out[key] = value;
    }
    if (problems.length) throw new Error(problems.join('\n'));
    return out;
  };
  const saved = LANG === 'ru' ? 'настройки сохранены' : 'configuration saved';
  const save = () => { try { const next = read(); act(saved, () => api('PUT', `/api/plugins/${name}/config`, next)); } catch (e) { toast(e.message, true); } };
  return h('div', { class: 'card', id: 'config' }, h('h2', {}, LANG === 'ru' ? 'Настройки' : 'Configuration'),
    rows.length ? h('table', {}, h('tbody', {}, rows)) : h('p', { class: 'muted' }, '—'),
    rows.length ? h('div', { class: 'bar' }, h('button', { id: 'save-config', onclick: save }, t('save'))) : null);
}

function comparisons(items) {
  return h('table', {}, h('thead', {}, h('tr', {}, [t('appeal'), t('active'), t('shadow')].map((x) => h('th', {}, x)))),
    h('tbody', {}, items.map((c) => h('tr', {}, h('td', {}, h('a', { href: `#/appeal/${c.appeal}` }, c.appeal)), h('td', {}, c.active), h('td', {}, c.shadow)))));
}

async function plugin(name) {
  const p = await api('GET', `/api/plugins/${name}`);
  const admin = can('admin');
  const kind = p.versions[0]?.kind;
  const others = p.versions.filter((v) => v.version !== p.active);
  const shadow = p.shadow ? await api('GET', `/api/plugins/${name}/shadow`) : null;
  const replayResult = h('div', { id: 'replay-result' });
  const replayVersion = h('select', { id: 'replay-version' }, others.map((v) => h('option', { value: v.version }, v.version)));
  const replayLimit = h('input', { type: 'number', value: '200', min: '1', max: '1000' });
  const replay = async () => {
    try {
      const page = await api('POST', `/api/plugins/${name}/replay`, { version: replayVersion.value, limit: Number(replayLimit.value) });
      replayResult.replaceChildren(h('p', {}, `compared ${page.compared}, differed ${page.differed}, skipped ${page.skipped}`), comparisons(page.differences));
    } catch (e) { toast(t('failed', 'replay', e.message), true); }
  };
  const ru = LANG === 'ru';
  render(
    h('h1', {}, `${name} `, h('span', { class: 'status', id: 'active-version' }, p.active ? `active ${p.active}` : 'inactive')),
    h('p', { class: 'muted' }, p.versions[0]?.description),
    admin ? h('div', { class: 'bar' },
      p.previous.length ? h('button', { class: 'danger', id: 'rollback', onclick: () => act(ru ? 'откат выполнен' : 'rolled back', () => api('POST', `/api/plugins/${name}/rollback`)) }, `${ru ? 'Откатить на' : 'Roll back to'} ${p.previous[p.previous.length - 1]}`) : null,
      p.active && kind !== 'router' ? h('button', { class: 'secondary', onclick: () => act(ru ? 'выключен' : 'deactivated', () => api('POST', `/api/plugins/${name}/deactivate`)) }, ru ? 'Выключить' : 'Deactivate') : null) : null,
    h('div', { class: 'card' }, h('h2', {}, ru ? 'Версии' : 'Versions'),
      h('table', { id: 'versions' }, h('thead', {}, h('tr', {}, ['Version', 'Uploaded', 'WIT', 'Size', 'sha256', t('calls'), t('errors'), ''].map((x) => h('th', {}, x)))),
        h('tbody', {}, p.versions.map((v) => {
          const counts = p.calls[v.version] || { calls: 0, errors: 0 };
          return h('tr', { 'data-version': v.version },
            h('td', {}, v.version, v.version === p.active ? ' ✓' : ''), h('td', {}, when(v.uploaded_at)), h('td', {}, v.wit_version),
            h('td', {}, `${Math.round(v.size / 1024)} KiB`), h('td', {}, v.sha256.slice(0, 12)), h('td', {}, counts.calls), h('td', { class: counts.errors ? 'error' : '' }, counts.errors),
            h('td', {}, admin && v.version !== p.active ? [
              h('button', { class: 'activate', onclick: () => act(`${name}@${v.version}`, () => api('POST', `/api/plugins/${name}/activate`, { version: v.version })) }, ru ? 'Включить' : 'Activate'), ' ',
              kind !== 'channel' ? h('button', { class: 'secondary', onclick: () => act(t('shadow'), () => api('POST', `/api/plugins/${name}/shadow`, { version: v.version })) }, t('shadow')) : null,
            ] : null));
        })))),
    admin ? configForm(p.versions.find((v) => v.version === p.active)?.config_schema || {}, p.config || {}, name) : null,
    kind !== 'channel' ? h('div', { class: 'card', id: 'shadow' }, h('h2', {}, t('shadow')),
      shadow ? [h('p', {}, `${shadow.version}: compared ${shadow.compared}, differed ${shadow.differed}`), comparisons(shadow.examples || []),
        admin ? h('button', { class: 'secondary', onclick: () => act(t('shadow'), () => api('DELETE', `/api/plugins/${name}/shadow`)) }, '■') : null]
        : h('p', { class: 'muted' }, '—')) : null,
    kind !== 'channel' && others.length ? h('div', { class: 'card' }, h('h2', {}, 'Replay'),
      h('div', { class: 'bar' }, replayVersion, replayLimit, h('button', { id: 'replay', onclick: replay }, 'Replay')), replayResult) : null,
    h('div', { class: 'card' }, h('h2', {}, 'Log'), h('ul', { id: 'plugin-log' }, p.log.slice().reverse().map(([at, text]) => h('li', {}, `${when(at)} — ${text}`)))));
}

// --- SLA dashboard and reports ----------------------------------------------------------------

/** A horizontal bar chart (SVG) of `series` per row; a value nothing measured has no bar. */
function bars(title, rows, key, series, names) {
  const width = 720;
  const rowHeight = 16 * series.length + 10;
  const max = Math.max(1, ...rows.flatMap((r) => series.map((s) => r[s.field] || 0)));
  const svg = document.createElementNS('http://www.w3.org/2000/svg', 'svg');
  svg.setAttribute('width', width);
  svg.setAttribute('height', rows.length * rowHeight + 24);
  svg.setAttribute('role', 'img');
  svg.setAttribute('aria-label', title);
  const add = (tag, attrs, text) => {
    const el = document.createElementNS('http://www.w3.org/2000/svg', tag);
    for (const [k, v] of Object.entries(attrs)) el.setAttribute(k, v);
    if (text !== undefined) el.textContent = text;
    svg.append(el);
  };
  rows.forEach((row, i) => {
    const y = i * rowHeight;
    add('text', { x: 0, y: y + 14 }, names ? names(row[key]) : row[key] ?? '—');
    series.forEach((s, j) => {
      const value = row[s.field];
      if (value === null || value === undefined) {
        add('text', { x: 130, y: y + 14 + j * 16, class: 'unmeasured' }, `${s.label}: ${t('notMeasured')}`);
        return;
      }
      const w = (value / max) * (width - 200);
      add('rect', { x: 130, y: y + 4 + j * 16, width: Math.max(w, 1), height: 12, style: `fill: ${s.color}` });
      add('text', { x: 135 + w, y: y + 14 + j * 16 }, `${s.label} ${Math.round(value * 10) / 10}`);
    });
  });
  // The legend's squares carry their colour in a style (a stylesheet's fill would win over an attribute).
  series.forEach((s, j) => add('text', { x: 130 + j * 150, y: rows.length * rowHeight + 18, style: `fill: ${s.color}`, class: 'legend' }, `■ ${s.label}`));
  return h('div', { class: 'card chart' }, h('h2', {}, title), rows.length ? svg : h('p', { class: 'muted' }, t('noData')));
}

/** A report as a table with its CSV download. */
function reportTable(id, title, rows, columns, path) {
  return h('div', { class: 'card', id }, h('h2', {}, title),
    rows.length ? h('table', {}, h('thead', {}, h('tr', {}, columns.map(([, text]) => h('th', {}, text)))),
      h('tbody', {}, rows.map((r) => h('tr', {}, columns.map(([key, , show]) => h('td', {}, show ? show(r[key]) : r[key] ?? '—'))))))
      : h('p', { class: 'muted' }, t('noData')),
    h('a', { href: `${path}${path.includes('?') ? '&' : '?'}format=csv`, class: 'button secondary', download: `${id}.csv` }, t('downloadCsv')));
}

async function sla() {
  const draw = async () => {
    const [byStatus, byChannel, topics, departments, answers, overdue] = await Promise.all([
      api('GET', '/api/reports/appeals?by=status'), api('GET', '/api/reports/appeals?by=channel'),
      api('GET', '/api/reports/times?by=topic'), api('GET', '/api/reports/times?by=department'),
      api('GET', '/api/reports/answers?by=assignee'), api('GET', '/api/appeals?overdue=yes&limit=100'),
    ]);
    const lateNow = overdue.items.filter((a) => a.status !== 'resolved');
    const times = [
      { field: 'reaction_avg_min', label: t('reactionAvg'), color: '#2563eb' },
      { field: 'reaction_p90_min', label: t('reactionP90'), color: '#93b4f5' },
      { field: 'resolution_avg_min', label: t('resolutionAvg'), color: '#1e8e3e' },
      { field: 'resolution_p90_min', label: t('resolutionP90'), color: '#8fd19e' },
    ];
    const share = (v) => (v === null || v === undefined ? '—' : `${Math.round(v * 1000) / 10} %`);
    render(
      h('h1', {}, t('slaTitle')),
      h('div', { class: 'tiles', id: 'tiles' },
        byStatus.map((r) => h('div', { class: 'tile' }, h('b', {}, r.appeals), label('status', r.status))),
        h('div', { class: 'tile' }, h('b', { class: lateNow.length ? 'error' : '' }, lateNow.length), t('overdueNow'))),
      h('div', { class: 'card' }, h('h2', {}, t('overdueList')),
        lateNow.length ? h('table', { id: 'overdue' }, h('thead', {}, h('tr', {}, [t('appeal'), t('department'), t('assignee'), t('reactionDue'), t('resolutionDue')].map((x) => h('th', {}, x)))),
          h('tbody', {}, lateNow.map((a) => h('tr', {}, h('td', {}, h('a', { href: `#/appeal/${a.id}` }, a.id)), h('td', {}, nameOf('departments', a.work.department)), h('td', {}, nameOf('employees', a.work.assignee)),
            h('td', {}, when(a.work.reaction_due)), h('td', {}, when(a.work.resolution_due))))))
          : h('p', { class: 'muted' }, t('nothingOverdue'))),
      bars(t('byChannel'), byChannel, 'channel', [{ field: 'appeals', label: t('appeals'), color: '#2563eb' }], (c) => label('channel', c)),
      bars(t('byTopic'), topics, 'topic', times, (x) => nameOf('topics', x)),
      bars(t('byDepartment'), departments, 'department', times, (x) => nameOf('departments', x)),
      reportTable('report-employees', t('byEmployee'), answers, [
        ['assignee', t('employee'), (x) => nameOf('employees', x === '-' ? null : x)], ['appeals', t('appeals')], ['answered', t('answered')],
        ['never_answered_share', t('neverAnswered'), share], ['first_reply_avg_min', t('firstReply')], ['handling_avg_min', t('handling')],
      ], '/api/reports/answers?by=assignee'));
  };
  await draw();
  timer = setInterval(() => draw().catch(() => {}), 5000);
}

// --- routing -------------------------------------------------------------------------------------

const PAGES = { inbox, appeal, new: newAppealPage, directory: directoryPage, plugins: pluginsPage, plugin, sla, team };

async function route() {
  clearInterval(timer);
  onChange = null;
  document.onkeydown = null;
  if (!me) {
    try {
      me = await session('GET');
    } catch (_) {
      return loginPage();
    }
  }
  document.getElementById('nav').hidden = false;
  document.getElementById('logout').hidden = false;
  document.querySelector('#nav a[data-page="team"]').hidden = !can('supervisor');
  for (const link of document.querySelectorAll('#nav a')) link.textContent = t(link.dataset.page === 'directory' ? 'directory' : link.dataset.page);
  document.getElementById('logout').textContent = t('signOut');
  const scope = me.scope && !me.scope.everything
    ? ` · ${[list(me.scope.departments), list(me.scope.regions)].filter(Boolean).join(' / ')}`
    : '';
  document.getElementById('who').textContent = `${me.name} · ${label('role', me.role)}${scope}`;
  dir = await api('GET', '/api/directory').catch(() => dir);
  await presenceSwitch();
  follow();
  const [page, arg] = location.hash.replace(/^#\/?/, '').split('/');
  for (const link of document.querySelectorAll('#nav a')) link.classList.toggle('current', link.dataset.page === (page === 'appeal' || page === 'new' ? 'inbox' : page === 'plugin' ? 'plugins' : page || 'inbox'));
  try {
    await (PAGES[page] || inbox)(arg ? decodeURIComponent(arg) : undefined);
  } catch (e) {
    render(h('p', { class: 'error' }, e.message));
  }
}

document.documentElement.lang = LANG;
document.getElementById('lang').value = LANG;
document.getElementById('lang').addEventListener('change', (event) => {
  localStorage.setItem('lang', event.target.value);
  location.reload();
});
document.getElementById('logout').addEventListener('click', logout);
document.getElementById('presence').addEventListener('change', (event) =>
  act(label('presence', event.target.value), () => api('PUT', '/api/presence', { state: event.target.value })));
window.addEventListener('hashchange', route);
route();
