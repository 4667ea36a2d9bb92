/**
 * The kiosk page: a screen beside the canteen door (a Pi's Chromium in kiosk mode, or a
 * tablet). Full screen, Simplified Chinese, very large white-on-dark text (contrast above 12:1
 * on every background), one thing at a time: the idle screen with the clock and the meal
 * windows, "请稍候" while the door decides, then the name and the message for a few seconds.
 *
 * State comes from /kiosk/events (server-sent events, web/kiosk-routes.ts): EventSource
 * reconnects by itself, and the page starts a new one when the stream closes for good (the edge
 * restarted with an error page in between) or goes silent past two heartbeats. The clock shown
 * is the edge's (`tick.now`): a Pi has no real-time clock and the centre may have no internet.
 *
 * Sound: the box's WAV (`decision.audio`) in an <audio> element; when autoplay is refused
 * (Chromium without --autoplay-policy=no-user-gesture-required), a one-time "点击屏幕开启声音"
 * button; speechSynthesis only when the box has no audio and the browser has a zh-CN voice.
 *
 * `window.__kiosk` records what was shown and played (ids, decision → DOM and → next frame in
 * ms), for the browser tests and the bench; it holds no names.
 */
import type { Translate } from '../i18n/index.ts';
import type { KioskTick } from '../../kiosk/kiosk-hub.ts';
import { html, type Html } from '../../../../common/web/html.ts';

export interface KioskPageOptions {
  t: Translate;
  timeZone: string;
  /** Seconds a decision stays on screen. */
  showSeconds: number;
  /** The state when the page is served, so it is right before the stream connects. */
  tick: KioskTick;
}

function windowLine(t: Translate, tick: KioskTick): Html {
  if (tick.current) return html`${t('kiosk.now', { meal: tick.current.name, start: tick.current.start, end: tick.current.end })}`;
  if (tick.next) return html`${t(tick.next.tomorrow ? 'kiosk.nextTomorrow' : 'kiosk.next', { meal: tick.next.name, start: tick.next.start, end: tick.next.end })}`;
  return html``;
}

export function renderKioskPage(o: KioskPageOptions): string {
  const { t } = o;
  return html`<!doctype html>
<html lang="zh-CN">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>${t('kiosk.title')}</title>
<link rel="stylesheet" href="/kiosk/assets/kiosk.css">
<script src="/kiosk/assets/kiosk.js" defer></script>
</head>
<body data-state="idle" data-tone="" data-time-zone="${o.timeZone}" data-show-ms="${Math.round(o.showSeconds * 1000)}" data-now="${o.tick.now}"
  data-t-now="${t('kiosk.now')}" data-t-next="${t('kiosk.next')}" data-t-next-tomorrow="${t('kiosk.nextTomorrow')}">
<header class="top">
  <div id="window" class="window">${windowLine(t, o.tick)}</div>
  <div class="when"><span id="date" class="date"></span><span id="clock" class="clock"></span></div>
</header>
<main>
  <section id="idle" class="pane idle">
    <p class="welcome">${t('kiosk.welcome')}</p>
    <p class="hint">${t('kiosk.hint')}</p>
  </section>
  <section id="wait" class="pane wait" aria-live="polite">
    <p class="big">${t('kiosk.wait')}</p>
  </section>
  <section id="decision" class="pane decision" role="status" aria-live="assertive">
    <p id="name" class="name"></p>
    <p id="message" class="message"></p>
  </section>
</main>
<footer>
  <button id="sound" type="button" hidden>${t('kiosk.enableSound')}</button>
  <span id="offline" class="offline" hidden>${t('kiosk.offline')}</span>
</footer>
<audio id="player" preload="auto"></audio>
</body>
</html>`.value;
}

/**
 * Dark, calm, huge: sizes in viewport units so the same page fills a 7-inch 1024x600 screen and
 * a 24-inch 1920x1080 one. Backgrounds: #111 (idle, white text 18.9:1), #0b5e24 (ok, 7.9:1),
 * #0b3d6e (info, 11.6:1), #8a1c00 (error, 9.4:1).
 */
