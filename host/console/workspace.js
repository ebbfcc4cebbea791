// ClientHub console, the operator's workspace: the live inbox, an appeal's page (conversation,
// reply with ready answers, actions, checklist, notes, reclassification) and the call card.
// Uses the core in app.js.
'use strict';

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

/** A customer's attachment: once the host has fetched its file, a photo inline (a click opens
 * it large), a recording or voice message in a player, a video, or a document to download;
 * until then its state. Nothing on a customer-supplied URL loads by itself (a photo URL would
 * tell its owner who opened the appeal, and when). */
function attachment(appeal, a, index) {
  const n = index + 1;
  const file = (appeal.files || []).find((f) => f.n === n);
  const name = (file && file.file_name) || a.file_name || `${a.kind} ${n}`;
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
  const why = file && file.error ? ` (${file.error})` : '';
  return h('span', { class: 'muted', 'data-file-state': file ? file.state : 'pending' }, `${name}: ${state}${why}`,
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

/** A reply with its delivery state, attempts, last error and next try; "retry now" when it failed. */
function replyBubble(id, r) {
  return h('div', { class: 'message reply', 'data-reply': r.id },
    h('div', { class: 'muted' }, when(r.created_at), ' · ', t('reply'), r.author ? ` · ${r.author}` : '', ' · ',
      h('span', { class: `status reply-state ${r.state}` }, label('reply', r.state)),
      r.attempts ? ` · ${t('attempts', r.attempts)}` : '',
      r.next_attempt_at && r.state === 'queued' ? ` · ${t('nextTry', when(r.next_attempt_at))}` : ''),
    h('div', {}, r.text),
    r.error ? h('div', { class: 'error reply-error' }, r.state === 'queued' ? t('replyWillRetry', platformError(r.error)) : platformError(r.error)) : null,
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
  const a = await api('GET', `/api/appeals/${id}?lang=${LANG}`);
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
          a.attachments.length ? h('div', { class: 'attachments bar' }, a.attachments.map((f, i) => attachment(a, f, i))) : null),
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

