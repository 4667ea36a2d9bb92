// The erasures page (/bureau/erasures): a centre's erasures of elders' face data, pending or
// completed, with each box's acknowledgement (GET /centres/:centreId/erasures), and for the
// admin or the centre's manager a new request (POST /centres/:centreId/erasures).
(function () {
  'use strict';
  var b = window.bureau;
  var el = b.el;
  var centre = document.getElementById('centre');
  var state = document.getElementById('state');
  var tbody = document.querySelector('#erasures tbody');
  var form = document.getElementById('erasure-form');
  var names = {};

  function loadElders() {
    return b.api('GET', '/centres/' + encodeURIComponent(centre.value) + '/elders?limit=500').then(function (r) {
      names = {};
      r.elders.forEach(function (e) { names[e.elderId] = e.name; });
      if (!form) return;
      var sel = document.getElementById('e-elder');
      sel.textContent = '';
      r.elders.forEach(function (e) { sel.appendChild(el('option', { value: e.elderId }, (e.name || '') + '（' + e.elderId + '）')); });
    });
  }

  function load() {
    var q = '/centres/' + encodeURIComponent(centre.value) + '/erasures' + (state.value ? '?state=' + state.value : '');
    return b.api('GET', q).then(function (r) {
      b.fill(tbody, r.erasures.map(function (x) {
        return el('tr', { dataset: { elderId: x.elderId, state: x.state } }, [
          el('td', null, [el('strong', null, b.dash(names[x.elderId])), el('br'), el('span', { className: 'details' }, x.elderId)]),
          el('td', null, x.reason),
          el('td', { className: 'details' }, [x.requestedBy, el('br'), b.when(x.requestedAt)]),
          el('td', null, el('span', { className: 'badge ' + (x.state === 'completed' ? '' : 'warn') }, b.t('ui.state.' + x.state))),
          el('td', null, el('ul', { className: 'devices' }, x.devices.map(function (d) {
            return el('li', null, d.acked ? b.t('ui.device.acked', { device: d.deviceId, templates: b.dash(d.templates), crops: b.dash(d.crops) }) : b.t('ui.device.waiting', { device: d.deviceId }));
          }))),
        ]);
      }), 5);
      document.body.dataset.loaded = 'true';
    });
  }

  function refresh() {
    if (!centre.value) { b.fill(tbody, [], 5); return Promise.resolve(); }
    return loadElders().then(load).catch(b.failed);
  }

  if (form) {
    form.addEventListener('submit', function (e) {
      e.preventDefault();
      var v = b.formData(form);
      b.api('POST', '/centres/' + encodeURIComponent(centre.value) + '/erasures', { elderId: v.elderId, reason: v.reason }).then(function () {
        form.reset();
        b.notice(b.t('ui.erasureSent', { elder: (names[v.elderId] || '') + '（' + v.elderId + '）' }), 'ok');
        return load();
      }).catch(b.failed);
    });
  }
  centre.addEventListener('change', function () { b.notice(''); refresh(); });
  state.addEventListener('change', refresh);
  document.getElementById('refresh').addEventListener('click', refresh);
  b.centres().then(function (list) { b.centreSelect(centre, list); return refresh(); }).catch(b.failed);
})();
