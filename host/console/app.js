// ClientHub console: a client of the HTTP API. An employee signs in with a login and password
// (or an API token) for a session cookie the page cannot read (HttpOnly); state-changing calls
// carry the session's CSRF token. Signing in marks the person available, signing out off.
// The API enforces roles; the console hides what the role may not do. No build step, no
// dependencies.
'use strict';

/** How much each role may do (the server's `Role::rank`). */
const RANKS = { viewer: 0, master: 1, operator: 1, supervisor: 2, admin: 3 };
const PRESENCE = { available: 'Доступен', away: 'Отошёл', off: 'Не на работе' };
const STATUSES = ['new', 'routed', 'in_work', 'paused', 'triage', 'dropped', 'resolved'];
let me = null;
let timer = null;
/** The session's CSRF token, sent with every call that changes something. */
let csrf = null;

const main = () => document.getElementById('main');
/** Replaces the page's content (nested arrays flattened, null and false skipped). */
const render = (...children) =>
  main().replaceChildren(...children.flat(Infinity).filter((c) => c !== null && c !== undefined && c !== false));
const can = (role) => me !== null && RANKS[me.role] >= RANKS[role];
const when = (ms) => (ms ? new Date(ms).toLocaleString() : '—');
const list = (v) => (Array.isArray(v) ? v.join(', ') : v ?? '');

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
    throw new Error('the session ended: log in again');
  }
  if (!response.ok) throw new Error((data && data.error) || text || response.statusText);
  return data;
}

/** Runs an action, reports its outcome, then re-renders the page. */
async function act(what, action) {
  try {
    await action();
    toast(what);
    await route();
  } catch (e) {
    toast(`${what} failed: ${e.message}`, true);
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

async function logout() {
  if (me && me.employee) await api('PUT', '/api/presence', { state: 'off' }).catch(() => {});
  await fetch('/api/session', { method: 'DELETE' });
  me = null;
  csrf = null;
  route();
}

/** The session of this page's cookie, if any: who it is and its CSRF token. */
async function session(method, body) {
  const init = body ? { method, headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) } : { method };
  const response = await fetch('/api/session', init);
  const data = await response.json().catch(() => ({}));
  if (!response.ok) throw Object.assign(new Error(data.error || response.statusText), data);
  csrf = data.csrf;
  return { name: data.name, role: data.role, employee: data.employee, scope: data.scope };
}

// --- login -----------------------------------------------------------------------------------

function loginPage(message, needCode = false) {
  document.getElementById('nav').hidden = true;
  document.getElementById('logout').hidden = true;
  document.getElementById('presence').hidden = true;
  document.getElementById('who').textContent = '';
  const invite = location.hash.match(/^#invite=(chi_[0-9a-f]+)$/);
  if (invite) return invitationPage(invite[1]);
  const login = h('input', { id: 'login-name', placeholder: 'Логин', autocomplete: 'username' });
  const password = h('input', { id: 'password', type: 'password', placeholder: 'Пароль', autocomplete: 'current-password' });
  const code = needCode ? h('input', { id: 'code', inputmode: 'numeric', placeholder: 'Код из приложения', autocomplete: 'one-time-code' }) : null;
  const token = h('input', { id: 'token', type: 'password', placeholder: 'Токен API', autocomplete: 'off' });
  const signIn = async (body, clockIn) => {
    try {
      me = await session('POST', body);
    } catch (e) {
      if (e.second_factor) return loginPage(e.message, true);
      return loginPage(e.message);
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
      h('h1', {}, 'Вход'),
      login, password, code,
      message ? h('p', { class: 'error', id: 'login-error' }, message) : null,
      h('button', { type: 'submit', id: 'sign-in' }, 'Войти')),
    h('form', { class: 'card login', onsubmit: withToken },
      h('p', { class: 'muted' }, 'Или токен API: токен администратора или выданный `clienthub token create`.'),
      token,
      h('button', { type: 'submit', id: 'login' }, 'Войти по токену')));
  login.focus();
}

/** The page an invitation link opens: the employee sets a password. */
function invitationPage(key, message) {
  const password = h('input', { id: 'new-password', type: 'password', placeholder: 'Новый пароль, от 12 символов', autocomplete: 'new-password' });
  const submit = async (event) => {
    event.preventDefault();
    const response = await fetch('/api/invitations/accept', {
      method: 'POST', headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ token: key, password: password.value }),
    });
    const data = await response.json().catch(() => ({}));
    if (!response.ok) return invitationPage(key, data.error || response.statusText);
    history.replaceState(null, '', '#/inbox');
    loginPage(`Пароль задан. Войдите как ${data.employee}.`);
  };
  render(
    h('form', { class: 'card login', onsubmit: submit },
      h('h1', {}, 'Приглашение в ClientHub'),
      h('p', { class: 'muted' }, 'Придумайте пароль: не короче 12 символов, подойдёт фраза из нескольких слов.'),
      password,
      message ? h('p', { class: 'error', id: 'invite-error' }, message) : null,
      h('button', { type: 'submit', id: 'accept' }, 'Задать пароль')));
  password.focus();
}