export const KIOSK_CSS = `
*,*::before,*::after{box-sizing:border-box}
html,body{margin:0;height:100%;overflow:hidden}
body{display:flex;flex-direction:column;font-family:"Noto Sans CJK SC","Source Han Sans SC","PingFang SC","Microsoft YaHei","WenQuanYi Micro Hei",system-ui,sans-serif;background:#111;color:#fff;cursor:none;user-select:none}
header.top{display:flex;justify-content:space-between;align-items:center;gap:2vw;padding:2vh 3vw;font-size:min(6vh,4.2vw);font-weight:700;background:#000}
.when{display:flex;gap:2vw;align-items:baseline}
.clock{font-size:min(8vh,5.6vw);font-variant-numeric:tabular-nums}
.date{font-weight:400}
main{flex:1;position:relative}
.pane{position:absolute;inset:0;display:none;flex-direction:column;align-items:center;justify-content:center;text-align:center;padding:2vh 4vw}
body[data-state=idle] .idle,body[data-state=wait] .wait,body[data-state=decision] .decision{display:flex}
p{margin:0}
.welcome{font-size:min(16vh,11vw);font-weight:700}
.hint{font-size:min(7vh,5vw);margin-top:4vh;color:#ddd}
.big{font-size:min(20vh,14vw);font-weight:700}
.name{font-size:min(22vh,16vw);font-weight:800;line-height:1.1;letter-spacing:.05em}
.name:empty{display:none}
.message{font-size:min(13vh,9vw);font-weight:700;line-height:1.2;margin-top:3vh}
body[data-tone=ok] .decision{background:#0b5e24}
body[data-tone=info] .decision{background:#0b3d6e}
body[data-tone=error] .decision{background:#8a1c00}
footer{position:fixed;right:2vw;bottom:2vh;display:flex;gap:2vw;align-items:center}
#sound{cursor:pointer;font:inherit;font-size:min(5vh,3.6vw);font-weight:700;padding:2vh 3vw;border:0.5vh solid #fff;border-radius:2vh;background:#f1c232;color:#000}
.offline{font-size:min(3.5vh,2.5vw);color:#ffd966}
[hidden]{display:none !important}
`;

