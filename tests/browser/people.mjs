// Drives the console as people, not tokens (issue 16), in headless Chromium: an operator opens
// their invitation link, sets a password, signs in with it and sees only their region's
// appeals, marked available; the supervisor signs in too and sees the team's presence and
// load. Run by tests/all/people.rs, which starts the host and passes:
//   CLIENTHUB_URL, CLIENTHUB_INVITE (the operator's invitation link), CLIENTHUB_LOGIN,
//   CLIENTHUB_SUPERVISOR and CLIENTHUB_SUPERVISOR_PASSWORD, CLIENTHUB_IN and CLIENTHUB_OUT
//   (an appeal in the operator's region and one outside it), CLIENTHUB_SCREENSHOTS
import { check, launch, signIn } from './common.mjs';

const env = process.env;
const password = 'пароль оператора 2026';

const browser = await launch();
try {
  const operator = await (await browser.newContext({ viewport: { width: 1360, height: 900 } })).newPage();
  operator.on('pageerror', (e) => { console.error(`page error: ${e.message}`); process.exitCode = 1; });

  // The invitation link: a short password is refused, a long one is set.
  await operator.goto(env.CLIENTHUB_INVITE);
  await operator.fill('#new-password', 'короткий');
  await operator.click('#accept');
  await operator.waitForSelector('#invite-error');
  check((await operator.textContent('#invite-error')).includes('12'), 'a short password is refused');
  await operator.fill('#new-password', password);
  await operator.click('#accept');
  await operator.waitForSelector('#login-error');
  check((await operator.textContent('#login-error')).includes('Пароль задан'), 'the password is set');

  // A wrong password, then the right one.
  await operator.fill('#login-name', env.CLIENTHUB_LOGIN);
  await operator.fill('#password', 'не тот пароль вовсе');
  await operator.click('#sign-in');
  await operator.waitForFunction(() => document.querySelector('#login-error')?.textContent.includes('неверный'));
  check((await operator.textContent('#login-error')).includes('неверный логин или пароль'), 'a wrong password is refused');
  await signIn(operator, env.CLIENTHUB_LOGIN, password);
  await operator.click('#views [data-view="open"]');
  await operator.waitForSelector(`tr[data-appeal="${env.CLIENTHUB_IN}"]`);
  check(await operator.locator(`tr[data-appeal="${env.CLIENTHUB_OUT}"]`).count() === 0, 'the inbox holds only the region\'s appeals');
  check((await operator.textContent('#who')).includes('Казань'), 'the header names the scope, by its names');
  check(await operator.inputValue('#presence') === 'available', 'signing in marks the operator available');
  check(await operator.isHidden('#nav a[data-page="team"]'), 'an operator has no team page');
  await operator.screenshot({ path: `${env.CLIENTHUB_SCREENSHOTS}/operator-inbox.png`, fullPage: true });
  // The appeal outside the region, even by its address.
  await operator.goto(`${env.CLIENTHUB_URL}/console/#/appeal/${env.CLIENTHUB_OUT}`);
  await operator.waitForSelector('main .error');
  check((await operator.textContent('main .error')).includes('no appeal'), 'an appeal outside the scope is not found');

  // The supervisor sees the team: the operator available, holding the region's appeal.
  const supervisor = await (await browser.newContext({ viewport: { width: 1360, height: 900 } })).newPage();
  supervisor.on('pageerror', (e) => { console.error(`page error: ${e.message}`); process.exitCode = 1; });
  await signIn(supervisor, env.CLIENTHUB_SUPERVISOR, env.CLIENTHUB_SUPERVISOR_PASSWORD);
  await supervisor.click('#nav a[data-page="team"]');
  const row = `#team tr[data-employee="${env.CLIENTHUB_LOGIN}"]`;
  await supervisor.waitForSelector(row);
  await supervisor.waitForFunction((selector) => document.querySelector(`${selector} .load`)?.textContent === '1', row, { timeout: 15000 });
  check((await supervisor.textContent(`${row} .presence`)) === 'Доступен', 'the supervisor sees the operator available');
  check((await supervisor.textContent(`${row} .load`)) === '1', 'and holding one open appeal');
  await supervisor.screenshot({ path: `${env.CLIENTHUB_SCREENSHOTS}/team.png`, fullPage: true });

  // Signing out marks the operator off; the supervisor's view follows.
  await operator.goto(`${env.CLIENTHUB_URL}/console/#/inbox`);
  await operator.waitForSelector('#views');
  await operator.click('#logout');
  await operator.waitForSelector('#sign-in');
  await supervisor.reload();
  await supervisor.waitForSelector(row);
  check((await supervisor.textContent(`${row} .presence`)) === 'Не на работе', 'signing out marks the operator off');
} finally {
  await browser.close();
}
