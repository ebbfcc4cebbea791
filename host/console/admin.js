// ClientHub console, the admins' and supervisors' pages: the routing directory, plugins and
// channels, the SLA dashboard and reports. Uses the core in app.js.
'use strict';

// --- routing directory -------------------------------------------------------------------------

const SECTIONS = {
  regions: ['id', 'name', 'cities', 'stores', 'time_zone'],
  departments: ['id', 'name', 'queue', 'fallback_queue', 'escalate_to', 'escalate_after_minutes', 'manager', 'notify', 'notify_regions', 'external', 'masters_may_reply'],
  employees: ['id', 'name', 'department', 'regions', 'active', 'crm_user_id', 'max_open', 'working_hours', 'days_off', 'notify'],
  topics: ['id', 'name', 'keywords', 'exact_keywords', 'exclusions', 'channels', 'priority', 'department', 'reaction_minutes', 'resolution_minutes', 'business_hours', 'checklist'],
  patterns: ['key', 'pattern', 'region'],
};
const ARRAYS = new Set(['cities', 'stores', 'regions', 'keywords', 'days_off', 'exact_keywords', 'exclusions', 'channels']);
const NUMBERS = new Set(['escalate_after_minutes', 'max_open', 'reaction_minutes', 'resolution_minutes', 'priority']);
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
      field('utc_offset_minutes', directory.utc_offset_minutes), field('pause_limit_minutes', directory.pause_limit_minutes),
      field('notices', directory.notices))));
}

/** Ready answers, edited by admins: id, name, topic (empty: for all) and text with variables. */
function templatesCard(templates, editable) {
  const body = h('tbody');
  const keys = ['id', 'name', 'topic', 'text'];
  const addRow = (row) => body.append(h('tr', {},
    keys.map((k) => h('td', {}, k === 'text'
      ? h('textarea', { 'data-template': k, value: row[k] || '', disabled: !editable, rows: 2 })
      : h('input', { 'data-template': k, value: row[k] || '', disabled: !editable }))),
    editable ? h('td', {}, h('button', { class: 'danger', onclick: (e) => e.target.closest('tr').remove() }, '×')) : null));
  templates.forEach(addRow);
  const save = () => {
    const list = [...body.rows].map((tr) => Object.fromEntries([...tr.querySelectorAll('[data-template]')]
      .map((el) => [el.dataset.template, el.value.trim()]).filter(([k, v]) => v || k !== 'topic')));
    act(t('templatesSaved'), () => api('PUT', '/api/templates', list));
  };
  return h('div', { class: 'card', id: 'section-templates' }, h('h2', {}, t('templates')),
    h('p', { class: 'muted' }, t('templatesHint')),
    h('table', {}, h('thead', {}, h('tr', {}, keys.map((k) => h('th', {}, t(`template_${k}`))), editable ? h('th', {}) : null)), body),
    editable ? h('div', { class: 'bar' },
      h('button', { class: 'secondary', id: 'add-template', onclick: () => addRow({}) }, t('add')),
      h('button', { id: 'save-templates', onclick: save }, t('save'))) : null);
}

