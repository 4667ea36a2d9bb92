// The audit page (/bureau/audit, admin and auditor): the server's audit log, newest first, a
// page at a time, filtered by action and user (GET /audit), and whether its hash chain holds.
(function () {
  'use strict';
  var b = window.bureau;
  var el = b.el;
  var PAGE = 50;
  var offset = 0;
  var form = document.getElementById('audit-filter');
  var tbody = document.querySelector('#audit tbody');
  var prev = document.getElementById('prev');
  var next = document.getElementById('next');

  function details(d) {
    return Object.keys(d).map(function (k) { return k + '=' + (d[k] === null ? '' : String(d[k])); }).join(' · ');
  }

  function load() {
    var v = b.formData(form);
    var q = '/audit?limit=' + PAGE + '&offset=' + offset + (v.action ? '&action=' + encodeURIComponent(v.action) : '') + (v.userId ? '&userId=' + encodeURIComponent(v.userId) : '');
    return b.api('GET', q).then(function (r) {
      var chain = document.getElementById('chain');
      chain.textContent = r.chain.ok ? b.t('ui.chain.ok', { rows: r.chain.rows }) : b.t('ui.chain.broken', { at: r.chain.brokenAt, problem: r.chain.problem || '' });
      chain.className = 'notice ' + (r.chain.ok ? 'ok' : 'error');
      chain.dataset.ok = String(r.chain.ok);
      b.fill(tbody, r.entries.map(function (x) {
        return el('tr', { dataset: { action: x.action } }, [
          el('td', null, b.when(x.at)),
          el('td', null, b.dash(x.userId)),
          el('td', null, x.action),
          el('td', null, b.dash(x.subject)),
          el('td', { className: 'details' }, details(x.details)),
        ]);
      }), 5);
      document.getElementById('range').textContent = r.total ? b.t('ui.page', { from: offset + 1, to: offset + r.entries.length, total: r.total }) : '';
      prev.disabled = offset === 0;
      next.disabled = offset + r.entries.length >= r.total;
      document.body.dataset.loaded = 'true';
    }).catch(b.failed);
  }

  form.addEventListener('submit', function (e) { e.preventDefault(); offset = 0; load(); });
  prev.addEventListener('click', function () { offset = Math.max(0, offset - PAGE); load(); });
  next.addEventListener('click', function () { offset += PAGE; load(); });
  load();
})();
