// An operator's shift in one window at 1366×768 (issue 38): the operator signs in to thirty
// appeals of theirs and works them one after another, always the next by deadline — take,
// an internal note (Ctrl+Enter), a ready answer picked with `/` and sent with Ctrl+Enter, the
// checklist, resolve. Checked on the way: at least twelve rows of the list visible, the
// conversation and the composer visible together without scrolling, nothing scrolls
// sideways, the list in deadline order as the API gives it, no English phrase of the host's
// in what the operator sees, and no error in the browser's console (a CSP violation is one).
// Run by tests/all/shift.rs, which passes CLIENTHUB_URL, CLIENTHUB_LOGIN, CLIENTHUB_PASSWORD,
// CLIENTHUB_SHIFT (how many appeals) and CLIENTHUB_SCREENSHOTS.
import { check, launch, shot, signIn } from './common.mjs';

const env = process.env;
const shift = Number(env.CLIENTHUB_SHIFT);
/** The host's own English, which must not reach a Russian operator's screen. */
const ENGLISH = ['Call from', 'Missed call', 'round-robin', 'least-loaded', 'keyword', 'queue', 'routed', 'resolved',
  'taken into work', 'reply', 'appeal', 'failed', 'refused', 'waiting', 'could not', 'no active adapter', 'handed off', 'is full'];

