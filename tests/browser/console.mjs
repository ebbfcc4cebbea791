// Drives the web console in headless Chromium: log in, see an appeal arrive after a webhook,
// reply, edit the directory and see the next appeal routed by it, activate and roll back a
// plugin, and check that a viewer sees no controls and the API refuses it anyway. Takes a
// screenshot of each page into $CLIENTHUB_SCREENSHOTS. Run by tests/all/console.rs, which
// starts the host and the platform stand-ins and passes:
//   CLIENTHUB_URL, CLIENTHUB_ADMIN_TOKEN, CLIENTHUB_VIEWER_TOKEN, CLIENTHUB_SCREENSHOTS,
//   CLIENTHUB_UPLOAD (a component file to upload), CLIENTHUB_TELEGRAM_SECRET (the channel's
//   generated secret_token, which Telegram sends with each update)
import { check, launch, shot, telegram } from './common.mjs';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';

const base = process.env.CLIENTHUB_URL;
const admin = process.env.CLIENTHUB_ADMIN_TOKEN;
const viewer = process.env.CLIENTHUB_VIEWER_TOKEN;
const telegramSecret = process.env.CLIENTHUB_TELEGRAM_SECRET;

async function login(page, token) {
  await page.goto(`${base}/`);
  await page.fill('#token', token);
  await page.click('#login');
  await page.waitForSelector('#views');
}

