// Attachments in the console (issue 18): a customer's photo shows inline and opens large, and
// their voice message plays (the audio element learns its duration from the served file).
// Run by tests/all/media.rs, which passes CLIENTHUB_URL, CLIENTHUB_ADMIN_TOKEN,
// CLIENTHUB_APPEAL, CLIENTHUB_SCREENSHOTS.
import { check, launch, shot, signInWithToken } from './common.mjs';

const env = process.env;
const browser = await launch();
try {
  const page = await (await browser.newContext({ viewport: { width: 1440, height: 900 }, locale: 'ru-RU' })).newPage();
  page.on('pageerror', (e) => { console.error(`page error: ${e.message}`); process.exitCode = 1; });
  await signInWithToken(page);
  await page.goto(`${env.CLIENTHUB_URL}/console/#/appeal/${env.CLIENTHUB_APPEAL}`);
  await page.waitForSelector('#conversation img.photo');
  await page.waitForFunction(() => document.querySelector('#conversation img.photo')?.naturalWidth === 4);
  check(true, 'the photo shows: the browser decoded the served image');
  const duration = await page.waitForFunction(() => {
    const audio = document.querySelector('#conversation audio');
    return audio && audio.readyState >= 1 && Number.isFinite(audio.duration) && audio.duration;
  });
  const seconds = await duration.jsonValue();
  check(Math.abs(seconds - 1) < 0.05, `the voice message plays: ${seconds} s`);
  const played = await page.evaluate(async () => {
    const audio = document.querySelector('#conversation audio');
    audio.muted = true;
    audio.currentTime = 0.5;
    await new Promise((resolve) => audio.addEventListener('seeked', resolve, { once: true }));
    return audio.currentTime;
  });
  check(Math.abs(played - 0.5) < 0.05, 'the recording can be scrubbed (range requests)');
  check((await page.textContent('#history')).includes('Файл сохранён'), 'the history says the files were kept');
  await page.click('#conversation img.photo');
  await page.waitForSelector('#viewer img');
  await shot(page, 'photo-viewer');
  await page.keyboard.press('Escape');
  await page.waitForSelector('#viewer', { state: 'detached' });
  check(true, 'the photo opens large and closes with Esc');
  await shot(page, 'attachments');
} finally {
  await browser.close();
}
