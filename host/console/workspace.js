// ClientHub console, the operator's desk: one window of three panes, as a shift works — the
// list of work on the left (views named for the work, with counts; search; filters saved per
// person; two-line rows by deadline), the conversation in the middle as a chat with the
// composer under it (reply or internal note, ready answers by `/`, Ctrl+Enter sends), and the
// customer and the appeal on the right (contact and other appeals, route, deadlines, checklist,
// actions, history). New work changes the tab's title, plays a short sound (switchable) and
// notifies the browser when allowed. Also the call card typed in by hand. Uses app.js.
'use strict';

// --- the list of work ---------------------------------------------------------------------------

const VIEWS = ['mine', 'unassigned', 'overdue', 'open', 'resolved'];
const FILTERS = ['channel', 'department', 'region', 'assignee', 'topic', 'priority'];
const ICONS = { telegram: 'TG', whatsapp: 'WA', vk: 'VK', ok: 'OK', email: '@', webform: 'W', reviews: '★', jivo: 'J',
  zadarma: '☎', mango: '☎', phone: '☎', visit: '⌂', book: '✎', bitrix24: 'B' };
/** What the person chose on the desk (view, search, filters, saved filters), kept per person. */
let desk = null;
/** The last counts seen, to tell new work from old. */
let seenCounts = null;

const deskKey = () => `desk:${me.employee || me.name}`;
function loadDesk() {
  if (desk && desk.key === deskKey()) return;
  const saved = JSON.parse(localStorage.getItem(deskKey()) || 'null') || {};
  desk = { key: deskKey(), view: saved.view || (me.employee ? 'mine' : 'open'), q: '', filters: saved.filters || {},
    saved: saved.saved || [], pages: 1, selected: -1 };
}
const saveDesk = () => localStorage.setItem(deskKey(), JSON.stringify({ view: desk.view, filters: desk.filters, saved: desk.saved }));

/** The deadline that matters now: the reaction's until taken, then the resolution's (pauses added). */
function deadline(a) {
  const w = a.work;
  const due = w.taken_at ? w.resolution_due : (w.reaction_due ?? w.resolution_due);
  return due ? due + (w.paused_ms || 0) : null;
}
const span = (ms) => { const m = Math.max(0, Math.round(ms / 60000)); return t('minutes', Math.floor(m / 60), m % 60); };
const late = (a) => Boolean(a.work.reaction_overdue_at || a.work.resolution_overdue_at);

/** Time to the deadline, coloured: late, soon (half an hour), in time. */
function clock(a) {
  if (a.status === 'resolved') return { text: t('doneAt', when(a.work.resolved_at)), cls: 'muted' };
  const due = deadline(a);
  if (!due) return { text: t('noDeadline'), cls: 'muted' };
  const left = due - Date.now();
  if (left < 0 || late(a)) return { text: t('late', span(-left)), cls: 'late' };
  return { text: t('left', span(left)), cls: left < 30 * 60000 ? 'soon' : 'in-time' };
}

const meta = (a) => Object.fromEntries(a.metadata || []);
/** A call's card in words («Входящий звонок, 3 мин 07 с»), when the appeal is a call. */
function callText(a) {
  const m = meta(a);
  if (m.duration_seconds === undefined) return null;
  if (m.missed === 'true') return t('callMissed');
  const seconds = Number(m.duration_seconds) || 0;
  return t('callIn', t('callDuration', Math.floor(seconds / 60), seconds % 60));
}
const customer = (a) => a.contact.name || a.contact.phone || a.contact.email || t('client');
const firstLine = (a) => callText(a) || `${a.subject ? `${a.subject}: ` : ''}${a.text}`.split('\n')[0];
const channelIcon = (channel) => h('span', { class: `ch ch-${channel}`, title: label('channel', channel) }, ICONS[channel] || '•');
const numberOf = (a) => (a.number ? t('number', a.number) : '');
function initials(employee) {
  if (!employee) return null;
  const name = nameOf('employees', employee);
  return h('span', { class: 'avatar', title: name }, name.split(/\s+/).map((w) => w[0]).join('').slice(0, 2).toUpperCase());
}