// --- team ------------------------------------------------------------------------------------

/** The supervisor's view: who is available, away or off, and how many open appeals each holds. */
async function team() {
  const rows = await api('GET', '/api/presence');
  render(
    h('section', { class: 'card', id: 'team' },
      h('h1', {}, 'Команда'),
      h('table', {},
        h('thead', {}, h('tr', {}, ['Сотрудник', 'Отдел', 'Статус', 'С', 'Открытых обращений'].map((c) => h('th', {}, c)))),
        h('tbody', {}, rows.map((r) => h('tr', { 'data-employee': r.id },
          h('td', {}, r.name || r.id),
          h('td', {}, r.department),
          h('td', { class: `presence ${r.state}` }, PRESENCE[r.state] || r.state),
          h('td', {}, when(r.since)),
          h('td', { class: 'load' }, r.max_open ? `${r.open_appeals} / ${r.max_open}` : String(r.open_appeals))))))));
  timer = setInterval(() => location.hash.startsWith('#/team') && team().catch(() => {}), 5000);
}

/** The header's presence switch, for a signed-in employee. */
async function presenceSwitch() {
  const select = document.getElementById('presence');
  select.hidden = !(me && me.employee);
  if (select.hidden) return;
  const mine = (await api('GET', '/api/employees').catch(() => null)) || [];
  const row = Array.isArray(mine) ? mine.find((e) => e.id === me.employee) : null;
  select.replaceChildren(...Object.entries(PRESENCE).map(([value, label]) => h('option', { value }, label)));
  select.value = (row && row.presence && row.presence.state) || select.value || 'available';
}

// --- inbox -----------------------------------------------------------------------------------

const inboxFilters = { q: '', status: '', channel: '', region: '', department: '', assignee: '' };
let inboxPages = 1;

async function inbox() {
  const health = await api('GET', '/healthz');
  const directory = await api('GET', '/api/directory');
  const body = h('tbody');
  const select = (key, values) =>
    h('select', { id: `filter-${key}`, onchange: (e) => { inboxFilters[key] = e.target.value; inboxPages = 1; refresh(); } },
      h('option', { value: '' }, `any ${key}`),
      values.map((v) => h('option', { value: v, selected: inboxFilters[key] === v }, v)));
  // The server filters (from its indexes) and sends only what is shown: 50 rows a page.
  const refresh = async () => {
    const query = new URLSearchParams({ limit: String(Math.min(50 * inboxPages, 500)) });
    for (const [key, value] of Object.entries(inboxFilters)) if (value) query.set(key, value);
    const page = await api('GET', `/api/appeals?${query}`);
    const rows = page.items;
    document.getElementById('inbox-more').hidden = !page.next || inboxPages >= 10;
    body.replaceChildren(...rows.map((a) =>
      h('tr', { class: 'clickable', 'data-appeal': a.id, onclick: () => (location.hash = `#/appeal/${a.id}`) },
        h('td', {}, when(a.received_at)),
        h('td', {}, a.channel),
        h('td', {}, h('span', { class: `status ${a.status}` }, a.status),
          a.work.reaction_overdue_at || a.work.resolution_overdue_at ? h('span', { class: 'status overdue' }, 'overdue') : null),
        h('td', {}, a.contact.name || a.contact.phone || a.contact.email || '—'),
        h('td', {}, (a.subject ? `${a.subject}: ` : '') + a.text.slice(0, 120)),
        h('td', {}, a.work.region || a.decision?.region || '—'),
        h('td', {}, a.work.department || '—'),
        h('td', {}, a.work.assignee || '—'))));
    document.getElementById('inbox-count').textContent = `${rows.length} shown`;
  };
  render(
    h('h1', {}, 'Inbox'),
    channelWarning(health),
    h('div', { class: 'bar' },
      h('input', {
        id: 'search', type: 'search', value: inboxFilters.q, placeholder: 'поиск: слова, телефон, e-mail / search',
        onchange: (e) => { inboxFilters.q = e.target.value.trim(); inboxPages = 1; refresh(); },
      }),
      select('status', STATUSES), select('channel', health.channels),
      select('region', directory.regions.map((r) => r.id)),
      select('department', directory.departments.map((d) => d.id)),
      select('assignee', directory.employees.map((e) => e.id)),
      h('span', { id: 'inbox-count', class: 'muted' })),
    h('table', { id: 'inbox' },
      h('thead', {}, h('tr', {}, ['Received', 'Channel', 'Status', 'Contact', 'Text', 'Region', 'Department', 'Assignee'].map((t) => h('th', {}, t)))),
      body),
    h('button', { id: 'inbox-more', hidden: true, onclick: () => { inboxPages += 1; refresh(); } }, 'Show 50 more'));
  await refresh();
  timer = setInterval(() => refresh().catch(() => {}), 2000);
}

