/**
 * The staff pages' stylesheet and script, served by the edge from these strings (no build
 * step, no CDN): /staff/assets/staff.css and /staff/assets/staff.js.
 *
 * Sizes for older staff on a tablet: body text 20 px (never below 18 px), every control at
 * least 48 px tall and wide, contrast above WCAG AA (text #111 on #fff, 18.9:1; buttons #fff
 * on #0b5394, 8.2:1). Layout is one column that widens to two on a landscape tablet.
 */
export const STAFF_CSS = `
*,*::before,*::after{box-sizing:border-box}
html{font-size:20px;-webkit-text-size-adjust:100%}
body{margin:0;font-family:"Noto Sans CJK SC","Source Han Sans SC","PingFang SC","Microsoft YaHei","WenQuanYi Micro Hei",system-ui,sans-serif;line-height:1.5;color:#111;background:#f4f6f8}
a{color:#0b5394}
header.bar{display:flex;flex-wrap:wrap;gap:12px;align-items:center;justify-content:space-between;padding:10px 20px;background:#0b3d6e;color:#fff}
header.bar a,header.bar .who{color:#fff}
header.bar .app{font-size:1.2rem;font-weight:700;text-decoration:none}
header.bar nav{display:flex;flex-wrap:wrap;gap:10px;align-items:center}
header.bar form{margin:0}
main{max-width:1000px;margin:0 auto;padding:20px}
h1{font-size:1.6rem;margin:.4em 0 .6em}
h2{font-size:1.25rem;margin:1.2em 0 .5em}
label{display:block;font-weight:600;margin:14px 0 6px}
input,select{font:inherit;font-size:1.1rem;min-height:56px;width:100%;padding:8px 14px;border:2px solid #555;border-radius:8px;background:#fff;color:#111}
input:focus,select:focus,button:focus,a:focus{outline:4px solid #f1c232;outline-offset:2px}
button,.button{display:inline-flex;align-items:center;justify-content:center;font:inherit;font-size:1.1rem;font-weight:600;min-height:56px;min-width:56px;padding:8px 22px;border:0;border-radius:8px;background:#0b5394;color:#fff;text-decoration:none;cursor:pointer}
button.secondary,.button.secondary{background:#fff;color:#0b5394;border:2px solid #0b5394}
button.danger{background:#a61c00}
header.bar button{min-height:48px;background:#fff;color:#0b3d6e}
header.bar .lang a{display:inline-flex;align-items:center;min-height:48px;padding:0 12px}
.card{background:#fff;border-radius:12px;padding:20px;box-shadow:0 1px 3px rgba(0,0,0,.15);margin-bottom:20px}
.narrow{max-width:520px;margin:0 auto}
.menu{display:grid;grid-template-columns:repeat(auto-fill,minmax(280px,1fr));gap:16px;list-style:none;padding:0;margin:0}
.menu a,.menu .off{display:block;min-height:120px;padding:20px;border-radius:12px;background:#fff;box-shadow:0 1px 3px rgba(0,0,0,.15);text-decoration:none;color:#111}
.menu a strong,.menu .off strong{display:block;font-size:1.4rem;color:#0b5394}
.menu .off{opacity:.6}
.menu .off strong{color:#444}
.notice{padding:14px 18px;border-radius:8px;margin:0 0 16px;font-weight:600}
.notice.ok{background:#d9ead3;color:#134f1c}
.notice.error{background:#f4cccc;color:#6a0f0f}
.notice.info{background:#cfe2f3;color:#0b3d6e}
.secret{font-size:2rem;letter-spacing:.2em;font-family:ui-monospace,monospace}
table{width:100%;border-collapse:collapse;background:#fff}
th,td{text-align:left;padding:10px;border-bottom:1px solid #ccc;vertical-align:middle}
td form{display:inline-block;margin:4px 6px 4px 0}
.actions{display:flex;flex-wrap:wrap;gap:12px;margin-top:18px}
.grid2{display:grid;grid-template-columns:1fr;gap:0 20px}
@media (min-width:800px){.grid2{grid-template-columns:1fr 1fr}}
@media (max-width:640px){th.opt,td.opt{display:none}}
/* meals by hand and today (meal-pages.ts) */
.current{font-size:1.2rem;font-weight:700}
td.num,th.num{text-align:right;font-variant-numeric:tabular-nums}
td.total{font-weight:700}
tr.open{background:#fff2cc}
tr.voided td{color:#555;text-decoration:line-through}
tr.voided td:last-child{text-decoration:none}
.voided-note{color:#6a0f0f;font-weight:600}
.review-item{display:grid;grid-template-columns:160px 1fr;gap:.25rem 1.5rem;align-items:start}.review-item>h2,.review-item>form.dismiss,.review-item>form.assign-other{grid-column:2}.review-item>.crop{grid-row:1 / span 6;grid-column:1;border-radius:6px}.review-item>*:not(.crop){grid-column:2}.review-item form{margin:.25rem 0}
.void-form{display:flex;flex-wrap:wrap;gap:6px}
.void-form input{width:9em;min-height:48px}
#check-ins td:nth-child(-n+3){white-space:nowrap}
.void-form button{min-height:48px}
.sr{position:absolute;width:1px;height:1px;overflow:hidden;clip:rect(0 0 0 0)}
ul.plain{list-style:none;padding:0;margin:0}
ul.plain li{padding:10px 0;border-bottom:1px solid #ccc}
ul.plain .button{margin-left:12px}
.warn{color:#6a0f0f;font-weight:600}
.methods button{flex:1 1 14em}
[hidden]{display:none!important}
fieldset{border:2px solid #555;border-radius:8px;margin:14px 0;padding:8px 16px}
legend{font-weight:600;padding:0 6px}
fieldset label{display:flex;align-items:center;gap:12px;font-weight:400;min-height:56px;margin:4px 0}
input[type=radio]{width:32px;min-height:32px;height:32px;margin:0;flex:none}
.consent-text{font-size:1.1rem;line-height:1.7}
.consent-text h2{margin-top:0}
h1 small{font-size:1rem;color:#444;font-weight:400}
table.facts th{width:45%;font-weight:600}
tr.bad td{background:#f4cccc;color:#6a0f0f}
`;

/**
 * `data-confirm` on a form asks before it is sent (remove a staff member); `data-refresh="N"` on
 * an element reloads the page every N seconds (the health page). Nothing else needs JS.
 */
export const STAFF_JS = `
document.addEventListener('submit', function (e) {
  var f = e.target;
  if (f && f.dataset && f.dataset.confirm && !window.confirm(f.dataset.confirm)) e.preventDefault();
});
(function () {
  var r = document.querySelector('[data-refresh]');
  var s = r && Number(r.getAttribute('data-refresh'));
  if (s > 0) setTimeout(function () { location.reload(); }, s * 1000);
})();
`;