/** One row of the list: who and when on the first line, what and whose on the second. */
function row(a, current) {
  const c = clock(a);
  return h('tr', { class: `row${a.id === current ? ' current' : ''}`, 'data-appeal': a.id, onclick: () => (location.hash = `#/appeal/${a.id}`) },
    h('td', {},
      h('div', { class: 'line1' }, channelIcon(a.channel), h('b', { class: 'who' }, customer(a)),
        h('span', { class: 'num' }, numberOf(a)), h('span', { class: `due ${c.cls}` }, c.text)),
      h('div', { class: 'line2' }, h('span', { class: 'snippet' }, firstLine(a)), initials(a.work.assignee))));
}

/** The left pane: views with counts, search, filters, the list. */
function listPane(health, current) {
  const body = h('tbody');
  const counts = h('span');
  const views = h('nav', { id: 'views' }, VIEWS.map((v) => h('button', {
    class: `view${v === desk.view && !desk.q ? ' current' : ''}`, 'data-view': v,
    onclick: () => { desk.view = v; desk.q = ''; desk.pages = 1; saveDesk(); route(); },
  }, t(`view_${v}`), ' ', h('span', { class: 'count', 'data-count': v }, ''))));
  const search = h('input', { id: 'search', type: 'search', value: desk.q, placeholder: t('search'),
    onchange: (e) => { desk.q = e.target.value.trim(); desk.pages = 1; refresh(); } });
  const values = {
    channel: health.channels.concat(['phone', 'visit', 'book']).map((c) => [c, label('channel', c)]),
    department: entries('departments'), region: entries('regions'), assignee: entries('employees'),
    topic: entries('topics'), priority: PRIORITIES.map((p) => [p, label('priority', p)]),
  };
  const filters = h('div', { class: 'filters', id: 'filters', hidden: !Object.values(desk.filters).some(Boolean) },
    FILTERS.map((key) => {
      const select = choice(`filter-${key}`, values[key], desk.filters[key] || '', t('any', t(key)));
      select.addEventListener('change', (e) => { desk.filters[key] = e.target.value; desk.pages = 1; saveDesk(); refresh(); });
      return select;
    }),
    h('button', { class: 'secondary small', id: 'save-filter', onclick: () => {
      const name = prompt(t('filterName'));
      if (name) { desk.saved.push({ name, filters: { ...desk.filters } }); saveDesk(); route(); }
    } }, t('saveFilter')));
  const saved = desk.saved.map((s, i) => h('span', { class: 'chip' },
    h('a', { href: '#/inbox', onclick: () => { desk.filters = { ...s.filters }; saveDesk(); } }, s.name),
    h('button', { class: 'link', title: t('confirmRemove', s.name), onclick: () => {
      if (confirm(t('confirmRemove', s.name))) { desk.saved.splice(i, 1); saveDesk(); route(); }
    } }, '×')));
  const more = h('button', { id: 'inbox-more', class: 'secondary small', hidden: true, onclick: () => { desk.pages += 1; refresh(); } }, t('more'));
  const refresh = async () => {
    const turn = (refresh.turn = (refresh.turn || 0) + 1);
    const query = new URLSearchParams({ limit: String(Math.min(50 * desk.pages, 500)) });
    if (desk.q) query.set('q', desk.q);
    else query.set('view', desk.view);
    for (const key of FILTERS) if (desk.filters[key]) query.set(key, desk.filters[key]);
    const page = await api('GET', `/api/appeals?${query}`);
    if (turn !== refresh.turn) return;
    more.hidden = !page.next || desk.pages >= 10;
    body.replaceChildren(...page.items.map((a) => row(a, current)));
    counts.textContent = page.items.length ? t('shown', page.items.length) : t('noAppeals');
  };
  const pane = h('section', { class: 'pane list-pane', id: 'list-pane' },
    views,
    h('div', { class: 'bar tight' }, search,
      h('button', { class: 'secondary small', id: 'filters-toggle', onclick: () => { filters.hidden = !filters.hidden; } }, t('filters')),
      can('operator') && me.role !== 'master' ? h('a', { href: '#/new', class: 'button small', id: 'new-appeal', title: t('newAppeal') }, '+') : null),
    saved.length ? h('div', { class: 'bar tight' }, saved) : null,
    filters,
    channelWarning(health),
    h('p', { class: 'error', id: 'unowned-warning', hidden: true }),
    h('div', { class: 'list-scroll' }, h('table', { id: 'inbox' }, body)),
    h('div', { class: 'bar tight muted' }, counts, more));
  return { pane, body, refresh, search };
}