// --- one appeal --------------------------------------------------------------------------------

/** A customer's attachment as a link: nothing on a customer-supplied URL loads by itself (a
 * photo URL would otherwise tell its owner who opened the appeal, and when). */
function attachment(a) {
  const url = /^https?:\/\//.test(a.reference) ? a.reference : null;
  const label = a.file_name || a.kind;
  if (url) return h('a', { href: url, target: '_blank', rel: 'noopener noreferrer' }, `${label} ↗`);
  return h('span', { class: 'muted' }, `${label} (${a.reference})`);
}

async function appeal(id) {
  const [a, directory] = await Promise.all([api('GET', `/api/appeals/${id}`), api('GET', '/api/directory')]);
  const messages = [
    h('div', { class: 'message' }, h('div', { class: 'muted' }, when(a.received_at), ' · ', a.contact.name || 'client'), a.subject ? h('b', {}, a.subject) : null, h('div', {}, a.text)),
    a.history.filter((e) => e.stage === 'message').map((e) =>
      h('div', { class: 'message' }, h('div', { class: 'muted' }, when(e.at), ' · follow-up'), h('div', {}, e.detail))),
    a.replies.map((r) =>
      h('div', { class: 'message reply' }, h('div', { class: 'muted' }, when(r.created_at), ' · reply · ', h('span', { class: `status reply-state` }, r.state)), h('div', {}, r.text))),
  ];
  const actions = [];
  if (can('operator')) {
    const text = h('textarea', { id: 'reply-text', placeholder: 'Reply to the client through their channel' });
    actions.push(h('div', { class: 'card' }, h('h2', {}, 'Reply'), text,
      h('div', { class: 'bar' }, h('button', { id: 'send-reply', onclick: () => act('reply queued', () => api('POST', `/api/appeals/${id}/replies`, { text: text.value })) }, 'Send'))));
    const employee = h('select', { id: 'employee' }, directory.employees.map((e) => h('option', { value: e.id }, `${e.name || e.id} (${e.department})`)));
    const department = h('select', { id: 'department' }, directory.departments.map((d) => h('option', { value: d.id }, d.name || d.id)));
    const reason = h('input', { id: 'reason', placeholder: 'reason (pause, hand-off)' });
    const verb = (name, body) => () => act(`${name} done`, () => api('POST', `/api/appeals/${id}/${name}`, body()));
    actions.push(h('div', { class: 'card' }, h('h2', {}, 'Actions'),
      h('div', { class: 'bar' }, employee, h('button', { id: 'take', onclick: verb('take', () => ({ employee: employee.value })) }, 'Take'),
        h('button', { class: 'secondary', onclick: verb('handoff', () => ({ employee: employee.value, reason: reason.value || undefined })) }, 'Hand off to employee')),
      h('div', { class: 'bar' }, department, h('button', { class: 'secondary', id: 'handoff-department', onclick: verb('handoff', () => ({ department: department.value, reason: reason.value || undefined })) }, 'Hand off to department'),
        h('button', { class: 'secondary', onclick: verb('handoff', () => ({ escalate: true })) }, 'Escalate')),
      h('div', { class: 'bar' }, reason,
        h('button', { class: 'secondary', onclick: verb('pause', () => ({ reason: reason.value || undefined })) }, 'Pause'),
        h('button', { class: 'secondary', onclick: verb('resume', () => ({})) }, 'Resume'),
        h('button', { id: 'resolve', onclick: verb('resolve', () => ({})) }, 'Resolve'),
        h('button', { class: 'secondary', onclick: verb('reopen', () => ({})) }, 'Reopen'),
        a.status === 'triage' ? h('button', { class: 'danger', onclick: () => act('reprocessed', () => api('POST', `/api/appeals/${id}/reprocess`)) }, 'Reprocess') : null)));
  }
  const d = a.decision || {};
  render(
    h('h1', {}, `Appeal ${a.id} `, h('span', { class: `status ${a.status}`, id: 'appeal-status' }, a.status)),
    a.error ? h('p', { class: 'error' }, a.error) : null,
    h('div', { class: 'grid' },
      h('div', {},
        h('div', { class: 'card', id: 'conversation' }, h('h2', {}, `Conversation · ${a.channel}`), messages,
          a.attachments.length ? h('div', { class: 'attachments bar' }, a.attachments.map(attachment)) : null),
        actions,
        h('div', { class: 'card' }, h('h2', {}, 'History'),
          h('table', { id: 'history' }, h('thead', {}, h('tr', {}, ['When', 'Stage', 'Plugin', 'Detail'].map((t) => h('th', {}, t)))),
            h('tbody', {}, a.history.map((e) => h('tr', {}, h('td', {}, when(e.at)), h('td', {}, e.stage), h('td', {}, e.plugin || '—'), h('td', {}, e.detail))))))),
      h('div', {},
        h('div', { class: 'card' }, h('h2', {}, 'Contact'),
          h('div', {}, a.contact.name || '—'), h('div', {}, a.contact.phone || ''), h('div', {}, a.contact.email || ''),
          h('div', { class: 'muted' }, a.contact.platform_user_id ? `${a.channel} id ${a.contact.platform_user_id}` : ''),
          h('h2', {}, 'Earlier appeals'),
          (a.contact_appeals || []).length
            ? h('ul', {}, a.contact_appeals.map((o) => h('li', {}, h('a', { href: `#/appeal/${o.id}` }, `${when(o.received_at)} · ${o.channel} · ${o.status}`))))
            : h('p', { class: 'muted' }, 'none')),
        h('div', { class: 'card', id: 'routing' }, h('h2', {}, 'Routing'),
          h('table', {}, h('tbody', {}, [
            ['Queue', d.queue], ['Region', d.region], ['Department', a.work.department], ['Topic', d.topic],
            ['Priority', d.priority], ['Assignee', a.work.assignee], ['Reaction due', when(a.work.reaction_due)],
            ['Resolution due', when(a.work.resolution_due)], ['Reason', d.reason], ['Tags', list(a.tags)],
            ['CRM', a.crm ? `${a.crm.entity} ${a.crm.id}` : '—'],
          ].map(([k, v]) => h('tr', {}, h('th', {}, k), h('td', {}, v ?? '—')))))))));
}