async function directoryPage() {
  const [directory, history, templates] = await Promise.all([
    api('GET', '/api/directory'), api('GET', '/api/directory/history'), api('GET', '/api/templates'),
  ]);
  const editable = can('admin');
  const tables = {};
  const section = (name) => {
    const keys = [...SECTIONS[name]];
    directory[name] ??= [];
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
    for (const input of document.querySelectorAll('#main input.invalid')) {
      input.classList.remove('invalid');
      input.removeAttribute('title');
    }
    // Each problem is listed and marked on its field.
    const problem = (name, row, key, text) => {
      problems.push(text);
      const input = tables[name].body.rows[row]?.querySelector(`input[data-key="${key}"]`);
      if (input) {
        input.classList.add('invalid');
        input.title = text;
      }
    };
    for (const name of Object.keys(SECTIONS).filter((n) => n !== 'patterns')) {
      const ids = next[name].map((r) => r.id);
      ids.forEach((id, i) => {
        if (!id) problem(name, i, 'id', t('noId', label('section', name), i + 1));
        else if (ids.indexOf(id) !== i) problem(name, i, 'id', t('twice', label('section', name), id));
      });
    }
    const departments = new Set(next.departments.map((x) => x.id));
    next.employees.forEach((e, i) => e.department && !departments.has(e.department) && problem('employees', i, 'department', t('noDepartment', 'employee', e.id, e.department)));
    next.topics.forEach((x, i) => x.department && !departments.has(x.department) && problem('topics', i, 'department', t('noDepartment', 'topic', x.id, x.department)));
    if (problems.length) throw new Error(problems.join('\n'));
    return next;
  };
  const save = (next) => act(t('directorySaved'), () => api('PUT', '/api/directory', next));
  const previewCard = h('div', { class: 'card', id: 'directory-preview', hidden: true });
  const preview = async () => {
    try {
      const p = await api('POST', '/api/directory/preview', { directory: collect(), last: 200 });
      previewCard.hidden = false;
      previewCard.replaceChildren(h('h2', {}, t('previewTitle', p.compared, p.changed, p.router)),
        ...['topics', 'regions', 'departments'].map((part) => h('table', { 'data-part': part },
          h('thead', {}, h('tr', {}, h('th', {}, label('field', part === 'topics' ? 'keywords' : part === 'regions' ? 'regions' : 'department')), h('th', {}, t('previewNow')), h('th', {}, t('previewEdited')))),
          h('tbody', {}, p[part].filter((c) => c.now !== c.edited).map((c) => h('tr', {}, h('td', {}, c.value), h('td', {}, String(c.now)), h('td', {}, String(c.edited))))))),
        h('ul', {}, p.examples.map((e) => h('li', {}, `${e.text} — ${decisionText(e.now)} → ${decisionText(e.edited)}`))));
    } catch (e) { toast(e.message, true); }
  };
  render(
    h('h1', {}, t('directoryTitle')),
    h('div', { class: 'bar' },
      editable ? h('button', { id: 'save-directory', onclick: () => { try { save(collect()); } catch (e) { toast(e.message, true); } } }, t('save')) : h('span', { class: 'muted' }, t('readOnly')),
      editable ? h('button', { class: 'secondary', id: 'preview-directory', onclick: preview }, t('previewRun')) : null,
      h('button', { class: 'secondary', onclick: () => download('directory.json', JSON.stringify(directory, null, 2), 'application/json') }, t('exportJson')),
      editable ? h('button', { class: 'secondary', onclick: () => pickFile('.json,application/json', async (f) => save(JSON.parse(await f.text()))) }, t('importJson')) : null),
    previewCard,
    can('supervisor') ? routingBench() : null,
    Object.keys(SECTIONS).map(section),
    settingsCard(directory, editable),
    templatesCard(templates, editable),
    h('div', { class: 'card' }, h('h2', {}, t('changes')),
      h('table', { id: 'directory-history' }, h('thead', {}, h('tr', {}, [t('when'), t('who'), t('what')].map((x) => h('th', {}, x)))),
        h('tbody', {}, history.map((c) => h('tr', {}, h('td', {}, when(c.at)), h('td', {}, c.by), h('td', {}, c.changes.join('; ') || t('noChange'))))))));
}

/** A decision in one line: queue · topic · region · department. */
function decisionText(d) {
  return d ? [d.queue, d.topic, d.region, d.department].map((x) => x || '—').join(' · ') : '—';
}

/** The routing bench: a text as a customer writes it, through the active router and every other
 * uploaded router version, each decision with its reason. */