/** The views' counts on their tabs; new work in «Без исполнителя» or «Мои» is announced. */
async function refreshCounts() {
  const counts = await api('GET', '/api/views');
  const by = Object.fromEntries(counts.map((c) => [c.id, c]));
  for (const c of counts) {
    const badge = document.querySelector(`[data-count="${c.id}"]`);
    if (badge) badge.textContent = c.capped ? `${c.count}+` : String(c.count);
  }
  const unowned = document.getElementById('unowned-warning');
  if (unowned && by.unowned) {
    unowned.hidden = !by.unowned.count;
    unowned.textContent = t('unowned', by.unowned.count);
  }
  const waiting = (by.unassigned?.count || 0) + (by.mine?.count || 0);
  if (seenCounts !== null && waiting > seenCounts) announce(waiting - seenCounts);
  seenCounts = waiting;
  if (!document.hidden) document.title = 'ClientHub';
}

/** New work: the tab's title, a short tone (unless switched off), a browser notice if allowed. */
function announce(n) {
  document.title = `(${n}) ${t('newWork', n)} — ClientHub`;
  if (localStorage.getItem('sound') !== 'off') {
    try {
      const audio = new AudioContext();
      const tone = audio.createOscillator();
      tone.frequency.value = 880;
      tone.connect(audio.destination);
      tone.start();
      tone.stop(audio.currentTime + 0.15);
    } catch (_) { /* no audio here */ }
  }
  if (window.Notification && Notification.permission === 'granted' && document.hidden) new Notification('ClientHub', { body: t('newWork', n) });
}
document.addEventListener('visibilitychange', () => { if (!document.hidden) document.title = 'ClientHub'; });

// --- the conversation -----------------------------------------------------------------------------

/** A customer's attachment: once the host has fetched its file, a photo inline (a click opens
 * it large), a recording or voice message in a player, a video, or a document to download;
 * until then its state. Nothing on a customer-supplied URL loads by itself (a photo URL would
 * tell its owner who opened the appeal, and when). */
function attachment(appeal, a, index) {
  const n = index + 1;
  const file = (appeal.files || []).find((f) => f.n === n);
  const name = (file && file.file_name) || a.file_name || `${t('download')} ${n}`;
  const src = `/api/appeals/${appeal.id}/attachments/${n}`;
  if (file && file.state === 'stored') {
    const mime = file.mime_type || a.mime_type || '';
    if (a.kind === 'photo' || mime.startsWith('image/')) {
      return h('img', { src, alt: name, class: 'photo', 'data-file': n, onclick: () => viewer(src, name) });
    }
    if (['audio', 'voice', 'call-recording'].includes(a.kind) || mime.startsWith('audio/')) {
      return h('figure', {}, h('audio', { src, controls: true, preload: 'metadata', 'data-file': n }), h('figcaption', { class: 'muted' }, name));
    }
    if (a.kind === 'video' || mime.startsWith('video/')) return h('video', { src, controls: true, preload: 'metadata', 'data-file': n });
    return h('a', { href: src, download: name, 'data-file': n }, `⤓ ${name}`);
  }
  const url = /^https?:\/\//.test(a.reference) ? a.reference : null;
  const state = file ? t('fileState')[file.state] || file.state : t('fileState').pending;
  return h('span', { class: 'muted', 'data-file-state': file ? file.state : 'pending', title: file && file.error ? file.error : null }, `${name}: ${state}`,
    url ? [' ', h('a', { href: url, target: '_blank', rel: 'noopener noreferrer' }, '↗')] : null);
}

