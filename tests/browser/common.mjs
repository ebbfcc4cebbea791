// What the console's browser runs share: a logged check, a Telegram webhook as Telegram sends
// it (with the channel's secret_token), screenshots, headless Chromium, a password sign-in.
// Reads CLIENTHUB_URL, CLIENTHUB_TELEGRAM_SECRET and CLIENTHUB_SCREENSHOTS.
import { chromium } from 'playwright-core';

const env = process.env;

/** Fails the run with `what` unless `condition`; logs it otherwise. */
export function check(condition, what) {
  if (!condition) throw new Error(`console check failed: ${what}`);
  console.log(`ok: ${what}`);
}

/** A Telegram text update from a customer; the appeal's id. */
export async function telegram(updateId, text) {
  const update = {
    update_id: updateId,
    message: { message_id: updateId, date: 1763900000, text,
      from: { id: updateId, is_bot: false, first_name: 'Мария' }, chat: { id: updateId, type: 'private' } },
  };
  const answer = await fetch(`${env.CLIENTHUB_URL}/hooks/telegram`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', 'x-telegram-bot-api-secret-token': env.CLIENTHUB_TELEGRAM_SECRET },
    body: JSON.stringify(update),
  });
  check(answer.status === 200, `webhook ${updateId} accepted`);
  return answer.headers.get('x-clienthub-appeal');
}

/** A full-page screenshot named `name`. */
export function shot(page, name) {
  return page.screenshot({ path: `${env.CLIENTHUB_SCREENSHOTS}/${name}.png`, fullPage: true });
}

/** Debian's Chromium, headless, quiet. */
export function launch() {
  return chromium.launch({
    executablePath: '/usr/bin/chromium',
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
      '--disable-background-networking', '--disable-component-update', '--disable-sync'],
  });
}

/** Signs in with the admin token (CLIENTHUB_ADMIN_TOKEN); waits for the inbox. */
export async function signInWithToken(page) {
  await page.goto(`${env.CLIENTHUB_URL}/`);
  await page.fill('#token', env.CLIENTHUB_ADMIN_TOKEN);
  await page.click('#login');
  await page.waitForSelector('#views');
}

/** Signs in with a login and password; waits for the inbox. */
export async function signIn(page, login, password) {
  await page.goto(`${env.CLIENTHUB_URL}/`);
  await page.fill('#login-name', login);
  await page.fill('#password', password);
  await page.click('#sign-in');
  await page.waitForSelector('#views');
}