// --- routing directory -------------------------------------------------------------------------

const SECTIONS = {
  regions: ['id', 'name', 'cities', 'stores'],
  departments: ['id', 'name', 'queue', 'fallback_queue', 'escalate_to', 'escalate_after_minutes', 'manager'],
  employees: ['id', 'name', 'department', 'regions', 'active', 'crm_user_id', 'max_open', 'working_hours', 'days_off'],
  topics: ['id', 'name', 'keywords', 'department', 'reaction_minutes', 'resolution_minutes', 'business_hours'],
};
const ARRAYS = new Set(['cities', 'stores', 'regions', 'keywords', 'days_off', 'notify', 'notify_regions']);
const NUMBERS = new Set(['escalate_after_minutes', 'max_open', 'reaction_minutes', 'resolution_minutes']);
const BOOLEANS = new Set(['active', 'business_hours']);

/** A cell's text for a value. */
function cellText(key, value) {
  if (value === undefined || value === null) return '';
  if (ARRAYS.has(key)) return list(value);
  if (typeof value === 'object') return JSON.stringify(value);
  return String(value);
}

/** A value back from a cell's text; throws on bad input. */
function cellValue(key, text) {
  const t = text.trim();
  if (ARRAYS.has(key)) return t ? t.split(',').map((s) => s.trim()).filter(Boolean) : [];
  if (t === '') return undefined;
  if (NUMBERS.has(key)) {
    const n = Number(t);
    if (!Number.isInteger(n) || n < 0) throw new Error(`${key} must be a whole number, not "${t}"`);
    return n;
  }
  if (t.startsWith('{') || t.startsWith('[')) return JSON.parse(t);
  return t;
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
      body.append(h('tr', {}, cells, editable ? h('td', {}, h('button', { class: 'danger', title: 'remove', onclick: (e) => e.target.closest('tr').remove() }, '×')) : null));
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
      toast(`${rows.length} ${name} read from ${file.name}: check and save`);
    });
    return h('div', { class: 'card', id: `section-${name}` },
      h('h2', {}, name[0].toUpperCase() + name.slice(1)),
      h('table', {}, h('thead', {}, h('tr', {}, keys.map((k) => h('th', {}, k)), editable ? h('th', {}) : null)), body),
      h('div', { class: 'bar' },
        editable ? h('button', { class: 'secondary', id: `add-${name}`, onclick: () => addRow({}) }, `Add ${name.slice(0, -1)}`) : null,
        h('button', { class: 'secondary', onclick: exportCsv }, 'Export CSV'),
        editable ? h('button', { class: 'secondary', onclick: importCsv }, 'Import CSV') : null));
  };
  const read = (name) => [...tables[name].body.rows].map((tr) => {
    const row = {};
    for (const input of tr.querySelectorAll('input[data-key]')) {
      const key = input.dataset.key;
      const value = input.type === 'checkbox' ? input.checked : cellValue(key, input.value);
      if (value !== undefined) row[key] = value;
    }
    return row;
  });
  const collect = () => {
    const next = { ...directory };
    for (const name of Object.keys(SECTIONS)) next[name] = read(name);
    const problems = [];
    for (const name of Object.keys(SECTIONS)) {
      const ids = next[name].map((r) => r.id);
      ids.forEach((id, i) => {
        if (!id) problems.push(`${name}: row ${i + 1} has no id`);
        else if (ids.indexOf(id) !== i) problems.push(`${name}: id ${id} is used twice`);
      });
    }
    const departments = new Set(next.departments.map((d) => d.id));
    for (const e of next.employees) if (e.department && !departments.has(e.department)) problems.push(`employee ${e.id}: no department ${e.department}`);
    for (const t of next.topics) if (t.department && !departments.has(t.department)) problems.push(`topic ${t.id}: no department ${t.department}`);
    if (problems.length) throw new Error(problems.join('\n'));
    return next;
  };
  const save = (next) => act('directory saved', () => api('PUT', '/api/directory', next));
  render(
    h('h1', {}, 'Routing directory'),
    h('div', { class: 'bar' },
      editable ? h('button', { id: 'save-directory', onclick: () => { try { save(collect()); } catch (e) { toast(e.message, true); } } }, 'Save') : h('span', { class: 'muted' }, 'Read only: editing needs the admin role.'),
      h('button', { class: 'secondary', onclick: () => download('directory.json', JSON.stringify(directory, null, 2), 'application/json') }, 'Export JSON'),
      editable ? h('button', { class: 'secondary', onclick: () => pickFile('.json,application/json', async (f) => save(JSON.parse(await f.text()))) }, 'Import JSON') : null),
    Object.keys(SECTIONS).map(section),
    h('div', { class: 'card' }, h('h2', {}, 'Changes'),
      h('table', { id: 'directory-history' }, h('thead', {}, h('tr', {}, ['When', 'Who', 'What'].map((t) => h('th', {}, t)))),
        h('tbody', {}, history.map((c) => h('tr', {}, h('td', {}, when(c.at)), h('td', {}, c.by), h('td', {}, c.changes.join('; ') || 'no change')))))));
}

