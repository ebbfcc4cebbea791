// The routing bench in the console (issue 21): a supervisor types a text as a customer writes it
// and sees the active router's decision and an uploaded candidate's, each with its reason; the
// admin previews a directory edit before saving it.
// Run by tests/all/routing.rs, which passes CLIENTHUB_URL, CLIENTHUB_ADMIN_TOKEN, CLIENTHUB_SCREENSHOTS.
import { check, launch, shot, signInWithToken } from './common.mjs';

const env = process.env;
const browser = await launch();
try {
  const page = await (await browser.newContext({ viewport: { width: 1440, height: 900 }, locale: 'ru-RU' })).newPage();
  page.on('pageerror', (e) => { console.error(`page error: ${e.message}`); process.exitCode = 1; });
  await signInWithToken(page);
  await page.goto(`${env.CLIENTHUB_URL}/console/#/directory`);
  await page.waitForSelector('#routing-bench');
  check((await page.textContent('#routing-bench h2')) === 'Проверка маршрутизации', 'the bench speaks Russian');

  await page.fill('#try-text', 'Верните деньги, я в Казани, магазин 201');
  await page.fill('#try-channel', 'vk');
  await page.click('#try-run');
  await page.waitForSelector('#try-results tr[data-router]');
  const rows = await page.$$eval('#try-results tr[data-router]', (trs) => trs.map((tr) => ({
    router: tr.dataset.router, cells: [...tr.cells].map((td) => td.textContent) })));
  const active = rows.find((r) => r.router.startsWith('rules-router@0.1.1'));
  check(active && active.cells[0].includes('активный'), `the active router is marked: ${JSON.stringify(rows)}`);
  check(active.cells[2] === 'refund' && active.cells[3] === 'kzn', `its topic and region: ${active.cells}`);
  check(active.cells[5].includes("keyword 'вернуть'") && active.cells[5].includes('store 201'), `with the reason: ${active.cells[5]}`);
  const candidate = rows.find((r) => r.router === 'rules-router@0.2.0');
  check(candidate && candidate.cells[1] === 'priority-desk' && !candidate.cells[0].includes('активный'), 'the uploaded candidate answers too');
  await shot(page, 'routing-bench');

  // Preview: a new keyword for the refund topic, before saving.
  const keywords = page.locator('#section-topics tbody tr').first().locator('input[data-key="keywords"]');
  await keywords.fill(`${await keywords.inputValue()}, касса`);
  await page.click('#preview-directory');
  await page.waitForSelector('#directory-preview:not([hidden]) h2');
  const title = await page.textContent('#directory-preview h2');
  check(/изменится [1-9]/.test(title), `the preview counts the changes: ${title}`);
  await shot(page, 'directory-preview');
} finally {
  await browser.close();
}