/** A photo at full size over the page; Esc or a click closes it. */
function viewer(src, name) {
  const close = () => { overlay.remove(); document.removeEventListener('keydown', onKey); };
  const onKey = (e) => { if (e.key === 'Escape') close(); };
  const overlay = h('div', { class: 'viewer', id: 'viewer', onclick: close },
    h('img', { src, alt: name }), h('div', { class: 'bar' }, h('a', { href: src, download: name, onclick: (e) => e.stopPropagation() }, t('download')), h('button', { class: 'secondary' }, t('close'))));
  document.addEventListener('keydown', onKey);
  document.body.append(overlay);
}

/** A staff reply on the right: its delivery state, attempts, error, and «retry» where it can work. */
function replyBubble(a, r, answerable) {
  return h('div', { class: 'bubble staff', 'data-reply': r.id },
    h('div', { class: 'meta' }, (r.author || t('staff')).replace(/\s*\([^()]*\)$/, ''), ' · ', when(r.created_at), ' · ',
      h('span', { class: `reply-state ${r.state}` }, label('reply', r.state)),
      r.attempts ? ` · ${t('attempts', r.attempts)}` : '',
      r.next_attempt_at && r.state === 'queued' ? ` · ${t('nextTry', when(r.next_attempt_at))}` : ''),
    h('div', { class: 'text' }, r.text),
    r.error ? h('div', { class: 'error reply-error' }, r.state === 'queued' ? t('replyWillRetry', platformError(r.error)) : platformError(r.error)) : null,
    r.state === 'failed' && answerable && can('operator') ? h('button', { class: 'secondary small', onclick: () => act(t('retryNow'), () => api('POST', `/api/appeals/${a.id}/replies/${r.id}/retry`)) }, t('retryNow')) : null);
}

/** Stages shown as the conversation itself (or not at all: a filter letting it pass), not as
 * thin system lines. */
const SPOKEN = new Set(['received', 'message', 'note', 'reply_queued', 'reply_sent', 'reply_retry', 'reply_failed', 'reply_status', 'kept']);

/** The conversation in time order: the customer on the left, staff on the right, notes in
 * their own colour, files where they came, what happened as thin lines. */
function conversation(a) {
  const follow = a.history.filter((e) => e.stage === 'message');
  const later = follow.reduce((n, e) => n + ((e.event.message && e.event.message.attachments) || 0), 0);
  let next = 0;
  const files = (count) => {
    const shown = a.attachments.slice(next, next + count).map((f, i) => attachment(a, f, next + i));
    next += count;
    return shown.length ? h('div', { class: 'attachments' }, shown) : null;
  };
  const items = [{ at: a.received_at, node: h('div', { class: 'bubble customer' },
    h('div', { class: 'meta' }, customer(a), ' · ', when(a.received_at), ' · ', label('channel', a.channel)),
    a.subject ? h('b', {}, a.subject) : null, h('div', { class: 'text' }, callText(a) || a.text),
    files(Math.max(0, a.attachments.length - later))) }];
  for (const e of a.history) {
    if (e.stage === 'message') {
      const m = e.event.message || {};
      items.push({ at: e.at, node: h('div', { class: 'bubble customer' }, h('div', { class: 'meta' }, customer(a), ' · ', when(e.at)),
        h('div', { class: 'text' }, m.text ?? e.detail), files(m.attachments || 0)) });
    } else if (e.stage === 'note') {
      items.push({ at: e.at, node: h('div', { class: 'bubble note', 'data-note': '' }, h('div', { class: 'meta' }, e.title, ' · ', when(e.at)), h('div', { class: 'text' }, e.detail)) });
    } else if (!SPOKEN.has(e.stage)) {
      const words = e.stage === 'routed' ? routeWords(e.event.routed) : e.detail;
      // «Решено — Рустам», not «Решено: решено — Рустам».
      const line = words && words.toLowerCase().startsWith(e.title.toLowerCase()) ? `${e.title}${words.slice(e.title.length)}`
        : `${e.title}${words ? `: ${words}` : ''}`;
      items.push({ at: e.at, node: h('div', { class: 'system', 'data-stage': e.stage, title: e.stage === 'routed' ? e.detail : null },
        h('span', {}, `${when(e.at)} · ${line}`)) });
    }
  }
  for (const r of a.replies) items.push({ at: r.created_at, node: replyBubble(a, r, a.reply && a.reply.possible) });
  items.sort((x, y) => x.at - y.at);
  return h('div', { class: 'chat', id: 'conversation' }, items.map((i) => i.node));
}