// --- plugins -----------------------------------------------------------------------------------

/** A warning while channels accept unverified deliveries or refuse them for a missing secret. */
function channelWarning(health) {
  const open = health.unverified_channels || [];
  const unset = health.unconfigured_channels || [];
  if (!open.length && !unset.length) return null;
  return h('p', { class: 'error', id: 'channel-warning' },
    open.length ? `Без проверки подписи / open without verification: ${open.join(', ')}. ` : '',
    unset.length ? `Не настроены / not configured: ${unset.join(', ')}.` : '');
}

/** Each channel's webhook address, state, generated secrets and what to paste on the platform. */
async function channelsCard() {
  const channels = await api('GET', '/api/channels?lang=ru');
  const state = (c) => ({ verified: 'проверка включена / verified', unverified: 'БЕЗ ПРОВЕРКИ / unverified' })[c.verification.state]
    || `не настроен / not configured: ${list(c.verification.missing) || 'no secret declared'}`;
  const toggle = (c) => {
    const opening = c.verification.state !== 'unverified';
    const label = opening ? 'Open without verification' : 'Require verification';
    const run = () => {
      if (opening && !confirm(`Anyone will be able to post to /hooks/${c.channel}. Open it?`)) return;
      act(`${c.channel}: ${label.toLowerCase()}`, () => api('PUT', `/api/channels/${c.channel}/verification`, { required: !opening }));
    };
    return h('button', { class: opening ? 'danger' : '', onclick: run }, label);
  };
  return h('section', { class: 'card', id: 'channels' },
    h('h2', {}, 'Channels'),
    h('table', {},
      h('thead', {}, h('tr', {}, ['Channel', 'State', 'Webhook and secrets', 'On the platform\'s side', ''].map((t) => h('th', {}, t)))),
      h('tbody', {}, channels.map((c) => h('tr', { 'data-channel': c.channel },
        h('td', {}, c.channel), h('td', {}, state(c)),
        h('td', {}, h('code', {}, c.url), Object.entries(c.secrets).map(([k, v]) => h('div', {}, `${k}: `, h('code', {}, v)))),
        h('td', { class: 'muted' }, c.setup || ''),
        h('td', {}, toggle(c)))))));
}

