// ClientHub console, its core: calling the API, the session and sign-in, the team view, the
// header and the routing between pages (the pages are in workspace.js and admin.js). A client
// of the HTTP API, in Russian first (English selectable; texts in i18n.js). An employee signs in with a login and password (or an API token) for a session
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

/** Calls the API in the console's language; throws an Error with the API's message on a non-2xx answer. */
async function api(method, path, body, contentType) {
  const headers = { 'accept-language': LANG };
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
  // A page drawn from a read that started before this action would show the old state.
  renders += 1;
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
  const headers = { 'accept-language': LANG };
  const init = body ? { method, headers: { ...headers, 'content-type': 'application/json' }, body: JSON.stringify(body) } : { method, headers };
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
    if (clockIn && me.employee) {
      await api('PUT', '/api/presence', { state: 'available' }).then(() => { me.presence = 'available'; }).catch(() => {});
    }
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
      method: 'POST', headers: { 'content-type': 'application/json', 'accept-language': LANG },
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
        h('thead', {}, h('tr', {}, [t('employee'), t('department'), t('role'), t('status'), t('since'), t('openAppeals')].map((c) => h('th', {}, c)))),
        h('tbody', {}, rows.map((r) => h('tr', { 'data-employee': r.id },
          h('td', {}, r.name || r.id),
          h('td', {}, nameOf('departments', r.department)),
          h('td', {}, r.account ? label('role', r.role) : h('span', { class: 'muted' }, t('noAccount'))),
          h('td', { class: `presence ${r.state}` }, r.account ? label('presence', r.state) : '—'),
          h('td', {}, when(r.since)),
          h('td', { class: 'load' }, r.max_open ? `${r.open_appeals} / ${r.max_open}` : String(r.open_appeals))))))));
  timer = setInterval(() => location.hash.startsWith('#/team') && team().catch(() => {}), 5000);
}

/** The header's presence switch, for a signed-in employee. */
function presenceSwitch() {
  const select = document.getElementById('presence');
  select.hidden = !(me && me.employee);
  if (select.hidden) return;
  select.replaceChildren(...['available', 'away', 'off'].map((value) => h('option', { value }, label('presence', value))));
  select.value = me.presence || 'off';
}

// --- routing -------------------------------------------------------------------------------------


async function route() {
  // A live redraw of the page just left, still in flight, must not replace the new one.
  renders += 1;
  clearInterval(timer);
  onChange = null;
  document.onkeydown = null;
  main().classList.remove('desk-main');
  if (!me) {
    try {
      me = await session('GET');
    } catch (_) {
      return loginPage();
    }
  }
  document.getElementById('nav').hidden = false;
  document.getElementById('logout').hidden = false;
  // Masters and viewers see no directory, staff or plugins (the API refuses them anyway).
  const staff = can('operator') && me.role !== 'master';
  document.querySelector('#nav a[data-page="team"]').hidden = !can('supervisor');
  document.querySelector('#nav a[data-page="plugins"]').hidden = !can('supervisor');
  document.querySelector('#nav a[data-page="directory"]').hidden = !staff;
  for (const link of document.querySelectorAll('#nav a')) link.textContent = t(link.dataset.page === 'directory' ? 'directory' : link.dataset.page);
  document.getElementById('logout').textContent = t('signOut');
  dir = await api('GET', '/api/directory').catch(() => dir);
  const names = (section, ids) => (Array.isArray(ids) ? ids.map((id) => nameOf(section, id)).join(', ') : ids ?? '');
  const scope = me.scope && !me.scope.everything
    ? ` · ${[names('departments', me.scope.departments), names('regions', me.scope.regions)].filter(Boolean).join(' / ')}`
    : '';
  document.getElementById('who').textContent = `${me.name} · ${label('role', me.role)}${scope}`;
  presenceSwitch();
  follow();
  // Pages live in workspace.js and admin.js, loaded after this file.
  const pages = { inbox, appeal, new: newAppealPage, directory: directoryPage, plugins: pluginsPage, plugin, sla, team };
  const [page, arg] = location.hash.replace(/^#\/?/, '').split('/');
  const allowed = { directory: staff, plugins: can('supervisor'), plugin: can('supervisor'), team: can('supervisor') };
  if (allowed[page] === false) return render(h('p', { class: 'error', id: 'no-access' }, t('noAccess')));
  for (const link of document.querySelectorAll('#nav a')) link.classList.toggle('current', link.dataset.page === (page === 'appeal' || page === 'new' ? 'inbox' : page === 'plugin' ? 'plugins' : page || 'inbox'));
  try {
    await (pages[page] || inbox)(arg ? decodeURIComponent(arg) : undefined);
  } catch (e) {
    render(h('p', { class: 'error' }, e.message));
  }
}

/** Starts the console once every script is in. */
function start() {
  document.documentElement.lang = LANG;
  document.getElementById('lang').value = LANG;
  document.getElementById('lang').addEventListener('change', (event) => {
    localStorage.setItem('lang', event.target.value);
    location.reload();
  });
  document.getElementById('logout').addEventListener('click', logout);
  const sound = document.getElementById('sound');
  const bell = () => { sound.textContent = t(localStorage.getItem('sound') === 'off' ? 'soundOff' : 'soundOn'); sound.title = t('sound'); };
  bell();
  sound.addEventListener('click', () => {
    localStorage.setItem('sound', localStorage.getItem('sound') === 'off' ? 'on' : 'off');
    if (window.Notification && Notification.permission === 'default') Notification.requestPermission();
    bell();
  });
  document.getElementById('presence').addEventListener('change', (event) =>
    act(label('presence', event.target.value), async () => {
      await api('PUT', '/api/presence', { state: event.target.value });
      me.presence = event.target.value;
    }));
  window.addEventListener('hashchange', route);
  route();
}

document.addEventListener('DOMContentLoaded', start);