/** The route in words, from the router's structured result (its own reason is the plugin's). */
function routeWords(r) {
  if (!r) return '';
  const part = (key, section, id) => (id ? `${t(key)} «${nameOf(section, id)}»` : null);
  return [part('topic', 'topics', r.topic), part('region', 'regions', r.region), part('department', 'departments', r.department)]
    .filter(Boolean).join(', ');
}

/** Under the conversation: a reply to the customer or a note for colleagues; ready answers by
 * `/` or the picker; Ctrl+Enter sends. Where no reply can go, only the note. */
function composer(a, templates, mayReply) {
  const possible = mayReply && a.reply && a.reply.possible;
  const key = (field) => `${a.id}:${field}`;
  let mode = drafts[key('mode')] || (possible ? 'reply' : 'note');
  if (!possible) mode = 'note';
  const replyText = draft(key('reply'), { id: 'reply-text', placeholder: t('replyPlaceholder'), hidden: mode !== 'reply' });
  const noteText = draft(key('note'), { id: 'note-text', placeholder: t('notePlaceholder'), hidden: mode !== 'note' });
  const picker = h('ul', { class: 'picker', id: 'template-picker', hidden: true });
  const insert = (x) => { drafts[key('reply')] = replyText.value = x.text; picker.hidden = true; replyText.focus(); };
  const template = templates.length && possible ? choice('template', templates.map((x) => [x.id, x.name]), '', t('template')) : null;
  if (template) template.addEventListener('change', () => { const x = templates.find((y) => y.id === template.value); if (x) insert(x); });
  const pick = () => {
    const typed = replyText.value.match(/^\/(.*)$/);
    picker.hidden = !typed;
    if (!typed) return;
    const found = templates.filter((x) => x.name.toLowerCase().includes(typed[1].toLowerCase()));
    picker.replaceChildren(...found.map((x, i) => h('li', { class: i === 0 ? 'first' : null, onclick: () => insert(x) }, x.name)));
  };
  replyText.addEventListener('input', pick);
  // A draft begun with «/» before a redraw asks for the picker still.
  if (mode === 'reply') pick();
  const sendReply = () => act(t('reply'), async () => { await api('POST', `/api/appeals/${a.id}/replies`, { text: replyText.value }); delete drafts[key('reply')]; });
  const addNote = () => act(t('addNote'), async () => { await api('POST', `/api/appeals/${a.id}/notes`, { text: noteText.value }); delete drafts[key('note')]; });
  const keys = (send) => (e) => {
    if (e.key === 'Enter' && (e.ctrlKey || e.metaKey)) { e.preventDefault(); send(); }
    if (e.key === 'Enter' && !picker.hidden && picker.firstChild) { e.preventDefault(); picker.firstChild.click(); }
  };
  replyText.addEventListener('keydown', keys(sendReply));
  noteText.addEventListener('keydown', keys(addNote));
  // Switching tabs redraws the composer alone, not the desk.
  const tab = (name, text, disabled, why) => h('button', { class: `tab${mode === name ? ' current' : ''}`, id: `tab-${name}`, disabled, title: why,
    onclick: () => {
      drafts[key('mode')] = name;
      const next = composer(a, templates, mayReply);
      document.getElementById('composer').replaceWith(next);
      next.querySelector(`#${name === 'reply' ? 'reply' : 'note'}-text`).focus();
    } }, text);
  const why = !mayReply ? t('mastersNoReply') : !possible ? t('cannotReplyHint', label('channel', a.channel)) : null;
  return h('div', { class: 'composer', id: 'composer' },
    h('div', { class: 'tabs' }, tab('reply', t('tabReply'), !possible, why), tab('note', t('tabNote'), false), template),
    why ? h('p', { class: 'muted small', id: 'reply-impossible' }, why) : null,
    picker, replyText, noteText,
    h('div', { class: 'bar tight' },
      mode === 'reply' ? h('button', { id: 'send-reply', onclick: sendReply }, t('send')) : h('button', { id: 'add-note', class: 'note-button', onclick: addNote }, t('addNote')),
      h('span', { class: 'muted small' }, t('sendKey'))));
}