async function pluginsPage() {
  const plugins = await api('GET', '/api/plugins');
  const channels = can('admin') ? await channelsCard() : null;
  const upload = () => pickFile('.wasm,application/wasm', (file) =>
    act(`${file.name} uploaded`, async () => {
      const record = await api('POST', '/api/plugins', await file.arrayBuffer(), 'application/wasm');
      toast(`uploaded ${record.name}@${record.version}`);
    }));
  render(
    h('h1', {}, 'Plugins'),
    can('admin') ? h('div', { class: 'bar' }, h('button', { id: 'upload', onclick: upload }, 'Upload a component (.wasm)')) : null,
    h('table', { id: 'plugins' },
      h('thead', {}, h('tr', {}, ['Plugin', 'Kind', 'Active', 'Earlier', 'Calls', 'Errors', 'Shadow'].map((t) => h('th', {}, t)))),
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
        try { value = JSON.parse(input.value); } catch (e) { problems.push(`${key}: not JSON (${e.message})`); }
      }
      if (value === undefined) { if (required.has(key)) problems.push(`${key} is required`); continue; }
      if (prop.type === 'integer' && !Number.isInteger(value)) problems.push(`${key} must be a whole number`);
      if (prop.minimum !== undefined && value < prop.minimum) problems.push(`${key} must be at least ${prop.minimum}`);
      if (prop.minLength !== undefined && typeof value === 'string' && value.length < prop.minLength) problems.push(`${key} must not be empty`);
      out[key] = value;
    }
    if (problems.length) throw new Error(problems.join('\n'));
    return out;
  };
  const save = () => { try { const next = read(); act('configuration saved', () => api('PUT', `/api/plugins/${name}/config`, next)); } catch (e) { toast(e.message, true); } };
  return h('div', { class: 'card', id: 'config' }, h('h2', {}, 'Configuration'),
    rows.length ? h('table', {}, h('tbody', {}, rows)) : h('p', { class: 'muted' }, 'This plugin takes no configuration.'),
    rows.length ? h('div', { class: 'bar' }, h('button', { id: 'save-config', onclick: save }, 'Save configuration')) : null);
}