const browser = await launch();
try {
  const page = await browser.newPage({ viewport: { width: 1360, height: 900 } });
  // This walk-through runs in English (the switch in the header); the operator's day in Russian.
  await page.addInitScript(() => localStorage.setItem('lang', 'en'));
  page.on('pageerror', (e) => { console.error(`page error: ${e.message}`); process.exitCode = 1; });
  page.on('dialog', (dialog) => dialog.accept());

  // A wrong token is refused on the login form.
  await page.goto(`${base}/`);
  await page.fill('#token', 'not-a-token');
  await page.click('#login');
  await page.waitForSelector('#login-error');
  check((await page.textContent('#login-error')).includes('refused'), 'a wrong token is refused');
  await shot(page, 'login');

  // Log in; an appeal sent by webhook shows up in the inbox by itself.
  await login(page, admin);
  const first = await telegram(99001, 'Хочу вернуть заказ, магазин 101');
  await page.waitForSelector(`tr[data-appeal="${first}"]`, { timeout: 10000 });
  check((await page.textContent(`tr[data-appeal="${first}"]`)).includes('вернуть заказ'), 'the new appeal is in the inbox');
  check((await page.textContent('#channel-warning')).includes('whatsapp'), 'the inbox warns of channels not configured');
  // The search box asks the server: another form of the word finds it, an absent word nothing.
  await page.fill('#search', 'самокат');
  await page.press('#search', 'Enter');
  await page.waitForFunction(() => document.querySelectorAll('#inbox tbody tr').length === 0, null, { timeout: 10000 });
  await page.fill('#search', 'верните');
  await page.press('#search', 'Enter');
  await page.waitForSelector(`tr[data-appeal="${first}"]`, { timeout: 10000 });
  check(true, 'the inbox search finds вернуть by верните');
  await page.fill('#search', '');
  await page.press('#search', 'Enter');
  await shot(page, 'inbox');

  // Its page: history with plugin versions; reply through the channel.
  await page.click(`tr[data-appeal="${first}"]`);
  await page.waitForSelector('#history', { state: 'attached' });
  check((await page.textContent('#history')).includes('rules-router@0.1.1'), 'the history names the router version');
  await page.fill('#reply-text', 'Оформим возврат сегодня');
  await page.click('#send-reply');
  for (let i = 0; i < 50 && !(await page.textContent('#conversation')).includes('sent'); i++) {
    await page.waitForTimeout(200);
    await page.evaluate(() => window.dispatchEvent(new HashChangeEvent('hashchange')));
  }
  check((await page.textContent('#conversation')).includes('Оформим возврат сегодня'), 'the reply is in the conversation');
  check((await page.textContent('#conversation')).includes('sent'), 'the reply was sent');
  await page.selectOption('#employee', 'e-1');
  await page.click('#take');
  await page.waitForFunction(() => document.querySelector('#appeal-status')?.dataset.status === 'in_work');
  check((await page.textContent('#appeal-status')) === 'In work', 'statuses have human names in English too');
  check(true, 'the appeal was taken into work');
  await shot(page, 'appeal');

  // Directory: a new topic in the form, saved, recorded; the next appeal is routed by it.
  await page.goto(`${base}/console/#/directory`);
  await page.waitForSelector('#section-topics');
  await page.click('#add-topics');
  const row = page.locator('#section-topics tbody tr').last();
  await row.locator('input[data-key="id"]').fill('warranty');
  await row.locator('input[data-key="name"]').fill('Гарантия');
  await row.locator('input[data-key="keywords"]').fill('гарантия, сломался');
  await row.locator('input[data-key="department"]').fill('nowhere');
  await page.click('#save-directory');
  await page.waitForSelector('#toast:not([hidden])');
  check((await page.textContent('#toast')).includes('no department nowhere'), 'the form refuses an unknown department');
  check(await row.locator('input[data-key="department"].invalid').count() === 1, 'the problem is marked on its field');
  await row.locator('input[data-key="department"]').fill('delivery');
  await page.click('#save-directory');
  await page.waitForFunction(() => document.querySelector('#directory-history')?.textContent.includes('topic warranty added'));
  check((await page.textContent('#directory-history')).includes('admin'), 'the change is recorded with who made it');
  await shot(page, 'directory');

  // CSV: the employees exported; topics imported from a CSV file, saved.
  const [exported] = await Promise.all([page.waitForEvent('download'),
    page.click('#section-employees button:has-text("Export CSV")')]);
  const csv = readFileSync(await exported.path(), 'utf8');
  check(csv.startsWith('id,name,department,regions') && csv.includes('e-1'), 'employees exported as CSV');
  const topicsCsv = `${mkdtempSync(`${tmpdir()}/console-`)}/topics.csv`;
  writeFileSync(topicsCsv, 'id,name,keywords,department,reaction_minutes\nrefund,Возврат,"вернуть, возврат",returns,30\n' +
    'shipping,Доставка,"курьер, доставка",delivery,60\nwarranty,Гарантия,"гарантия, сломался",delivery,120\n');
  const [chooser] = await Promise.all([page.waitForEvent('filechooser'),
    page.click('#section-topics button:has-text("Import CSV")')]);
  await chooser.setFiles(topicsCsv);
  await page.waitForFunction(() => document.querySelectorAll('#section-topics tbody tr').length === 3);
  await page.click('#save-directory');
  await page.waitForFunction(() => document.querySelector('#directory-history')?.textContent.includes('topic warranty changed'));
  check(true, 'topics imported from CSV and saved');
  const second = await telegram(99002, 'Чайник сломался, он на гарантии');
  await page.goto(`${base}/console/#/appeal/${second}`);
  await page.waitForSelector('#routing');
  const routing = await page.textContent('#routing');
  check(routing.includes('Гарантия'), `the next appeal is routed by the edited directory: ${routing}`);

  // Plugins: activate the uploaded 0.2.0, then roll back.
  await page.goto(`${base}/console/#/plugins`);
  await page.waitForSelector('tr[data-plugin="rules-router"]');
  const telegramRow = await page.textContent('#channels tr[data-channel="telegram"]');
  check(telegramRow.includes(telegramSecret) && telegramRow.includes('setWebhook'), 'the channels card shows what to paste');
  await shot(page, 'plugins');
  await page.click('tr[data-plugin="rules-router"]');
  await page.waitForSelector('tr[data-version="0.2.0"] button.activate');
  await page.click('tr[data-version="0.2.0"] button.activate');
  await page.waitForFunction(() => document.querySelector('#active-version')?.textContent === 'active 0.2.0');
  check(true, 'rules-router 0.2.0 activated from the console');
  const third = await telegram(99003, 'Просто вопрос');
  const routed = await (await fetch(`${base}/api/appeals/${third}`, { headers: { authorization: `Bearer ${admin}` } })).json();
  check(routed.history.some((e) => e.plugin === 'rules-router@0.2.0'), 'the next appeal ran on 0.2.0');
  await shot(page, 'plugin');
  await page.click('#rollback');
  await page.waitForFunction(() => document.querySelector('#active-version')?.textContent === 'active 0.1.1');
  check(true, 'rolled back to 0.1.1 from the console');

  // Replay the candidate over stored appeals; edit the configuration against its schema.
  await page.click('#replay');
  await page.waitForFunction(() => document.querySelector('#replay-result')?.textContent.includes('compared'));
  check(/compared [1-9]/.test(await page.textContent('#replay-result')), 'a replay shows its comparison');
  await page.fill('#config [data-config="default_queue"]', 'first-line');
  await page.click('#save-config');
  await page.waitForFunction(() => document.querySelector('#toast')?.textContent === 'configuration saved');
  const configured = await (await fetch(`${base}/api/plugins/rules-router`, { headers: { authorization: `Bearer ${admin}` } })).json();
  check(configured.config.default_queue === 'first-line', 'the configuration saved from the form');

  // Upload a component from the plugins page.
  await page.goto(`${base}/console/#/plugins`);
  await page.waitForSelector('#upload');
  const [upload] = await Promise.all([page.waitForEvent('filechooser'), page.click('#upload')]);
  await upload.setFiles(process.env.CLIENTHUB_UPLOAD);
  await page.waitForSelector('tr[data-plugin="trap-router"]');
  check(true, 'a component uploaded from the console is listed');

  await page.goto(`${base}/console/#/sla`);
  await page.waitForSelector('#tiles');
  check(await page.locator('.chart svg').count() >= 2, 'the SLA dashboard draws charts');
  await shot(page, 'sla');

  // A viewer: no controls; the API refuses anyway.
  await page.click('#logout');
  await login(page, viewer);
  check((await page.textContent('#who')).includes('viewer'), 'logged in as a viewer');
  await page.goto(`${base}/console/#/appeal/${first}`);
  await page.waitForSelector('#history', { state: 'attached' });
  check(await page.locator('#send-reply').count() === 0, 'a viewer sees no reply form');
  check(await page.isHidden('#nav a[data-page="directory"]') && await page.isHidden('#nav a[data-page="plugins"]'), 'a viewer has no directory or plugins pages');
  await page.goto(`${base}/console/#/plugins`);
  await page.waitForSelector('#no-access');
  check(await page.locator('#upload').count() === 0 && await page.locator('#channels').count() === 0, 'a viewer sees no plugins or channel secrets');
  const refused = await page.evaluate(async (token) => (await fetch('/api/directory', {
    method: 'PUT', headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' }, body: '{}',
  })).status, viewer);
  check(refused === 403, 'the API refuses a viewer anyway');
} finally {
  await browser.close();
}