// --- the customer and the appeal ---------------------------------------------------------------------

function contactCard(a) {
  return h('div', { class: 'card', id: 'contact' }, h('h2', {}, t('customerCard')),
    h('div', { class: 'who' }, a.contact.name || '—'), a.contact.phone ? h('div', {}, a.contact.phone) : null,
    a.contact.email ? h('div', {}, a.contact.email) : null,
    (a.contact_appeals || []).length ? [h('h3', {}, t('earlier')),
      h('ul', { class: 'earlier' }, a.contact_appeals.map((o) => h('li', {}, h('a', { href: `#/appeal/${o.id}` },
        `${o.number ? `${t('number', o.number)} · ` : ''}${when(o.received_at)} · ${label('channel', o.channel)} · ${label('status', o.status)}`),
      h('div', { class: 'muted snippet' }, o.text))))] : null);
}

function appealCard(a) {
  const d = a.decision || {};
  const c = clock(a);
  const rows = [
    [t('department'), nameOf('departments', a.work.department || d.department)],
    [t('region'), nameOf('regions', a.work.region || d.region)],
    [t('topic'), nameOf('topics', d.topic)],
    [t('priority'), label('priority', d.priority)],
    [t('assignee'), nameOf('employees', a.work.assignee)],
    [t('reactionBy'), when(a.work.reaction_due)],
    [t('resolutionBy'), when(a.work.resolution_due)],
    a.crm && me.role !== 'master' && can('operator') ? [t('crm'), a.crm.url ? h('a', { href: a.crm.url, target: '_blank', rel: 'noopener' }, a.crm.id) : a.crm.id] : null,
    // The router's own marks (`topic:…`, `region:…`) are the rows above, by name.
    ...[a.tags.filter((x) => !/^(topic|region|department|queue):/.test(x))].filter((x) => x.length).map((x) => [t('tags'), x.join(', ')]),
  ].filter(Boolean);
  return h('div', { class: 'card', id: 'routing' }, h('h2', {}, t('appealCard'), ' ', h('span', { class: `due ${c.cls}` }, c.text)),
    h('table', { class: 'facts' }, h('tbody', {}, rows.map(([k, v]) => h('tr', {}, h('th', {}, k), h('td', {}, v ?? '—'))))),
    a.work.waiting_reason ? h('p', { class: 'muted small' }, a.work.waiting_reason) : null);
}