function comparisons(items) {
  return h('table', {}, h('thead', {}, h('tr', {}, ['Appeal', 'Active', 'Candidate'].map((t) => h('th', {}, t)))),
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
    } catch (e) { toast(`replay failed: ${e.message}`, true); }
  };
  render(
    h('h1', {}, `${name} `, h('span', { class: 'status', id: 'active-version' }, p.active ? `active ${p.active}` : 'inactive')),
    h('p', { class: 'muted' }, p.versions[0]?.description),
    admin ? h('div', { class: 'bar' },
      p.previous.length ? h('button', { class: 'danger', id: 'rollback', onclick: () => act('rolled back', () => api('POST', `/api/plugins/${name}/rollback`)) }, `Roll back to ${p.previous[p.previous.length - 1]}`) : null,
      p.active && kind !== 'router' ? h('button', { class: 'secondary', onclick: () => act('deactivated', () => api('POST', `/api/plugins/${name}/deactivate`)) }, 'Deactivate') : null) : null,
    h('div', { class: 'card' }, h('h2', {}, 'Versions'),
      h('table', { id: 'versions' }, h('thead', {}, h('tr', {}, ['Version', 'Uploaded', 'WIT', 'Size', 'sha256', 'Calls', 'Errors', ''].map((t) => h('th', {}, t)))),
        h('tbody', {}, p.versions.map((v) => {
          const counts = p.calls[v.version] || { calls: 0, errors: 0 };
          return h('tr', { 'data-version': v.version },
            h('td', {}, v.version, v.version === p.active ? ' (active)' : ''), h('td', {}, when(v.uploaded_at)), h('td', {}, v.wit_version),
            h('td', {}, `${Math.round(v.size / 1024)} KiB`), h('td', {}, v.sha256.slice(0, 12)), h('td', {}, counts.calls), h('td', { class: counts.errors ? 'error' : '' }, counts.errors),
            h('td', {}, admin && v.version !== p.active ? [
              h('button', { class: 'activate', onclick: () => act(`${name}@${v.version} activated`, () => api('POST', `/api/plugins/${name}/activate`, { version: v.version })) }, 'Activate'), ' ',
              kind !== 'channel' ? h('button', { class: 'secondary', onclick: () => act('shadow started', () => api('POST', `/api/plugins/${name}/shadow`, { version: v.version })) }, 'Shadow') : null,
            ] : null));
        })))),
    admin ? configForm(p.versions.find((v) => v.version === p.active)?.config_schema || {}, p.config || {}, name) : null,
    kind !== 'channel' ? h('div', { class: 'card', id: 'shadow' }, h('h2', {}, 'Shadow run'),
      shadow ? [h('p', {}, `${shadow.version}: compared ${shadow.compared}, differed ${shadow.differed}`), comparisons(shadow.examples || []),
        admin ? h('button', { class: 'secondary', onclick: () => act('shadow stopped', () => api('DELETE', `/api/plugins/${name}/shadow`)) }, 'Stop') : null]
        : h('p', { class: 'muted' }, 'No candidate runs beside the active version.')) : null,
    kind !== 'channel' && others.length ? h('div', { class: 'card' }, h('h2', {}, 'Replay over stored appeals'),
      h('div', { class: 'bar' }, replayVersion, replayLimit, h('button', { id: 'replay', onclick: replay }, 'Replay')), replayResult) : null,
    h('div', { class: 'card' }, h('h2', {}, 'Log'), h('ul', { id: 'plugin-log' }, p.log.slice().reverse().map(([at, text]) => h('li', {}, `${when(at)} — ${text}`)))));
}

// --- SLA dashboard -----------------------------------------------------------------------------