const browser = await launch();
const errors = [];
try {
  const context = await browser.newContext({ viewport: { width: 1366, height: 768 }, locale: 'ru-RU' });
  const page = await context.newPage();
  page.on('pageerror', (e) => errors.push(`page error: ${e.message}`));
  await signIn(page, env.CLIENTHUB_LOGIN, env.CLIENTHUB_PASSWORD);
  // From the sign-in on (before it, the page asks whether a session exists: a 401).
  page.on('console', (m) => { if (m.type() === 'error') errors.push(`console: ${m.text()}`); });
  await page.waitForFunction((n) => document.querySelectorAll('#inbox tr[data-appeal]').length === n, shift, { timeout: 30000 })
    .catch(async (e) => { throw new Error(`${e.message}: ${await page.evaluate(() => document.body.innerText)} ${errors}`); });
  check((await page.textContent('#views [data-view="mine"]')).includes(String(shift)), '«Мои» counts the shift');

  const layout = () => page.evaluate(() => {
    const box = (s) => document.querySelector(s)?.getBoundingClientRect();
    const list = box('.list-scroll');
    const rows = [...document.querySelectorAll('#inbox tr[data-appeal]')].filter((r) => {
      const b = r.getBoundingClientRect();
      return b.top >= list.top - 1 && b.bottom <= list.bottom + 1;
    }).length;
    const sideways = [document.documentElement, ...document.querySelectorAll('.pane, .chat, .list-scroll')]
      .filter((el) => el.scrollWidth > el.clientWidth + 1).map((el) => `${el.className || el.tagName} ${el.scrollWidth}>${el.clientWidth}`);
    const chat = box('#conversation');
    const composer = box('#composer');
    const together = Boolean(chat && composer) && chat.top >= 0 && chat.bottom <= innerHeight && chat.height > 150
      && composer.top >= chat.bottom - 1 && composer.bottom <= innerHeight;
    return { rows, sideways, together, text: document.body.innerText };
  });
  const english = (text) => ENGLISH.filter((phrase) => text.toLowerCase().includes(phrase.toLowerCase()));

  await shot(page, 'desk-1366-list');
  const first = await layout();
  check(first.rows >= 12, `at least twelve rows of the list are visible: ${first.rows}`);
  check(first.sideways.length === 0, `nothing scrolls sideways: ${first.sideways}`);

  for (let n = 0; n < shift; n++) {
    // The list in deadline order, as the API orders the view; the first is the next to work.
    const api = await page.evaluate(async () => (await (await fetch('/api/appeals?view=mine')).json()).items);
    const ids = JSON.stringify(api.map((a) => a.id));
    await page.waitForFunction((expected) => JSON.stringify([...document.querySelectorAll('#inbox tr[data-appeal]')]
      .map((r) => r.dataset.appeal)) === expected, ids, { timeout: 10000 });
    check(true, `appeal ${n + 1}: the list is the view`);
    const order = api.map((a) => a.id);
    const due = (a) => (a.work.taken_at ? a.work.resolution_due : a.work.reaction_due ?? a.work.resolution_due) ?? Infinity;
    check(api.every((a, i) => i === 0 || due(api[i - 1]) <= due(a)), `appeal ${n + 1}: by deadline`);
    const id = order[0];
    await page.click(`tr[data-appeal="${id}"]`);
    await page.waitForSelector(`tr.current[data-appeal="${id}"]`);
    await page.waitForSelector('#take');
    if (n === 0) await shot(page, 'desk-1366');
    const view = await layout();
    check(view.together, `appeal ${n + 1}: the conversation and the composer are on the screen together`);
    check(view.sideways.length === 0, `appeal ${n + 1}: nothing scrolls sideways: ${view.sideways}`);
    check(view.rows >= 12 || order.length - n < 12, `appeal ${n + 1}: ${view.rows} rows still in sight`);
    const words = english(view.text);
    check(words.length === 0, `appeal ${n + 1}: no English on the screen: ${words}`);

    await page.click('#take');
    await page.waitForFunction(() => document.querySelector('#appeal-status')?.dataset.status === 'in_work');
    await page.click('#tab-note');
    await page.fill('#note-text', `Перезвонить после 18:00 (${n + 1})`);
    await page.press('#note-text', 'Control+Enter');
    await page.waitForFunction((k) => document.querySelector('#conversation .bubble.note')?.textContent.includes(`(${k})`), n + 1)
      .catch(async (e) => { throw new Error(`${e.message}; toast: ${await page.textContent('#toast')}; note: ${await page.inputValue('#note-text')}; ${errors}`); });
    await page.click('#tab-reply');
    await page.fill('#reply-text', '/Прив');
    await page.waitForSelector('#template-picker li');
    await page.press('#reply-text', 'Enter');
    const drafted = await page.inputValue('#reply-text');
    check(/^Здравствуйте, [А-ЯЁа-яё]+! Обращение № \d+: мастер приедет завтра\.$/.test(drafted), `appeal ${n + 1}: the ready answer by «/»: ${drafted}`);
    await page.press('#reply-text', 'Control+Enter');
    await page.waitForSelector('#conversation [data-reply] .reply-state');
    for (const item of ['photo', 'act']) {
      await page.check(`li[data-item="${item}"] input`);
      await page.waitForFunction((i) => document.querySelector(`li[data-item="${i}"]`)?.textContent.includes('Рустам'), item);
    }
    await page.click('#resolve');
    await page.waitForFunction(() => document.querySelector('#appeal-status')?.dataset.status === 'resolved');
    await page.waitForFunction((gone) => !document.querySelector(`#inbox tr[data-appeal="${gone}"]`), id);
  }
  check(true, `a shift of ${shift} appeals worked in one window`);
  await page.waitForFunction(() => document.querySelector('#views [data-count="mine"]')?.textContent === '0');
  check(true, '«Мои» is empty at the end');

  // The same desk on a large screen, an appeal open.
  await page.setViewportSize({ width: 1920, height: 1080 });
  await page.click('#views [data-view="resolved"]');
  await page.waitForSelector('#inbox tr[data-appeal]');
  await page.click('#inbox tr[data-appeal]');
  await page.waitForSelector('#conversation [data-reply]');
  const large = await layout();
  check(large.together && large.sideways.length === 0, 'at 1920×1080 too');
  await shot(page, 'desk-1920');
} finally {
  await browser.close();
}
check(errors.length === 0, `no error in the browser's console: ${errors.join('; ')}`);