/** The actions the appeal's state and the caller's role allow, saying what they do. */
function actionsCard(a) {
  const id = a.id;
  const open = !['resolved', 'dropped'].includes(a.status);
  const master = me.role === 'master';
  const mine = a.work.assignee && a.work.assignee === me.employee;
  const verb = (name, body) => () => act(label('stage', { take: 'taken', handoff: 'handed_off', pause: 'paused', resume: 'resumed', resolve: 'resolved', reopen: 'reopened' }[name]),
    () => api('POST', `/api/appeals/${id}/${name}`, body()));
  const button = (idName, text, onclick, cls) => h('button', { id: idName, class: cls, onclick }, text);
  const people = dir.employees.map((e) => [e.id, `${e.name || e.id} · ${nameOf('departments', e.department)}`]);
  const assignTo = !me.employee && open ? choice('employee', people, a.work.assignee) : null;
  const reason = h('input', { id: 'reason', placeholder: t('reason') });
  const to = choice('handoff-to', people, '');
  const department = choice('department', entries('departments'), a.work.department);
  const handoff = h('div', { class: 'handoff', id: 'handoff', hidden: true },
    h('div', { class: 'bar tight' }, to, button('handoff-employee', t('handToEmployee'), verb('handoff', () => ({ employee: to.value, reason: reason.value || undefined })), 'secondary small')),
    h('div', { class: 'bar tight' }, department, button('handoff-department', t('handToDepartment'), verb('handoff', () => ({ department: department.value, reason: reason.value || undefined })), 'secondary small')),
    h('div', { class: 'bar tight' }, reason, button('escalate', t('escalate'), verb('handoff', () => ({ escalate: true })), 'secondary small')));
  return h('div', { class: 'card', id: 'actions' },
    h('div', { class: 'bar tight' },
      open && me.employee && (!mine || a.status !== 'in_work') ? button('take', mine ? t('take') : t('takeSelf'), verb('take', () => ({}))) : null,
      assignTo ? [assignTo, button('take', t('assign'), verb('take', () => ({ employee: assignTo.value })))] : null,
      open && !master ? button('handoff-open', t('handOn'), () => { handoff.hidden = !handoff.hidden; }, 'secondary') : null,
      open && a.status !== 'paused' && a.status !== 'new' ? button('pause', t('pause'), verb('pause', () => ({ reason: reason.value || undefined })), 'secondary') : null,
      a.status === 'paused' ? button('resume', t('resume'), verb('resume', () => ({})), 'secondary') : null,
      open && a.status !== 'new' ? button('resolve', t('resolve'), verb('resolve', () => ({})), 'good') : null,
      a.status === 'resolved' && !master ? button('reopen', t('reopen'), verb('reopen', () => ({})), 'secondary') : null,
      a.status === 'triage' && !master ? button('reprocess', t('reprocess'), () => act(t('reprocess'), () => api('POST', `/api/appeals/${id}/reprocess`)), 'danger') : null),
    open && !master ? handoff : null);
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
  return h('details', { class: 'card', id: 'reclassify-box' }, h('summary', { id: 'reclassify-open' }, t('reclassify')),
    h('div', { id: 'reclassify' }, h('div', { class: 'bar tight' }, topic, region, department),
      h('div', { class: 'bar tight' }, why, h('button', { id: 'reclassify-save', class: 'small', onclick: save }, t('reclassifyDo')),
        h('button', { class: 'secondary small', id: 'route-again', onclick: () => act(t('routeAgain'), () => api('POST', `/api/appeals/${a.id}/reclassify`, { route_again: true })) }, t('routeAgain')))));
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
      item.by ? h('span', { class: 'muted small' }, ` — ${item.by}, ${when(item.at)}`) : null))));
}

function historyCard(a) {
  return h('details', { class: 'card', id: 'history-box' }, h('summary', {}, t('history')),
    h('ol', { id: 'history', class: 'history' }, a.history.map((e) => h('li', { 'data-stage': e.stage },
      h('span', { class: 'muted' }, when(e.at)), ' ', h('b', {}, e.title), e.detail ? ` — ${e.detail}` : '',
      e.plugin ? h('span', { class: 'muted small' }, ` (${e.plugin})`) : null))));
}

// --- the desk -----------------------------------------------------------------------------------------

async function inbox() { return deskPage(null); }
async function appeal(id) { return deskPage(id); }