/** Plain ES2017, no dependencies; the page's only script (CSP: script-src 'self'). */
export const KIOSK_JS = `
(function () {
  'use strict';
  var body = document.body;
  var $ = function (id) { return document.getElementById(id); };
  var timeZone = body.dataset.timeZone;
  var showMs = Number(body.dataset.showMs) || 5000;
  var offset = Number(body.dataset.now) - Date.now();
  var camera = new URLSearchParams(location.search).get('camera');
  var record = window.__kiosk = { shown: [], played: [], audioErrors: 0, connected: false, connects: 0, messages: 0 };
  var player = $('player');
  var soundBlocked = false;
  var pending = null;
  var idleTimer = 0;
  var shownAt = 0;

  function fill(template, w) {
    return template.replace('{meal}', w.name).replace('{start}', w.start).replace('{end}', w.end);
  }
  function showTick(t) {
    offset = t.now - Date.now();
    var line = t.current ? fill(body.dataset.tNow, t.current) : t.next ? fill(t.next.tomorrow ? body.dataset.tNextTomorrow : body.dataset.tNext, t.next) : '';
    $('window').textContent = line;
    clock();
  }
  function clock() {
    var d = new Date(Date.now() + offset);
    try {
      $('clock').textContent = d.toLocaleTimeString('zh-CN', { timeZone: timeZone, hour: '2-digit', minute: '2-digit', hour12: false });
      $('date').textContent = d.toLocaleDateString('zh-CN', { timeZone: timeZone, month: 'long', day: 'numeric', weekday: 'long' });
    } catch (e) {
      $('clock').textContent = d.toTimeString().slice(0, 5);
    }
  }
  function state(s, tone) {
    body.dataset.state = s;
    body.dataset.tone = tone || '';
  }
  function toIdle() {
    state('idle');
  }

  function zhVoice() {
    if (!window.speechSynthesis) return null;
    var voices = window.speechSynthesis.getVoices() || [];
    for (var i = 0; i < voices.length; i++) if (/^(zh|cmn)([-_](CN|Hans))?/i.test(voices[i].lang)) return voices[i];
    return null;
  }
  function speak(d) {
    var v = zhVoice();
    if (!v) return;
    var u = new SpeechSynthesisUtterance(d.speech);
    u.voice = v;
    u.lang = v.lang;
    window.speechSynthesis.cancel();
    window.speechSynthesis.speak(u);
    record.played.push({ id: d.id, via: 'speechSynthesis' });
  }
  function play(d) {
    if (!d.audio) return speak(d);
    if (soundBlocked) { pending = d; return; }
    player.src = d.audio;
    var p = player.play();
    if (!p || !p.then) return;
    p.then(function () {
      record.played.push({ id: d.id, via: 'audio' });
    }, function (err) {
      if (err && err.name === 'NotAllowedError') {
        soundBlocked = true;
        pending = d;
        $('sound').hidden = false;
      } else {
        record.audioErrors++;
        speak(d);
      }
    });
  }
  $('sound').addEventListener('click', function () {
    soundBlocked = false;
    $('sound').hidden = true;
    var d = pending;
    pending = null;
    if (d && Date.now() - shownAt < showMs) play(d);
    else { player.removeAttribute('src'); var p = player.play(); if (p && p.catch) p.catch(function () {}); }
  });

  function showDecision(d) {
    clearTimeout(holdTimer);
    $('name').textContent = d.name || '';
    $('message').textContent = d.message;
    state('decision', d.tone);
    shownAt = Date.now();
    var domAt = performance.timeOrigin + performance.now();
    requestAnimationFrame(function () {
      var frameAt = performance.timeOrigin + performance.now();
      record.shown.push({ id: d.id, camera: d.camera, tone: d.tone, domMs: domAt - d.decidedAt, frameMs: frameAt - d.decidedAt });
    });
    play(d);
    clearTimeout(idleTimer);
    idleTimer = setTimeout(toIdle, showMs);
  }
  var deciding = false;
  var holdTimer = 0;
  function showDeciding(m) {
    deciding = m.deciding;
    clearTimeout(holdTimer);
    if (deciding) {
      // A decision on screen stays for a moment even if the next elder is already being decided.
      var hold = Math.min(2000, showMs) - (Date.now() - shownAt);
      if (body.dataset.state === 'decision' && hold > 0) {
        holdTimer = setTimeout(function () { if (deciding) showDeciding({ deciding: true }); }, hold);
        return;
      }
      clearTimeout(idleTimer);
      state('wait');
      // A face that walks off undecided: never leave 请稍候 up for ever.
      idleTimer = setTimeout(toIdle, 3 * showMs);
    } else if (body.dataset.state === 'wait') toIdle();
  }
  function mine(m) {
    return !camera || m.camera === camera;
  }

  var source = null;
  var lastMessage = Date.now();
  function connect() {
    if (source) source.close();
    record.connects++;
    var es = source = new EventSource('/kiosk/events' + (camera ? '?camera=' + encodeURIComponent(camera) : ''));
    var on = function (type, fn) {
      es.addEventListener(type, function (e) {
        lastMessage = Date.now();
        var m;
        try { m = JSON.parse(e.data); } catch (err) { return; }
        fn(m);
      });
    };
    es.onopen = function () {
      lastMessage = Date.now();
      record.connected = true;
      $('offline').hidden = true;
    };
    es.onerror = function () {
      record.connected = false;
      $('offline').hidden = false;
      // CLOSED: the browser gave up (an error page while the edge restarted): start again.
      if (es.readyState === 2) setTimeout(function () { if (source === es) connect(); }, 3000);
    };
    on('hello', function (m) { showTick(m.tick); });
    on('tick', showTick);
    on('decision', function (m) { if (mine(m)) { record.messages++; showDecision(m); } });
    on('deciding', function (m) { if (mine(m)) showDeciding(m); });
  }
  // A stream that stays silent past two heartbeats is dead (a half-open connection): reconnect.
  setInterval(function () {
    if (Date.now() - lastMessage > 25000) { lastMessage = Date.now(); connect(); }
  }, 5000);
  setInterval(clock, 1000);
  clock();
  connect();
})();
`;