function routingBench() {
  const text = h('textarea', { id: 'try-text', rows: 3, placeholder: t('tryText') });
  const channel = h('input', { id: 'try-channel', value: 'webform', list: 'try-channels' });
  const results = h('tbody', { id: 'try-results' });
  const run = async () => {
    let trials;
    try {
      trials = await api('POST', '/api/routing/try', { text: text.value, channel: channel.value.trim() || 'webform' });
    } catch (e) {
      return toast(e.message, true);
    }
    results.replaceChildren(...(trials.length ? trials : [null]).map((r) => r
      ? h('tr', { 'data-router': r.router, class: r.active ? 'current' : '' },
        h('td', {}, r.router, r.active ? ` (${t('tryActive')})` : ''),
        h('td', {}, r.decision ? r.decision.queue : '—'), h('td', {}, r.decision?.topic || '—'),
        h('td', {}, r.decision?.region || '—'), h('td', {}, r.decision?.department || '—'),
        h('td', { class: r.error ? 'error' : 'muted' }, r.error || r.decision.reason))
      : h('tr', {}, h('td', { colspan: 6 }, t('tryNothing')))));
  };
  return h('div', { class: 'card', id: 'routing-bench' },
    h('h2', {}, t('tryTitle')),
    text,
    h('div', { class: 'bar' }, h('label', {}, t('tryChannel'), ' ', channel),
      h('datalist', { id: 'try-channels' }, ['webform', 'telegram', 'vk', 'whatsapp', 'email', 'zadarma', 'reviews'].map((c) => h('option', { value: c }))),
      h('button', { id: 'try-run', onclick: run }, t('tryRun'))),
    h('table', {}, h('thead', {}, h('tr', {}, [t('tryRouter'), label('field', 'queue'), label('field', 'keywords'), label('field', 'regions'), label('field', 'department'), t('tryReason')].map((x) => h('th', {}, x)))), results));
}

// --- plugins -----------------------------------------------------------------------------------

/** A warning while channels accept unverified deliveries or refuse them for a missing secret. */
function channelWarning(health) {
  const open = health.unverified_channels || [];
  const unset = health.unconfigured_channels || [];
  if (!open.length && !unset.length || !can('admin')) return null;
  return h('p', { class: 'error', id: 'channel-warning' },
    open.length ? `${t('openChannels', open.join(', '))} ` : '',
    unset.length ? t('unsetChannels', unset.join(', ')) : '');
}