async function deskPage(id) {
  const turn = ++renders;
  loadDesk();
  const operator = can('operator');
  const [health, a] = await Promise.all([api('GET', '/healthz'), id ? api('GET', `/api/appeals/${id}?lang=${LANG}`) : null]);
  const department = a && dir.departments.find((d) => d.id === a.work.department);
  const mayReply = Boolean(a) && operator && (me.role !== 'master' || (department && department.masters_may_reply));
  const templates = mayReply && a.reply && a.reply.possible ? await api('GET', `/api/appeals/${id}/templates`).catch(() => []) : [];
  if (turn !== renders) return;
  const list = listPane(health, id);
  const middle = a
    ? h('section', { class: 'pane chat-pane' },
      h('div', { class: 'appeal-head' },
        h('h1', {}, a.number ? `${t('number', a.number)} · ` : '', customer(a)),
        h('span', { class: `status ${a.status}`, id: 'appeal-status', 'data-status': a.status }, label('status', a.status)),
        late(a) && a.status !== 'resolved' ? h('span', { class: 'status overdue' }, t('overdue')) : null,
        channelIcon(a.channel)),
      a.error && can('supervisor') ? h('p', { class: 'error small' }, a.error) : null,
      conversation(a),
      operator ? composer(a, templates, mayReply) : null)
    : h('section', { class: 'pane chat-pane empty-pane' }, h('p', { class: 'muted' }, t('pickAppeal')));
  const right = a
    ? h('section', { class: 'pane side-pane' }, contactCard(a), appealCard(a),
      operator ? actionsCard(a) : null, checklistCard(a, operator),
      operator && me.role !== 'master' && !['resolved', 'dropped'].includes(a.status) ? reclassifyCard(a) : null,
      historyCard(a))
    : h('section', { class: 'pane side-pane' });
  main().classList.add('desk-main');
  // Whoever was typing keeps the field and the caret through a redraw.
  const typing = document.activeElement && document.activeElement.id ? document.activeElement : null;
  render(h('div', { class: 'desk', id: 'desk' }, list.pane, middle, right));
  const again = typing && document.getElementById(typing.id);
  if (again && again !== typing) {
    again.focus();
    if (typeof typing.selectionStart === 'number' && again.setSelectionRange) again.setSelectionRange(typing.selectionStart, typing.selectionEnd);
  }
  const drawn = Date.now();
  const chat = document.getElementById('conversation');
  if (chat) chat.scrollTop = chat.scrollHeight;
  await list.refresh();
  refreshCounts().catch(() => {});
  editing = false;
  onChange = (changed) => {
    list.refresh().catch(() => {});
    refreshCounts().catch(() => {});
    if (!id || (changed !== null && changed !== id)) return;
    // The echo of one's own action, just drawn: redrawn a moment later, not under the hands.
    const soon = drawn + 1500 - Date.now();
    if (soon > 0) {
      clearTimeout(deskPage.later);
      deskPage.later = setTimeout(() => onChange && onChange(id), soon);
      return;
    }
    // Never under the person's hands: while they type, the update waits for a click.
    if (!editing) return deskPage(id).catch(() => {});
    if (document.getElementById('appeal-changed')) return;
    document.querySelector('.appeal-head').append(h('button', { id: 'appeal-changed', class: 'secondary small', onclick: () => deskPage(id).catch(() => {}) }, t('changedShow')));
  };
  document.onkeydown = (e) => {
    if (e.target === list.search && e.key === 'ArrowDown') list.search.blur();
    else if (e.target.matches('input, textarea, select')) return;
    const rows = [...list.body.querySelectorAll('tr[data-appeal]')];
    if (desk.selected < 0) desk.selected = rows.findIndex((r) => r.dataset.appeal === id);
    const pick = (i) => {
      if (!rows.length) return;
      desk.selected = Math.max(0, Math.min(rows.length - 1, i));
      rows.forEach((r, j) => r.classList.toggle('selected', j === desk.selected));
      rows[desk.selected].scrollIntoView({ block: 'nearest' });
    };
    if (e.key === 'ArrowDown' || e.key === 'j') { e.preventDefault(); pick(desk.selected + 1); }
    if (e.key === 'ArrowUp' || e.key === 'k') { e.preventDefault(); pick(desk.selected - 1); }
    if (e.key === 'Enter' && desk.selected >= 0) rows[desk.selected]?.click();
    if (e.key === '/') { e.preventDefault(); list.search.focus(); }
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
  render(h('div', { class: 'card narrow', id: 'call-card' }, h('h1', {}, t('callCard')),
    h('div', { class: 'bar' }, h('label', {}, `${t('callChannel')}: `), channel),
    h('div', { class: 'bar' }, name, phone, email),
    text,
    h('div', { class: 'bar' }, topic, region),
    h('button', { id: 'create-appeal', onclick: create }, t('create'))));
}