/** A horizontal bar chart (SVG) of `series` (label → value) per row. */
function bars(title, rows, key, series) {
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
    add('text', { x: 0, y: y + 14 }, row[key] ?? '—');
    series.forEach((s, j) => {
      const value = row[s.field] || 0;
      const w = (value / max) * (width - 200);
      add('rect', { x: 130, y: y + 4 + j * 16, width: Math.max(w, 1), height: 12, fill: s.color });
      add('text', { x: 135 + w, y: y + 14 + j * 16 }, `${s.label} ${Math.round(value * 10) / 10}`);
    });
  });
  series.forEach((s, j) => add('text', { x: 130 + j * 150, y: rows.length * rowHeight + 18, fill: s.color }, `■ ${s.label}`));
  return h('div', { class: 'card chart' }, h('h2', {}, title), rows.length ? svg : h('p', { class: 'muted' }, 'no data yet'));
}

async function sla() {
  const draw = async () => {
    const [byStatus, byChannel, topics, departments, overdue] = await Promise.all([
      api('GET', '/api/reports/appeals?by=status'), api('GET', '/api/reports/appeals?by=channel'),
      api('GET', '/api/reports/times?by=topic'), api('GET', '/api/reports/times?by=department'),
      api('GET', '/api/appeals?limit=500'),
    ]);
    const late = overdue.items.filter((a) => a.status !== 'resolved' && (a.work.reaction_overdue_at || a.work.resolution_overdue_at));
    const times = [
      { field: 'reaction_avg_min', label: 'reaction avg, min', color: '#2563eb' },
      { field: 'reaction_p90_min', label: 'reaction p90', color: '#93b4f5' },
      { field: 'resolution_avg_min', label: 'resolution avg', color: '#1e8e3e' },
      { field: 'resolution_p90_min', label: 'resolution p90', color: '#8fd19e' },
    ];
    render(
      h('h1', {}, 'SLA dashboard'),
      h('div', { class: 'tiles', id: 'tiles' },
        byStatus.map((r) => h('div', { class: 'tile' }, h('b', {}, r.appeals), r.status)),
        h('div', { class: 'tile' }, h('b', { class: late.length ? 'error' : '' }, late.length), 'overdue now')),
      h('div', { class: 'card' }, h('h2', {}, 'Overdue'),
        late.length ? h('table', { id: 'overdue' }, h('thead', {}, h('tr', {}, ['Appeal', 'Department', 'Assignee', 'Reaction due', 'Resolution due'].map((t) => h('th', {}, t)))),
          h('tbody', {}, late.map((a) => h('tr', {}, h('td', {}, h('a', { href: `#/appeal/${a.id}` }, a.id)), h('td', {}, a.work.department || '—'), h('td', {}, a.work.assignee || '—'),
            h('td', {}, when(a.work.reaction_due)), h('td', {}, when(a.work.resolution_due))))))
          : h('p', { class: 'muted' }, 'Nothing is overdue.')),
      bars('Appeals by channel', byChannel, 'channel', [{ field: 'appeals', label: 'appeals', color: '#2563eb' }]),
      bars('Reaction and resolution by topic (minutes)', topics, 'topic', times),
      bars('Reaction and resolution by department (minutes)', departments, 'department', times));
  };
  await draw();
  timer = setInterval(() => draw().catch(() => {}), 5000);
}

// --- routing -------------------------------------------------------------------------------------

const PAGES = { inbox, appeal, directory: directoryPage, plugins: pluginsPage, plugin, sla, team };

async function route() {
  clearInterval(timer);
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
  const scope = me.scope && !me.scope.everything
    ? ` · ${[list(me.scope.departments), list(me.scope.regions)].filter(Boolean).join(' / ')}`
    : '';
  document.getElementById('who').textContent = `${me.name} · ${me.role}${scope}`;
  await presenceSwitch();
  const [page, arg] = location.hash.replace(/^#\/?/, '').split('/');
  for (const link of document.querySelectorAll('#nav a')) link.classList.toggle('current', link.dataset.page === (page === 'appeal' ? 'inbox' : page === 'plugin' ? 'plugins' : page || 'inbox'));
  try {
    await (PAGES[page] || inbox)(arg ? decodeURIComponent(arg) : undefined);
  } catch (e) {
    render(h('p', { class: 'error' }, e.message));
  }
}

document.getElementById('logout').addEventListener('click', logout);
document.getElementById('presence').addEventListener('change', (event) =>
  act('Статус изменён', () => api('PUT', '/api/presence', { state: event.target.value })));
window.addEventListener('hashchange', route);
route();