/** Each channel's webhook address, state, generated secrets and what to paste on the platform. */
async function channelsCard() {
  const channels = await api('GET', `/api/channels?lang=${LANG}`);
  const state = (c) => ({ verified: t('verified'), unverified: t('unverified') })[c.verification.state]
    || t('notConfigured', list(c.verification.missing) || '—');
  const toggle = (c) => {
    const opening = c.verification.state !== 'unverified';
    const text = opening ? t('openUnverified') : t('requireVerification');
    const run = () => {
      if (opening && !confirm(t('confirmOpen', c.channel))) return;
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
      replayResult.replaceChildren(h('p', {}, t('replayResult', page.compared, page.differed, page.skipped)), comparisons(page.differences));
    } catch (e) { toast(t('failed', 'replay', e.message), true); }
  };
  const ru = LANG === 'ru';
  render(
    h('h1', {}, `${name} `, h('span', { class: 'status', id: 'active-version' }, p.active ? t('activeVersion', p.active) : t('inactive'))),
    h('p', { class: 'muted' }, p.versions[0]?.description),
    admin ? h('div', { class: 'bar' },
      p.previous.length ? h('button', { class: 'danger', id: 'rollback', onclick: () => act(ru ? 'откат выполнен' : 'rolled back', () => api('POST', `/api/plugins/${name}/rollback`)) }, `${ru ? 'Откатить на' : 'Roll back to'} ${p.previous[p.previous.length - 1]}`) : null,
      p.active && kind !== 'router' ? h('button', { class: 'secondary', onclick: () => confirm(kind === 'channel' ? t('confirmChannelOff', name) : t('confirmRemove', name))
        && act(ru ? 'выключен' : 'deactivated', () => api('POST', `/api/plugins/${name}/deactivate`)) }, ru ? 'Выключить' : 'Deactivate') : null) : null,
    h('div', { class: 'card' }, h('h2', {}, ru ? 'Версии' : 'Versions'),
      h('table', { id: 'versions' }, h('thead', {}, h('tr', {}, [t('version'), t('uploaded'), 'WIT', t('size'), 'sha256', t('calls'), t('errors'), ''].map((x) => h('th', {}, x)))),
        h('tbody', {}, p.versions.map((v) => {
          const counts = p.calls[v.version] || { calls: 0, errors: 0 };
          return h('tr', { 'data-version': v.version },
            h('td', {}, v.version, v.version === p.active ? ' ✓' : ''), h('td', {}, when(v.uploaded_at)), h('td', {}, v.wit_version),
            h('td', {}, `${Math.round(v.size / 1024)} KiB`), h('td', {}, v.sha256.slice(0, 12)), h('td', {}, counts.calls), h('td', { class: counts.errors ? 'error' : '' }, counts.errors),
            h('td', {}, admin && v.version !== p.active ? [
              h('button', { class: 'activate', onclick: () => confirm(t('confirmActivate', `${name}@${v.version}`))
                && act(`${name}@${v.version}`, () => api('POST', `/api/plugins/${name}/activate`, { version: v.version })) }, ru ? 'Включить' : 'Activate'), ' ',
              kind !== 'channel' ? h('button', { class: 'secondary', onclick: () => act(t('shadow'), () => api('POST', `/api/plugins/${name}/shadow`, { version: v.version })) }, t('shadow')) : null,
            ] : null));
        })))),
    admin ? configForm(p.versions.find((v) => v.version === p.active)?.config_schema || {}, p.config || {}, name) : null,
    kind !== 'channel' ? h('div', { class: 'card', id: 'shadow' }, h('h2', {}, t('shadow')),
      shadow ? [h('p', {}, `${shadow.version}: ${t('replayResult', shadow.compared, shadow.differed, 0)}`), comparisons(shadow.examples || []),
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
      add('rect', { x: 130, y: y + 4 + j * 16, width: Math.max(w, 1), height: 12, class: `series-${j}` });
      add('text', { x: 135 + w, y: y + 14 + j * 16 }, `${s.label} ${Math.round(value * 10) / 10}`);
    });
  });
  // Colours by class (series-0…3 in the stylesheet): the console's CSP allows no inline style.
  series.forEach((s, j) => add('text', { x: 130 + j * 150, y: rows.length * rowHeight + 18, class: `legend series-${j}` }, `■ ${s.label}`));
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
      { field: 'reaction_avg_min', label: t('reactionAvg') },
      { field: 'reaction_p90_min', label: t('reactionP90') },
      { field: 'resolution_avg_min', label: t('resolutionAvg') },
      { field: 'resolution_p90_min', label: t('resolutionP90') },
    ];
    const share = (v) => (v === null || v === undefined ? '—' : `${Math.round(v * 1000) / 10} %`);
    render(
      h('h1', {}, t('slaTitle')),
      h('div', { class: 'tiles', id: 'tiles' },
        byStatus.map((r) => h('div', { class: 'tile' }, h('b', {}, r.appeals), label('status', r.status))),
        h('div', { class: 'tile' }, h('b', { class: lateNow.length ? 'error' : '' }, lateNow.length), t('overdueNow'))),
      h('div', { class: 'card' }, h('h2', {}, t('overdueList')),
        lateNow.length ? h('table', { id: 'overdue' }, h('thead', {}, h('tr', {}, [t('appeal'), t('department'), t('assignee'), t('reactionDue'), t('resolutionDue')].map((x) => h('th', {}, x)))),
          h('tbody', {}, lateNow.map((a) => h('tr', {}, h('td', {}, h('a', { href: `#/appeal/${a.id}` }, a.number ? t('number', a.number) : a.id)), h('td', {}, nameOf('departments', a.work.department)), h('td', {}, nameOf('employees', a.work.assignee)),
            h('td', {}, when(a.work.reaction_due)), h('td', {}, when(a.work.resolution_due))))))
          : h('p', { class: 'muted' }, t('nothingOverdue'))),
      bars(t('byChannel'), byChannel, 'channel', [{ field: 'appeals', label: t('appeals') }], (c) => label('channel', c)),
      bars(t('byTopic'), topics, 'topic', times, (x) => nameOf('topics', x)),
      bars(t('byDepartment'), departments, 'department', times, (x) => nameOf('departments', x)),
      reportTable('report-employees', t('byEmployee'), answers, [
        ['assignee', t('employee'), (x) => nameOf('employees', x === '-' ? null : x)], ['appeals', t('appeals')], ['answered', t('answered')],
        ['never_answered_share', t('neverAnswered'), share], ['first_reply_avg_min', t('firstReply')], ['handling_avg_min', t('handling')],
      ], '/api/reports/answers?by=assignee'),
      reportBuilder());
  };
  await draw();
  timer = setInterval(() => !editing && draw().catch(() => {}), 5000);
}

/** Any report by any dimension over a period, as a table with its CSV download. */
function reportBuilder() {
  const kinds = ['appeals', 'times', 'overdue', 'answers', 'csat', 'dropped'];
  const dimensions = ['channel', 'topic', 'region', 'department', 'status', 'assignee'];
  const kind = choice('report-kind', kinds.map((k) => [k, t(`report_${k}`)]), reportChoice.kind);
  const by = choice('report-by', dimensions.map((d) => [d, t(d)]), reportChoice.by);
  const from = h('input', { id: 'report-from', type: 'date', value: reportChoice.from });
  const to = h('input', { id: 'report-to', type: 'date', value: reportChoice.to });
  const out = h('div', { id: 'report-result' });
  const names = { topic: 'topics', region: 'regions', department: 'departments', assignee: 'employees' };
  const show = async () => {
    Object.assign(reportChoice, { kind: kind.value, by: by.value, from: from.value, to: to.value });
    const query = new URLSearchParams({ by: by.value });
    if (from.value) query.set('from', from.value);
    if (to.value) query.set('to', to.value);
    const path = `/api/reports/${kind.value}?${query}`;
    const rows = await api('GET', path);
    const columns = rows.length ? Object.keys(rows[0]) : [];
    const cell = (key, value) => (key === by.value && names[key] ? nameOf(names[key], value === '-' ? null : value)
      : key === by.value && key === 'channel' ? label('channel', value) : key === 'status' ? label('status', value)
        : key.endsWith('_share') && typeof value === 'number' ? `${Math.round(value * 1000) / 10} %` : value ?? '—');
    out.replaceChildren(rows.length
      ? h('table', {}, h('thead', {}, h('tr', {}, columns.map((c) => h('th', { 'data-column': c }, label('columns', c))))),
        h('tbody', {}, rows.map((r) => h('tr', {}, columns.map((c) => h('td', {}, cell(c, r[c])))))))
      : h('p', { class: 'muted' }, t('noData')),
    h('a', { href: `${path}&format=csv`, class: 'button secondary', download: `${kind.value}-${by.value}.csv` }, t('downloadCsv')));
    editing = false;
  };
  const card = h('div', { class: 'card', id: 'reports' }, h('h2', {}, t('reports')),
    h('div', { class: 'bar' }, kind, by, from, to, h('button', { id: 'report-show', onclick: () => show().catch((e) => toast(e.message, true)) }, t('showReport'))), out);
  show().catch(() => {});
  return card;
}

/** The report last asked for, kept across the dashboard's refreshes. */
const reportChoice = { kind: 'appeals', by: 'channel', from: '', to: '' };

